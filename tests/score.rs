//! `score`: against a findings-json report with known true and false positives, and against a
//! real squawk run over the migration files engineer-sim wrote.

mod common;

use common::*;

fn kind_row<'a>(score: &'a serde_json::Value, kind: &str) -> &'a serde_json::Value {
    score["kinds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kind"] == kind)
        .unwrap()
}

#[tokio::test]
async fn findings_json_with_known_true_and_false_positives() {
    let db = ScratchDb::create("score").await.unwrap();
    let state = temp_state();
    run_ok(state.path(), &db.url, &["init", "--seed", "5"]);
    run_ok(state.path(), &db.url, &["run", "--until-week", "1"]);
    // Thursday's two B002s stay open whatever the seed: report one by kind, one by code.
    let report = serde_json::json!([
        { "kind": "missing_on_delete", "object": "public.time_reports(user_id)" },
        { "code": "B002", "object": "public.time_reports(project_id)" },
        { "kind": "missing_on_delete", "object": "public.time_entries(issue_id)" },
        { "kind": "nullable_fk", "object": "public.issues.assignee_id" },
    ]);
    let path = state.path().join("report.json");
    std::fs::write(&path, report.to_string()).unwrap();
    let out = run_ok(
        state.path(),
        &db.url,
        &[
            "score",
            "--report",
            path.to_str().unwrap(),
            "--report-format",
            "findings-json",
            "--format",
            "json",
        ],
    );
    let score: serde_json::Value = serde_json::from_str(&out).unwrap();

    assert_eq!(
        score["coverage"], "guessed",
        "a plain list declares no coverage"
    );
    let b002 = kind_row(&score, "missing_on_delete");
    assert_eq!(b002["true_positives"], 2);
    assert_eq!(
        b002["false_positives"], 1,
        "time_entries(issue_id) has ON DELETE CASCADE unless Alex slipped; seed 5: {b002}"
    );
    assert_eq!(b002["false_alarms"][0], "public.time_entries(issue_id)");
    let b001 = kind_row(&score, "nullable_fk");
    assert_eq!(b001["true_positives"], 0);
    assert_eq!(b001["false_positives"], 1);
    // A kind the report never mentions is not covered: no misses counted against it.
    let h004 = kind_row(&score, "redundant_index");
    assert_eq!(h004["covered"], false);
    assert_eq!(h004["false_negatives"], 0);
    assert_eq!(h004["recall"], serde_json::Value::Null);
    db.drop_now().await.unwrap();
}

/// Whether a linter is installed; when not, the test says so and skips that part (`.ci/run`
/// installs both).
fn installed(tool: &str, install: &str) -> bool {
    let ok = std::process::Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        // Straight to the process's stderr: `eprintln!` inside a passing test is captured by
        // the test harness, and the reader of `cargo test` must see what was not tested.
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED part of real_squawk_and_eugene_runs_over_twelve_weeks_of_migrations: \
             `{tool} --version` did not run: not installed here ({install}; .ci/run installs it)"
        );
    }
    ok
}

