//! The living database at a small scale: seed, the whole roadmap with its backfills and daily
//! growth, a short workload, then `verify`; the statistics kinds appear and are proven.

mod common;

use std::path::Path;

use common::{block_on, engineer_sim_with_data, events_named, per_seed, temp_state, ScratchDb};

const SCALE: &str = "0.002";

fn run(state: &Path, url: &str, args: &[&str]) -> String {
    common::run_with_data(state, url, SCALE, args)
}

async fn scalar(conn: &mut sqlx::PgConnection, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(conn).await.unwrap()
}

/// Seeds whose persona decisions (render only, no database) slip into `kind` on a database with
/// data.
fn seeds_slipping_into(kind: &str, seeds: std::ops::RangeInclusive<u64>) -> Vec<u64> {
    let state = temp_state();
    seeds
        .filter(|seed| {
            let out = engineer_sim_with_data(state.path(), SCALE)
                .args(["plan", "--seed", &seed.to_string()])
                .output()
                .unwrap();
            assert!(out.status.success());
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .any(|l| l.trim_start().starts_with("SLIPS") && l.contains(&format!(" {kind} ")))
        })
        .collect()
}

/// The seeds the statistics and data-only kinds are looked for in. Issue 8 asks for each of
/// `table_bloat`, `missing_query_index` and `invalid_index` across 20 seeds. `invalid_index` has
/// one slip point, in a change of Alex's (10 % error rate): about 9 seeds in 100 slip into it, none
/// of 1-20. In 101-120 all three appear, and seed 116 has all three, so one run proves them.
const SEEDS: std::ops::RangeInclusive<u64> = 101..=120;

#[test]
fn a_living_roadmap_verifies_and_proves_its_statistics_kinds() {
    let bloat = seeds_slipping_into("table_bloat", SEEDS);
    let query = seeds_slipping_into("missing_query_index", SEEDS);
    let invalid = seeds_slipping_into("invalid_index", SEEDS);
    for (kind, seeds) in [
        ("table_bloat", &bloat),
        ("missing_query_index", &query),
        ("invalid_index", &invalid),
    ] {
        assert!(!seeds.is_empty(), "no seed of {SEEDS:?} slips into {kind}");
    }
    // As few runs as cover the three kinds: a seed with all three when there is one.
    let kinds = [&bloat, &query, &invalid];
    let mut seeds: Vec<u64> = Vec::new();
    while let Some(uncovered) = kinds.iter().find(|k| !k.iter().any(|s| seeds.contains(s))) {
        let best = SEEDS
            .clone()
            .filter(|s| uncovered.contains(s))
            .max_by_key(|s| (kinds.iter().filter(|k| k.contains(s)).count(), u64::MAX - s))
            .expect("a seed of the uncovered kind");
        seeds.push(best);
    }
    // Two seeds at a time: the runs are engineer-sim and server processes.
    per_seed(seeds, 2, |seed| {
        block_on(living_run(seed, &bloat, &query, &invalid))
    });
}

