//! The journal (README "What lands in `state/`"): the event log, the expected-findings files, the
//! weekly reports and the migration files. All of it is a view of the ledger, written from it, so
//! it can be rebuilt at any time and always agrees with the database.

pub mod expected;
pub mod judgement;
pub mod week;

use anyhow::Result;
use sqlx::PgConnection;

use crate::ledger::{self, FindingRow};
use crate::mistakes::CodeSet;
use crate::state::{write_atomically, StateDir};

pub use expected::{expected_findings, ExpectedFinding, ExpectedFindings};
pub use week::week_report;

/// Writes every journal file from the ledger: `journal.jsonl`, `expected-findings.json` and `.md`,
/// `reports/week-NN.md`, `migrations/*.sql`.
pub async fn sync_files(
    conn: &mut PgConnection,
    state: &StateDir,
    codes: CodeSet,
    team: &crate::persona::Team,
) -> Result<()> {
    let marker = ledger::marker(conn).await?;
    let changes = ledger::changes(conn).await?;
    let all = ledger::findings(conn, true).await?;
    let open: Vec<FindingRow> = all
        .iter()
        .filter(|f| f.closed_by.is_none())
        .cloned()
        .collect();
    let events = ledger::events(conn).await?;

    state.create()?;
    let mut jsonl = String::new();
    for event in &events {
        jsonl.push_str(&serde_json::to_string(event)?);
        jsonl.push('\n');
    }
    write_atomically(&state.journal(), &jsonl)?;

    let doc = expected_findings(&marker, &changes, &open, codes);
    write_atomically(&state.expected_findings_json(), &expected::to_json(&doc))?;
    write_atomically(&state.expected_findings_md(), &expected::to_markdown(&doc))?;

    crate::migrations::write_all(&state.migrations_dir(), &changes, team)?;

    let weeks: std::collections::BTreeSet<i32> =
        changes.iter().map(|c| c.week).filter(|w| *w > 0).collect();
    std::fs::create_dir_all(state.reports_dir())?;
    for week in weeks {
        let path = state.reports_dir().join(format!("week-{week:02}.md"));
        write_atomically(&path, &week_report(week, &changes, &all, codes))?;
    }
    Ok(())
}
