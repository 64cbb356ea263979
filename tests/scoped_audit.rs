//! The audit after each change covers only the relations the change touched and their
//! neighbours (README "Performance"). It must journal exactly what auditing the whole database
//! does: over the whole roadmap and 20 seeds, in empty mode, a run with the scoped audit and one
//! with `--full-audit` leave byte-identical journal files (but for each event's wall time). The
//! schema each change records for the next drift check must be the same too: on a catalog of
//! over 200 relations (two seeds with 200 extra tables), it is patched for what the change
//! touched in the first run and read whole in the second.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{run_ok, temp_state, ScratchDb};
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
    let journal = files["journal.jsonl"]
        .lines()
        .map(|line| {
            let mut event: serde_json::Value = serde_json::from_str(line).unwrap();
            event.as_object_mut().unwrap().remove("wall_time");
            event.to_string()
        })
        .collect::<Vec<_>>()
        .join("\n");
    files.insert("journal.jsonl".into(), journal);
    files
}

/// Runs the whole roadmap of `seed` on `url` (after `extra` FK-linked tables of a schema of
/// their own); returns its journal files.
async fn whole_roadmap(
    url: &str,
    seed: u64,
    extra: usize,
    audit: &[&str],
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
    run_ok(
        state.path(),
        url,
        &[&["run", "--until-week", "12"][..], audit].concat(),
    );
    journal_files(state.path())
}

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
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    sqlx::raw_sql(&ddl).execute(&mut conn).await.unwrap();
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
        let scoped = whole_roadmap(&db.url, seed, extra, &[]).await;
        let patched = recorded_schemas(&db.url).await;
        empty(&db.url).await;
        let full = whole_roadmap(&db.url, seed, extra, &["--full-audit"]).await;
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
