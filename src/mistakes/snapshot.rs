//! The catalog snapshot the apply step takes just before and just after a change's DDL; the
//! ledger kinds compare the two (README "Mistake kinds", `ledger`).

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Result;
use sqlx::PgConnection;

use crate::pg::USER_SCHEMAS;

/// What the apply step compares around a change's DDL, for the kinds no catalog query can prove
/// after the fact (README "Mistake kinds", `ledger`): which tables were rewritten, which indexes came
/// and went, which columns became NOT NULL.
#[derive(Debug, Default, Clone)]
pub struct Snapshot {
    /// `schema.table` -> its identity and storage. Compared by oid too, so a table dropped and
    /// created again under the same name is a new table, not a rewritten one.
    pub tables: BTreeMap<String, TableId>,
    /// `schema.index` -> `schema.table`.
    pub indexes: BTreeMap<String, String>,
    /// `schema.table.column` -> whether it is NOT NULL.
    pub columns: BTreeMap<String, bool>,
    /// Columns with a validated `CHECK (col IS NOT NULL)`, which lets SET NOT NULL skip its scan.
    pub checked_not_null: BTreeSet<String>,
    /// `schema.table(col)` for every column that leads a valid index.
    pub leading: BTreeSet<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableId {
    pub oid: i64,
    /// A table rewrite gives the table a new relfilenode.
    pub relfilenode: i64,
}

impl Snapshot {
    pub async fn take(conn: &mut PgConnection) -> Result<Snapshot> {
        let tables: Vec<(String, i64, i64)> = sqlx::query_as(&format!(
            "SELECT format('%s.%s', n.nspname, c.relname), c.oid::bigint, c.relfilenode::bigint
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE c.relkind IN ('r', 'p', 'm') AND {USER_SCHEMAS}"
        ))
        .fetch_all(&mut *conn)
        .await?;
        let indexes: Vec<(String, String)> = sqlx::query_as(&format!(
            "SELECT format('%s.%s', n.nspname, i.relname), format('%s.%s', n.nspname, t.relname)
             FROM pg_index x
             JOIN pg_class i ON i.oid = x.indexrelid
             JOIN pg_class t ON t.oid = x.indrelid
             JOIN pg_namespace n ON n.oid = i.relnamespace
             WHERE {USER_SCHEMAS}"
        ))
        .fetch_all(&mut *conn)
        .await?;
        let columns: Vec<(String, bool)> = sqlx::query_as(&format!(
            "SELECT format('%s.%s.%s', n.nspname, c.relname, a.attname), a.attnotnull
             FROM pg_attribute a
             JOIN pg_class c ON c.oid = a.attrelid
             JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p') AND {USER_SCHEMAS}"
        ))
        .fetch_all(&mut *conn)
        .await?;
        let checked: Vec<String> = sqlx::query_scalar(&format!(
            "SELECT format('%s.%s.%s', n.nspname, c.relname, a.attname)
             FROM pg_constraint con
             JOIN pg_class c ON c.oid = con.conrelid
             JOIN pg_namespace n ON n.oid = c.relnamespace
             JOIN pg_attribute a ON a.attrelid = c.oid AND con.conkey = ARRAY[a.attnum]
             WHERE con.contype = 'c' AND con.convalidated
               AND pg_get_constraintdef(con.oid) = format('CHECK ((%s IS NOT NULL))', quote_ident(a.attname))
               AND {USER_SCHEMAS}"
        ))
        .fetch_all(&mut *conn)
        .await?;
        let leading: Vec<String> = sqlx::query_scalar(&format!(
            "SELECT DISTINCT format('%s.%s(%s)', n.nspname, t.relname, a.attname)
             FROM pg_index x
             JOIN pg_class t ON t.oid = x.indrelid
             JOIN pg_namespace n ON n.oid = t.relnamespace
             JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = x.indkey[0]
             WHERE x.indisvalid AND {USER_SCHEMAS}"
        ))
        .fetch_all(&mut *conn)
        .await?;
        Ok(Snapshot {
            leading: leading.into_iter().collect(),
            tables: tables
                .into_iter()
                .map(|(name, oid, relfilenode)| (name, TableId { oid, relfilenode }))
                .collect(),
            indexes: indexes.into_iter().collect(),
            columns: columns.into_iter().collect(),
            checked_not_null: checked.into_iter().collect(),
        })
    }

    /// Whether `table` is the same table (same oid) in both snapshots.
    pub fn same_table(&self, other: &Snapshot, table: &str) -> bool {
        matches!((self.tables.get(table), other.tables.get(table)), (Some(a), Some(b)) if a.oid == b.oid)
    }

    /// Whether an object named the README way ("What lands in `state/`") exists: `schema.table(col,...)`,
    /// `schema.index`, `schema.table` or `schema.table.column`.
    pub fn has_object(&self, object: &str) -> bool {
        if let Some((table, cols)) = object.split_once('(') {
            let cols = cols.trim_end_matches(')');
            return self.tables.contains_key(table)
                && cols
                    .split(',')
                    .all(|c| self.columns.contains_key(&format!("{table}.{}", c.trim())));
        }
        self.indexes.contains_key(object)
            || self.tables.contains_key(object)
            || self.columns.contains_key(object)
    }
}
