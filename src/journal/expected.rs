//! The expected findings: the findings open at a point of the run, as `expected-findings.json`
//! and `.md` list them (README "What lands in `state/`") and as `findings` and `diff` show them.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use super::judgement;
use crate::ledger::{ChangeRow, FindingRow, Marker, Origin};
use crate::mistakes::{code_for, CodeSet, Verification};

/// A finding as the expected-findings file lists it: no wall-clock time, so the same seed and
/// roadmap give byte-identical files.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ExpectedFinding {
    pub code: Option<&'static str>,
    pub kind: String,
    pub object: String,
    pub origin: Origin,
    pub verification: Verification,
    pub opened_by: String,
    pub opened_week: i32,
    pub author: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub excuse: Option<String>,
    /// A finding where reasonable tools disagree (README "Scoring your tool": judgement calls).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub judgement: Option<&'static str>,
    /// Only for closed findings (`findings --all`); never in the expected-findings files.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closed_by: Option<String>,
    /// Size of the finding's table now, in MB (`findings` on a database with data). Not in the
    /// expected-findings files: sizes vary a little from build to build, the files must not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table_mb: Option<f64>,
    /// Rows of the finding's table now (the planner's estimate, `reltuples`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table_rows: Option<i64>,
}

impl ExpectedFinding {
    /// The kind, with its judgement label when it has one.
    pub fn kind_cell(&self) -> String {
        match self.judgement {
            Some(label) => format!("{} (judgement: {label})", self.kind),
            None => self.kind.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ExpectedFindings {
    pub roadmap: String,
    pub seed: u64,
    pub codes: &'static str,
    pub through: Option<String>,
    pub counts: BTreeMap<String, usize>,
    pub findings: Vec<ExpectedFinding>,
}

/// The document for `findings` (open, or all with closed ones), labelled from `history`, the
/// changes applied up to the point it describes.
pub fn expected_findings(
    marker: &Marker,
    history: &[ChangeRow],
    findings: &[FindingRow],
    codes: CodeSet,
) -> ExpectedFindings {
    let mut findings: Vec<ExpectedFinding> = findings
        .iter()
        .map(|f| ExpectedFinding {
            code: code_for(&f.kind, codes),
            kind: f.kind.clone(),
            object: f.object.clone(),
            origin: f.origin,
            verification: f.verification,
            opened_by: f.opened_by.clone(),
            opened_week: f.opened_week,
            author: f.opened_author.clone(),
            excuse: f.excuse.clone(),
            judgement: judgement::of(&f.kind, &f.object, history),
            closed_by: f.closed_by.clone(),
            table_mb: None,
            table_rows: None,
        })
        .collect();
    // Sorted by (code, kind, object); findings without a code come last.
    findings.sort_by(|a, b| {
        (a.code.is_none(), a.code, &a.kind, &a.object).cmp(&(
            b.code.is_none(),
            b.code,
            &b.kind,
            &b.object,
        ))
    });
    let mut counts = BTreeMap::new();
    for f in &findings {
        *counts
            .entry(f.code.unwrap_or(&f.kind).to_string())
            .or_default() += 1;
    }
    ExpectedFindings {
        roadmap: marker.identity.roadmap.clone(),
        seed: marker.identity.seed,
        codes: match codes {
            CodeSet::Roadmap => "roadmap",
            CodeSet::Checkup => "checkup",
        },
        through: history.last().map(|c| c.change_id.clone()),
        counts,
        findings,
    }
}

/// The expected findings as they stood at the end of `week` (`diff --from week:N`).
pub fn at_week(
    marker: &Marker,
    changes: &[ChangeRow],
    findings: &[FindingRow],
    week: i32,
    codes: CodeSet,
) -> ExpectedFindings {
    let open: Vec<FindingRow> = findings
        .iter()
        .filter(|f| f.opened_week <= week && f.closed_week.is_none_or(|w| w > week))
        .map(|f| FindingRow {
            // Closed after that week: open then, as `run --until-week` journals it.
            closed_by: None,
            closed_week: None,
            ..f.clone()
        })
        .collect();
    let history: Vec<ChangeRow> = changes.iter().filter(|c| c.week <= week).cloned().collect();
    expected_findings(marker, &history, &open, codes)
}

pub fn to_json(doc: &ExpectedFindings) -> String {
    let mut text = serde_json::to_string_pretty(doc).unwrap_or_default();
    text.push('\n');
    text
}

pub fn to_markdown(doc: &ExpectedFindings) -> String {
    let mut md = String::new();
    let _ = writeln!(
        md,
        "# Expected findings: {} (seed {})\n",
        doc.roadmap, doc.seed
    );
    let _ = writeln!(
        md,
        "Through change: {}\n",
        doc.through.as_deref().unwrap_or("(none)")
    );
    let _ = writeln!(md, "{} open findings.\n", doc.findings.len());
    md.push_str("| code | kind | object | origin | opened by | week | author |\n|---|---|---|---|---|---|---|\n");
    for f in &doc.findings {
        let _ = writeln!(
            md,
            "| {} | {} | `{}` | {} | {} | {} | {} |",
            f.code.unwrap_or("-"),
            f.kind_cell(),
            f.object,
            f.origin,
            f.opened_by,
            f.opened_week,
            f.author
        );
    }
    md
}
