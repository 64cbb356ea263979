//! Score a detector's report against the ledger: per kind and code, true and false positives,
//! misses, precision and recall. Kinds the detector does not cover are shown as such, not as
//! misses; kinds engineer-sim does not journal are shown apart, not as false alarms.

use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

use crate::audit::Key;
use crate::journal::judgement;
use crate::ledger::{ChangeRow, FindingRow};
use crate::mistakes::{self, code_for, CodeSet};
pub use codes::kinds_for;

pub mod codes;
pub mod eugene;
pub mod findings_json;
pub mod generic;
pub mod lines;
pub mod objects;
pub mod render;
pub mod rules;
pub mod sarif;
pub mod squawk;

/// What the detector reported, already mapped to (kind, object).
#[derive(Debug, Default, Clone)]
pub struct Report {
    /// The tool's name, when the report says it.
    pub tool: Option<String>,
    pub found: BTreeSet<Key>,
    /// Kinds the detector looks for at all.
    pub covers: BTreeSet<String>,
    /// Whether `covers` is what the report declares (else guessed from what it reported).
    pub covers_declared: bool,
    /// Reports that could not be mapped to a kind or an object, with why.
    pub unmapped: Vec<String>,
    /// What the reader did that changes the score and the reader should know.
    pub notes: Vec<String>,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct KindScore {
    pub kind: String,
    pub code: Option<&'static str>,
    pub covered: bool,
    pub true_positives: usize,
    pub false_positives: usize,
    pub false_negatives: usize,
    pub precision: Option<f64>,
    pub recall: Option<f64>,
    pub misses: Vec<String>,
    pub false_alarms: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct Score {
    pub tool: Option<String>,
    /// `declared` (the report says what it covers) or `guessed` (from the kinds it reported).
    pub coverage: &'static str,
    pub kinds: Vec<KindScore>,
    pub codes: Vec<KindScore>,
    /// Reports of kinds engineer-sim does not journal (no ground truth for them).
    pub not_journaled: BTreeMap<String, usize>,
    pub unmapped: Vec<String>,
    pub notes: Vec<String>,
    /// Whether the judgement calls are in the counts (`--strict`).
    pub strict: bool,
    /// Findings where reasonable tools disagree: shown apart, counted only with `--strict`.
    pub judgement_calls: Vec<JudgementCall>,
}

/// The kinds engineer-sim journals: every kind of the catalog.
fn journaled_kinds() -> BTreeSet<String> {
    mistakes::all().iter().map(|k| k.name.to_string()).collect()
}

/// A finding where reasonable tools disagree, and whether the tool reported it.
#[derive(Debug, Serialize, PartialEq)]
pub struct JudgementCall {
    pub kind: String,
    pub object: String,
    pub judgement: &'static str,
    pub reported: bool,
    /// Whether the tool checks that kind at all.
    pub covered: bool,
}

impl JudgementCall {
    /// What the tool did with it, for the tables.
    pub fn outcome(&self) -> &'static str {
        match (self.reported, self.covered) {
            (true, _) => "reported",
            (false, true) => "not reported",
            (false, false) => "not covered",
        }
    }
}

/// The judgement labels of the ground truth's findings (see [`judgement`]).
pub fn judgements(truth: &BTreeSet<Key>, history: &[ChangeRow]) -> BTreeMap<Key, &'static str> {
    truth
        .iter()
        .filter_map(|key| judgement::of(&key.kind, &key.object, history).map(|j| (key.clone(), j)))
        .collect()
}

/// Scores `report` against `truth`. Findings labelled in `judged` are shown apart and left out
/// of the counts on both sides, unless `strict`.
pub fn score(
    truth: &BTreeSet<Key>,
    report: &Report,
    codes: CodeSet,
    judged: &BTreeMap<Key, &'static str>,
    strict: bool,
) -> Score {
    let judgement_calls: Vec<JudgementCall> = judged
        .iter()
        .filter(|(key, _)| truth.contains(*key))
        .map(|(key, label)| JudgementCall {
            kind: key.kind.clone(),
            object: key.object.clone(),
            judgement: label,
            reported: report.found.contains(key),
            covered: report.covers.contains(&key.kind),
        })
        .collect();
    if !strict && !judgement_calls.is_empty() {
        let keep = |set: &BTreeSet<Key>| -> BTreeSet<Key> {
            set.iter()
                .filter(|k| !judged.contains_key(*k))
                .cloned()
                .collect()
        };
        let truth = keep(truth);
        let report = Report {
            found: keep(&report.found),
            ..report.clone()
        };
        let mut result = score(&truth, &report, codes, &BTreeMap::new(), true);
        result.strict = false;
        result.judgement_calls = judgement_calls;
        return result;
    }
    let mut result = score_counted(truth, report, codes);
    result.strict = strict;
    result.judgement_calls = judgement_calls;
    result
}

