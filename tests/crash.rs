//! Crashes (README "Operating it"): `run --until-week 12` killed with SIGKILL at random moments,
//! from an empty state directory (the embedded database created, initialised and filled on the
//! way) and mid-roadmap. After each round the next run completes, `verify` passes, and the
//! journal files equal an uninterrupted run's. The same, with data, through week 2.

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
    kill_after(engineer_sim(state).args(RUN), after)
}

/// Starts `command` and SIGKILLs it after `after`; false when it ended first.
fn kill_after(command: &mut std::process::Command, after: Duration) -> bool {
    let mut child = command
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

/// The living database's scale for the data-mode rounds: tiny, so that a run takes seconds.
const DATA_SCALE: &str = "0.0005";
const DATA_KILLS: usize = 4;
/// The data rounds stop after week 2: the seed, ten sim days of growth, backfills and changes are
/// where the data work differs from the empty mode's, and a whole living run per round would make
/// this test the suite's longest.
const RUN_DATA: &[&str] = &["run", "--until-week", "2"];

/// Starts a living run (with data) and SIGKILLs it after `after`; false when it ended first.
fn run_with_data_and_kill(state: &Path, after: Duration) -> bool {
    kill_after(
        engineer_sim_with_data(state, DATA_SCALE).args(RUN_DATA),
        after,
    )
}

fn run_with_data_ok(state: &Path, args: &[&str]) {
    let out = engineer_sim_with_data(state, DATA_SCALE)
        .args(args)
        .output()
        .unwrap();
    assert_success(&out, args);
}

/// What a living run's journal must agree on after kills: the findings and the migrations (its
/// data events carry times and sizes, which differ between any two runs).
fn findings_files(state: &Path) -> BTreeMap<String, String> {
    files(state)
        .into_iter()
        .filter(|(name, _)| {
            name.starts_with("migrations/") || name.starts_with("expected-findings")
        })
        .collect()
}

/// The data events of a living run's journal with what must not depend on kills: which seed,
/// backfill or day each tells of and the rows it wrote (its bytes and milliseconds are a
/// measurement of the run that wrote them). Each must be journaled once, whatever was killed.
fn data_events(state: &Path) -> Vec<String> {
    let mut out: Vec<String> = events(state)
        .into_iter()
        .filter(|e| {
            ["data_seeded", "change_backfilled", "day_grown"]
                .contains(&e["event"].as_str().unwrap_or(""))
        })
        .map(|e| {
            format!(
                "{} {} {} rows={}",
                e["event"], e["change_id"], e["sim_day"], e["rows"]
            )
        })
        .collect();
    out.sort();
    out
}

/// A connection to the state directory's embedded database.
async fn connect_embedded(state: &Path) -> sqlx::PgConnection {
    let url = String::from_utf8(run_ok_embedded(state, &["db", "url"]).stdout).unwrap();
    sqlx::PgConnection::connect(url.trim()).await.unwrap()
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

/// The same with data (README "A living database"): kills land in the seed (between its index
/// drop and rebuild too), the daily growth, backfills and changes. The next run finishes the work,
/// `verify` passes, the findings and migrations equal an uninterrupted run's, and no index the
/// seed deferred is left unbuilt.
#[tokio::test(flavor = "multi_thread")]
async fn killed_living_runs_finish_as_if_never_killed() {
    let state = temp_state();
    run_with_data_ok(state.path(), RUN_DATA);
    let want = findings_files(state.path());
    let want_data = data_events(state.path());
    assert!(
        want_data.iter().any(|e| e.contains("day_grown"))
            && want_data.iter().any(|e| e.contains("change_backfilled")),
        "the run grows days and backfills: {want_data:?}"
    );
    let url = String::from_utf8(run_ok_embedded(state.path(), &["db", "url"]).stdout).unwrap();
    let admin_url = url.trim().replace("/taskpilot?", "/postgres?");
    reset(state.path(), &admin_url).await;
    let started = Instant::now();
    run_with_data_ok(state.path(), RUN_DATA);
    let whole = started.elapsed().as_millis().max(500) as u64;
    assert_eq!(
        findings_files(state.path()),
        want,
        "two uninterrupted runs agree"
    );
    assert_eq!(
        data_events(state.path()),
        want_data,
        "two uninterrupted runs agree"
    );

    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(8);
    let (mut kills, mut rounds) = (0, 0);
    while kills < DATA_KILLS {
        rounds += 1;
        assert!(rounds <= 3 * DATA_KILLS, "runs kept ending before the kill");
        reset(state.path(), &admin_url).await;
        // Half the kills early, where the seed is.
        let span = if rounds % 2 == 1 { whole / 4 } else { whole };
        if run_with_data_and_kill(state.path(), Duration::from_millis(rng.gen_range(0..span))) {
            kills += 1;
        }
        run_with_data_ok(state.path(), RUN_DATA);
        run_with_data_ok(state.path(), &["verify"]);
        assert_eq!(
            findings_files(state.path()),
            want,
            "round {rounds}: the findings or migrations differ from the uninterrupted run's"
        );
        assert_eq!(
            data_events(state.path()),
            want_data,
            "round {rounds}: a seed, backfill or day's growth journaled other than once, or with other rows"
        );
        let mut conn = sqlx::PgConnection::connect(url.trim()).await.unwrap();
        let deferred: i64 =
            sqlx::query_scalar("SELECT count(*) FROM engineer_sim.deferred_indexes")
                .fetch_one(&mut conn)
                .await
                .unwrap();
        assert_eq!(
            deferred, 0,
            "round {rounds}: the seed's deferred indexes were not built"
        );
    }
    let _ = engineer_sim(state.path()).args(["db", "stop"]).output();
    eprintln!("{kills} kills in {rounds} rounds");
}

/// The window the random kills above can hit: a run killed after a change committed and before
/// its measurement did. The next run measures that change first, before its backfill. The
/// kill is played by undoing the measurement of week 1's last change (which has no backfill).
#[tokio::test(flavor = "multi_thread")]
async fn a_measurement_lost_to_a_kill_is_taken_by_the_next_run() {
    let state = temp_state();
    run_with_data_ok(state.path(), &["run", "--until-week", "1"]);
    let mut conn = connect_embedded(state.path()).await;
    let change = "w01-fri-fix-time-reports";
    let measured = "SELECT count(*) FROM engineer_sim.findings
                    WHERE opened_by = $1 AND verification = 'measured'";
    let before: i64 = sqlx::query_scalar(measured)
        .bind(change)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert!(before > 0, "{change} opens findings of a measured kind");
    sqlx::query(
        "UPDATE engineer_sim.findings SET verification = 'ledger'
         WHERE opened_by = $1 AND verification = 'measured'",
    )
    .bind(change)
    .execute(&mut conn)
    .await
    .unwrap();
    sqlx::query(
        "DELETE FROM engineer_sim.events
         WHERE event->>'event' = 'finding_measured' AND event->>'change_id' = $1",
    )
    .bind(change)
    .execute(&mut conn)
    .await
    .unwrap();

    run_with_data_ok(state.path(), &["run", "--until-week", "2"]);
    let after: i64 = sqlx::query_scalar(measured)
        .bind(change)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(after, before, "the lost measurements are taken again");
    let events: Vec<serde_json::Value> = sqlx::query_scalar(
        "SELECT event FROM engineer_sim.events
         WHERE event->>'event' = 'finding_measured' AND event->>'change_id' = $1",
    )
    .bind(change)
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert_eq!(events.len() as i64, before, "one finding_measured each");
    for event in &events {
        assert!(event["rows"].as_i64().unwrap() > 0, "{event}");
        assert!(event["lock_ms"].as_u64().is_some(), "{event}");
    }
    drop(conn);
    let _ = engineer_sim(state.path()).args(["db", "stop"]).output();
}

/// The windows between a data phase's last chunk and its journal event: a run killed there left
/// the rows written and the event unwritten. Played by deleting the events (and the day's mark)
/// after uninterrupted runs: the seed's, the last change's backfill's and the last day's. The
/// next run journals each once, with the rows the whole phase wrote.
#[tokio::test(flavor = "multi_thread")]
async fn data_events_lost_to_a_kill_are_journaled_by_the_next_run() {
    let state = temp_state();
    run_with_data_ok(state.path(), RUN_DATA);
    let want = data_events(state.path());
    let mut conn = connect_embedded(state.path()).await;
    let last: String =
        sqlx::query_scalar("SELECT change_id FROM engineer_sim.changes ORDER BY seq DESC LIMIT 1")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert!(
        want.iter()
            .any(|e| e.contains("change_backfilled") && e.contains(&last)),
        "{last} has a backfill: {want:?}"
    );
    let day: i32 = sqlx::query_scalar("SELECT max(day) FROM engineer_sim.data_days")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    sqlx::query(
        "DELETE FROM engineer_sim.events
         WHERE (event->>'event' = 'change_backfilled' AND event->>'change_id' = $1)
            OR (event->>'event' = 'day_grown' AND (event->>'sim_day')::int = $2)",
    )
    .bind(&last)
    .bind(day)
    .execute(&mut conn)
    .await
    .unwrap();
    sqlx::query("DELETE FROM engineer_sim.data_days WHERE day = $1")
        .bind(day)
        .execute(&mut conn)
        .await
        .unwrap();
    drop(conn);
    run_with_data_ok(state.path(), RUN_DATA);
    assert_eq!(data_events(state.path()), want, "the backfill and the day");

    // The seed's: a setup killed after the seed's last step (the seed is resumed by the next
    // command, on a database where only the base is applied).
    let seeded = temp_state();
    run_with_data_ok(seeded.path(), &["init"]);
    let mut conn = connect_embedded(seeded.path()).await;
    // The seed's deferred indexes, built: the next run must not build them again.
    let built = "SELECT array_agg(c.oid::bigint ORDER BY c.relname) FROM pg_class c
                 JOIN pg_index x ON x.indexrelid = c.oid WHERE x.indrelid = 'comments'::regclass";
    let indexes: Vec<i64> = sqlx::query_scalar(built)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let deleted =
        sqlx::query("DELETE FROM engineer_sim.events WHERE event->>'event' = 'data_seeded'")
            .execute(&mut conn)
            .await
            .unwrap();
    assert_eq!(deleted.rows_affected(), 1);
    drop(conn);
    // Setup writes the database into the settings last.
    let settings = seeded.path().join("settings.json");
    let mut written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&settings).unwrap()).unwrap();
    written.as_object_mut().unwrap().remove("database");
    std::fs::write(&settings, written.to_string()).unwrap();
    run_with_data_ok(seeded.path(), RUN_DATA);
    assert_eq!(data_events(seeded.path()), want, "the seed");
    let mut conn = connect_embedded(seeded.path()).await;
    let after: Vec<i64> = sqlx::query_scalar(built)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(after, indexes, "the seed's indexes were built again");
    for dir in [state.path(), seeded.path()] {
        let _ = engineer_sim(dir).args(["db", "stop"]).output();
    }
}
