//! The ledger in the target database (README "What lands in `state/`"): marker, applied changes, findings,
//! journal events. Everything the journal files say can be rebuilt from here.

use anyhow::{Context, Result};
use sqlx::PgConnection;

use crate::error::{environment, UserError};
use crate::mistakes::Verification;

mod event;
mod rows;

pub use event::{By, DataWritten, Event};
pub use rows::{ChangeRow, FindingRow, Marker, Origin, UnknownName};

const SCHEMA_SQL: &str = include_str!("schema.sql");

/// The id under which the base schema is recorded in the ledger, as if it were a change.
pub const BASE_ID: &str = "base";

pub async fn has_ledger(conn: &mut PgConnection) -> Result<bool> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'engineer_sim')",
    )
    .fetch_one(conn)
    .await?)
}

pub async fn create_schema(conn: &mut PgConnection, marker: &Marker) -> Result<()> {
    sqlx::raw_sql(SCHEMA_SQL)
        .execute(&mut *conn)
        .await
        .context("creating the engineer_sim ledger")?;
    sqlx::query(
        "INSERT INTO engineer_sim.marker (roadmap, seed, start_date, assign, tool_version) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&marker.identity.roadmap)
    // A u64 kept bit for bit (MarkerRow reads it back).
    .bind(marker.identity.seed as i64)
    .bind(marker.identity.start_date)
    .bind(marker.identity.assign.as_str())
    .bind(&marker.tool_version)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The marker, or a clear error when this database is not a simulation target (README "Safety").
pub async fn marker(conn: &mut PgConnection) -> Result<Marker> {
    if !has_ledger(conn).await? {
        return Err(not_a_target().into());
    }
    let row: rows::MarkerRow = sqlx::query_as(
        "SELECT roadmap, seed, start_date, assign, tool_version FROM engineer_sim.marker",
    )
    .fetch_optional(conn)
    .await?
    .ok_or_else(not_a_target)?;
    Ok(row.into())
}

fn not_a_target() -> UserError {
    environment("this database is not an engineer-sim target (no engineer_sim marker)")
        .with_hint("run `engineer-sim init` first (it refuses a database that already has tables unless --force)")
}

pub async fn applied_change_ids(conn: &mut PgConnection) -> Result<Vec<String>> {
    Ok(
        sqlx::query_scalar("SELECT change_id FROM engineer_sim.changes ORDER BY seq")
            .fetch_all(conn)
            .await?,
    )
}

pub async fn is_applied(conn: &mut PgConnection, change_id: &str) -> Result<bool> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM engineer_sim.changes WHERE change_id = $1)",
    )
    .bind(change_id)
    .fetch_one(conn)
    .await?)
}

pub async fn next_seq(conn: &mut PgConnection) -> Result<i32> {
    Ok(
        sqlx::query_scalar("SELECT COALESCE(max(seq) + 1, 0) FROM engineer_sim.changes")
            .fetch_one(conn)
            .await?,
    )
}

pub async fn insert_change(
    conn: &mut PgConnection,
    row: &ChangeRow,
    started: chrono::DateTime<chrono::Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO engineer_sim.changes
           (change_id, seq, week, day, sim_day, sim_date, author, title, seed, sql_sha256,
            applied_sql, clean_sql, slips, status, started_at, finished_at)
         SELECT $1, $2, $3, $4, $5, $6, $7, $8, m.seed, $9, $10, $11, $12, 'applied', $13, clock_timestamp()
         FROM engineer_sim.marker m",
    )
    .bind(&row.change_id)
    .bind(row.seq)
    .bind(row.week)
    .bind(&row.day)
    .bind(row.sim_day)
    .bind(row.sim_date)
    .bind(&row.author)
    .bind(&row.title)
    .bind(&row.sql_sha256)
    .bind(&row.applied_sql)
    .bind(&row.clean_sql)
    .bind(sqlx::types::Json(&row.slips))
    .bind(started)
    .execute(conn)
    .await?;
    Ok(())
}

/// How long `change_id` ran before its ledger row was written, just before its commit: from its
/// start, its audit before the DDL included, so an upper bound of how long it held its locks.
pub async fn change_span(
    conn: &mut PgConnection,
    change_id: &str,
) -> Result<Option<std::time::Duration>> {
    let ms: Option<i64> = sqlx::query_scalar(
        "SELECT (extract(epoch FROM finished_at - started_at) * 1000)::bigint
         FROM engineer_sim.changes WHERE change_id = $1",
    )
    .bind(change_id)
    .fetch_optional(conn)
    .await?
    .flatten();
    Ok(ms.map(|ms| std::time::Duration::from_millis(ms.max(0) as u64)))
}

