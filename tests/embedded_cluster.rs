//! The embedded PostgreSQL cluster against the real server installed on the machine (no mocks).
//!
//! Needs PostgreSQL 13+ server binaries (see `EmbeddedCluster::new` for where they are looked
//! for). When the suite runs as root, it also runs the non-root code path by re-running one of
//! its own tests as the `postgres` account.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use engineer_sim::pg::embedded::{ClusterStatus, EmbeddedCluster};
use sqlx::Connection;

/// Tells `inner_non_root_cluster` which directory to use.
const INNER_ROOT_ENV: &str = "ENGINEER_SIM_TEST_EMBEDDED_ROOT";
const INNER_TEST: &str = "inner_non_root_cluster";

/// Stops the cluster when the test ends, passed or not.
struct StopOnDrop(EmbeddedCluster);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        if let Err(e) = self.0.stop() {
            eprintln!(
                "could not stop the cluster in {}: {e:#}",
                self.0.root().display()
            );
        }
    }
}

fn is_root() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    match status.lines().find_map(|l| l.strip_prefix("Uid:")) {
        Some(ids) => ids.split_whitespace().nth(1) == Some("0"),
        None => {
            let out = Command::new("id").arg("-u").output().expect("run id -u");
            String::from_utf8_lossy(&out.stdout).trim() == "0"
        }
    }
}

