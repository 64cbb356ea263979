//! Ground truth you can trust: the journal agrees with a fresh audit, undeclared defects are
//! journaled as incidental, and a declared defect the audit cannot see stops the run.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use common::*;

fn last_week() -> u32 {
    let dirs = engineer_sim::roadmap::DataDirs::under(Path::new(env!("CARGO_MANIFEST_DIR")));
    dirs.load_roadmap().unwrap().last_week()
}

/// After a run through every week the roadmap holds, `verify` passes, for 20 seeds. Across those
/// runs at least 20 different kinds appear in the journal, and each persona's slips are mostly of
/// the kinds it tends to.
#[test]
fn verify_passes_after_the_whole_roadmap_for_20_seeds() {
    let weeks = last_week().to_string();
    let mut kinds = BTreeSet::new();
    // persona -> (slips, slips of a kind it tends to)
    let mut slips: BTreeMap<String, (u32, u32)> = BTreeMap::new();
    let team =
        engineer_sim::persona::Team::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("personas"))
            .unwrap();
    let runs = per_seed(100..120u64, 3, |seed| {
        let db = block_on(ScratchDb::create("verify")).unwrap();
        let state = temp_state();
        run_ok(
            state.path(),
            &db.url,
            &["init", "--seed", &seed.to_string()],
        );
        run_ok(state.path(), &db.url, &["run", "--until-week", &weeks]);
        let out = run_ok(state.path(), &db.url, &["verify"]);
        assert!(out.contains("verify: OK"), "seed {seed}: {out}");
        let events = events(state.path());
        block_on(db.drop_now()).unwrap();
        events
    });
    for (_, events) in &runs {
        kinds.extend(
            events_named(events, "finding_opened")
                .iter()
                .map(|e| e["kind"].as_str().unwrap().to_string()),
        );
        for applied in events_named(events, "change_applied") {
            let author = applied["author"].as_str().unwrap();
            let Some(persona) = team.get(author) else {
                continue;
            };
            for slip in applied["slips"].as_array().unwrap() {
                let kind = slip["kind"].as_str().unwrap();
                let entry = slips.entry(author.to_string()).or_default();
                entry.0 += 1;
                entry.1 += u32::from(persona.weight_of(kind) > persona.other_kinds_weight);
            }
        }
    }
    println!("{} kinds in the journal: {kinds:?}", kinds.len());
    assert!(kinds.len() >= 20, "only {} kinds: {kinds:?}", kinds.len());
    for (persona, (total, tending)) in &slips {
        println!("{persona}: {tending} of {total} slips are of its tendencies");
        assert!(
            *tending * 2 > *total,
            "{persona}: only {tending} of {total} slips are of its tendencies"
        );
    }
    assert_eq!(
        slips.len(),
        3,
        "every persona slipped at least once: {slips:?}"
    );
}

/// A defect nobody declared is journaled as incidental, and `findings` lists it by week.
#[tokio::test]
async fn incidental_findings_are_journaled_and_listed_by_week() {
    let db = ScratchDb::create("incidental").await.unwrap();
    let state = temp_state();
    run_ok(state.path(), &db.url, &["init", "--seed", "3"]);
    run_ok(state.path(), &db.url, &["run", "--until-week", "1"]);
    let out = run_ok(
        state.path(),
        &db.url,
        &[
            "findings",
            "--origin",
            "incidental",
            "--by-week",
            "--format",
            "json",
        ],
    );
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    let list = doc["findings"].as_array().unwrap();
    // The source's own Friday fix indexes user_id beside a unique (user_id, week_start) index.
    assert!(
        list.iter()
            .any(|f| f["object"] == "public.idx_time_reports_user_id"
                && f["kind"] == "redundant_index"
                && f["opened_by"] == "w01-fri-fix-time-reports"
                && f["opened_week"] == 1),
        "{out}"
    );
    assert!(list.iter().all(|f| f["origin"] == "incidental"));
    let weeks: Vec<i64> = list
        .iter()
        .map(|f| f["opened_week"].as_i64().unwrap())
        .collect();
    assert!(
        weeks.windows(2).all(|w| w[0] <= w[1]),
        "not ordered by week: {weeks:?}"
    );
    db.drop_now().await.unwrap();
}