pub async fn open_finding(
    conn: &mut PgConnection,
    kind: &str,
    object: &str,
    origin: Origin,
    verification: Verification,
    opened_by: &str,
    excuse: Option<&str>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO engineer_sim.findings (kind, object, origin, verification, opened_by, excuse)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(kind)
    .bind(object)
    .bind(origin.as_str())
    .bind(verification.as_str())
    .bind(opened_by)
    .bind(excuse)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn close_finding(
    conn: &mut PgConnection,
    kind: &str,
    object: &str,
    closed_by: &str,
) -> Result<()> {
    sqlx::query(
        "UPDATE engineer_sim.findings SET closed_by = $3
         WHERE kind = $1 AND object = $2 AND closed_by IS NULL",
    )
    .bind(kind)
    .bind(object)
    .bind(closed_by)
    .execute(conn)
    .await?;
    Ok(())
}

/// Findings, open only or all, in a stable order.
pub async fn findings(conn: &mut PgConnection, include_closed: bool) -> Result<Vec<FindingRow>> {
    Ok(sqlx::query_as(
        "SELECT f.kind, f.object, f.origin, f.verification, f.opened_by, f.closed_by, f.excuse,
                c.week AS opened_week, c.author AS opened_author, x.week AS closed_week
         FROM engineer_sim.findings f
         JOIN engineer_sim.changes c ON c.change_id = f.opened_by
         LEFT JOIN engineer_sim.changes x ON x.change_id = f.closed_by
         WHERE $1 OR f.closed_by IS NULL
         ORDER BY f.kind, f.object, c.seq",
    )
    .bind(include_closed)
    .fetch_all(conn)
    .await?)
}

pub async fn changes(conn: &mut PgConnection) -> Result<Vec<ChangeRow>> {
    Ok(sqlx::query_as(
        "SELECT change_id, seq, week, day, sim_day, sim_date, author, title, sql_sha256,
                applied_sql, clean_sql, slips
         FROM engineer_sim.changes ORDER BY seq",
    )
    .fetch_all(conn)
    .await?)
}

/// Journals an event (README "What lands in `state/`"); in a transaction, it commits with the
/// work it describes.
pub async fn record(conn: &mut PgConnection, event: &Event) -> Result<()> {
    sqlx::query("INSERT INTO engineer_sim.events (event) VALUES ($1)")
        .bind(event.to_stored())
        .execute(conn)
        .await?;
    Ok(())
}

/// Every journaled event as stored, in order: the lines of `journal.jsonl`.
pub async fn events(conn: &mut PgConnection) -> Result<Vec<serde_json::Value>> {
    Ok(
        sqlx::query_scalar("SELECT event FROM engineer_sim.events ORDER BY seq")
            .fetch_all(conn)
            .await?,
    )
}

/// How many events the ledger holds and the last one's seq: anything journaled since (by this
/// process or another) changes it, so a process can tell whether what it saw is still so.
pub async fn events_mark(conn: &mut PgConnection) -> Result<(i64, i64)> {
    Ok(
        sqlx::query_as("SELECT count(*), coalesce(max(seq), 0) FROM engineer_sim.events")
            .fetch_one(conn)
            .await?,
    )
}

/// Whether the data seed finished: its event is journaled with its last chunk.
pub async fn data_seeded(conn: &mut PgConnection) -> Result<bool> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM engineer_sim.events WHERE event->>'event' = 'data_seeded')",
    )
    .fetch_one(conn)
    .await?)
}

/// Whether `change_id`'s backfill is journaled (`change_backfilled`).
pub async fn backfill_journaled(conn: &mut PgConnection, change_id: &str) -> Result<bool> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM engineer_sim.events
                        WHERE event->>'event' = 'change_backfilled' AND event->>'change_id' = $1)",
    )
    .bind(change_id)
    .fetch_one(conn)
    .await?)
}

/// Serialises appliers: two ticks at once must not both apply a change (README "How it works").
pub async fn lock_for_apply(conn: &mut PgConnection) -> Result<()> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('engineer-sim apply'))")
        .execute(conn)
        .await?;
    Ok(())
}
