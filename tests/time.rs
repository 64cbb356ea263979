//! Time and replay: catch-up with a cap, nothing before it is due, both paces, the daemon's clean
//! stop, `schedule` for a fixed clock, weighted assignment, and replays that equal the original.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::*;
use engineer_sim::identity::{Assign, Identity};
use engineer_sim::roadmap::DataDirs;
use engineer_sim::sim::Project;

async fn applied(url: &str) -> Vec<String> {
    let mut conn = engineer_sim::pg::connect(url).await.unwrap();
    sqlx::query_scalar(
        "SELECT change_id FROM engineer_sim.changes WHERE change_id <> 'base' ORDER BY seq",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap()
}

fn project() -> Project {
    Project::load(&DataDirs::under(Path::new(env!("CARGO_MANIFEST_DIR")))).unwrap()
}

/// The ids of the changes due by `sim_day`, in order.
fn due_by(sim_day: u32) -> Vec<String> {
    project()
        .roadmap
        .ordered()
        .into_iter()
        .filter(|c| c.sim_day() <= sim_day)
        .map(|c| c.id.clone())
        .collect()
}

#[tokio::test]
async fn catch_up_respects_the_cap_and_never_applies_what_is_not_due() {
    let db = ScratchDb::create("catchup").await.unwrap();
    let state = temp_state();
    run_ok(
        state.path(),
        &db.url,
        &["init", "--start-date", "2026-01-05"],
    );
    // Wednesday of week 1: sim day 3.
    run_ok(state.path(), &db.url, &["tick", "--now", "2026-01-07"]);
    assert_eq!(applied(&db.url).await, due_by(3));
    // A week and a half of missed runs: Friday of week 2 is sim day 10. Three per tick.
    let mut counts = Vec::new();
    loop {
        let before = applied(&db.url).await.len();
        run_ok(
            state.path(),
            &db.url,
            &["tick", "--now", "2026-01-16", "--max-per-tick", "3"],
        );
        let after = applied(&db.url).await.len();
        counts.push(after - before);
        if after == before {
            break;
        }
    }
    assert!(counts.iter().all(|n| *n <= 3), "{counts:?}");
    assert_eq!(applied(&db.url).await, due_by(10), "all due, nothing more");
    db.drop_now().await.unwrap();
}

#[tokio::test]
async fn step_pace_advances_one_working_day_per_tick() {
    let db = ScratchDb::create("step").await.unwrap();
    let state = temp_state();
    run_ok(
        state.path(),
        &db.url,
        &["init", "--start-date", "2030-01-07"],
    );
    run_ok(state.path(), &db.url, &["settings", "--pace", "step"]);
    for day in 1..=4 {
        // The calendar would say "before the start" on this date; the step pace ignores it.
        let out = run_ok(state.path(), &db.url, &["tick", "--now", "2026-01-05"]);
        assert!(out.contains(&format!("sim day {day} ")), "{out}");
        assert_eq!(applied(&db.url).await, due_by(day));
    }
    let settings: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(state.path().join("settings.json")).unwrap())
            .unwrap();
    assert_eq!(settings["step_day"], 4);
    db.drop_now().await.unwrap();
}

/// Every file in the state directory (but the state lock) with its inode and bytes: a file
/// written again, even with the same bytes, gets a new inode (each write is a create and rename).
fn files_with_inodes(root: &Path) -> BTreeMap<String, (u64, Vec<u8>)> {
    use std::os::unix::fs::MetadataExt;
    let mut out = BTreeMap::new();
    for dir in ["", "migrations", "reports"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap().flatten() {
            let meta = entry.metadata().unwrap();
            if !meta.is_file() || entry.file_name() == "tick.lock" {
                continue;
            }
            let name = Path::new(dir).join(entry.file_name());
            let bytes = std::fs::read(entry.path()).unwrap();
            out.insert(name.display().to_string(), (meta.ino(), bytes));
        }
    }
    out
}

