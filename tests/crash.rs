//! Crashes (README "Operating it"): `run --until-week 12` killed with SIGKILL at random moments,
//! from an empty state directory (the embedded database created, initialised and filled on the
//! way) and mid-roadmap. After each round the next run completes, `verify` passes, and the
//! journal files equal an uninterrupted run's.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::*;
use rand::{Rng, SeedableRng};
use sqlx::Connection;

const KILLS: usize = 20;
const RUN: &[&str] = &["run", "--until-week", "12"];

/// The files a run leaves, as text: the journal's events without their wall-clock time and
/// without `run_started` (each interrupted run adds one), everything else as written.
fn files(state: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for name in [
        "expected-findings.json",
        "expected-findings.md",
        "settings.json",
    ] {
        out.insert(
            name.to_string(),
            std::fs::read_to_string(state.join(name)).unwrap_or_default(),
        );
    }
    for dir in ["migrations", "reports"] {
        for entry in std::fs::read_dir(state.join(dir)).unwrap().flatten() {
            let name = format!("{dir}/{}", entry.file_name().to_string_lossy());
            out.insert(name, std::fs::read_to_string(entry.path()).unwrap());
        }
    }
    let events: Vec<String> = events(state)
        .into_iter()
        .filter(|e| e["event"] != "run_started")
        .map(|mut e| {
            e.as_object_mut().unwrap().remove("wall_time");
            e.to_string()
        })
        .collect();
    out.insert("journal.jsonl".into(), events.join("\n"));
    out
}

/// Back to an empty state directory (but for the running cluster) and no `taskpilot` database.
async fn reset(state: &Path, admin_url: &str) {
    let mut admin = sqlx::PgConnection::connect(admin_url).await.unwrap();
    sqlx::raw_sql("DROP DATABASE IF EXISTS taskpilot WITH (FORCE)")
        .execute(&mut admin)
        .await
        .unwrap();
    for entry in std::fs::read_dir(state).unwrap().flatten() {
        if entry.file_name() == "pg" {
            continue;
        }
        let path = entry.path();
        if path.is_dir() {
            std::fs::remove_dir_all(&path).unwrap();
        } else {
            std::fs::remove_file(&path).unwrap();
        }
    }
}

/// Starts a run and SIGKILLs it after `after`; false when it ended first.
fn run_and_kill(state: &Path, after: Duration) -> bool {
    let mut child = engineer_sim(state)
        .args(RUN)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + after;
    while Instant::now() < deadline {
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let killed = child.try_wait().unwrap().is_none();
    let _ = child.kill(); // SIGKILL
    let _ = child.wait();
    killed
}

fn run_ok_embedded(state: &Path, args: &[&str]) -> std::process::Output {
    let out = engineer_sim(state).args(args).output().unwrap();
    assert_success(&out, args);
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn killed_runs_finish_as_if_never_killed() {
    let state = temp_state();
    // The uninterrupted run, from an empty state directory.
    run_ok_embedded(state.path(), RUN);
    let want = files(state.path());
    let url = String::from_utf8(run_ok_embedded(state.path(), &["db", "url"]).stdout).unwrap();
    let admin_url = url.trim().replace("/taskpilot?", "/postgres?");
    // How long a whole run takes here, to spread the kills over it.
    reset(state.path(), &admin_url).await;
    let started = Instant::now();
    run_ok_embedded(state.path(), RUN);
    let whole = started.elapsed().as_millis().max(500) as u64;
    assert_eq!(files(state.path()), want, "two uninterrupted runs agree");

    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
    let mut kills = 0;
    let mut rounds = 0;
    while kills < KILLS || rounds % 2 == 1 {
        rounds += 1;
        assert!(rounds <= 3 * KILLS, "runs kept ending before the kill");
        // Every other round starts from an empty state directory; the others kill mid-roadmap
        // a run that resumes a killed one.
        if rounds % 2 == 1 {
            reset(state.path(), &admin_url).await;
        }
        // A resumed run has less left to do: its kill comes sooner.
        let span = if rounds % 2 == 1 { whole } else { whole / 2 };
        let after = Duration::from_millis(rng.gen_range(0..span));
        if run_and_kill(state.path(), after) {
            kills += 1;
        }
        if rounds % 2 == 1 {
            continue;
        }
        run_ok_embedded(state.path(), RUN);
        run_ok_embedded(state.path(), &["verify"]);
        let got = files(state.path());
        for (name, text) in &want {
            assert_eq!(
                got.get(name),
                Some(text),
                "round {rounds}: {name} differs from the uninterrupted run's"
            );
        }
        assert_eq!(got.len(), want.len(), "round {rounds}: other files");
    }
    let _ = engineer_sim(state.path()).args(["db", "stop"]).output();
    eprintln!("{kills} kills in {rounds} rounds");
}
