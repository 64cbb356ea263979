//! The seed loads the base tables as a bulk loader would (README "A living database"): the
//! secondary indexes and the primary keys are dropped before the load and built after it, once,
//! instead of being updated row by row, and the load skips the foreign-key triggers.
//!
//! The dropped definitions are recorded in the ledger in the transaction that drops them, and
//! each is deleted from there in the transaction that builds it again: a seed killed in between
//! leaves the definitions behind, and the next seed (which resumes the killed one) builds them.
//! Deferred are the plain, non-unique indexes that no constraint uses and the primary keys that
//! no foreign key references. A seed row's key is unique by construction (row n's id is a
//! bijection of n, docs/data-files.md), and rebuilding the key checks it. Unique constraints
//! stay: a step's `ON CONFLICT DO NOTHING` may rely on them to skip a repeated pair.

use anyhow::Result;
use sqlx::{Connection, PgConnection};

use super::chunks::run_parallel;
use super::run::Runner;
use crate::pg::USER_SCHEMAS;

/// What some tables can do without during the load: each index's name, the statement that
/// drops it and the one that builds it again. The plain indexes as `pg_get_indexdef` gives
/// them, and the primary keys no foreign key references as `pg_get_constraintdef` does.
fn deferrable() -> String {
    format!(
        "
    SELECT format('%I.%I', n.nspname, c.relname),
           format('DROP INDEX %I.%I', n.nspname, c.relname),
           pg_get_indexdef(i.indexrelid)
      FROM pg_index i
      JOIN pg_class c ON c.oid = i.indexrelid
      JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind = 'i' AND NOT i.indisunique AND i.indisvalid
       AND {USER_SCHEMAS}
       AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
       AND i.indrelid::regclass::text = ANY($1)
    UNION ALL
    SELECT format('%I.%I', n.nspname, k.conname),
           format('ALTER TABLE %s DROP CONSTRAINT %I', k.conrelid::regclass, k.conname),
           format('ALTER TABLE %s ADD CONSTRAINT %I %s', k.conrelid::regclass, k.conname,
                  pg_get_constraintdef(k.oid))
      FROM pg_constraint k
      JOIN pg_namespace n ON n.oid = k.connamespace
     WHERE k.contype = 'p' AND {USER_SCHEMAS}
       AND NOT EXISTS (SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' AND f.conindid = k.conindid)
       AND k.conrelid::regclass::text = ANY($1)
     ORDER BY 1"
    )
}

/// Drops the deferrable indexes and keys of `tables` and records their definitions (a no-op when
/// a killed seed did so already: its definitions are still recorded). Only the tables that grow
/// are worth it:
/// a configuration table's few rows cost nothing to index, and an index build would tell the
/// planner the table's true size, which autovacuum never measures for a table that small.
pub async fn drop_indexes(conn: &mut PgConnection, tables: &[String]) -> Result<()> {
    let mut tx = conn.begin().await?;
    let deferred: Vec<(String, String, String)> = sqlx::query_as(&deferrable())
        .bind(tables)
        .fetch_all(&mut *tx)
        .await?;
    for (name, drop, definition) in &deferred {
        sqlx::query("INSERT INTO engineer_sim.deferred_indexes (name, definition) VALUES ($1, $2)")
            .bind(name)
            .bind(definition)
            .execute(&mut *tx)
            .await?;
        sqlx::raw_sql(drop).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Builds every recorded index and key, over the runner's connections, each in the transaction
/// that forgets it.
pub async fn build_indexes(conn: &mut PgConnection, runner: &Runner) -> Result<()> {
    let pending: Vec<(String, String)> =
        sqlx::query_as("SELECT name, definition FROM engineer_sim.deferred_indexes ORDER BY name")
            .fetch_all(&mut *conn)
            .await?;
    let pieces = pending
        .into_iter()
        .map(|(name, definition)| {
            vec![
                "BEGIN".to_string(),
                definition,
                format!(
                    "DELETE FROM engineer_sim.deferred_indexes WHERE name = '{}'",
                    name.replace('\'', "''")
                ),
                "COMMIT".to_string(),
            ]
        })
        .collect();
    // Room to sort an index of the largest base table in memory.
    run_parallel(runner, "SET maintenance_work_mem = '256MB'", pieces).await
}