/// The journal files are views of the ledger written once per run or tick, and only those whose
/// content changed (README "Performance"): a tick with nothing due writes nothing, a tick that
/// applies one change leaves the files it does not change alone, and a file deleted since is
/// written again by the next tick.
#[tokio::test]
async fn ticks_write_only_the_journal_files_that_changed() {
    let db = ScratchDb::create("unchanged").await.unwrap();
    let state = temp_state();
    run_ok(
        state.path(),
        &db.url,
        &["init", "--start-date", "2026-01-05"],
    );
    // Wednesday of week 1: three changes.
    run_ok(state.path(), &db.url, &["tick", "--now", "2026-01-07"]);
    let before = files_with_inodes(state.path());
    assert!(
        before.contains_key("reports/week-01.md"),
        "{:?}",
        before.keys()
    );

    let out = run_ok(state.path(), &db.url, &["tick", "--now", "2026-01-07"]);
    assert!(out.contains("nothing new to apply"), "{out}");
    assert_eq!(
        files_with_inodes(state.path()),
        before,
        "a tick with nothing due wrote a file"
    );

    // Thursday: one change. Its migration file is new; the earlier ones are left alone.
    run_ok(state.path(), &db.url, &["tick", "--now", "2026-01-08"]);
    let after = files_with_inodes(state.path());
    let migrations = |files: &BTreeMap<String, (u64, Vec<u8>)>| {
        files
            .keys()
            .filter(|n| n.starts_with("migrations/"))
            .count()
    };
    assert_eq!(migrations(&after), migrations(&before) + 1);
    for (name, was) in &before {
        let now = &after[name];
        // The input check's fingerprint too: the inputs did not change.
        let unchanged = name.starts_with("migrations/")
            || name == "settings.json"
            || name == engineer_sim::check::CACHE_FILE;
        if unchanged {
            assert_eq!(now, was, "{name} was written again");
        } else {
            // The journal, the expected findings and week 1's report all tell of the change.
            assert_ne!(now.1, was.1, "{name} does not tell of Thursday's change");
        }
    }

    // Deleted files come back with the same bytes on the next tick, due or not.
    std::fs::remove_file(state.path().join("expected-findings.md")).unwrap();
    let first_migration = after
        .keys()
        .find(|n| n.starts_with("migrations/"))
        .unwrap()
        .clone();
    std::fs::remove_file(state.path().join(&first_migration)).unwrap();
    run_ok(state.path(), &db.url, &["tick", "--now", "2026-01-08"]);
    let restored = files_with_inodes(state.path());
    for name in ["expected-findings.md", first_migration.as_str()] {
        assert_eq!(
            restored[name].1, after[name].1,
            "{name} was not written again"
        );
    }
    for (name, was) in after.iter().filter(|(n, _)| *n != "expected-findings.md") {
        if *name != first_migration {
            assert_eq!(&restored[name], was, "{name} was written again");
        }
    }
    db.drop_now().await.unwrap();
}

#[test]
fn schedule_for_a_fixed_clock() {
    let state = temp_state();
    std::fs::write(
        state.path().join("settings.json"),
        r#"{ "pace": "calendar", "start_date": "2026-01-05", "seed": 42 }"#,
    )
    .unwrap();
    let out = engineer_sim(state.path())
        .args([
            "schedule",
            "--cron",
            "0 9 * * 1-5",
            "--count",
            "4",
            "--now",
            "2026-01-09T10:00",
        ])
        .output()
        .unwrap();
    assert_success(&out, &["schedule"]);
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().skip(1).collect();
    assert_eq!(
        lines,
        [
            "Mon 2026-01-12 09:00  sim day 6 (week 2, Monday)",
            "Tue 2026-01-13 09:00  sim day 7 (week 2, Tuesday)",
            "Wed 2026-01-14 09:00  sim day 8 (week 2, Wednesday)",
            "Thu 2026-01-15 09:00  sim day 9 (week 2, Thursday)",
        ]
    );
}

