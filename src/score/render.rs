//! The score as a terminal table, Markdown (for a pull-request comment) or JSON, and the
//! `--fail-under` thresholds (README "Scoring your tool").

use std::collections::BTreeSet;
use std::fmt::Write as _;

use anyhow::Result;

use super::{KindScore, Score};
use crate::error::bad_input;
use crate::journal::judgement;

fn pct(v: Option<f64>) -> String {
    v.map(|v| format!("{:.0}%", v * 100.0))
        .unwrap_or_else(|| "-".into())
}

/// Rows worth a line: covered, or with anything counted.
fn shown(r: &KindScore) -> bool {
    r.covered || r.true_positives + r.false_positives + r.false_negatives > 0
}

/// One line of the terminal table: counts, or a kind the tool does not cover.
enum ScoreRow {
    Counted([String; 7]),
    NotCovered([String; 2]),
}

/// The terminal table.
pub fn table(score: &Score) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "tool: {}; coverage: {}\n",
        score.tool.as_deref().unwrap_or("(unnamed)"),
        score.coverage
    );
    // Both sections share one set of column widths, numbers right-aligned, so the columns of
    // "By kind" and "By code" line up; "not covered" is written where the counts would be and
    // widens nothing.
    let header = ["KIND/CODE", "CODE", "TP", "FP", "FN", "PRECISION", "RECALL"].map(String::from);
    let sections: Vec<(&str, Vec<ScoreRow>)> =
        [("By kind", &score.kinds), ("By code", &score.codes)]
            .into_iter()
            .map(|(title, rows)| {
                let body = rows
                    .iter()
                    .filter(|r| shown(r) || title == "By kind")
                    .map(|r| {
                        let name = [r.kind.clone(), r.code.unwrap_or("-").to_string()];
                        if !r.covered && r.false_positives == 0 {
                            return ScoreRow::NotCovered(name);
                        }
                        ScoreRow::Counted([
                            name[0].clone(),
                            name[1].clone(),
                            r.true_positives.to_string(),
                            r.false_positives.to_string(),
                            r.false_negatives.to_string(),
                            pct(r.precision),
                            pct(r.recall),
                        ])
                    })
                    .collect();
                (title, body)
            })
            .collect();
    let mut widths: [usize; 7] = std::array::from_fn(|i| header[i].len());
    for (_, rows) in &sections {
        for row in rows {
            let cells = match row {
                ScoreRow::Counted(cells) => &cells[..],
                ScoreRow::NotCovered(name) => &name[..],
            };
            for (w, cell) in widths.iter_mut().zip(cells) {
                *w = (*w).max(cell.len());
            }
        }
    }
    let line = |cells: &[String]| {
        let text: Vec<String> = cells
            .iter()
            .zip(widths)
            .enumerate()
            .map(|(i, (c, w))| {
                if i < 2 {
                    format!("{c:<w$}")
                } else {
                    format!("{c:>w$}")
                }
            })
            .collect();
        text.join("  ")
    };
    for (title, rows) in &sections {
        let _ = writeln!(out, "{title}:");
        let _ = writeln!(out, "{}", line(&header).trim_end());
        for row in rows {
            let _ = match row {
                ScoreRow::Counted(cells) => writeln!(out, "{}", line(cells).trim_end()),
                ScoreRow::NotCovered(name) => writeln!(out, "{}  not covered", line(name)),
            };
        }
        out.push('\n');
    }
    for r in &score.kinds {
        for miss in &r.misses {
            let _ = writeln!(out, "miss:        {} {miss}", r.kind);
        }
        for alarm in &r.false_alarms {
            let _ = writeln!(out, "false alarm: {} {alarm}", r.kind);
        }
    }
    if !score.judgement_calls.is_empty() {
        let _ = writeln!(
            out,
            "\nJudgement calls ({}):",
            if score.strict {
                "counted above: --strict"
            } else {
                "not counted above; --strict counts them"
            }
        );
        let rows: Vec<[String; 4]> = score
            .judgement_calls
            .iter()
            .map(|j| {
                [
                    j.kind.clone(),
                    j.object.clone(),
                    j.judgement.to_string(),
                    j.outcome().to_string(),
                ]
            })
            .collect();
        out.push_str(&crate::table::render_table(
            &["KIND", "OBJECT", "JUDGEMENT", "TOOL"].map(String::from),
            &rows,
        ));
        let labels: BTreeSet<&str> = score.judgement_calls.iter().map(|j| j.judgement).collect();
        for label in labels {
            let _ = writeln!(out, "  {label}: {}", judgement::meaning(label));
        }
        out.push('\n');
    }
    for (kind, n) in &score.not_journaled {
        let _ = writeln!(
            out,
            "not journaled by engineer-sim (no ground truth): {kind} x{n}"
        );
    }
    for u in &score.unmapped {
        let _ = writeln!(out, "unmapped: {u}");
    }
    for n in &score.notes {
        let _ = writeln!(out, "note: {n}");
    }
    out
}

