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
use crate::state::{write_if_changed, StateDir};

pub use expected::{expected_findings, ExpectedFinding, ExpectedFindings};
pub use week::week_report;

/// What [`sync_files`] found and did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Synced {
    /// Findings open in the ledger.
    pub open: usize,
    /// Files written because their content changed (the others were left untouched).
    pub written: usize,
}

/// Brings every journal file in line with the ledger: `journal.jsonl`, `expected-findings.json`
/// and `.md`, `reports/week-NN.md`, `migrations/*.sql`. Each is rendered from the ledger and
/// written only when it differs from what is on disk, so a run that changed nothing writes nothing;
/// a file deleted or left behind by a killed run is written again (README "Performance").
/// Callers sync once per run or tick, after its last change, failed or not.
pub async fn sync_files(
    conn: &mut PgConnection,
    state: &StateDir,
    codes: CodeSet,
    team: &crate::persona::Team,
) -> Result<Synced> {
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
    let mut written = 0;
    let mut write = |path: &std::path::Path, text: &str| -> Result<()> {
        written += usize::from(write_if_changed(path, text)?);
        Ok(())
    };
    let doc = expected_findings(&marker, &changes, &open, codes);
    write(&state.expected_findings_json(), &expected::to_json(&doc))?;
    write(&state.expected_findings_md(), &expected::to_markdown(&doc))?;

    let weeks: std::collections::BTreeSet<i32> =
        changes.iter().map(|c| c.week).filter(|w| *w > 0).collect();
    std::fs::create_dir_all(state.reports_dir())?;
    for week in weeks {
        let path = state.reports_dir().join(format!("week-{week:02}.md"));
        write(&path, &week_report(week, &changes, &all, codes))?;
    }

    let mut jsonl = String::new();
    for event in &events {
        jsonl.push_str(&serde_json::to_string(event)?);
        jsonl.push('\n');
    }
    write(&state.journal(), &jsonl)?;
    written += crate::migrations::write_all(&state.migrations_dir(), &changes, team)?;
    Ok(Synced {
        open: open.len(),
        written,
    })
}
