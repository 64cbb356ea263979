//! What `init` refuses (README "Safety"): the system databases, and a database that already holds
//! anything (tables, views, sequences, types, functions, foreign tables, schemas) unless `--force`.

use anyhow::Result;
use sqlx::PgConnection;

use crate::error::environment;
use crate::pg::USER_SCHEMAS;

/// `template0` and `template1` are copied into every new database: never. `postgres` is where
/// tools and people connect by default: only with `--force`.
pub async fn refuse_system_database(conn: &mut PgConnection, force: bool) -> Result<()> {
    let name: String = sqlx::query_scalar("SELECT current_database()::text")
        .fetch_one(conn)
        .await?;
    let refused = match name.as_str() {
        "template0" | "template1" => true,
        "postgres" => !force,
        _ => false,
    };
    if !refused {
        return Ok(());
    }
    let hint = if name == "postgres" {
        "create a database for the simulation (CREATE DATABASE sim) and point --database-url at it, or pass --force"
    } else {
        "create a database for the simulation (CREATE DATABASE sim) and point --database-url at it"
    };
    Err(environment(format!(
        "refusing to initialise `{name}`: it is a system database; nothing was changed"
    ))
    .with_hint(hint)
    .into())
}

/// A database that holds anything of its own is someone's: engineer-sim damages schemas on purpose.
pub async fn refuse_non_empty(conn: &mut PgConnection, force: bool) -> Result<()> {
    let objects = user_objects(conn).await?;
    if objects.is_empty() || force {
        return Ok(());
    }
    Err(environment(format!(
        "refusing to initialise: the database holds {} and no engineer-sim marker; nothing was changed",
        objects.join(", ")
    ))
    .with_hint("point --database-url at an empty database, or pass --force if this database may be damaged on purpose")
    .into())
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