/// Markdown for a pull-request comment: the covered kinds, what is not covered in one line, the
/// judgement calls apart, misses and false alarms folded away.
pub fn markdown(score: &Score, failures: &[String]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "**engineer-sim score: {}** (coverage: {})\n",
        score.tool.as_deref().unwrap_or("(unnamed tool)"),
        score.coverage
    );
    if !failures.is_empty() {
        let _ = writeln!(out, "**Below --fail-under:**\n");
        for f in failures {
            let _ = writeln!(out, "- {f}");
        }
        out.push('\n');
    }
    out.push_str(
        "| kind | code | TP | FP | FN | precision | recall |\n|---|---|---:|---:|---:|---:|---:|\n",
    );
    for r in score.kinds.iter().filter(|r| shown(r)) {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} |",
            r.kind,
            r.code.unwrap_or("-"),
            r.true_positives,
            r.false_positives,
            r.false_negatives,
            pct(r.precision),
            pct(r.recall)
        );
    }
    let uncovered: Vec<&str> = score
        .kinds
        .iter()
        .filter(|r| !shown(r))
        .map(|r| r.kind.as_str())
        .collect();
    if !uncovered.is_empty() {
        let _ = writeln!(out, "\nNot covered: {}.", uncovered.join(", "));
    }
    if !score.judgement_calls.is_empty() {
        let _ = writeln!(
            out,
            "\n**Judgement calls** ({})\n\n| kind | object | judgement | tool |\n|---|---|---|---|",
            if score.strict {
                "counted above: `--strict`"
            } else {
                "not counted above; `--strict` counts them"
            }
        );
        for j in &score.judgement_calls {
            let _ = writeln!(
                out,
                "| {} | `{}` | {} | {} |",
                j.kind,
                j.object,
                j.judgement,
                j.outcome()
            );
        }
        let labels: BTreeSet<&str> = score.judgement_calls.iter().map(|j| j.judgement).collect();
        for label in labels {
            let _ = writeln!(out, "\n`{label}`: {}.", judgement::meaning(label));
        }
    }
    let details: Vec<String> = score
        .kinds
        .iter()
        .flat_map(|r| {
            r.misses
                .iter()
                .map(move |m| format!("- miss: {} `{m}`", r.kind))
                .chain(
                    r.false_alarms
                        .iter()
                        .map(move |a| format!("- false alarm: {} `{a}`", r.kind)),
                )
        })
        .collect();
    if !details.is_empty() {
        let _ = writeln!(
            out,
            "\n<details><summary>{} misses and false alarms</summary>\n\n{}\n\n</details>",
            details.len(),
            details.join("\n")
        );
    }
    let mut other: Vec<String> = score
        .not_journaled
        .iter()
        .map(|(kind, n)| format!("- not journaled by engineer-sim (no ground truth): {kind} x{n}"))
        .collect();
    other.extend(score.unmapped.iter().map(|u| format!("- unmapped: {u}")));
    other.extend(score.notes.iter().map(|n| format!("- note: {n}")));
    if !other.is_empty() {
        let _ = writeln!(out, "\n{}", other.join("\n"));
    }
    out
}