/// One seed's living roadmap, checked (the test above says what for).
async fn living_run(seed: u64, bloat: &[u64], query: &[u64], invalid: &[u64]) {
    {
        let db = ScratchDb::create("living").await.unwrap();
        let state = temp_state();
        let seed_arg = seed.to_string();
        run(
            state.path(),
            &db.url,
            &["init", "--seed", &seed_arg, "--start-date", "2026-01-05"],
        );
        seed_keeps_every_constraint(&db.url, seed).await;
        run(state.path(), &db.url, &["run", "--until-week", "12"]);
        let workload = run(
            state.path(),
            &db.url,
            &["workload", "--duration", "2s", "--clients", "2"],
        );
        assert!(workload.contains("queries/s"), "{workload}");
        let verified = run(state.path(), &db.url, &["verify"]);
        assert!(verified.contains("verify: OK"), "{verified}");
        assert!(!verified.contains("contradicted by"), "{verified}");

        let mut conn = engineer_sim::pg::connect(&db.url).await.unwrap();
        // Every table holds rows.
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY 1",
        )
        .fetch_all(&mut conn)
        .await
        .unwrap();
        for table in &tables {
            let rows = scalar(&mut conn, &format!("SELECT count(*) FROM public.{table}")).await;
            assert!(rows > 0, "seed {seed}: table {table} is empty");
        }
        // Every finding carries its table's size and rows: the configuration tables that
        // autovacuum never analyzes (under 50 rows) too.
        let findings: serde_json::Value = serde_json::from_str(&run(
            state.path(),
            &db.url,
            &["findings", "--format", "json"],
        ))
        .unwrap();
        for f in findings["findings"].as_array().unwrap() {
            assert!(f["table_mb"].as_f64().is_some(), "seed {seed}: {f}");
            assert!(
                f["table_rows"].as_i64().is_some_and(|rows| rows > 0),
                "seed {seed}: the rows of a finding's table are unknown: {f}"
            );
        }
        // Journaled unused indexes had no scans; most other indexes on read tables did.
        let unused_scanned = scalar(
            &mut conn,
            "SELECT count(*) FROM engineer_sim.findings f
             JOIN engineer_sim.index_usage u ON u.index_name = f.object
             WHERE f.kind = 'unused_index' AND f.closed_by IS NULL AND u.idx_scan > 0
               AND u.workload_id = (SELECT max(id) FROM engineer_sim.workloads)",
        )
        .await;
        assert_eq!(
            unused_scanned, 0,
            "seed {seed}: a journaled unused index was scanned"
        );
        // Issue 8's bar: at least 80 % of the other indexes on tables the workload reads show
        // scans. What stays unscanned is mostly the archive tables' copies of the issue indexes
        // (`LIKE ... INCLUDING ALL`), which the archive browser does not need.
        let (used, all) = index_use(&mut conn).await;
        println!("seed {seed}: {used} of {all} indexes on read tables scanned");
        assert!(
            used * 10 >= all * 8,
            "seed {seed}: only {used} of {all} indexes on tables the workload reads were scanned"
        );
        // The statistics kinds this seed slips into are journaled and proven.
        let events = common::events(state.path());
        let opened = events_named(&events, "finding_opened");
        for (kind, seeds) in [
            ("table_bloat", bloat),
            ("missing_query_index", query),
            ("invalid_index", invalid),
        ] {
            if seeds.contains(&seed) {
                assert!(
                    opened.iter().any(|e| e["kind"] == kind),
                    "seed {seed}: {kind} slipped but was not journaled"
                );
            }
        }
        assert!(verified.contains("proven by the statistics"), "{verified}");
        if bloat.contains(&seed) {
            assert!(
                !verified.contains("pending: table_bloat"),
                "seed {seed}: the bloated table's dead tuples are not measured: {verified}"
            );
        }
        if invalid.contains(&seed) {
            // The failed concurrent build is journaled with its SQLSTATE, and the index it left
            // is really there, invalid.
            let ran = events_named(&events, "outside_step_ran");
            assert!(
                ran.iter().any(|e| e["sqlstate"] == "23505"),
                "seed {seed}: {ran:?}"
            );
            let invalid_left = scalar(
                &mut conn,
                "SELECT count(*) FROM pg_index WHERE NOT indisvalid
                   AND indexrelid = 'public.idx_time_reports_user_week'::regclass",
            )
            .await;
            assert_eq!(invalid_left, 1, "seed {seed}");
        }
        assert!(!events_named(&events, "day_grown").is_empty());
        measured_and_dropped(&mut conn, &events, seed).await;
        drop(conn);
        db.drop_now().await.unwrap();
    }
}

/// The blocking changes were measured (week 12's scripted rewrite of activity_log always is), and
/// each open dropped_used_index has a query reading its table sequentially after the drop.
async fn measured_and_dropped(
    conn: &mut sqlx::PgConnection,
    events: &[serde_json::Value],
    seed: u64,
) {
    let measured = events_named(events, "finding_measured");
    let rewrite = measured
        .iter()
        .find(|e| e["kind"] == "table_rewrite" && e["object"] == "public.activity_log")
        .unwrap_or_else(|| panic!("seed {seed}: the activity_log rewrite was not measured"));
    assert!(
        rewrite["rows"].as_i64().unwrap() > 0,
        "seed {seed}: {rewrite}"
    );
    assert!(
        rewrite["bytes"].as_i64().unwrap() > 0,
        "seed {seed}: {rewrite}"
    );
    assert!(
        rewrite["app_queries_waited"].is_null(),
        "seed {seed}: no workload ran"
    );
    let unmeasured = scalar(
        conn,
        "SELECT count(*) FROM engineer_sim.findings
         WHERE kind IN ('blocking_index_build', 'table_rewrite', 'not_null_full_scan')
           AND closed_by IS NULL AND verification <> 'measured'",
    )
    .await;
    assert_eq!(
        unmeasured, 0,
        "seed {seed}: blocking findings left unmeasured"
    );
    let unproven = scalar(
        conn,
        r"SELECT count(*) FROM engineer_sim.findings f
          WHERE f.kind = 'dropped_used_index' AND f.closed_by IS NULL
            AND NOT EXISTS (
              SELECT 1 FROM engineer_sim.query_usage q, engineer_sim.schema_snapshots s,
                            jsonb_each_text(s.objects) o
              WHERE q.workload_id = (SELECT max(id) FROM engineer_sim.workloads)
                AND q.access = 'seq' AND o.key = 'index ' || f.object
                AND o.value LIKE '% ON ' || q.relation || ' USING %')",
    )
    .await;
    assert_eq!(
        unproven, 0,
        "seed {seed}: a dropped used index's table is not seq-scanned"
    );
}

