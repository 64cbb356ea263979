//! The catalog snapshot the apply step takes just before and just after a change's DDL; the
//! ledger kinds compare the two (README "Mistake kinds", `ledger`).

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Result;
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;

use crate::pg::USER_SCHEMAS;

/// What the apply step compares around a change's DDL, for the kinds no catalog query can prove
/// after the fact (README "Mistake kinds", `ledger`): which tables were rewritten, which indexes came
/// and went, which columns became NOT NULL.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableId {
    pub oid: i64,
    /// A table rewrite gives the table a new relfilenode.
    pub relfilenode: i64,
}

/// The snapshot's five reads. `{of}` is empty, or keeps the relations in `$1` (each row's
/// relation is the one named `c` in the query).
const TABLES: &str =
    "SELECT format('%s.%s', n.nspname, c.relname), c.oid::bigint, c.relfilenode::bigint
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'm') AND {user_schemas} {of}";

const INDEXES: &str =
    "SELECT format('%s.%s', n.nspname, i.relname), format('%s.%s', n.nspname, c.relname)
    FROM pg_index x
    JOIN pg_class i ON i.oid = x.indexrelid
    JOIN pg_class c ON c.oid = x.indrelid
    JOIN pg_namespace n ON n.oid = i.relnamespace
    WHERE {user_schemas} {of}";

const COLUMNS: &str = "SELECT format('%s.%s.%s', n.nspname, c.relname, a.attname), a.attnotnull
    FROM pg_attribute a
    JOIN pg_class c ON c.oid = a.attrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p') AND {user_schemas} {of}";

const CHECKED_NOT_NULL: &str = "SELECT format('%s.%s.%s', n.nspname, c.relname, a.attname)
    FROM pg_constraint con
    JOIN pg_class c ON c.oid = con.conrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_attribute a ON a.attrelid = c.oid AND con.conkey = ARRAY[a.attnum]
    WHERE con.contype = 'c' AND con.convalidated
      AND pg_get_constraintdef(con.oid) = format('CHECK ((%s IS NOT NULL))', quote_ident(a.attname))
      AND {user_schemas} {of}";

const LEADING: &str = "SELECT DISTINCT format('%s.%s(%s)', n.nspname, c.relname, a.attname)
    FROM pg_index x
    JOIN pg_class c ON c.oid = x.indrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = x.indkey[0]
    WHERE x.indisvalid AND {user_schemas} {of}";

impl Snapshot {
    /// The whole snapshot.
    pub async fn take(conn: &mut PgConnection) -> Result<Snapshot> {
        Snapshot::take_of(conn, None).await
    }

    /// The snapshot now, when only the relations `touched` (their oids, those dropped since
    /// included) can have changed since `self` was taken, and `self` named them `was_named`
    /// (`schema.table`, no `.` in either part): their entries are read again, the rest kept.
    /// The apply step tells what a change touched by the catalog rows of each relation, its
    /// relfilenode included (README "Performance").
    pub async fn patched(
        &self,
        conn: &mut PgConnection,
        touched: &[i64],
        was_named: &BTreeSet<String>,
    ) -> Result<Snapshot> {
        let mut patched = self.clone();
        if touched.is_empty() {
            return Ok(patched);
        }
        let on_touched = |key: &str| was_named.contains(table_of(key));
        patched.tables.retain(|name, _| !was_named.contains(name));
        patched
            .indexes
            .retain(|_, table| !was_named.contains(table));
        patched.columns.retain(|key, _| !on_touched(key));
        patched.checked_not_null.retain(|key| !on_touched(key));
        patched.leading.retain(|key| !on_touched(key));
        let fresh = Snapshot::take_of(conn, Some(touched)).await?;
        patched.tables.extend(fresh.tables);
        patched.indexes.extend(fresh.indexes);
        patched.columns.extend(fresh.columns);
        patched.checked_not_null.extend(fresh.checked_not_null);
        patched.leading.extend(fresh.leading);
        Ok(patched)
    }

    async fn take_of(conn: &mut PgConnection, of: Option<&[i64]>) -> Result<Snapshot> {
        let tables: Vec<(String, i64, i64)> = rows(conn, TABLES, of).await?;
        let indexes: Vec<(String, String)> = rows(conn, INDEXES, of).await?;
        let columns: Vec<(String, bool)> = rows(conn, COLUMNS, of).await?;
        let checked: Vec<(String,)> = rows(conn, CHECKED_NOT_NULL, of).await?;
        let leading: Vec<(String,)> = rows(conn, LEADING, of).await?;
        Ok(Snapshot {
            leading: leading.into_iter().map(|(key,)| key).collect(),
            tables: tables
                .into_iter()
                .map(|(name, oid, relfilenode)| (name, TableId { oid, relfilenode }))
                .collect(),
            indexes: indexes.into_iter().collect(),
            columns: columns.into_iter().collect(),
            checked_not_null: checked.into_iter().map(|(key,)| key).collect(),
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

/// One of the reads, of every relation or of those in `of`.
async fn rows<T>(conn: &mut PgConnection, query: &str, of: Option<&[i64]>) -> Result<Vec<T>>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin,
{
    let filter = match of {
        Some(_) => "AND c.oid = ANY($1)",
        None => "",
    };
    let sql = query
        .replace("{user_schemas}", USER_SCHEMAS)
        .replace("{of}", filter);
    let mut query = sqlx::query_as(&sql);
    if let Some(oids) = of {
        query = query.bind(oids);
    }
    Ok(query.fetch_all(conn).await?)
}

/// The table a column (`schema.table.column`) or a leading column (`schema.table(column)`)
/// belongs to, when neither the schema's nor the table's name holds a `.`.
fn table_of(key: &str) -> &str {
    let Some((schema, rest)) = key.split_once('.') else {
        return key;
    };
    let table_len = rest.find(['.', '(']).unwrap_or(rest.len());
    &key[..schema.len() + 1 + table_len]
}
