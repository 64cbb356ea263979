//! The statistics a workload is judged against: per index `idx_scan`, per table sequential
//! scans, live and dead tuples and size, read before and after the workload so the judgement is
//! on what the workload itself did (the growth's own writes use indexes too).

use crate::pg::USER_SCHEMAS;
use std::collections::{BTreeMap, BTreeSet};

use super::workload::QueryUsage;

use anyhow::Result;
use sqlx::PgConnection;

/// Usage of one table over a workload (or, for sizes and tuples, at its end).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct TableUsage {
    pub seq_scan: i64,
    pub seq_tup_read: i64,
    pub idx_scan: i64,
    pub n_live_tup: i64,
    pub n_dead_tup: i64,
    pub total_bytes: i64,
}

impl TableUsage {
    /// Whether the workload read the table at all.
    pub fn read(&self) -> bool {
        self.seq_scan > 0 || self.idx_scan > 0
    }

    /// The share of dead tuples, 0..1.
    pub fn dead_share(&self) -> f64 {
        let all = self.n_live_tup + self.n_dead_tup;
        if all <= 0 {
            0.0
        } else {
            self.n_dead_tup as f64 / all as f64
        }
    }
}

/// A table's row as both queries read it: the name, then the usage columns in struct order.
type TableRow = (String, i64, i64, i64, i64, i64, i64);

fn table_row(row: TableRow) -> (String, TableUsage) {
    let (name, seq_scan, seq_tup_read, idx_scan, n_live_tup, n_dead_tup, total_bytes) = row;
    (
        name,
        TableUsage {
            seq_scan,
            seq_tup_read,
            idx_scan,
            n_live_tup,
            n_dead_tup,
            total_bytes,
        },
    )
}

/// Cumulative statistics at one moment; for a recorded workload, also what each query did and
/// the history the dropped indexes are judged against.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// `schema.index` -> (`schema.table`, idx_scan).
    pub indexes: BTreeMap<String, (String, i64)>,
    pub tables: BTreeMap<String, TableUsage>,
    /// A recorded workload's queries, by script name (`change/query`).
    pub queries: BTreeMap<String, QueryUsage>,
    /// Every index any change left, with its table (from the ledger's schema snapshots).
    pub index_tables: BTreeMap<String, String>,
    /// The queries that scanned each index in an earlier recorded workload.
    pub used_before: BTreeMap<String, BTreeSet<String>>,
}

impl Stats {
    pub async fn read(conn: &mut PgConnection) -> Result<Stats> {
        let indexes: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT format('%s.%s', schemaname, indexrelname), format('%s.%s', schemaname, relname),
                    coalesce(idx_scan, 0)
             FROM pg_stat_user_indexes WHERE schemaname <> 'engineer_sim'",
        )
        .fetch_all(&mut *conn)
        .await?;
        let tables: Vec<TableRow> = sqlx::query_as(
            "SELECT format('%s.%s', schemaname, relname), coalesce(seq_scan, 0), coalesce(seq_tup_read, 0),
                    coalesce(idx_scan, 0), n_live_tup, n_dead_tup, pg_total_relation_size(relid)
             FROM pg_stat_user_tables WHERE schemaname <> 'engineer_sim'",
        )
        .fetch_all(&mut *conn)
        .await?;
        Ok(Stats {
            indexes: indexes
                .into_iter()
                .map(|(index, table, scans)| (index, (table, scans)))
                .collect(),
            tables: tables.into_iter().map(table_row).collect(),
            ..Stats::default()
        })
    }

    /// What happened between `before` and `self`: scan counts as differences, tuples and sizes
    /// as they stand at the end.
    pub fn since(&self, before: &Stats) -> Stats {
        let indexes = self
            .indexes
            .iter()
            .map(|(index, (table, scans))| {
                let earlier = before.indexes.get(index).map_or(0, |(_, s)| *s);
                (index.clone(), (table.clone(), (scans - earlier).max(0)))
            })
            .collect();
        let tables = self
            .tables
            .iter()
            .map(|(table, now)| {
                let was = before.tables.get(table).copied().unwrap_or_default();
                (
                    table.clone(),
                    TableUsage {
                        seq_scan: (now.seq_scan - was.seq_scan).max(0),
                        seq_tup_read: (now.seq_tup_read - was.seq_tup_read).max(0),
                        idx_scan: (now.idx_scan - was.idx_scan).max(0),
                        ..*now
                    },
                )
            })
            .collect();
        Stats {
            indexes,
            tables,
            ..Stats::default()
        }
    }
}