fn migration_files(state: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(state.join("migrations"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
}

fn score_report(
    state: &std::path::Path,
    url: &str,
    name: &str,
    bytes: &[u8],
    format: &str,
) -> serde_json::Value {
    let report = state.join(name);
    std::fs::write(&report, bytes).unwrap();
    let out = run_ok(
        state,
        url,
        &[
            "score",
            "--report",
            report.to_str().unwrap(),
            "--report-format",
            format,
            "--format",
            "json",
        ],
    );
    serde_json::from_str(&out).unwrap()
}

fn counts(score: &serde_json::Value, kind: &str) -> (u64, u64, u64) {
    let row = kind_row(score, kind);
    (
        row["true_positives"].as_u64().unwrap(),
        row["false_positives"].as_u64().unwrap(),
        row["false_negatives"].as_u64().unwrap(),
    )
}

/// Every unmapped entry is a rule with no kind, listed once: no violation lost its object.
fn only_unmapped_rules(score: &serde_json::Value) {
    for entry in score["unmapped"].as_array().unwrap() {
        assert!(entry.as_str().unwrap().starts_with("rule "), "{entry}");
    }
}

#[tokio::test]
async fn real_squawk_and_eugene_runs_over_twelve_weeks_of_migrations() {
    let squawk = installed("squawk", "pip install squawk-cli");
    let eugene = installed("eugene", "cargo install eugene");
    if !squawk && !eugene {
        return;
    }
    let db = ScratchDb::create("linters").await.unwrap();
    let state = temp_state();
    run_ok(state.path(), &db.url, &["init", "--seed", "42"]);
    run_ok(state.path(), &db.url, &["run", "--until-week", "12"]);
    let files = migration_files(state.path());
    if squawk {
        let json = std::process::Command::new("squawk")
            .args(["--reporter", "json"])
            .args(&files)
            .output()
            .unwrap();
        let score = score_report(
            state.path(),
            &db.url,
            "squawk.json",
            &json.stdout,
            "squawk-json",
        );
        assert_eq!(score["tool"], "squawk");
        assert_eq!(counts(&score, "timestamp_without_tz"), (5, 0, 0));
        assert_eq!(counts(&score, "serial_not_identity"), (2, 0, 0));
        let blocking = counts(&score, "blocking_index_build");
        assert_eq!(
            (blocking.0, blocking.2),
            (12, 0),
            "every blocking build found"
        );
        assert!(blocking.1 > 0, "and the indexes of new tables flagged too");
        // adding-field-with-default is week 12's stored generated column (a real rewrite);
        // changing-column-type is week 1's TIMESTAMPTZ change, no rewrite under UTC.
        assert_eq!(counts(&score, "table_rewrite"), (1, 1, 0));
        assert_eq!(kind_row(&score, "missing_fk_index")["covered"], false);
        only_unmapped_rules(&score);
        let unmapped = score["unmapped"].to_string();
        assert!(unmapped.contains("prefer-text-field"), "{unmapped}");

        // The same run through squawk's `gcc` reporter (`file:line:col: warning: rule message`)
        // and as SARIF scores the same.
        let gcc = std::process::Command::new("squawk")
            .args(["--reporter", "gcc"])
            .args(&files)
            .output()
            .unwrap();
        let lines = score_report(state.path(), &db.url, "squawk.txt", &gcc.stdout, "lines");
        assert_eq!(lines["kinds"], score["kinds"]);
        let violations: Vec<serde_json::Value> = serde_json::from_slice(&json.stdout).unwrap();
        let sarif = serde_json::json!({
            "version": "2.1.0",
            "runs": [{
                "tool": { "driver": { "name": "squawk" } },
                "results": violations.iter().map(|v| serde_json::json!({
                    "ruleId": v["rule_name"],
                    "message": { "text": v["message"] },
                    "locations": [{ "physicalLocation": {
                        "artifactLocation": { "uri": v["file"] },
                        // SARIF lines are 1-based, squawk's 0-based.
                        "region": { "startLine": v["line"].as_u64().unwrap() + 1 },
                    }}],
                })).collect::<Vec<_>>(),
            }],
        });
        let sarif = score_report(
            state.path(),
            &db.url,
            "squawk.sarif",
            sarif.to_string().as_bytes(),
            "sarif",
        );
        assert_eq!(sarif["kinds"], score["kinds"]);
    }
    if eugene {
        let out = std::process::Command::new("eugene")
            .args(["lint", "--format", "json", "--accept-failures"])
            .arg(state.path().join("migrations"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let score = score_report(
            state.path(),
            &db.url,
            "eugene.json",
            &out.stdout,
            "eugene-json",
        );
        assert_eq!(score["tool"], "eugene");
        // eugene knows which tables are new in the migration: no false alarm on their indexes.
        assert_eq!(counts(&score, "blocking_index_build"), (12, 0, 0));
        assert_eq!(counts(&score, "not_null_full_scan"), (2, 0, 0));
        assert_eq!(counts(&score, "table_rewrite"), (1, 1, 0));
        only_unmapped_rules(&score);
    }
    db.drop_now().await.unwrap();
}

/// Scores a findings-json document and returns the JSON score.
fn score_json(state: &std::path::Path, url: &str, report: &serde_json::Value) -> serde_json::Value {
    score_json_with(state, url, report, &[])
}

fn score_json_with(
    state: &std::path::Path,
    url: &str,
    report: &serde_json::Value,
    extra: &[&str],
) -> serde_json::Value {
    let path = state.join("report.json");
    std::fs::write(&path, report.to_string()).unwrap();
    let mut args = vec![
        "score",
        "--report",
        path.to_str().unwrap(),
        "--report-format",
        "findings-json",
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    let out = run_ok(state, url, &args);
    serde_json::from_str(&out).unwrap()
}

#[tokio::test]
async fn declared_coverage_counts_misses_of_kinds_found_nothing_of() {
    let db = ScratchDb::create("score_covers").await.unwrap();
    let state = temp_state();
    run_ok(state.path(), &db.url, &["init", "--seed", "5"]);
    run_ok(state.path(), &db.url, &["run", "--until-week", "1"]);
    // Week 1, seed 5: Friday's idx_time_reports_user_id is redundant (H004). The tool checks
    // H004 and finds nothing: that is a miss, not "not covered".
    let report = serde_json::json!({
        "tool": "fk-and-index-checker",
        "covers": ["missing_on_delete", "H004"],
        "findings": [
            { "kind": "missing_on_delete", "object": "public.time_reports(user_id)" },
        ],
    });
    let score = score_json(state.path(), &db.url, &report);
    assert_eq!(score["tool"], "fk-and-index-checker");
    assert_eq!(score["coverage"], "declared");
    let h004 = kind_row(&score, "redundant_index");
    assert_eq!(h004["covered"], true);
    assert_eq!(h004["false_negatives"], 1, "{h004}");
    assert_eq!(h004["misses"][0], "public.idx_time_reports_user_id");
    assert_eq!(h004["recall"], 0.0);
    let dup = kind_row(&score, "duplicate_index");
    assert_eq!(dup["covered"], true, "H004 stands for both of its kinds");
    assert_eq!(dup["recall"], serde_json::Value::Null, "nothing to find");
    let b002 = kind_row(&score, "missing_on_delete");
    assert_eq!(
        (
            b002["true_positives"].as_u64(),
            b002["false_negatives"].as_u64()
        ),
        (Some(1), Some(1))
    );
    assert_eq!(kind_row(&score, "nullable_fk")["covered"], false);

    // --fail-under: exit 1 below the bar (missing_on_delete recall is 50 %), 0 at it, 2 for a
    // name that is no kind or code.
    let exit = |threshold: &str| {
        engineer_sim(state.path())
            .env("DATABASE_URL", &db.url)
            .args(["score", "--report"])
            .arg(state.path().join("report.json"))
            .args(["--report-format", "findings-json", "--format", "markdown"])
            .args(["--fail-under", threshold])
            .output()
            .unwrap()
    };
    let below = exit("missing_on_delete=0.9");
    assert_eq!(below.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&below.stderr);
    assert!(
        stderr.contains("missing_on_delete: recall 50% < 90%"),
        "{stderr}"
    );
    let markdown = String::from_utf8_lossy(&below.stdout);
    assert!(
        markdown.contains("| missing_on_delete | B002 | 1 | 0 | 1 | 100% | 50% |"),
        "{markdown}"
    );
    assert_eq!(exit("B002=50%").status.code(), Some(0));
    assert_eq!(exit("no_such_kind=0.5").status.code(), Some(2));

    // A report that is not what its format says: exit 2, naming the file and line.
    for format in ["findings-json", "squawk-json", "eugene-json", "sarif"] {
        let bad = state.path().join("bad.json");
        std::fs::write(&bad, "[\n  {\"kind\": 3,\n").unwrap();
        let out = engineer_sim(state.path())
            .env("DATABASE_URL", &db.url)
            .args(["score", "--report"])
            .arg(&bad)
            .args(["--report-format", format])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{format}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("bad.json:"), "{format}: {stderr}");
    }
    db.drop_now().await.unwrap();
}

#[tokio::test]
async fn constraint_names_pairs_covers_and_the_ledger_schema() {
    let db = ScratchDb::create("score_objects").await.unwrap();
    let state = temp_state();
    run_ok(state.path(), &db.url, &["init", "--seed", "42"]);
    run_ok(state.path(), &db.url, &["run", "--until-week", "12"]);
    // A constraint named by hand is known to the catalog only.
    let mut conn = engineer_sim::pg::connect(&db.url).await.unwrap();
    sqlx::raw_sql(
        "ALTER TABLE api_tokens RENAME CONSTRAINT api_tokens_user_id_fkey TO fk_api_tokens_user",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/score/seed42-week12-findings.json");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture).unwrap()).unwrap();
    let score = score_json(state.path(), &db.url, &report);
    let counts = |kind: &str| {
        let row = kind_row(&score, kind);
        (
            row["true_positives"].as_u64().unwrap(),
            row["false_positives"].as_u64().unwrap(),
            row["false_negatives"].as_u64().unwrap(),
        )
    };
    // H002 (roadmap): by default constraint name, by a renamed constraint (catalog), by column
    // number (catalog); seed 42 has 24 open at week 12.
    assert_eq!(
        counts("missing_fk_index"),
        (3, 0, 21),
        "{}",
        kind_row(&score, "missing_fk_index")
    );
    assert_eq!(counts("missing_on_delete"), (1, 0, 22));
    // The FK constraint stands for its column, which is how the journal names a nullable FK.
    assert_eq!(counts("nullable_fk"), (1, 0, 9));
    // Two pairs scored once each, on the member the journal names; a pair the journal does not
    // name is one false alarm, shown as the tool wrote its first member. Both journaled
    // duplicates are `(x_id, date DESC)` beside `UNIQUE (x_id, date)`: judgement calls, shown
    // apart and counted only with --strict.
    assert_eq!(counts("duplicate_index"), (0, 1, 0));
    let calls = score["judgement_calls"].as_array().unwrap();
    let sort_order: Vec<_> = calls
        .iter()
        .filter(|c| c["judgement"] == "sort_order_duplicate")
        .collect();
    assert_eq!(sort_order.len(), 2, "{calls:?}");
    assert!(
        sort_order.iter().all(|c| c["reported"] == true),
        "{calls:?}"
    );
    let strict = score_json_with(state.path(), &db.url, &report, &["--strict"]);
    assert_eq!(strict["strict"], true);
    let row = kind_row(&strict, "duplicate_index");
    assert_eq!(
        (
            row["true_positives"].as_u64(),
            row["false_positives"].as_u64()
        ),
        (Some(2), Some(1))
    );
    assert_eq!(
        kind_row(&score, "duplicate_index")["false_alarms"][0],
        "public.issues_pkey"
    );
    // Declared H004 covers redundant_index too: its misses count although nothing was reported.
    let redundant = kind_row(&score, "redundant_index");
    assert_eq!(redundant["covered"], true);
    assert_eq!(redundant["true_positives"], 0);
    assert!(
        redundant["false_negatives"].as_u64().unwrap() > 0,
        "{redundant}"
    );
    let notes = score["notes"].to_string();
    assert!(
        notes.contains("ignored 2 findings on the engineer_sim schema"),
        "{notes}"
    );
    assert!(notes.contains("\\\"not_a_kind\\\""), "{notes}");
    assert!(score["unmapped"].as_array().unwrap().is_empty());
    db.drop_now().await.unwrap();
}

#[tokio::test]
async fn checkup_codes_h001_h003_and_codes_engineer_sim_does_not_journal() {
    let db = ScratchDb::create("score_checkup").await.unwrap();
    let state = temp_state();
    run_ok(state.path(), &db.url, &["init", "--seed", "42"]);
    run_ok(state.path(), &db.url, &["run", "--until-week", "5"]);
    let report = serde_json::json!({
        "tool": "checkup",
        "covers": ["H001", "H003"],
        "findings": [
            { "code": "H003", "object": "api_tokens_user_id_fkey" },
            { "code": "H001", "object": "public.idx_half_built" },
            { "code": "F005", "object": "public.issues_pkey" },
        ],
    });
    let path = state.path().join("checkup.json");
    std::fs::write(&path, report.to_string()).unwrap();
    let out = run_ok(
        state.path(),
        &db.url,
        &[
            "--codes",
            "checkup",
            "score",
            "--report",
            path.to_str().unwrap(),
            "--report-format",
            "findings-json",
            "--format",
            "json",
        ],
    );
    let score: serde_json::Value = serde_json::from_str(&out).unwrap();
    let h003 = kind_row(&score, "missing_fk_index");
    assert_eq!(h003["code"], "H003");
    assert_eq!(h003["true_positives"], 1, "{h003}");
    assert_eq!(
        score["not_journaled"]["F005 (btree index bloat)"], 1,
        "{score}"
    );
    assert!(score["unmapped"].as_array().unwrap().is_empty(), "{score}");
    db.drop_now().await.unwrap();
}