#[tokio::test]
async fn the_daemon_stops_cleanly_between_changes_on_sigterm() {
    let db = ScratchDb::create("daemon").await.unwrap();
    let state = temp_state();
    run_ok(
        state.path(),
        &db.url,
        &["init", "--start-date", "2024-01-01"],
    );
    let mut child = engineer_sim(state.path())
        .env("DATABASE_URL", &db.url)
        .args([
            "daemon",
            "--cron",
            "0 9 * * 1-5",
            "--run-now",
            "--pause-ms",
            "300",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let seen = stop_daemon_when(&mut child, |line| line.starts_with("applied "));
    let status = child.wait().unwrap();
    assert!(status.success(), "{seen:#?}");
    assert!(
        seen.iter().any(|l| l.contains("stop requested")),
        "{seen:#?}"
    );
    assert_eq!(
        seen.last().map(String::as_str),
        Some("daemon: stopped cleanly"),
        "{seen:#?}"
    );

    let printed: Vec<&str> = seen
        .iter()
        .filter_map(|l| l.strip_prefix("applied "))
        .collect();
    let ledger = applied(&db.url).await;
    assert_eq!(
        printed.len(),
        ledger.len(),
        "every applied change was reported: {seen:#?}"
    );
    assert!(
        ledger.len() < project().roadmap.changes.len(),
        "it stopped before the end"
    );
    let verify = run_ok(state.path(), &db.url, &["verify"]);
    assert!(verify.contains("verify: OK"), "{verify}");
    db.drop_now().await.unwrap();
}

/// A run with weighted assignment under `seed`.
fn weighted(seed: u64) -> Identity {
    Identity {
        roadmap: "taskpilot".into(),
        seed,
        start_date: chrono::NaiveDate::from_ymd_opt(2026, 1, 5).unwrap(),
        assign: Assign::Weighted,
    }
}

#[test]
fn weighted_assignment_follows_focus_and_is_seeded() {
    let project = project();
    let changes = project.roadmap.ordered();
    let personas: Vec<String> = project.team.personas.keys().cloned().collect();
    // The share each persona should get: its focus on each change's area over the team's.
    let mut expected: BTreeMap<&str, f64> = BTreeMap::new();
    for change in &changes {
        let area = change.focus.as_deref().unwrap_or("core");
        let focus = |p: &str| {
            project
                .team
                .get(p)
                .unwrap()
                .focus
                .get(area)
                .copied()
                .unwrap_or(0.0)
        };
        let total: f64 = personas.iter().map(|p| focus(p)).sum();
        for p in &personas {
            *expected.entry(p).or_default() += focus(p) / total / changes.len() as f64;
        }
    }
    let seeds = 400u64;
    let mut observed: BTreeMap<String, f64> = BTreeMap::new();
    for seed in 0..seeds {
        let run = weighted(seed);
        for change in &changes {
            let who = project.assignee(change, &run).unwrap();
            assert_eq!(who.name, project.assignee(change, &run).unwrap().name);
            *observed.entry(who.name.clone()).or_default() +=
                1.0 / (seeds as f64 * changes.len() as f64);
        }
    }
    for p in &personas {
        let (e, o) = (
            expected[p.as_str()],
            observed.get(p).copied().unwrap_or(0.0),
        );
        println!("{p}: expected share {e:.3}, observed {o:.3}");
        assert!(
            (e - o).abs() < 0.02,
            "{p}: expected {e:.3}, observed {o:.3}"
        );
    }
    let by_seed = |seed| {
        changes
            .iter()
            .map(|c| project.assignee(c, &weighted(seed)).unwrap().name.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(by_seed(5), by_seed(5));
    assert_ne!(by_seed(5), by_seed(6), "runs differ in who does what");
}

#[tokio::test]
async fn replay_into_equals_the_original_run() {
    for seed in ["7", "31"] {
        for week in ["1", "4", "12"] {
            let db = ScratchDb::create("original").await.unwrap();
            let state = temp_state();
            run_ok(
                state.path(),
                &db.url,
                &["init", "--seed", seed, "--start-date", "2026-01-05"],
            );
            run_ok(state.path(), &db.url, &["run", "--until-week", week]);
            let original = std::fs::read(state.path().join("expected-findings.json")).unwrap();

            let copy = format!("{}_replay", db.name);
            run_ok(
                state.path(),
                &db.url,
                &["replay", "--week", week, "--into", &copy],
            );
            let replayed = std::fs::read(
                state
                    .path()
                    .join("replays")
                    .join(&copy)
                    .join("expected-findings.json"),
            )
            .unwrap();
            assert!(
                original == replayed,
                "seed {seed} week {week}: replay differs from the original"
            );

            let mut admin = engineer_sim::pg::connect(&db.url).await.unwrap();
            sqlx::raw_sql(&format!("DROP DATABASE {copy} WITH (FORCE)"))
                .execute(&mut admin)
                .await
                .unwrap();
            drop(admin);
            db.drop_now().await.unwrap();
        }
    }
}

#[test]
fn replay_without_into_touches_no_database() {
    let state = temp_state();
    std::fs::write(
        state.path().join("settings.json"),
        r#"{ "seed": 42, "start_date": "2026-01-05" }"#,
    )
    .unwrap();
    let out = engineer_sim(state.path())
        .env("DATABASE_URL", "postgres://nobody@127.0.0.1:1/nothing")
        .args(["replay", "--week", "1"])
        .output()
        .unwrap();
    assert_success(&out, &["replay", "--week", "1"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("CREATE TABLE time_reports"), "{text}");
    assert!(text.contains("-- seed 42"), "{text}");
    assert!(
        !state.path().join("pg").exists(),
        "no embedded cluster either"
    );
}

/// Without a database, `plan`, `render` and `replay` show the run the state directory journals:
/// its seed and assignment, unless `--seed` / `--assign` say otherwise (README "Time and replay").
#[test]
fn commands_without_a_database_show_the_state_directorys_run() {
    let state = temp_state();
    std::fs::write(
        state.path().join("settings.json"),
        r#"{ "seed": 7, "start_date": "2026-01-05", "assign": "weighted" }"#,
    )
    .unwrap();
    let stdout = |args: &[&str]| {
        let out = engineer_sim(state.path())
            .env("DATABASE_URL", "postgres://nobody@127.0.0.1:1/nothing")
            .args(args)
            .output()
            .unwrap();
        assert_success(&out, args);
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    // `plan`'s first line says where its seed came from ("given" or "the run's"); the
    // decisions below it are what must agree.
    let decisions = |text: String| -> String {
        text.lines()
            .filter(|l| !l.starts_with("# seed "))
            .map(|l| format!("{l}\n"))
            .collect()
    };
    for command in [
        vec!["plan"],
        vec!["render", "w01-wed-time-spent-trigger"],
        vec!["replay", "--week", "1"],
    ] {
        let with = |extra: &[&str]| decisions(stdout(&[command.as_slice(), extra].concat()));
        let by_state = with(&[]);
        assert_eq!(
            by_state,
            with(&["--seed", "7", "--assign", "weighted"]),
            "{command:?}"
        );
        assert_ne!(
            by_state,
            with(&["--seed", "42", "--assign", "roadmap"]),
            "{command:?}: the flags win over the state directory"
        );
    }
    assert!(stdout(&["replay", "--week", "1"]).contains("-- seed 7, weighted assignment"));
    assert!(stdout(&["plan"]).starts_with("# seed 7 (the run's, from "));
}
