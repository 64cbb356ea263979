//! The app under changes (README "The app under changes"): on a living database, `run` measures
//! what each blocking change cost, and `daemon --workload` keeps pgbench clients running while a
//! week's changes apply, so the journal records the app queries each change blocked.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;

use common::{assert_success, engineer_sim_with_data, events, events_named, temp_state, ScratchDb};
use serde_json::Value;

const SCALE: &str = "0.001";

fn run(state: &Path, url: &str, args: &[&str]) -> String {
    let out = engineer_sim_with_data(state, SCALE)
        .env("DATABASE_URL", url)
        .env("ENGINEER_SIM_JOBS", "2")
        .args(args)
        .output()
        .expect("spawn engineer-sim");
    assert_success(&out, args);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn measured_of<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events_named(events, "finding_measured")
        .into_iter()
        .filter(|e| e["kind"] == kind)
        .collect()
}

#[tokio::test]
async fn blocking_changes_are_measured_and_block_a_running_app() {
    let db = ScratchDb::create("app_under_changes").await.unwrap();
    let state = temp_state();
    run(
        state.path(),
        &db.url,
        &["init", "--seed", "7", "--start-date", "2024-01-01"],
    );
    run(state.path(), &db.url, &["run", "--until-week", "11"]);

    // Without a workload: the blocking builds of weeks 1-11 are measured, no app waits.
    let before = events(state.path());
    assert!(events_named(&before, "app_waited").is_empty());
    let builds = measured_of(&before, "blocking_index_build");
    assert!(!builds.is_empty(), "no blocking_index_build was measured");
    for m in &builds {
        assert!(m["rows"].as_i64().unwrap() > 0, "{m}");
        assert!(m["bytes"].as_i64().unwrap() > 0, "{m}");
        assert!(m["lock_ms"].is_u64(), "{m}");
        assert!(m["app_queries_waited"].is_null(), "{m}");
    }

    // Week 12 under a daemon with four app clients (the calendar has long reached it).
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
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        let waiting = line.starts_with("daemon: next tick at");
        seen.push(line);
        if waiting {
            let kill = std::process::Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status()
                .unwrap();
            assert!(kill.success());
            break;
        }
    }
    seen.extend(lines.map(|l| l.unwrap()));
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{seen:#?}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        seen.iter()
            .any(|l| l.starts_with("daemon: app workload: 4 clients")),
        "{seen:#?}"
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
    assert!(
        waited
            .iter()
            .all(|w| w["week"] == 12 && w["sample_ms"] == 10),
        "{waited:#?}"
    );
    // The scripted rewrite of activity_log is measured, with the app's waits on it.
    let rewrite = measured_of(&all, "table_rewrite");
    let rewrite = rewrite
        .iter()
        .find(|m| m["object"] == "public.activity_log")
        .expect("the activity_log rewrite is measured");
    assert!(rewrite["rows"].as_i64().unwrap() > 0, "{rewrite}");
    assert!(rewrite["bytes"].as_i64().unwrap() > 0, "{rewrite}");
    assert!(rewrite["app_queries_waited"].is_u64(), "{rewrite}");
    // A blocking change really blocked the running app.
    let blocked: u64 = waited.iter().map(|w| w["queries"].as_u64().unwrap()).sum();
    assert!(blocked > 0, "no app query waited on week 12: {waited:#?}");
    for w in &waited {
        assert!(
            w["max_wait_ms"].as_u64() <= w["total_wait_ms"].as_u64(),
            "{w}"
        );
    }

    // The ledger says measured; verify still agrees.
    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(state.path().join("expected-findings.json")).unwrap(),
    )
    .unwrap();
    let rewrite_row = expected["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "table_rewrite" && f["object"] == "public.activity_log")
        .expect("the rewrite is expected");
    assert_eq!(rewrite_row["verification"], "measured");
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
