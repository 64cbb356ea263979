//! `verify`: the ledger against the database (README "Operating it"). The open findings the
//! audit can see against a fresh audit; on a database with data, the statistics kinds against
//! the statistics; and the whole schema against the ledger's record after the last change.

use crate::words::Words;
use std::collections::BTreeSet;

use anyhow::Result;
use sqlx::PgConnection;

use crate::audit::{self, Key};
use crate::data::judge::{self, Verdict};
use crate::ledger;

/// What verify found.
pub struct Comparison {
    /// Findings both the ledger and the audit hold.
    pub agree: usize,
    /// The ledger's open findings the audit can see (what `agree` is out of, with `unseen`).
    pub compared: usize,
    /// The ledger's open findings of kinds no catalog query can see: not compared with the
    /// audit (README "Mistake kinds").
    pub unseen: Vec<ledger::FindingRow>,
    /// In the database, not in the ledger.
    pub missing: Vec<Key>,
    /// In the ledger, not in the database.
    pub stale: Vec<Key>,
    /// On a database with data: what the statistics say.
    pub statistics: Option<Statistics>,
    /// Changes made outside engineer-sim since the last change it recorded: that change's id
    /// and each difference.
    pub drift: Option<(String, Vec<String>)>,
}

/// The statistics kinds' verdicts, and the workload they were judged against.
pub struct Statistics {
    pub workload: Option<i32>,
    pub verdicts: Vec<(Key, Verdict)>,
}

impl Statistics {
    pub fn contradicted(&self) -> usize {
        self.verdicts
            .iter()
            .filter(|(_, v)| matches!(v, Verdict::Contradicted(_)))
            .count()
    }
}

impl Comparison {
    /// Every difference: exit 1 when there is any.
    pub fn differences(&self) -> usize {
        self.missing.len()
            + self.stale.len()
            + self.statistics.as_ref().map_or(0, Statistics::contradicted)
            + self.drift.as_ref().map_or(0, |(_, d)| d.len())
    }
}

pub async fn compare(conn: &mut PgConnection, words: &Words) -> Result<Comparison> {
    let found = audit::audit(conn, words).await?;
    let (seen, unseen): (Vec<_>, Vec<_>) = ledger::findings(conn, false)
        .await?
        .into_iter()
        .partition(|f| audit::audit_sees(&f.kind));
    let journaled: BTreeSet<Key> = seen
        .into_iter()
        .map(|f| Key::new(f.kind, f.object))
        .collect();
    let statistics = statistics(conn).await?;
    let drift = match crate::drift::Schema::last_recorded(conn).await? {
        Some((last, recorded)) => {
            let now = crate::drift::Schema::read(conn).await?;
            Some((last, now.differences(&recorded)))
        }
        None => None,
    };
    Ok(Comparison {
        agree: found.intersection(&journaled).count(),
        compared: journaled.len(),
        unseen,
        missing: found.difference(&journaled).cloned().collect(),
        stale: journaled.difference(&found).cloned().collect(),
        statistics,
        drift,
    })
}

/// On a database with data, judges the statistics kinds; `None` in empty mode.
async fn statistics(conn: &mut PgConnection) -> Result<Option<Statistics>> {
    if crate::data::growth::data_scale(conn).await?.is_none() {
        return Ok(None);
    }
    let open = ledger::findings(conn, false).await?;
    let workload = crate::data::stats::last_workload(conn).await?;
    let now = crate::data::stats::Stats::read(conn).await?;
    let verdicts = judge::judge_all(&open, workload.as_ref().map(|(_, s)| s), &now)
        .into_iter()
        .map(|((kind, object), verdict)| (Key::new(kind, object), verdict))
        .collect();
    Ok(Some(Statistics {
        workload: workload.map(|(id, _)| id),
        verdicts,
    }))
}
