//! The seed loads the base tables as a bulk loader would (README "A living database"): the
//! secondary indexes are dropped before the load and built after it, once, instead of being
//! updated row by row, and the load skips the foreign-key triggers.
//!
//! The dropped indexes' definitions are recorded in the ledger in the transaction that drops
//! them, and each is deleted from there in the statement after its build commits: a seed killed
//! in between leaves the definitions behind, and the next seed (which resumes the killed one)
//! builds them. Only plain, non-unique indexes that no constraint uses are deferred, so no
//! constraint is weaker during the load than after it, but for the foreign keys (below).

use anyhow::Result;
use sqlx::{Connection, PgConnection};

use super::chunks::run_parallel;
use super::run::Runner;
use crate::pg::USER_SCHEMAS;

/// The plain indexes of some tables, as `pg_get_indexdef` gives them.
fn deferrable_indexes() -> String {
    format!(
        "
    SELECT format('%I.%I', n.nspname, c.relname), pg_get_indexdef(i.indexrelid)
      FROM pg_index i
      JOIN pg_class c ON c.oid = i.indexrelid
      JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind = 'i' AND NOT i.indisunique AND i.indisvalid
       AND {USER_SCHEMAS}
       AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
       AND i.indrelid::regclass::text = ANY($1)
     ORDER BY n.nspname, c.relname"
    )
}

/// Drops the plain indexes of `tables` and records their definitions (a no-op when a killed seed
/// did so already: its definitions are still recorded). Only the tables that grow are worth it:
/// a configuration table's few rows cost nothing to index, and an index build would tell the
/// planner the table's true size, which autovacuum never measures for a table that small.
pub async fn drop_indexes(conn: &mut PgConnection, tables: &[String]) -> Result<()> {
    let mut tx = conn.begin().await?;
    let indexes: Vec<(String, String)> = sqlx::query_as(&deferrable_indexes())
        .bind(tables)
        .fetch_all(&mut *tx)
        .await?;
    for (name, definition) in &indexes {
        sqlx::query("INSERT INTO engineer_sim.deferred_indexes (name, definition) VALUES ($1, $2)")
            .bind(name)
            .bind(definition)
            .execute(&mut *tx)
            .await?;
        sqlx::raw_sql(&format!("DROP INDEX {name}"))
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Builds every recorded index, over the runner's connections, and forgets each once built.
pub async fn build_indexes(conn: &mut PgConnection, runner: &Runner) -> Result<()> {
    let pending: Vec<(String, String)> =
        sqlx::query_as("SELECT name, definition FROM engineer_sim.deferred_indexes ORDER BY name")
            .fetch_all(&mut *conn)
            .await?;
    // `IF NOT EXISTS`: an index whose build committed before a kill is not built twice.
    let pieces = pending
        .into_iter()
        .map(|(name, definition)| {
            vec![
                definition.replacen("CREATE INDEX ", "CREATE INDEX IF NOT EXISTS ", 1),
                format!(
                    "DELETE FROM engineer_sim.deferred_indexes WHERE name = '{}'",
                    name.replace('\'', "''")
                ),
            ]
        })
        .collect();
    // Room to sort an index of the largest base table in memory.
    run_parallel(runner, "SET maintenance_work_mem = '256MB'", pieces).await
}
