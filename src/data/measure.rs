//! What a blocking change cost, on a database with data (README "Reading the measurements"):
//! for each finding of a measured kind the change opened, the rows of its table, the bytes the
//! statement read or wrote and how long the change held its locks; with a workload running, the
//! app queries that waited on them. Measured right after the change commits, before its
//! backfill, so the table is as the change found it; the finding's verification becomes
//! `measured`.

use std::time::Duration;

use anyhow::Result;
use sqlx::{Connection, PgConnection};

use super::stats::object_tables;
use super::waits::{AppWaits, SAMPLE_EVERY};
use crate::audit::Key;
use crate::ledger::{self, By, Event};
use crate::mistakes::Verification;

/// The kinds measured, and what their `bytes` are: the heap the statement reads (a blocking
/// index build, a NOT NULL scan), or the whole table it rewrites with its indexes.
const MEASURED: [(&str, Bytes); 3] = [
    ("blocking_index_build", Bytes::Heap),
    ("not_null_full_scan", Bytes::Heap),
    ("table_rewrite", Bytes::Total),
];

#[derive(Clone, Copy)]
enum Bytes {
    Heap,
    Total,
}

/// Whether findings of `kind` are measured on a database with data.
pub fn measured(kind: &str) -> bool {
    MEASURED.iter().any(|(k, _)| *k == kind)
}

/// A database seeded by an engineer-sim that did not measure yet gets the data schema of now
/// (idempotent), whose check allows the `measured` verification.
async fn allow_measured(conn: &mut PgConnection) -> Result<()> {
    let allowed: bool = sqlx::query_scalar(
        "SELECT coalesce(bool_or(pg_get_constraintdef(oid) LIKE '%measured%'), false)
         FROM pg_constraint WHERE conname = 'findings_verification_check'
           AND conrelid = 'engineer_sim.findings'::regclass",
    )
    .fetch_one(&mut *conn)
    .await?;
    if !allowed {
        super::run::ensure_schema(conn).await?;
    }
    Ok(())
}

/// Measures the findings `opened` by the change `by` and journals them, with the app's waits
/// when a workload ran (`waits`), in one transaction. Returns the events recorded.
pub async fn record(
    conn: &mut PgConnection,
    by: &By,
    opened: &[Key],
    locked: Duration,
    waits: Option<AppWaits>,
) -> Result<Vec<Event>> {
    let lock_ms = locked.as_millis() as u64;
    let mut events = Vec::new();
    if let Some(w) = waits {
        events.push(Event::AppWaited {
            by: by.clone(),
            queries: w.queries,
            total_wait_ms: w.total_ms,
            max_wait_ms: w.max_ms,
            lock_ms,
            sample_ms: SAMPLE_EVERY.as_millis() as u64,
        });
    }
    let keys: Vec<&Key> = opened.iter().filter(|k| measured(&k.kind)).collect();
    if keys.is_empty() && events.is_empty() {
        return Ok(events);
    }
    if !keys.is_empty() {
        allow_measured(conn).await?;
    }
    let mut tx = conn.begin().await?;
    let tables = object_tables(&mut tx, keys.iter().map(|k| k.object.as_str())).await?;
    for key in keys {
        let Some((table, _, _)) = tables.get(&key.object) else {
            continue;
        };
        let bytes_sql = match MEASURED.iter().find(|(k, _)| *k == key.kind).map(|m| m.1) {
            Some(Bytes::Total) => "pg_total_relation_size",
            _ => "pg_relation_size",
        };
        let (regclass, bytes): (String, i64) = sqlx::query_as(&format!(
            "SELECT to_regclass($1)::text, {bytes_sql}(to_regclass($1))"
        ))
        .bind(table)
        .fetch_one(&mut *tx)
        .await?;
        let rows: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {regclass}"))
            .fetch_one(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE engineer_sim.findings SET verification = $3
             WHERE kind = $1 AND object = $2 AND closed_by IS NULL",
        )
        .bind(&key.kind)
        .bind(&key.object)
        .bind(Verification::Measured.as_str())
        .execute(&mut *tx)
        .await?;
        events.push(Event::FindingMeasured {
            by: by.clone(),
            kind: key.kind.clone(),
            object: key.object.clone(),
            table: table.clone(),
            rows,
            bytes,
            lock_ms,
            app_queries_waited: waits.map(|w| w.queries),
            app_wait_ms: waits.map(|w| w.total_ms),
        });
    }
    for event in &events {
        ledger::record(&mut tx, event).await?;
    }
    tx.commit().await?;
    Ok(events)
}
