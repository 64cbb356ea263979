//! Many engineer-sims at once on one state directory (README "Operating it"): they take turns
//! on the state lock, every one ends 0, and every change is applied exactly once.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Stdio};

use common::*;

const AT_ONCE: usize = 16;

fn spawn(state: &Path, url: Option<&str>, args: &[&str]) -> Child {
    let mut cmd = engineer_sim(state);
    if let Some(url) = url {
        cmd.env("DATABASE_URL", url);
    }
    cmd.args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn engineer-sim")
}

/// Every child ends 0.
fn all_succeed(children: Vec<Child>, what: &str) {
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{what} ended {:?}:\nstdout:\n{}\nstderr:\n{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn applied_counts(state: &Path) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for e in events_named(&events(state), "change_applied") {
        *counts
            .entry(e["change_id"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    counts
}

fn roadmap_changes() -> usize {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("roadmap/taskpilot.yaml"),
    )
    .unwrap();
    text.lines()
        .filter(|l| l.trim_start().starts_with("- id:"))
        .count()
}

fn assert_each_once(state: &Path) {
    let counts = applied_counts(state);
    assert_eq!(
        counts.len(),
        roadmap_changes() + 1,
        "every change and the base applied"
    );
    for (id, n) in &counts {
        assert_eq!(*n, 1, "{id} applied {n} times");
    }
}

/// The case: sixteen `run --until-week 12` on an empty state directory with the
/// embedded default (cluster, database, ledger and base created on the way).
#[test]
fn sixteen_runs_at_once_on_an_empty_state_directory() {
    let state = temp_state();
    let children: Vec<Child> = (0..AT_ONCE)
        .map(|_| spawn(state.path(), None, &["run", "--until-week", "12"]))
        .collect();
    all_succeed(children, "run");
    let _ = engineer_sim(state.path()).args(["db", "stop"]).output();
    assert_each_once(state.path());
}

/// Sixteen cron ticks at once on an initialised database, all due work at once.
#[tokio::test(flavor = "multi_thread")]
async fn sixteen_ticks_at_once() {
    let db = ScratchDb::create("concurrency_tick").await.unwrap();
    let state = temp_state();
    run_ok(
        state.path(),
        &db.url,
        &["init", "--no-data", "--start-date", "2026-01-05"],
    );
    let children: Vec<Child> = (0..AT_ONCE)
        .map(|_| {
            spawn(
                state.path(),
                Some(&db.url),
                &["tick", "--now", "2026-06-01T09:00"],
            )
        })
        .collect();
    all_succeed(children, "tick");
    assert_each_once(state.path());
    run_ok(state.path(), &db.url, &["verify"]);
    db.drop_now().await.unwrap();
}