/// The usage recorded for the last workload run, if any: what `verify` and the statistics kinds
/// judge against.
pub async fn last_workload(conn: &mut PgConnection) -> Result<Option<(i32, Stats)>> {
    if !super::run::has_ledger_table(conn, "workloads").await? {
        return Ok(None);
    }
    let Some(id): Option<i32> = sqlx::query_scalar("SELECT max(id) FROM engineer_sim.workloads")
        .fetch_one(&mut *conn)
        .await?
    else {
        return Ok(None);
    };
    let indexes: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT index_name, table_name, idx_scan FROM engineer_sim.index_usage WHERE workload_id = $1",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    let tables: Vec<TableRow> = sqlx::query_as(
        "SELECT table_name, seq_scan, seq_tup_read, idx_scan, n_live_tup, n_dead_tup, total_bytes
         FROM engineer_sim.table_usage WHERE workload_id = $1",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    let mut stats = Stats {
        indexes: indexes.into_iter().map(|(i, t, s)| (i, (t, s))).collect(),
        tables: tables.into_iter().map(table_row).collect(),
        index_tables: index_tables(conn).await?,
        ..Stats::default()
    };
    if super::run::has_ledger_table(conn, "query_usage").await? {
        let rows: Vec<(i32, String, String, String)> = sqlx::query_as(
            "SELECT workload_id, query, relation, access FROM engineer_sim.query_usage
             WHERE workload_id <= $1 ORDER BY workload_id",
        )
        .bind(id)
        .fetch_all(&mut *conn)
        .await?;
        for (workload, query, relation, access) in rows {
            if workload == id {
                let did = stats.queries.entry(query).or_default();
                match access.as_str() {
                    "index" => did.indexes.insert(relation),
                    _ => did.seq_tables.insert(relation),
                };
            } else if access == "index" {
                stats.used_before.entry(relation).or_default().insert(query);
            }
        }
    }
    Ok(Some((id, stats)))
}

/// Every index in the ledger's schema snapshots, with the table it is on: a dropped index's
/// table is known from the snapshot of a change before the drop.
async fn index_tables(conn: &mut PgConnection) -> Result<BTreeMap<String, String>> {
    if !super::run::has_ledger_table(conn, "schema_snapshots").await? {
        return Ok(BTreeMap::new());
    }
    let rows: Vec<(String, Option<String>)> = sqlx::query_as(
        r"SELECT DISTINCT substr(o.key, 7), substring(o.value FROM ' ON (?:ONLY )?(\S+) USING ')
          FROM engineer_sim.schema_snapshots s, jsonb_each_text(s.objects) o
          WHERE o.key LIKE 'index %'",
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(index, table)| Some((index, table?)))
        .collect())
}

/// Size and rows of every user table now, for the findings (`schema.table` -> (bytes, rows)).
/// Rows are the planner's estimate; a table never vacuumed or analyzed has none (-1), which
/// autovacuum leaves so below 50 changed rows (most configuration tables), and then the
/// statistics' live-row count, exact for tables only ever inserted into, stands in.
pub async fn table_sizes(conn: &mut PgConnection) -> Result<BTreeMap<String, (i64, i64)>> {
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(&format!(
        "SELECT format('%s.%s', n.nspname, c.relname), pg_total_relation_size(c.oid),
                CASE WHEN c.reltuples >= 0 THEN c.reltuples::bigint
                     ELSE coalesce(s.n_live_tup, 0) END
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         LEFT JOIN pg_stat_all_tables s ON s.relid = c.oid
         WHERE c.relkind IN ('r', 'p') AND {USER_SCHEMAS}"
    ))
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|(t, b, r)| (t, (b, r))).collect())
}

/// The size and rows of the table each object is on (`schema.table(cols)`, `schema.table.col`,
/// `schema.table` or `schema.index`); objects whose table is gone are left out.
pub async fn object_tables(
    conn: &mut PgConnection,
    objects: impl IntoIterator<Item = &str>,
) -> Result<BTreeMap<String, (String, i64, i64)>> {
    let sizes = table_sizes(conn).await?;
    let index_tables: BTreeMap<String, String> = sqlx::query_as::<_, (String, String)>(
        "SELECT format('%s.%s', n.nspname, i.relname), format('%s.%s', n.nspname, t.relname)
         FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
         JOIN pg_class t ON t.oid = x.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace",
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .collect();
    let mut out = BTreeMap::new();
    for object in objects {
        let table = if let Some((table, _)) = object.split_once('(') {
            table.to_string()
        } else if let Some(table) = index_tables.get(object) {
            table.clone()
        } else if sizes.contains_key(object) {
            object.to_string()
        } else {
            match object.rsplit_once('.') {
                Some((table, _)) => table.to_string(),
                None => continue,
            }
        };
        if let Some((bytes, rows)) = sizes.get(&table) {
            out.insert(object.to_string(), (table, *bytes, *rows));
        }
    }
    Ok(out)
}