/// A temp dir the `postgres` account can traverse (tempfile makes them 0700).
fn traversable_tempdir() -> tempfile::TempDir {
    let dir = tempfile::Builder::new().prefix("emb-").tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Starts a cluster under `root`, checks it thoroughly, stops it.
fn exercise_cluster(root: &Path) {
    let cluster = EmbeddedCluster::new(root).unwrap();
    assert_eq!(cluster.status().unwrap(), ClusterStatus::NotInitialized);
    assert_eq!(cluster.data_dir(), cluster.root().join("data"));
    assert_eq!(cluster.log_file(), cluster.root().join("server.log"));
    let guard = StopOnDrop(cluster.clone());

    let started = Instant::now();
    cluster.ensure_started().unwrap();
    eprintln!("cold ensure_started took {:?}", started.elapsed());

    let ClusterStatus::Running { pid } = cluster.status().unwrap() else {
        panic!("not running after ensure_started: {:?}", cluster.status());
    };
    assert!(cluster.socket_dir().join(".s.PGSQL.5432").exists());

    let url = cluster.url("postgres");
    assert!(
        url.contains(&format!("host={}", cluster.socket_dir().display())),
        "{url}"
    );
    runtime().block_on(async {
        let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
        let one: i32 = sqlx::query_scalar("SELECT 1")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(one, 1);
        let listen: String = sqlx::query_scalar("SHOW listen_addresses")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(listen, "");
        let preload: String = sqlx::query_scalar("SHOW shared_preload_libraries")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert!(
            preload.split(',').any(|l| l.trim() == "pg_stat_statements"),
            "{preload}"
        );
        let socket_dirs: String = sqlx::query_scalar("SHOW unix_socket_directories")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(PathBuf::from(socket_dirs), cluster.socket_dir());
        let (user, superuser, encoding): (String, bool, String) = sqlx::query_as(
            "SELECT current_user::text, rolsuper, pg_encoding_to_char(d.encoding)::text
               FROM pg_roles r, pg_database d
              WHERE r.rolname = current_user AND d.datname = current_database()",
        )
        .fetch_one(&mut conn)
        .await
        .unwrap();
        assert_eq!(
            (user.as_str(), superuser, encoding.as_str()),
            ("postgres", true, "UTF8")
        );
        // The extensions the roadmap uses are installable.
        sqlx::query("CREATE EXTENSION pg_stat_statements")
            .execute(&mut conn)
            .await
            .unwrap();
        sqlx::query("CREATE DATABASE taskpilot")
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();

        let mut conn = sqlx::PgConnection::connect(&cluster.url("taskpilot"))
            .await
            .unwrap();
        let db: String = sqlx::query_scalar("SELECT current_database()::text")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(db, "taskpilot");
        for ext in ["uuid-ossp", "pg_trgm", "btree_gin"] {
            sqlx::query(&format!("CREATE EXTENSION \"{ext}\""))
                .execute(&mut conn)
                .await
                .unwrap();
        }
        conn.close().await.unwrap();
    });

    // Again: a no-op, same postmaster.
    let again = Instant::now();
    cluster.ensure_started().unwrap();
    eprintln!("warm ensure_started took {:?}", again.elapsed());
    assert_eq!(cluster.status().unwrap(), ClusterStatus::Running { pid });

    cluster.stop().unwrap();
    assert_eq!(cluster.status().unwrap(), ClusterStatus::Stopped);
    cluster.stop().unwrap(); // already stopped: fine

    // A stopped cluster starts again without initdb, with its data.
    let restarted = Instant::now();
    cluster.ensure_started().unwrap();
    eprintln!(
        "ensure_started of a stopped cluster took {:?}",
        restarted.elapsed()
    );
    runtime().block_on(async {
        let mut conn = sqlx::PgConnection::connect(&cluster.url("taskpilot"))
            .await
            .unwrap();
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_extension")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert!(n >= 4, "{n} extensions");
        conn.close().await.unwrap();
    });
    drop(guard);
    assert_eq!(cluster.status().unwrap(), ClusterStatus::Stopped);
}

#[test]
fn start_connect_stop() {
    let tmp = traversable_tempdir();
    exercise_cluster(&tmp.path().join("state/pg"));
}

#[test]
fn stop_and_status_before_init() {
    let tmp = traversable_tempdir();
    let cluster = EmbeddedCluster::new(&tmp.path().join("pg")).unwrap();
    assert_eq!(cluster.status().unwrap(), ClusterStatus::NotInitialized);
    cluster.stop().unwrap();
    assert!(
        !cluster.root().exists(),
        "stop/status must not create anything"
    );
}

#[test]
fn concurrent_ensure_started() {
    let tmp = traversable_tempdir();
    let root = tmp.path().join("pg");
    let cluster = EmbeddedCluster::new(&root).unwrap();
    let _guard = StopOnDrop(cluster.clone());
    let results: Vec<anyhow::Result<()>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let root = root.clone();
                s.spawn(move || EmbeddedCluster::new(&root)?.ensure_started())
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for r in results {
        r.unwrap();
    }
    assert!(matches!(
        cluster.status().unwrap(),
        ClusterStatus::Running { .. }
    ));
    runtime().block_on(async {
        let mut conn = sqlx::PgConnection::connect(&cluster.url("postgres"))
            .await
            .unwrap();
        sqlx::query("SELECT 1").execute(&mut conn).await.unwrap();
        conn.close().await.unwrap();
    });
}

/// A root too deep for a unix socket path: the socket goes to /tmp/engineer-sim-<hash>.
#[test]
fn long_root_puts_socket_in_tmp() {
    let tmp = traversable_tempdir();
    let mut root = tmp.path().to_path_buf();
    for _ in 0..4 {
        root.push("a-rather-long-directory-name");
    }
    root.push("pg");
    std::fs::create_dir_all(root.parent().unwrap()).unwrap();
    for dir in root
        .parent()
        .unwrap()
        .ancestors()
        .take_while(|d| d.starts_with(tmp.path()))
    {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let cluster = EmbeddedCluster::new(&root).unwrap();
    let socket_dir = cluster.socket_dir();
    assert!(
        socket_dir
            .to_string_lossy()
            .starts_with("/tmp/engineer-sim-"),
        "{socket_dir:?}"
    );
    let _guard = StopOnDrop(cluster.clone());
    cluster.ensure_started().unwrap();
    runtime().block_on(async {
        let mut conn = sqlx::PgConnection::connect(&cluster.url("postgres"))
            .await
            .unwrap();
        let dirs: String = sqlx::query_scalar("SHOW unix_socket_directories")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(PathBuf::from(dirs), cluster.socket_dir());
        conn.close().await.unwrap();
    });
    cluster.stop().unwrap();
    let _ = std::fs::remove_dir_all(cluster.socket_dir());
}

/// Running as root, PostgreSQL runs as `postgres`; this runs engineer-sim's non-root path by
/// re-running `inner_non_root_cluster` in this test binary as the `postgres` account.
#[test]
fn non_root_path() {
    if !is_root() {
        eprintln!(
            "not running as root: the root code path cannot be exercised here; the non-root \
             path is covered by start_connect_stop"
        );
        return;
    }
    let tmp = traversable_tempdir();
    let state = tmp.path().join("state");
    std::fs::create_dir(&state).unwrap();
    let chown = Command::new("chown")
        .arg("postgres:")
        .arg(&state)
        .status()
        .unwrap();
    assert!(chown.success(), "chown postgres: {}", state.display());

    // The test binary must be executable by postgres; copy it where it is if it is not.
    let mut exe = std::env::current_exe().unwrap();
    let reachable = Command::new("runuser")
        .args(["-u", "postgres", "--", "test", "-x"])
        .arg(&exe)
        .status()
        .unwrap();
    if !reachable.success() {
        let copy = tmp.path().join("test-binary");
        std::fs::copy(&exe, &copy).unwrap();
        std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755)).unwrap();
        exe = copy;
    }

    let out = Command::new("runuser")
        .args(["-u", "postgres", "--"])
        .arg(&exe)
        .args([
            "--exact",
            INNER_TEST,
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(INNER_ROOT_ENV, state.join("pg"))
        .current_dir("/")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("--- {INNER_TEST} as postgres ---\n{stdout}\n{stderr}");
    // Whatever happened, leave no server behind (as root, this runs pg_ctl as the data owner).
    let cluster = EmbeddedCluster::new(&state.join("pg")).unwrap();
    let _guard = StopOnDrop(cluster.clone());
    assert!(out.status.success(), "{INNER_TEST} failed as postgres");
    assert!(stdout.contains("1 passed"), "{INNER_TEST} did not run");
    assert!(
        stderr.contains("ran as uid"),
        "{INNER_TEST} did not run its checks"
    );

    // The cluster made by the unprivileged account is usable from root too.
    cluster.ensure_started().unwrap();
    assert!(matches!(
        cluster.status().unwrap(),
        ClusterStatus::Running { .. }
    ));
    runtime().block_on(async {
        let mut conn = sqlx::PgConnection::connect(&cluster.url("postgres"))
            .await
            .unwrap();
        sqlx::query("SELECT 1").execute(&mut conn).await.unwrap();
        conn.close().await.unwrap();
    });
    cluster.stop().unwrap();
    assert_eq!(cluster.status().unwrap(), ClusterStatus::Stopped);
}

/// Run by `non_root_path` as the `postgres` account; does nothing when run on its own.
#[test]
#[ignore = "run by non_root_path as an unprivileged account"]
fn inner_non_root_cluster() {
    let Some(root) = std::env::var_os(INNER_ROOT_ENV) else {
        eprintln!("{INNER_ROOT_ENV} not set: nothing to do (this test is run by non_root_path)");
        return;
    };
    assert!(!is_root(), "must run as an unprivileged account");
    exercise_cluster(Path::new(&root));
    let out = Command::new("id").arg("-u").output().unwrap();
    eprintln!("ran as uid {}", String::from_utf8_lossy(&out.stdout).trim());
}
