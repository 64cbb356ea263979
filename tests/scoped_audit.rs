//! The audit after each change covers only the relations the change touched and their
//! neighbours (README "Performance"). It must journal exactly what auditing the whole database
//! does: over the whole roadmap and 20 seeds, in empty mode, a run with the scoped audit and one
//! with `--full-audit` leave byte-identical journal files (but for each event's wall time). The
//! schema each change records for the next drift check must be the same too: on a catalog of
//! over 200 relations (two seeds with 200 extra tables), it is patched for what the change
//! touched in the first run and read whole in the second. That first run goes a week per process,
//! so every process's first change finds the catalog as the last change recorded it (by the
//! stamp that change took) and starts from the ledger instead of auditing the whole database.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{assert_success, engineer_sim, execute_sql, run_ok, temp_state, ScratchDb};
use sqlx::Connection;

/// Every journal file of a state directory, by name, wall times masked.
fn journal_files(state: &Path) -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    for name in [
        "journal.jsonl",
        "expected-findings.json",
        "expected-findings.md",
    ] {
        let text = std::fs::read_to_string(state.join(name)).unwrap();
        files.insert(name.to_string(), text);
    }
    for dir in ["migrations", "reports"] {
        for entry in std::fs::read_dir(state.join(dir)).unwrap().flatten() {
            let name = format!("{dir}/{}", entry.file_name().to_string_lossy());
            files.insert(name, std::fs::read_to_string(entry.path()).unwrap());
        }
    }
    // A run per week starts a run each time (`run_started`).
    let journal = files["journal.jsonl"]
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
        .filter(|event| event["event"] != "run_started")
        .map(|mut event| {
            event.as_object_mut().unwrap().remove("wall_time");
            event.to_string()
        })
        .collect::<Vec<_>>()
        .join("\n");
    files.insert("journal.jsonl".into(), journal);
    files
}

/// Runs the whole roadmap of `seed` on `url` (after `extra` FK-linked tables of a schema of
/// their own), in one process or a week per process; returns its journal files.
async fn whole_roadmap(
    url: &str,
    seed: u64,
    extra: usize,
    audit: &[&str],
    by_week: bool,
) -> BTreeMap<String, String> {
    let state = temp_state();
    let seed = seed.to_string();
    let mut init = vec![
        "init",
        "--no-data",
        "--seed",
        &seed,
        "--start-date",
        "2026-01-05",
    ];
    if extra > 0 {
        extra_tables(url, extra).await;
        init.push("--force");
    }
    let init = [&init[..], audit].concat();
    run_ok(state.path(), url, &init);
    let weeks: Vec<String> = match by_week {
        true => (1..=12).map(|w| w.to_string()).collect(),
        false => vec!["12".to_string()],
    };
    let (mut from_the_ledger, mut by_stamp) = (0, 0);
    for week in &weeks {
        let out = engineer_sim(state.path())
            .env("DATABASE_URL", url)
            .env("ENGINEER_SIM_LOG", "engineer_sim::apply=debug")
            .args([&["run", "--until-week", week][..], audit].concat())
            .output()
            .unwrap();
        assert_success(&out, &["run", "--until-week", week]);
        let log = String::from_utf8_lossy(&out.stderr);
        from_the_ledger += log.matches(AS_RECORDED).count();
        by_stamp += log.matches(BY_STAMP).count();
    }
    // On a large catalog, a process starts from the ledger, by the stamp the last process's
    // last change took, unless that change ran steps outside its transaction (it records no
    // fingerprint); else none does.
    match (extra >= 200 && audit.is_empty(), by_week) {
        (true, true) => assert!(
            by_stamp >= weeks.len() / 2,
            "seed {seed}: {from_the_ledger} of {} processes started from the ledger, {by_stamp} by its stamp",
            weeks.len()
        ),
        _ => assert_eq!(from_the_ledger, 0, "seed {seed}"),
    }
    journal_files(state.path())
}

/// What a process's first change logs when the catalog is as the last change recorded it, and
/// when the stamp that change took told so (apply/stamp.rs).
const AS_RECORDED: &str = "the catalog is as the last change recorded it";
const BY_STAMP: &str = "the catalog is as the last change recorded it (its stamp holds)";

/// A chain of `count` tables, each referencing the one before, in a schema of their own.
async fn extra_tables(url: &str, count: usize) {
    let mut ddl = String::from(
        "CREATE SCHEMA extra; CREATE TABLE extra.t0 (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY);",
    );
    for i in 1..count {
        ddl.push_str(&format!(
            "CREATE TABLE extra.t{i} (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, \
             parent_id bigint NOT NULL REFERENCES extra.t{}(id) ON DELETE CASCADE); \
             CREATE INDEX ON extra.t{i} (parent_id);",
            i - 1
        ));
    }
    execute_sql(url, &ddl).await;
}

