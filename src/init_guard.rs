//! What `init` refuses (README "Safety"): the system databases, and a database that already holds
//! anything (tables, views, sequences, types, functions, foreign tables, schemas) unless `--force`.

use anyhow::Result;
use sqlx::PgConnection;

use crate::error::environment;
use crate::ledger;

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
    let objects = ledger::user_objects(conn).await?;
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