/// (scanned, all) indexes on the tables the last workload read, besides the journaled unused ones
/// and invalid ones (a failed concurrent build's index is a finding the planner cannot use).
async fn index_use(conn: &mut sqlx::PgConnection) -> (i64, i64) {
    sqlx::query_as(
        "SELECT count(*) FILTER (WHERE u.idx_scan > 0), count(*)
         FROM engineer_sim.index_usage u
         JOIN engineer_sim.table_usage t USING (workload_id, table_name)
         WHERE u.workload_id = (SELECT max(id) FROM engineer_sim.workloads)
           AND (t.seq_scan > 0 OR t.idx_scan > 0)
           AND u.index_name NOT IN (SELECT object FROM engineer_sim.findings
                                    WHERE kind IN ('unused_index', 'invalid_index')
                                      AND closed_by IS NULL)",
    )
    .fetch_one(conn)
    .await
    .unwrap()
}

/// A foreign key: name, table, referenced table, columns, referenced columns.
type ForeignKey = (String, String, String, Vec<String>, Vec<String>);

/// The seed loads without the foreign-key triggers and builds the plain indexes and unreferenced
/// primary keys after the load (README "A living database"): every key must still hold, and
/// every index and primary key be back.
async fn seed_keeps_every_constraint(url: &str, seed: u64) {
    let mut conn = engineer_sim::pg::connect(url).await.unwrap();
    let pending = scalar(
        &mut conn,
        "SELECT count(*) FROM engineer_sim.deferred_indexes",
    )
    .await;
    assert_eq!(pending, 0, "seed {seed}: deferred indexes left unbuilt");
    let indexes = scalar(
        &mut conn,
        "SELECT count(*) FROM pg_indexes WHERE schemaname = 'public' AND indexname LIKE 'idx\\_%'",
    )
    .await;
    assert_eq!(
        indexes, 20,
        "seed {seed}: the base's 20 plain indexes after the seed"
    );
    let keyless: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_class c
         WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'
           AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'p')
         ORDER BY 1",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert!(
        keyless.is_empty(),
        "seed {seed}: primary keys not built again: {keyless:?}"
    );
    let keys: Vec<ForeignKey> = sqlx::query_as(
        "SELECT k.conname::text, k.conrelid::regclass::text, k.confrelid::regclass::text,
                array(SELECT attname::text FROM unnest(k.conkey) WITH ORDINALITY u(a, i)
                      JOIN pg_attribute ON attrelid = k.conrelid AND attnum = u.a ORDER BY u.i),
                array(SELECT attname::text FROM unnest(k.confkey) WITH ORDINALITY u(a, i)
                      JOIN pg_attribute ON attrelid = k.confrelid AND attnum = u.a ORDER BY u.i)
         FROM pg_constraint k JOIN pg_namespace n ON n.oid = k.connamespace
         WHERE k.contype = 'f' AND n.nspname = 'public' ORDER BY 1",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert!(keys.len() > 10, "seed {seed}: the base's foreign keys");
    for (name, child, parent, columns, referenced) in keys {
        let not_null: Vec<String> = columns
            .iter()
            .map(|c| format!("c.{c} IS NOT NULL"))
            .collect();
        let matches: Vec<String> = columns
            .iter()
            .zip(&referenced)
            .map(|(c, p)| format!("p.{p} = c.{c}"))
            .collect();
        let orphans = scalar(
            &mut conn,
            &format!(
                "SELECT count(*) FROM {child} c WHERE {} AND NOT EXISTS (SELECT 1 FROM {parent} p WHERE {})",
                not_null.join(" AND "),
                matches.join(" AND ")
            ),
        )
        .await;
        assert_eq!(
            orphans, 0,
            "seed {seed}: {orphans} rows of {child} break {name}"
        );
    }
}