/// The `--fail-under KIND=R` thresholds not met, one line each. A name that is neither a kind nor
/// a code of the score is bad input (exit 2); a kind the report does not cover fails.
pub fn below(score: &Score, thresholds: &[(String, f64)]) -> Result<Vec<String>> {
    let mut failures = Vec::new();
    for (name, min) in thresholds {
        let row = score
            .kinds
            .iter()
            .chain(&score.codes)
            .find(|r| &r.kind == name)
            .ok_or_else(|| {
                bad_input(format!(
                    "--fail-under {name}={min}: {name:?} is not a kind or a code of this score"
                ))
                .with_hint(
                    "use a kind name (blocking_index_build) or a code of the --codes set (H002)",
                )
            })?;
        if !row.covered {
            failures.push(format!("{name}: not covered by the report"));
            continue;
        }
        for (what, value) in [("recall", row.recall), ("precision", row.precision)] {
            if let Some(v) = value.filter(|v| v < min) {
                failures.push(format!(
                    "{name}: {what} {} < {}",
                    pct(Some(v)),
                    pct(Some(*min))
                ));
            }
        }
    }
    Ok(failures)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::audit::Key;
    use crate::mistakes::CodeSet;
    use crate::score::{score, Report};

    fn key(kind: &str, object: &str) -> Key {
        Key::new(kind, object)
    }

    /// A linter that finds one of two blocking builds and flags a new table's index, reports a
    /// sort-order duplicate (a judgement call) and something engineer-sim does not journal.
    fn example(strict: bool) -> Score {
        let truth: BTreeSet<Key> = [
            key("blocking_index_build", "public.idx_issues_status"),
            key("blocking_index_build", "public.idx_issues_title_trgm"),
            key("duplicate_index", "public.idx_project_metrics_project_date"),
            key("timestamp_without_tz", "public.time_reports.created_at"),
        ]
        .into();
        let report = Report {
            tool: Some("example-linter".into()),
            found: [
                key("blocking_index_build", "public.idx_issues_status"),
                key("blocking_index_build", "public.idx_new_table_col"),
                key("duplicate_index", "public.idx_project_metrics_project_date"),
                key("F005 (btree index bloat)", "public.issues_pkey"),
            ]
            .into(),
            covers: [
                "blocking_index_build",
                "duplicate_index",
                "timestamp_without_tz",
            ]
            .map(String::from)
            .into(),
            covers_declared: true,
            unmapped: vec![
                "rule squawk prefer-robust-stmts x3: migration hygiene, no mistake kind".into(),
            ],
            notes: vec!["ignored 1 findings on the engineer_sim schema".into()],
        };
        let judged: BTreeMap<Key, &'static str> = [(
            key("duplicate_index", "public.idx_project_metrics_project_date"),
            judgement::SORT_ORDER_DUPLICATE,
        )]
        .into();
        score(&truth, &report, CodeSet::Roadmap, &judged, strict)
    }

    #[test]
    fn table() {
        insta::assert_snapshot!(super::table(&example(false)));
    }

    #[test]
    fn markdown() {
        let result = example(false);
        let failures = below(&result, &[("blocking_index_build".into(), 0.9)]).unwrap_or_default();
        insta::assert_snapshot!(super::markdown(&result, &failures));
    }

    #[test]
    fn json() {
        insta::assert_json_snapshot!(example(false));
    }

    #[test]
    fn strict_counts_the_judgement_calls() {
        let tp = |s: &Score| {
            s.kinds
                .iter()
                .find(|k| k.kind == "duplicate_index")
                .map(|r| r.true_positives)
        };
        assert_eq!(tp(&example(false)), Some(0));
        assert_eq!(tp(&example(true)), Some(1));
    }

    #[test]
    fn fail_under() {
        let result = example(false);
        let check = |name: &str, min: f64| below(&result, &[(name.to_string(), min)]);
        assert_eq!(
            check("blocking_index_build", 0.9).unwrap_or_default(),
            vec![
                "blocking_index_build: recall 50% < 90%".to_string(),
                "blocking_index_build: precision 50% < 90%".to_string()
            ]
        );
        assert!(check("blocking_index_build", 0.5)
            .unwrap_or_default()
            .is_empty());
        assert_eq!(check("L004", 1.0).unwrap_or_default().len(), 1, "recall 0%");
        assert_eq!(
            check("nullable_fk", 0.5).unwrap_or_default(),
            vec!["nullable_fk: not covered by the report".to_string()]
        );
        assert!(check("no_such_kind", 0.5).is_err());
    }
}