fn score_counted(truth: &BTreeSet<Key>, report: &Report, codes: CodeSet) -> Score {
    let journaled = journaled_kinds();
    let mut not_journaled = BTreeMap::new();
    for key in report.found.iter().filter(|k| !journaled.contains(&k.kind)) {
        *not_journaled.entry(key.kind.clone()).or_default() += 1;
    }
    let kinds: Vec<KindScore> = journaled
        .iter()
        .map(|kind| {
            let of = |set: &BTreeSet<Key>| -> BTreeSet<String> {
                set.iter()
                    .filter(|k| &k.kind == kind)
                    .map(|k| k.object.clone())
                    .collect()
            };
            tally(
                kind.clone(),
                code_for(kind, codes),
                report.covers.contains(kind),
                &of(truth),
                &of(&report.found),
            )
        })
        .collect();
    let mut by_code: BTreeMap<&'static str, (bool, BTreeSet<String>, BTreeSet<String>)> =
        BTreeMap::new();
    for kind in &journaled {
        let Some(code) = code_for(kind, codes) else {
            continue;
        };
        let entry = by_code.entry(code).or_default();
        entry.0 |= report.covers.contains(kind);
        entry.1.extend(
            truth
                .iter()
                .filter(|k| &k.kind == kind)
                .map(|k| format!("{} {}", k.kind, k.object)),
        );
        entry.2.extend(
            report
                .found
                .iter()
                .filter(|k| &k.kind == kind)
                .map(|k| format!("{} {}", k.kind, k.object)),
        );
    }
    let codes = by_code
        .into_iter()
        .map(|(code, (covered, t, f))| tally(code.to_string(), Some(code), covered, &t, &f))
        .collect();
    Score {
        tool: report.tool.clone(),
        coverage: if report.covers_declared {
            "declared"
        } else {
            "guessed"
        },
        kinds,
        codes,
        not_journaled,
        unmapped: report.unmapped.clone(),
        notes: report.notes.clone(),
        strict: true,
        judgement_calls: Vec::new(),
    }
}

fn tally(
    name: String,
    code: Option<&'static str>,
    covered: bool,
    truth: &BTreeSet<String>,
    found: &BTreeSet<String>,
) -> KindScore {
    let tp = truth.intersection(found).count();
    let false_alarms: Vec<String> = found.difference(truth).cloned().collect();
    let misses: Vec<String> = if covered {
        truth.difference(found).cloned().collect()
    } else {
        Vec::new()
    };
    let ratio = |num: usize, den: usize| (den > 0).then(|| num as f64 / den as f64);
    KindScore {
        kind: name,
        code,
        covered,
        true_positives: tp,
        false_positives: false_alarms.len(),
        false_negatives: misses.len(),
        precision: ratio(tp, tp + false_alarms.len()),
        recall: if covered {
            ratio(tp, tp + misses.len())
        } else {
            None
        },
        misses,
        false_alarms,
    }
}

/// The ground truth to score against: open findings for a tool that looks at the live database,
/// every finding ever opened for a linter that reads the migration history.
pub fn truth(findings: &[FindingRow], include_closed: bool) -> BTreeSet<Key> {
    findings
        .iter()
        .filter(|f| include_closed || f.closed_by.is_none())
        .map(|f| Key::new(&f.kind, &f.object))
        .collect()
}

/// A report file's text; a file that cannot be read is bad input (exit 2).
pub fn read_text(path: &std::path::Path) -> anyhow::Result<String> {
    Ok(std::fs::read_to_string(path).map_err(|err| {
        crate::error::bad_input(format!("cannot read report {}: {err}", path.display()))
    })?)
}

/// Maps a migration file name back to the change it holds.
pub fn change_by_file<'a>(
    changes: &'a [ChangeRow],
    team: &crate::persona::Team,
) -> BTreeMap<String, &'a ChangeRow> {
    let initials = team
        .personas
        .iter()
        .map(|(n, p)| (n.clone(), p.initials.clone()))
        .collect();
    crate::migrations::file_names(changes, &initials)
        .into_iter()
        .collect()
}
