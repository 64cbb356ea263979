//! Shared helpers for the integration tests: run the real binary against real PostgreSQL.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

#[allow(unused_imports)]
pub use engineer_sim::pg::scratch::ScratchDb;

/// The engineer-sim binary, with the repository's data files and a given state dir.
pub fn engineer_sim(state: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_engineer-sim"));
    cmd.env("ENGINEER_SIM_STATE", state)
        .env("ENGINEER_SIM_DATA", env!("CARGO_MANIFEST_DIR"))
        .env_remove("DATABASE_URL")
        .env_remove("ENGINEER_ERROR_RATE")
        .env_remove("ENGINEER_CHANGES_PER_DAY")
        .env_remove("ENGINEER_SIM_SCALE")
        .env_remove("ENGINEER_SIM_JOBS")
        // Empty mode unless a test asks for data (`with_data`): the schema tests stay fast.
        .env("ENGINEER_SIM_NO_DATA", "true");
    cmd
}

/// The engineer-sim binary with data at `scale` (the living database).
pub fn engineer_sim_with_data(state: &Path, scale: &str) -> Command {
    let mut cmd = engineer_sim(state);
    cmd.env_remove("ENGINEER_SIM_NO_DATA")
        .env("ENGINEER_SIM_SCALE", scale);
    cmd
}

/// Runs engineer-sim with data at `scale` over two writing connections on a database URL;
/// panics with its output when it fails.
pub fn run_with_data(state: &Path, url: &str, scale: &str, args: &[&str]) -> String {
    let out = engineer_sim_with_data(state, scale)
        .env("DATABASE_URL", url)
        .env("ENGINEER_SIM_JOBS", "2")
        .args(args)
        .output()
        .expect("spawn engineer-sim");
    assert_success(&out, args);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Reads a daemon's stdout and sends it SIGTERM at the first line that satisfies `stop_here`;
/// returns every line it printed, through its exit (the caller waits for its status).
pub fn stop_daemon_when(
    child: &mut std::process::Child,
    stop_here: impl Fn(&str) -> bool,
) -> Vec<String> {
    use std::io::{BufRead, BufReader};
    let mut lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        let line = line.expect("daemon output");
        let stop = stop_here(&line);
        seen.push(line);
        if stop {
            let kill = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status()
                .expect("kill");
            assert!(kill.success());
            break;
        }
    }
    seen.extend(lines.map(|l| l.expect("daemon output")));
    seen
}

/// Runs engineer-sim on a database URL; panics with its output when it fails.
pub fn run_ok(state: &Path, url: &str, args: &[&str]) -> String {
    let out = engineer_sim(state)
        .env("DATABASE_URL", url)
        .args(args)
        .output()
        .expect("spawn engineer-sim");
    assert_success(&out, args);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs `sql` on `url` in a connection of its own (what someone does behind engineer-sim's back).
pub async fn execute_sql(url: &str, sql: &str) {
    let mut conn = engineer_sim::pg::connect(url).await.expect("connect");
    sqlx::raw_sql(sql).execute(&mut conn).await.expect(sql);
}

pub fn assert_success(out: &Output, args: &[&str]) {
    assert!(
        out.status.success(),
        "engineer-sim {args:?} failed ({:?}):\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The journal's events, parsed.
pub fn events(state: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(state.join("journal.jsonl"))
        .expect("journal.jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).expect("journal line is JSON"))
        .collect()
}

pub fn events_named<'a>(events: &'a [serde_json::Value], name: &str) -> Vec<&'a serde_json::Value> {
    events.iter().filter(|e| e["event"] == name).collect()
}

/// A temp dir the unprivileged `postgres` account can enter when the tests run as root.
pub fn temp_state() -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("es-state-")
        .tempdir()
        .expect("tempdir");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    dir
}

pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

/// A copy of the shipped data files (roadmap/, personas/, templates/) in a temp dir anyone can
/// read, so a test can break one of them or run them as another user.
pub fn copy_data() -> tempfile::TempDir {
    let dir = temp_state();
    let status = Command::new("cp")
        .args(["-r", "roadmap", "personas", "templates"])
        .arg(dir.path())
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .unwrap();
    assert!(status.success());
    dir
}

/// Runs an async step (a scratch database's creation or drop) from the blocking code of
/// [`per_seed`].
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(future)
}

/// `one(seed)` for every seed, `at_once` seeds at a time, results in seed order. Each run is
/// other processes (engineer-sim, the server) that leave the test's own thread idle, so running
/// a few at once keeps both cores of a CI runner busy instead of one.
pub fn per_seed<T: Send>(
    seeds: impl IntoIterator<Item = u64>,
    at_once: usize,
    one: impl Fn(u64) -> T + Sync,
) -> Vec<(u64, T)> {
    let queue = std::sync::Mutex::new(seeds.into_iter().collect::<std::collections::VecDeque<_>>());
    let done = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..at_once.max(1) {
            scope.spawn(|| loop {
                let Some(seed) = queue.lock().unwrap().pop_front() else {
                    break;
                };
                let result = one(seed);
                done.lock().unwrap().push((seed, result));
            });
        }
    });
    let mut done = done.into_inner().unwrap();
    done.sort_by_key(|(seed, _)| *seed);
    done
}