/// A change made outside engineer-sim makes `verify` fail with exit code 1, naming the difference.
#[tokio::test]
async fn verify_reports_drift_with_exit_code_1() {
    let db = ScratchDb::create("drift").await.unwrap();
    let state = temp_state();
    run_ok(state.path(), &db.url, &["init"]);
    run_ok(state.path(), &db.url, &["run", "--until-week", "1"]);
    execute_sql(&db.url, "DROP INDEX idx_time_reports_user_id; CREATE TABLE stray (owner_id uuid REFERENCES users(id) ON DELETE CASCADE NOT NULL)").await;
    let out = engineer_sim(state.path())
        .env("DATABASE_URL", &db.url)
        .arg("verify")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(
            "in the ledger, not in the database: redundant_index public.idx_time_reports_user_id"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "in the database, not in the ledger: missing_fk_index public.stray(owner_id)"
        ),
        "{text}"
    );
    db.drop_now().await.unwrap();
}

/// A scripted defect the audit does not see is a bug in a template or a detector: the change is
/// rolled back, the run fails (exit 4) and the message names both.
#[tokio::test]
async fn declared_defect_the_audit_cannot_see_rolls_back_the_change() {
    let data = copy_data();
    let roadmap = data.path().join("roadmap/taskpilot.yaml");
    let text = std::fs::read_to_string(&roadmap).unwrap();
    let broken = text.replace(
        "{ kind: timestamp_without_tz, object: public.time_reports.created_at }",
        "{ kind: timestamp_without_tz, object: public.time_reports.week_start }",
    );
    assert_ne!(text, broken);
    std::fs::write(&roadmap, broken).unwrap();

    let db = ScratchDb::create("unseen").await.unwrap();
    let state = temp_state();
    let run = |args: &[&str]| {
        engineer_sim(state.path())
            .env("ENGINEER_SIM_DATA", data.path())
            .env("DATABASE_URL", &db.url)
            .args(args)
            .output()
            .unwrap()
    };
    assert_success(&run(&["init"]), &["init"]);
    let out = run(&["run", "--until-week", "1"]);
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("w01-thu-time-reports"), "{err}");
    assert!(err.contains("thu_time_reports.sql.tera"), "{err}");
    assert!(
        err.contains("src/mistakes/timestamp_without_tz.rs"),
        "{err}"
    );

    let failed = events(state.path());
    assert!(
        events_named(&failed, "change_failed")
            .iter()
            .any(|e| e["change_id"] == "w01-thu-time-reports"),
        "the failure is journaled"
    );

    let mut conn = engineer_sim::pg::connect(&db.url).await.unwrap();
    let table: Option<String> =
        sqlx::query_scalar("SELECT to_regclass('public.time_reports')::text")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert_eq!(table, None, "Thursday's table must be rolled back");
    let applied: Vec<String> =
        sqlx::query_scalar("SELECT change_id FROM engineer_sim.changes ORDER BY seq")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    assert_eq!(
        applied.last().map(String::as_str),
        Some("w01-wed-time-spent-trigger")
    );
    drop(conn);
    db.drop_now().await.unwrap();
}

/// A roadmap's `words:` reach every detector run: `init` journals the column the added word
/// names, and `audit` and `verify`, which read the same roadmap, agree with the journal.
#[tokio::test]
async fn words_a_roadmap_adds_reach_the_audit() {
    let data = copy_data();
    let roadmap = data.path().join("roadmap/taskpilot.yaml");
    let text = std::fs::read_to_string(&roadmap).unwrap();
    let text = text.replacen(
        "base_findings: []",
        "base_findings: []\nwords:\n  unique_names: [title]",
        1,
    );
    std::fs::write(&roadmap, text).unwrap();
    let db = ScratchDb::create("words").await.unwrap();
    let state = temp_state();
    let run = |args: &[&str]| {
        let out = engineer_sim(state.path())
            .env("ENGINEER_SIM_DATA", data.path())
            .env("DATABASE_URL", &db.url)
            .args(args)
            .output()
            .unwrap();
        assert_success(&out, args);
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    run(&["init", "--seed", "3"]);
    let events = events(state.path());
    assert!(
        events_named(&events, "finding_opened")
            .iter()
            .any(|e| e["kind"] == "missing_unique"
                && e["object"] == "public.issues.title"
                && e["origin"] == "incidental"),
        "the added word opens a finding"
    );
    assert!(run(&["audit"]).contains("public.issues.title"));
    assert!(run(&["verify"]).contains("verify: OK"));
    db.drop_now().await.unwrap();
}