/// The schema recorded after each change, by change id (the drift check's, crate::drift).
async fn recorded_schemas(url: &str) -> BTreeMap<String, serde_json::Value> {
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    sqlx::query_as("SELECT change_id::text, objects FROM engineer_sim.schema_snapshots")
        .fetch_all(&mut conn)
        .await
        .unwrap()
        .into_iter()
        .collect()
}

/// Drops every schema a run created and the ledger, so the database takes a second run.
async fn empty(url: &str) {
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    let schemas: Vec<String> = sqlx::query_scalar(&format!(
        "SELECT n.nspname::text FROM pg_namespace n WHERE {}",
        engineer_sim::pg::USER_SCHEMAS
    ))
    .fetch_all(&mut conn)
    .await
    .unwrap();
    for schema in schemas.into_iter().chain(["engineer_sim".to_string()]) {
        sqlx::raw_sql(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
            .execute(&mut conn)
            .await
            .unwrap();
    }
    sqlx::raw_sql("CREATE SCHEMA public")
        .execute(&mut conn)
        .await
        .unwrap();
}

async fn scoped_and_full_journal_the_same(seeds: std::ops::RangeInclusive<u64>, extra: usize) {
    for seed in seeds {
        let db = ScratchDb::create("scoped_audit").await.unwrap();
        let scoped = whole_roadmap(&db.url, seed, extra, &[], extra > 0).await;
        let patched = recorded_schemas(&db.url).await;
        empty(&db.url).await;
        let full = whole_roadmap(&db.url, seed, extra, &["--full-audit"], false).await;
        let read_whole = recorded_schemas(&db.url).await;
        assert_eq!(
            patched.keys().collect::<Vec<_>>(),
            read_whole.keys().collect::<Vec<_>>(),
            "seed {seed}: the changes with a recorded schema"
        );
        for (change, objects) in &patched {
            assert!(
                objects == &read_whole[change],
                "seed {seed}: the schema recorded after {change} differs when read whole"
            );
        }
        assert_eq!(
            scoped.keys().collect::<Vec<_>>(),
            full.keys().collect::<Vec<_>>(),
            "seed {seed}: the files"
        );
        for (name, text) in &scoped {
            let first_difference = text.lines().zip(full[name].lines()).find(|(a, b)| a != b);
            assert!(
                text == &full[name],
                "seed {seed}: {name} differs between the scoped and the whole audit: {first_difference:?}"
            );
        }
        db.drop_now().await.unwrap();
    }
}

// Two halves, which cargo runs side by side.
#[tokio::test]
async fn seeds_1_to_10_journal_the_same_with_the_scoped_and_the_whole_audit() {
    scoped_and_full_journal_the_same(1..=10, 0).await;
}

#[tokio::test]
async fn seeds_11_to_20_journal_the_same_with_the_scoped_and_the_whole_audit() {
    scoped_and_full_journal_the_same(11..=20, 0).await;
}

#[tokio::test]
async fn among_200_other_tables_the_patched_schema_is_the_one_read_whole() {
    scoped_and_full_journal_the_same(1..=2, 200).await;
}

/// Among 200 other tables, the next process's first change starts from the ledger only while
/// the catalog is as the last change left it: a column added behind engineer-sim's back, or the
/// domain a column has renamed (which changes no table's catalog rows, only the column's
/// definition), is still the drift it always was (exit 1, nothing applied).
#[tokio::test]
async fn among_200_other_tables_drift_is_still_found() {
    for (behind_the_back, named) in [
        (
            "ALTER TABLE extra.t7 ADD COLUMN note text",
            "column extra.t7.note was added",
        ),
        (
            "ALTER DOMAIN extra.positive RENAME TO above_zero",
            "column extra.counter.n is now",
        ),
    ] {
        let db = ScratchDb::create("scoped_drift").await.unwrap();
        extra_tables(&db.url, 200).await;
        // A column whose type is named in its definition.
        execute_sql(
            &db.url,
            "CREATE DOMAIN extra.positive AS bigint CHECK (VALUE > 0);
             CREATE TABLE extra.counter (id bigint PRIMARY KEY, n extra.positive)",
        )
        .await;
        let state = temp_state();
        run_ok(
            state.path(),
            &db.url,
            &["init", "--no-data", "--force", "--start-date", "2026-01-05"],
        );
        run_ok(state.path(), &db.url, &["run", "--until-week", "1"]);
        execute_sql(&db.url, behind_the_back).await;
        let out = engineer_sim(state.path())
            .env("DATABASE_URL", &db.url)
            .env("ENGINEER_SIM_LOG", "engineer_sim::apply=debug")
            .args(["run", "--until-week", "2"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{behind_the_back}: {stderr}");
        assert!(
            stderr.contains("the schema changed outside engineer-sim") && stderr.contains(named),
            "{behind_the_back}: {stderr}"
        );
        assert!(!stderr.contains(AS_RECORDED), "{stderr}");
        db.drop_now().await.unwrap();
    }
}
