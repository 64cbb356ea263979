//! The weekly reports, `reports/week-NN.md` (README "What lands in `state/`"): per change, who
//! did it, what slipped and why it passed review, what it opened and closed, and the clean /
//! as-written diff.

use std::fmt::Write as _;

use crate::ledger::{ChangeRow, FindingRow};
use crate::mistakes::{code_for, CodeSet};
use crate::render::slip_diff;

/// The week's Markdown report: per change, who did it, what slipped and why it passed review,
/// and the clean / as-written diff.
pub fn week_report(
    week: i32,
    changes: &[ChangeRow],
    findings: &[FindingRow],
    codes: CodeSet,
) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# Week {week}\n");
    for change in changes.iter().filter(|c| c.week == week) {
        let _ = writeln!(
            md,
            "## {} ({}, {}): {}\n",
            change.change_id, change.day, change.author, change.title
        );
        let _ = writeln!(
            md,
            "Sim date {}; applied SQL sha256 `{}`.\n",
            change.sim_date,
            &change.sql_sha256[..12]
        );
        if change.slips.is_empty() {
            md.push_str("No slips.\n\n");
        } else {
            md.push_str("Slips:\n\n");
            for slip in &change.slips {
                let _ = writeln!(
                    md,
                    "- {} on `{}`: \"{}\"",
                    slip.kind, slip.object, slip.excuse
                );
            }
            md.push('\n');
        }
        let opened: Vec<&FindingRow> = findings
            .iter()
            .filter(|f| f.opened_by == change.change_id)
            .collect();
        let closed: Vec<&FindingRow> = findings
            .iter()
            .filter(|f| f.closed_by.as_deref() == Some(&change.change_id))
            .collect();
        for (label, list) in [("Opened", &opened), ("Closed", &closed)] {
            if list.is_empty() {
                continue;
            }
            let _ = writeln!(md, "{label}:\n");
            for f in list.iter() {
                let _ = writeln!(
                    md,
                    "- {}{} `{}` ({})",
                    code_for(&f.kind, codes)
                        .map(|c| format!("{c} "))
                        .unwrap_or_default(),
                    f.kind,
                    f.object,
                    f.origin
                );
            }
            md.push('\n');
        }
        let diff = slip_diff(&change.clean_sql, &change.applied_sql);
        if !diff.is_empty() {
            let _ = writeln!(md, "```diff\n{}```\n", diff);
        }
    }
    md
}
