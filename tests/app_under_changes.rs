//! The app under changes (README "The app under changes"): `daemon --workload` keeps pgbench
//! clients running while a change applies, so the journal records the app queries a blocking
//! change made wait, beside what it measured. (`run` without a workload measures too:
//! tests/living.rs.)

mod common;

use std::path::Path;

use common::{
    engineer_sim_with_data, events, events_named, run_with_data, stop_daemon_when, temp_state,
    ScratchDb,
};
use serde_json::Value;

const SCALE: &str = "0.001";
/// Jordan drops the title trigram index in week 6 under this seed (dropped_used_index).
const SEED: u64 = 3;

fn run(state: &Path, url: &str, args: &[&str]) -> String {
    run_with_data(state, url, SCALE, args)
}

/// A fresh database initialised with data under [`SEED`], and its state directory.
async fn fresh(prefix: &str) -> (ScratchDb, tempfile::TempDir) {
    let db = ScratchDb::create(prefix).await.unwrap();
    let state = temp_state();
    let seed = SEED.to_string();
    let args = ["init", "--seed", &seed, "--start-date", "2024-01-01"];
    run(state.path(), &db.url, &args);
    (db, state)
}

fn measured_of<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events_named(events, "finding_measured")
        .into_iter()
        .filter(|e| e["kind"] == kind)
        .collect()
}

#[tokio::test]
async fn blocking_changes_are_measured_and_block_a_running_app() {
    let (db, state) = fresh("app_under_changes").await;
    // Step pace: each tick is the next sim day. Days 1-6 (week 1, week 2's Monday) first.
    run(state.path(), &db.url, &["settings", "--pace", "step"]);
    for _ in 1..=6 {
        run(state.path(), &db.url, &["tick"]);
    }
    assert!(events_named(&events(state.path()), "app_waited").is_empty());

    // Day 7 under a daemon with four app clients: w02-tue builds a GIN index on issues, the
    // table the app reads most, inside its transaction.
    let mut child = engineer_sim_with_data(state.path(), SCALE)
        .env("DATABASE_URL", &db.url)
        .env("ENGINEER_SIM_JOBS", "2")
        .args([
            "daemon",
            "--cron",
            "0 9 * * 1-5",
            "--run-now",
            "--workload",
            "4",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let seen = stop_daemon_when(&mut child, |line| line.starts_with("daemon: next tick at"));
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{seen:#?}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The mix before the tick, then the one with w02-tue's queries, started right after it.
    let mixes: Vec<u32> = seen
        .iter()
        .filter_map(|l| l.strip_prefix("daemon: app workload: 4 clients running "))
        .map(|rest| rest.split(' ').next().unwrap().parse().unwrap())
        .collect();
    assert!(
        mixes.len() == 2 && mixes[1] > mixes[0],
        "the app was restarted with the new queries: {seen:#?}"
    );
    let applied: Vec<&String> = seen.iter().filter(|l| l.starts_with("applied ")).collect();
    assert!(!applied.is_empty(), "week 12 was applied: {seen:#?}");

    let all = events(state.path());
    let waited = events_named(&all, "app_waited");
    assert_eq!(
        waited.len(),
        applied.len(),
        "one app_waited per change: {waited:#?}"
    );
    let waited = waited[0];
    assert_eq!(
        waited["change_id"], "w02-tue-issues-custom-fields",
        "{waited}"
    );
    assert_eq!(waited["sample_ms"], 10, "{waited}");
    // The blocking build really blocked the running app, and its measurement says so.
    assert!(
        waited["queries"].as_u64().unwrap() > 0,
        "no app query waited: {waited}"
    );
    assert!(
        waited["max_wait_ms"].as_u64() <= waited["total_wait_ms"].as_u64(),
        "{waited}"
    );
    let build = measured_of(&all, "blocking_index_build");
    let build = build
        .iter()
        .find(|m| m["table"] == "public.issues" && m["change_id"] == waited["change_id"])
        .expect("the build on issues is measured");
    assert!(build["rows"].as_i64().unwrap() > 0, "{build}");
    assert!(build["bytes"].as_i64().unwrap() > 0, "{build}");
    assert_eq!(build["lock_ms"], waited["lock_ms"], "{build}");
    assert_eq!(build["app_queries_waited"], waited["queries"], "{build}");

    // The ledger says measured; verify still agrees.
    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(state.path().join("expected-findings.json")).unwrap(),
    )
    .unwrap();
    let build_row = expected["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "blocking_index_build" && f["object"] == build["object"])
        .expect("the build is expected");
    assert_eq!(build_row["verification"], "measured");
    let verified = run(state.path(), &db.url, &["verify"]);
    assert!(verified.contains("verify: OK"), "{verified}");

    // The app's clients are gone with the daemon.
    let mut conn = engineer_sim::pg::connect(&db.url).await.unwrap();
    engineer_sim::data::workload::wait_for_clients(&mut conn)
        .await
        .unwrap();
    drop(conn);
    db.drop_now().await.unwrap();
}

/// dropped_used_index: a workload while the title trigram index exists (week 3 on), Jordan drops
/// it in week 6, a workload after: the query that used it now reads issues sequentially, and
/// `verify` says so.
#[tokio::test]
async fn a_dropped_index_is_proven_by_its_query_now_seq_scanning() {
    let (db, state) = fresh("dropped_used").await;
    run(state.path(), &db.url, &["run", "--until-week", "3"]);
    run(
        state.path(),
        &db.url,
        &["workload", "--duration", "1s", "--clients", "2"],
    );
    run(state.path(), &db.url, &["run", "--until-week", "6"]);
    run(
        state.path(),
        &db.url,
        &["workload", "--duration", "1s", "--clients", "2"],
    );
    let mut conn = engineer_sim::pg::connect(&db.url).await.unwrap();
    let open: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM engineer_sim.findings WHERE kind = 'dropped_used_index'
           AND object = 'public.idx_issues_title_trgm' AND closed_by IS NULL",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(open, 1, "seed {SEED} slips into the drop");
    let usage: Vec<(i32, String, String)> = sqlx::query_as(
        "SELECT workload_id, relation, access FROM engineer_sim.query_usage
         WHERE query = 'w03-tue-trigram-indexes/quick_find_title' ORDER BY 1, 2",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert!(
        usage.contains(&(1, "public.idx_issues_title_trgm".into(), "index".into())),
        "{usage:?}"
    );
    assert!(
        usage.contains(&(2, "public.issues".into(), "seq".into())),
        "{usage:?}"
    );
    let verified = run(state.path(), &db.url, &["verify"]);
    assert!(verified.contains("verify: OK"), "{verified}");
    assert!(verified.contains("0 contradicted"), "{verified}");

    drop(conn);
    db.drop_now().await.unwrap();
}
