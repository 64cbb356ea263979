//! What the commands print: every format a user reads on the terminal (README "Commands").

use std::fmt::Write as _;

use crate::journal::{ExpectedFinding, ExpectedFindings};

/// `findings` as a terminal table; the closed column only when closed findings are listed.
pub fn findings_table(doc: &ExpectedFindings) -> String {
    let closed = doc
        .findings
        .iter()
        .filter(|f| f.closed_by.is_some())
        .count();
    let row = |f: &ExpectedFinding| -> [String; 6] {
        [
            f.code.unwrap_or("-").to_string(),
            f.kind_cell(),
            f.object.clone(),
            f.origin.to_string(),
            f.opened_by.clone(),
            f.opened_week.to_string(),
        ]
    };
    let header = ["CODE", "KIND", "OBJECT", "ORIGIN", "OPENED BY", "WEEK"].map(String::from);
    let mut out = if closed == 0 {
        crate::table::render_table(&header, &doc.findings.iter().map(row).collect::<Vec<_>>())
    } else {
        // Only `findings --all` lists closed findings; only then is the column worth its width.
        let with_closed = |f: &ExpectedFinding| -> [String; 7] {
            let [a, b, c, d, e, g] = row(f);
            [a, b, c, d, e, g, f.closed_by.clone().unwrap_or_default()]
        };
        let [a, b, c, d, e, g] = header;
        crate::table::render_table(
            &[a, b, c, d, e, g, "CLOSED BY".into()],
            &doc.findings.iter().map(with_closed).collect::<Vec<_>>(),
        )
    };
    let _ = writeln!(
        out,
        "{} open findings, {closed} closed",
        doc.findings.len() - closed
    );
    out
}
