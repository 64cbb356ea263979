//! The ledger in the target database (README "What lands in `state/`"): marker, applied changes, findings,
//! journal events. Everything the journal files say can be rebuilt from here.

use anyhow::{Context, Result};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, Row};

use crate::error::{environment, Exit, UserError};
use crate::pg::USER_SCHEMAS;

const SCHEMA_SQL: &str = include_str!("ledger.sql");

/// What `init` records: the run's identity.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Marker {
    pub roadmap: String,
    pub seed: u64,
    pub start_date: NaiveDate,
    /// Who does each change: the roadmap's author, or a seeded choice by focus.
    pub assign: crate::sim::Assign,
    pub tool_version: String,
}

/// A finding as the ledger holds it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FindingRow {
    pub kind: String,
    pub object: String,
    pub origin: String,
    pub verification: String,
    pub opened_by: String,
    pub opened_week: i32,
    pub opened_author: String,
    pub closed_by: Option<String>,
    pub closed_week: Option<i32>,
    pub excuse: Option<String>,
}

/// An applied change as the ledger holds it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChangeRow {
    pub change_id: String,
    pub seq: i32,
    pub week: i32,
    pub day: String,
    pub sim_day: i32,
    pub sim_date: NaiveDate,
    pub author: String,
    pub title: String,
    pub sql_sha256: String,
    pub applied_sql: String,
    pub clean_sql: String,
    pub slips: serde_json::Value,
}

pub async fn has_ledger(conn: &mut PgConnection) -> Result<bool> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'engineer_sim')",
    )
    .fetch_one(conn)
    .await?)
}

/// What a database holds outside the system schemas and the ledger (objects of extensions left
/// out), as "3 tables, 1 sequence": `init` refuses a database that holds anything.
pub async fn user_objects(conn: &mut PgConnection) -> Result<Vec<String>> {
    let rows: Vec<(String, i64)> = sqlx::query_as(&format!(
        "WITH user_ns AS (
           SELECT oid, nspname FROM pg_namespace n WHERE {USER_SCHEMAS}
         ),
         ext AS (SELECT classid, objid FROM pg_depend WHERE deptype = 'e'),
         objects AS (
           SELECT CASE c.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view'
                    WHEN 'S' THEN 'sequence' WHEN 'f' THEN 'foreign table' ELSE 'table' END AS kind
           FROM pg_class c JOIN user_ns n ON n.oid = c.relnamespace
           WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
             AND (c.oid, 'pg_class'::regclass) NOT IN (SELECT objid, classid FROM ext)
           UNION ALL
           SELECT 'type' FROM pg_type t JOIN user_ns n ON n.oid = t.typnamespace
           WHERE t.typtype IN ('b', 'c', 'd', 'e', 'r', 'm') AND t.typcategory <> 'A'
             AND (t.typrelid = 0 OR (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c')
             AND (t.oid, 'pg_type'::regclass) NOT IN (SELECT objid, classid FROM ext)
           UNION ALL
           SELECT 'function' FROM pg_proc p JOIN user_ns n ON n.oid = p.pronamespace
           WHERE (p.oid, 'pg_proc'::regclass) NOT IN (SELECT objid, classid FROM ext)
           UNION ALL
           SELECT 'schema' FROM user_ns n
           WHERE n.nspname <> 'public'
             AND (n.oid, 'pg_namespace'::regclass) NOT IN (SELECT objid, classid FROM ext)
         )
         SELECT kind, count(*) FROM objects GROUP BY kind ORDER BY kind"
    ))
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(kind, n)| {
            let plural = if n == 1 { "" } else { "s" };
            format!("{n} {kind}{plural}")
        })
        .collect())
}

pub async fn create_schema(conn: &mut PgConnection, marker: &Marker) -> Result<()> {
    sqlx::raw_sql(SCHEMA_SQL)
        .execute(&mut *conn)
        .await
        .context("creating the engineer_sim ledger")?;
    sqlx::query(
        "INSERT INTO engineer_sim.marker (roadmap, seed, start_date, assign, tool_version) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&marker.roadmap)
    .bind(marker.seed as i64)
    .bind(marker.start_date)
    .bind(marker.assign.as_str())
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
    let row = sqlx::query(
        "SELECT roadmap, seed, start_date, assign, tool_version FROM engineer_sim.marker",
    )
    .fetch_optional(conn)
    .await?
    .ok_or_else(not_a_target)?;
    Ok(Marker {
        roadmap: row.get("roadmap"),
        seed: row.get::<i64, _>("seed") as u64,
        start_date: row.get("start_date"),
        assign: crate::sim::Assign::parse(row.get("assign")),
        tool_version: row.get("tool_version"),
    })
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
    .bind(&row.slips)
    .bind(started)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn open_finding(
    conn: &mut PgConnection,
    kind: &str,
    object: &str,
    origin: &str,
    verification: &str,
    opened_by: &str,
    excuse: Option<&str>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO engineer_sim.findings (kind, object, origin, verification, opened_by, excuse)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(kind)
    .bind(object)
    .bind(origin)
    .bind(verification)
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
    let rows = sqlx::query(
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
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| FindingRow {
            kind: r.get("kind"),
            object: r.get("object"),
            origin: r.get("origin"),
            verification: r.get("verification"),
            opened_by: r.get("opened_by"),
            opened_week: r.get("opened_week"),
            opened_author: r.get("opened_author"),
            closed_by: r.get("closed_by"),
            closed_week: r.get("closed_week"),
            excuse: r.get("excuse"),
        })
        .collect())
}

pub async fn changes(conn: &mut PgConnection) -> Result<Vec<ChangeRow>> {
    let rows = sqlx::query(
        "SELECT change_id, seq, week, day, sim_day, sim_date, author, title, sql_sha256,
                applied_sql, clean_sql, slips
         FROM engineer_sim.changes ORDER BY seq",
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| ChangeRow {
            change_id: r.get("change_id"),
            seq: r.get("seq"),
            week: r.get("week"),
            day: r.get("day"),
            sim_day: r.get("sim_day"),
            sim_date: r.get("sim_date"),
            author: r.get("author"),
            title: r.get("title"),
            sql_sha256: r.get("sql_sha256"),
            applied_sql: r.get("applied_sql"),
            clean_sql: r.get("clean_sql"),
            slips: r.get("slips"),
        })
        .collect())
}

pub async fn record_event(conn: &mut PgConnection, event: &serde_json::Value) -> Result<()> {
    sqlx::query("INSERT INTO engineer_sim.events (event) VALUES ($1)")
        .bind(event)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn events(conn: &mut PgConnection) -> Result<Vec<serde_json::Value>> {
    Ok(
        sqlx::query_scalar("SELECT event FROM engineer_sim.events ORDER BY seq")
            .fetch_all(conn)
            .await?,
    )
}

/// Serialises appliers: two ticks at once must not both apply a change (README "How it works").
pub async fn lock_for_apply(conn: &mut PgConnection) -> Result<()> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('engineer-sim apply'))")
        .execute(conn)
        .await?;
    Ok(())
}

/// Refuses to run against a ledger written with another seed than asked for.
pub fn ensure_seed(marker: &Marker, asked: Option<u64>) -> Result<()> {
    match asked {
        Some(seed) if seed != marker.seed => Err(UserError::new(
            Exit::BadInput,
            format!(
                "this database was initialised with seed {}, not {seed}",
                marker.seed
            ),
        )
        .with_hint("drop --seed, or start from a fresh state directory (--state-dir) or database")
        .into()),
        _ => Ok(()),
    }
}
