//! Throw-away databases in a shared embedded cluster, for tests: the same cluster code users run.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use anyhow::Result;

use super::embedded::EmbeddedCluster;

/// The shared test cluster lives outside the source tree, at a short path (unix socket limit).
/// `ENGINEER_SIM_TEST_PG` moves it.
pub fn test_cluster_root() -> PathBuf {
    if let Ok(dir) = std::env::var("ENGINEER_SIM_TEST_PG") {
        return PathBuf::from(dir);
    }
    let user = std::env::var("USER").unwrap_or_else(|_| "user".into());
    std::env::temp_dir().join(format!("engineer-sim-test-{user}"))
}

pub fn test_cluster() -> Result<EmbeddedCluster> {
    let root = test_cluster_root();
    std::fs::create_dir_all(&root)?;
    make_traversable(&root);
    let cluster = EmbeddedCluster::new(&root)?;
    cluster.ensure_started()?;
    Ok(cluster)
}

/// As root the server runs as `postgres`, which must be able to enter the directory.
fn make_traversable(dir: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755));
}

/// A fresh, empty database in the test cluster; dropped by [`ScratchDb::drop_now`].
pub struct ScratchDb {
    pub name: String,
    pub url: String,
    admin_url: String,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

impl ScratchDb {
    pub async fn create(prefix: &str) -> Result<ScratchDb> {
        let cluster = test_cluster()?;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default();
        let name = format!(
            "{prefix}_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst),
            nanos
        );
        let admin_url = cluster.url("postgres");
        let mut admin = super::connect(&admin_url).await?;
        sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await?;
        Ok(ScratchDb {
            url: cluster.url(&name),
            name,
            admin_url,
        })
    }

    /// A scratch database with `sql` applied, and a connection to it.
    pub async fn with_sql(prefix: &str, sql: &str) -> Result<(ScratchDb, sqlx::PgConnection)> {
        let db = ScratchDb::create(prefix).await?;
        let mut conn = super::connect(&db.url).await?;
        sqlx::raw_sql(sql).execute(&mut conn).await?;
        Ok((db, conn))
    }

    pub async fn drop_now(self) -> Result<()> {
        let mut admin = super::connect(&self.admin_url).await?;
        sqlx::raw_sql(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ))
        .execute(&mut admin)
        .await?;
        Ok(())
    }
}
