//! Week 1 end to end on real PostgreSQL: the walking skeleton's "Done means".

mod common;

use std::collections::BTreeSet;

use common::*;

const THURSDAY: &str = "w01-thu-time-reports";
const FRIDAY: &str = "w01-fri-fix-time-reports";

/// (kind, object) pairs of the events with this name opened or closed by `change`.
fn keys(events: &[serde_json::Value], name: &str, change: &str) -> BTreeSet<(String, String)> {
    events_named(events, name)
        .into_iter()
        .filter(|e| e["change_id"] == change)
        .map(|e| {
            (
                e["kind"].as_str().unwrap().to_string(),
                e["object"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn key(kind: &str, object: &str) -> (String, String) {
    (kind.to_string(), object.to_string())
}

/// The README's main command, on a fresh state directory: creates the cluster, the base schema
/// and applies week 1; `findings --format json` lists what is open.
#[test]
fn main_command_on_the_embedded_default() {
    let state = temp_state();
    let out = engineer_sim(state.path())
        .args(["run", "--until-week", "1"])
        .output()
        .unwrap();
    let stop = || engineer_sim(state.path()).args(["db", "stop"]).output();
    if !out.status.success() {
        let _ = stop();
    }
    assert_success(&out, &["run", "--until-week", "1"]);

    let findings = engineer_sim(state.path())
        .args(["findings", "--format", "json"])
        .output()
        .unwrap();
    let _ = stop();
    assert_success(&findings, &["findings"]);
    let doc: serde_json::Value = serde_json::from_slice(&findings.stdout).unwrap();
    let list = doc["findings"].as_array().unwrap();
    assert!(!list.is_empty());
    for f in list {
        for field in ["kind", "code", "object", "origin", "opened_by"] {
            assert!(f.get(field).is_some(), "finding lacks {field}: {f}");
        }
    }
    // Friday does not add ON DELETE: Thursday's two B002s are still open, as scripted.
    let open: BTreeSet<_> = list
        .iter()
        .map(|f| (f["kind"].as_str().unwrap(), f["object"].as_str().unwrap()))
        .collect();
    assert!(open.contains(&("missing_on_delete", "public.time_reports(user_id)")));
    assert!(open.contains(&("missing_on_delete", "public.time_reports(project_id)")));
    assert!(state.path().join("expected-findings.md").is_file());
    assert!(state.path().join("reports/week-01.md").is_file());
}

/// Thursday's planted mistakes open, Friday's fixes close the ones Friday fixes, for every seed:
/// the fix Friday's own slip leaves out stays open.
#[test]
fn thursday_opens_and_friday_closes_for_every_seed() {
    per_seed(1..=12u64, 3, |seed| {
        let db = block_on(ScratchDb::create("week1")).unwrap();
        let state = temp_state();
        let seed_arg = seed.to_string();
        run_ok(state.path(), &db.url, &["init", "--seed", &seed_arg]);
        run_ok(state.path(), &db.url, &["run", "--until-week", "1"]);
        let events = events(state.path());

        let opened = keys(&events, "finding_opened", THURSDAY);
        let scripted = [
            key("nullable_fk", "public.time_reports.user_id"),
            key("nullable_fk", "public.time_reports.project_id"),
            key("missing_fk_index", "public.time_reports(user_id)"),
            key("missing_fk_index", "public.time_reports(project_id)"),
            key("missing_on_delete", "public.time_reports(user_id)"),
            key("missing_on_delete", "public.time_reports(project_id)"),
            key("timestamp_without_tz", "public.time_reports.created_at"),
        ];
        for k in &scripted {
            assert!(
                opened.contains(k),
                "seed {seed}: Thursday did not open {k:?}"
            );
        }

        let friday_slips: BTreeSet<(String, String)> = events_named(&events, "change_applied")
            .into_iter()
            .filter(|e| e["change_id"] == FRIDAY)
            .flat_map(|e| e["slips"].as_array().unwrap().clone())
            .map(|s| {
                (
                    s["kind"].as_str().unwrap().to_string(),
                    s["object"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        let closed = keys(&events, "finding_closed", FRIDAY);
        let fixed_by_friday = [
            key("nullable_fk", "public.time_reports.user_id"),
            key("nullable_fk", "public.time_reports.project_id"),
            key("timestamp_without_tz", "public.time_reports.created_at"),
            key("missing_fk_index", "public.time_reports(user_id)"),
            key("missing_fk_index", "public.time_reports(project_id)"),
        ];
        for k in &fixed_by_friday {
            if friday_slips.contains(k) {
                assert!(
                    !closed.contains(k),
                    "seed {seed}: {k:?} closed although Friday slipped on it"
                );
            } else {
                assert!(
                    closed.contains(k),
                    "seed {seed}: Friday did not close {k:?}"
                );
            }
        }
        block_on(db.drop_now()).unwrap();
    });
}

/// The same seed twice, each from fresh state, gives byte-identical expected findings and the
/// same applied SQL.
#[tokio::test]
async fn same_seed_gives_identical_journal_and_sql() {
    let mut outputs = Vec::new();
    for _ in 0..2 {
        let db = ScratchDb::create("determinism").await.unwrap();
        let state = temp_state();
        run_ok(state.path(), &db.url, &["init", "--seed", "7"]);
        run_ok(state.path(), &db.url, &["run", "--until-week", "12"]);
        let expected = std::fs::read(state.path().join("expected-findings.json")).unwrap();
        let mut conn = engineer_sim::pg::connect(&db.url).await.unwrap();
        let sql: Vec<(String, String)> =
            sqlx::query_as("SELECT change_id, applied_sql FROM engineer_sim.changes ORDER BY seq")
                .fetch_all(&mut conn)
                .await
                .unwrap();
        drop(conn);
        db.drop_now().await.unwrap();
        outputs.push((expected, sql));
    }
    assert_eq!(outputs[0].1.len(), 42, "base and 41 changes");
    assert!(
        outputs[0].0 == outputs[1].0,
        "expected-findings.json differs between two runs of seed 7"
    );
    assert_eq!(outputs[0].1, outputs[1].1);
}

/// Running the same tick twice on the same day applies nothing new.
#[tokio::test]
async fn tick_twice_the_same_day_applies_nothing_new() {
    let db = ScratchDb::create("tick").await.unwrap();
    let state = temp_state();
    run_ok(
        state.path(),
        &db.url,
        &["init", "--start-date", "2026-01-05"],
    );
    let first = run_ok(state.path(), &db.url, &["tick", "--now", "2026-01-07"]);
    assert!(
        first.contains("applied w01-wed-time-spent-trigger"),
        "{first}"
    );
    assert!(!first.contains("w01-thu"), "{first}");
    let second = run_ok(state.path(), &db.url, &["tick", "--now", "2026-01-07"]);
    assert!(second.contains("nothing new to apply"), "{second}");
    db.drop_now().await.unwrap();
}

/// The same main command as an ordinary (non-root) user: initdb and postgres run directly.
/// When the suite runs as root, it runs the binary as the unprivileged `postgres` account; when
/// it runs as an ordinary user, `main_command_on_the_embedded_default` already is this test.
#[test]
fn main_command_as_an_unprivileged_user() {
    if !is_root() {
        eprintln!(
            "running as an ordinary user: main_command_on_the_embedded_default covers this path"
        );
        return;
    }
    // The binary and the data files are copied where `postgres` can read them: the checkout
    // may live in a directory it cannot enter (e.g. /root).
    let state = temp_state();
    let home = copy_data();
    let exe = home.path().join("engineer-sim");
    std::fs::copy(env!("CARGO_BIN_EXE_engineer-sim"), &exe).unwrap();
    let chown = std::process::Command::new("chown")
        .args(["-R", "postgres:"])
        .arg(state.path())
        .arg(home.path())
        .status()
        .unwrap();
    assert!(chown.success());
    let as_postgres = |args: &[&str]| {
        let mut cmd = std::process::Command::new("runuser");
        cmd.args(["-u", "postgres", "--", "env"])
            .arg(format!("ENGINEER_SIM_STATE={}", state.path().display()))
            .arg(format!("ENGINEER_SIM_DATA={}", home.path().display()))
            .arg(&exe)
            .args(args)
            .env_remove("DATABASE_URL")
            .current_dir("/");
        cmd.output().unwrap()
    };
    let run = as_postgres(&["run", "--until-week", "1"]);
    let status = as_postgres(&["status"]);
    let _ = as_postgres(&["db", "stop"]);
    assert_success(&run, &["run", "--until-week", "1", "(as postgres)"]);
    assert_success(&status, &["status", "(as postgres)"]);
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(text.contains("applied:     5 changes"), "{text}");
}

/// One state directory journals one database: pointed at another, the commands that write the
/// journal refuse (exit 3) instead of overwriting it.
#[tokio::test]
async fn a_state_directory_keeps_to_its_database() {
    let first = ScratchDb::create("owner").await.unwrap();
    let other = ScratchDb::create("intruder").await.unwrap();
    let state = temp_state();
    run_ok(state.path(), &first.url, &["init"]);
    run_ok(state.path(), &first.url, &["run", "--until-week", "1"]);
    let before = std::fs::read(state.path().join("expected-findings.json")).unwrap();
    for args in [&["init"][..], &["journal"][..]] {
        let out = engineer_sim(state.path())
            .env("DATABASE_URL", &other.url)
            .args(args)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(3),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stderr).contains("holds the journal of"));
    }
    assert!(std::fs::read(state.path().join("expected-findings.json")).unwrap() == before);
    first.drop_now().await.unwrap();
    other.drop_now().await.unwrap();
}
