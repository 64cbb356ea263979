//! Empty mode (`--no-data`) pins what the tool writes and prints, byte for byte: for seeds 1, 7
//! and 42 (start date 2026-01-05), `run --until-week 12` is compared with the snapshots in
//! tests/snapshots/: the journal (wall-clock times masked), the expected findings, every
//! migration file and every weekly report, and for seed 42 the output of the reporting commands.
//! insta trims trailing whitespace, so each seed also has a manifest of every file's byte count
//! and sha256: a changed byte anywhere fails it.
//!
//! The seed 7 and 42 files are the ones the release before the living database wrote (they were
//! fixtures under tests/fixtures/empty-mode until these snapshots replaced them, hash for hash).

mod common;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use common::{engineer_sim, run_ok, temp_state, ScratchDb};
use sha2::{Digest, Sha256};

/// Every file under `root`, relative to it, sorted.
fn files_under(root: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, found: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, found);
            } else {
                found.push(path);
            }
        }
    }
    let mut found = Vec::new();
    walk(root, &mut found);
    let mut relative: Vec<PathBuf> = found
        .into_iter()
        .map(|p| p.strip_prefix(root).unwrap().to_path_buf())
        .collect();
    relative.sort();
    relative
}

/// What varies from run to run, replaced by a placeholder: the wall-clock time of each event,
/// the scratch database's URL and the state directory's path.
struct Masks {
    url: String,
    state: String,
}

impl Masks {
    fn apply(&self, text: &str) -> String {
        let text = text
            .replace(&engineer_sim::pg::redact(&self.url), "[database]")
            .replace(&self.url, "[database]")
            .replace(&self.state, "[state]");
        mask_wall_times(&text)
    }
}

/// `"wall_time":"2026-11-22T01:36:16.921Z"` -> `"wall_time":"[wall time]"`.
fn mask_wall_times(text: &str) -> String {
    const KEY: &str = "\"wall_time\":\"";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(KEY) {
        let value = at + KEY.len();
        out.push_str(&rest[..value]);
        out.push_str("[wall time]");
        let end = rest[value..].find('"').map_or(rest.len(), |e| value + e);
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// The files of one folder in one text, each under a `==> name <==` line (as `head` prints them).
fn concatenated(root: &Path, folder: &str) -> String {
    let mut out = String::new();
    for name in files_under(&root.join(folder)) {
        let text = std::fs::read_to_string(root.join(folder).join(&name)).unwrap();
        let _ = write!(out, "==> {} <==\n{text}", name.display());
    }
    out
}

/// Every file the run wrote, with its byte count and sha256 (after masking); not the state lock,
/// which names the process that last held it, nor the input check's fingerprint, which names the
/// data directory and the build.
fn manifest(root: &Path, masks: &Masks) -> String {
    let mut out = String::new();
    for name in files_under(root) {
        if name == Path::new("tick.lock") || name == Path::new(engineer_sim::check::CACHE_FILE) {
            continue;
        }
        let bytes = std::fs::read(root.join(&name)).unwrap();
        let bytes = match String::from_utf8(bytes) {
            Ok(text) => masks.apply(&text).into_bytes(),
            Err(err) => err.into_bytes(),
        };
        let sha: String = Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let _ = writeln!(out, "{}  {} bytes  {sha}", name.display(), bytes.len());
    }
    out
}

/// Runs a command that may exit non-zero; its exit code, stdout and stderr, masked.
fn run_any(state: &Path, url: &str, args: &[&str], masks: &Masks) -> String {
    let out = engineer_sim(state)
        .env("DATABASE_URL", url)
        .args(args)
        .output()
        .expect("spawn engineer-sim");
    masks.apply(&format!(
        "exit {}\n--- stdout\n{}--- stderr\n{}",
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    ))
}

/// A 12-week empty-mode run of `seed`, checked against the snapshots; with `commands`, also the
/// output of the reporting commands on it.
async fn pin(seed: u64, commands: bool) {
    let db = ScratchDb::create("empty_mode").await.unwrap();
    let state = temp_state();
    let masks = Masks {
        url: db.url.clone(),
        state: state.path().display().to_string(),
    };
    let seed_arg = seed.to_string();
    let init = run_ok(
        state.path(),
        &db.url,
        &[
            "init",
            "--no-data",
            "--seed",
            &seed_arg,
            "--start-date",
            "2026-01-05",
        ],
    );
    let run = run_ok(state.path(), &db.url, &["run", "--until-week", "12"]);
    assert!(
        !state.path().join("workload").exists(),
        "empty mode writes no workload scripts"
    );
    let root = state.path();
    let read = |name: &str| masks.apply(&std::fs::read_to_string(root.join(name)).unwrap());
    insta::assert_snapshot!(
        format!("seed{seed}__output"),
        masks.apply(&format!("--- init\n{init}--- run\n{run}"))
    );
    insta::assert_snapshot!(format!("seed{seed}__manifest"), manifest(root, &masks));
    insta::assert_snapshot!(format!("seed{seed}__journal.jsonl"), read("journal.jsonl"));
    insta::assert_snapshot!(format!("seed{seed}__settings.json"), read("settings.json"));
    insta::assert_snapshot!(
        format!("seed{seed}__expected-findings.json"),
        read("expected-findings.json")
    );
    insta::assert_snapshot!(
        format!("seed{seed}__expected-findings.md"),
        read("expected-findings.md")
    );
    insta::assert_snapshot!(
        format!("seed{seed}__migrations"),
        concatenated(root, "migrations")
    );
    insta::assert_snapshot!(
        format!("seed{seed}__reports"),
        concatenated(root, "reports")
    );
    if commands {
        pin_commands(seed, root, &db.url, &masks);
    }
    db.drop_now().await.unwrap();
}

/// The reporting commands' output on a finished run: the findings table and Markdown, the week
/// report, the audit, verify, the score of a detector's report, diff, status, plan and replay.
fn pin_commands(seed: u64, state: &Path, url: &str, masks: &Masks) {
    let score_report = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/score/seed42-week12-findings.json")
        .display()
        .to_string();
    let score = |format: &'static str| -> Vec<String> {
        [
            "score",
            "--report",
            &score_report,
            "--report-format",
            "findings-json",
            "--format",
            format,
        ]
        .map(String::from)
        .to_vec()
    };
    let commands: Vec<(&str, Vec<String>)> = vec![
        ("findings", vec!["findings".into()]),
        ("findings_all", vec!["findings".into(), "--all".into()]),
        (
            "findings_markdown",
            vec!["findings".into(), "--format".into(), "markdown".into()],
        ),
        (
            "findings_json_slip_by_week",
            [
                "findings",
                "--format",
                "json",
                "--origin",
                "slip",
                "--by-week",
            ]
            .map(String::from)
            .to_vec(),
        ),
        (
            "journal_week_3",
            vec!["journal".into(), "--week".into(), "3".into()],
        ),
        ("audit", vec!["audit".into()]),
        (
            "audit_json",
            vec!["audit".into(), "--format".into(), "json".into()],
        ),
        (
            "audit_markdown",
            vec!["audit".into(), "--format".into(), "markdown".into()],
        ),
        ("verify", vec!["verify".into()]),
        ("score_table", score("table")),
        ("score_markdown", score("markdown")),
        ("score_json", score("json")),
        (
            "diff_week_3_4",
            ["diff", "--from", "week:3", "--to", "week:4"]
                .map(String::from)
                .to_vec(),
        ),
        // The step pace: under the calendar pace, status counts sim days up to today.
        (
            "settings_step_pace",
            vec!["settings".into(), "--pace".into(), "step".into()],
        ),
        ("status", vec!["status".into()]),
        (
            "plan_week_1",
            vec!["plan".into(), "--week".into(), "1".into()],
        ),
        (
            "replay_week_3",
            vec!["replay".into(), "--week".into(), "3".into()],
        ),
    ];
    for (name, args) in commands {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        insta::assert_snapshot!(
            format!("seed{seed}__command__{name}"),
            run_any(state, url, &args, masks)
        );
    }
    let report = std::fs::read_to_string(state.join("reports/week-03.md")).unwrap();
    let printed = run_ok(state, url, &["journal", "--week", "3"]);
    assert_eq!(
        printed, report,
        "journal --week 3 prints reports/week-03.md"
    );
}

#[tokio::test]
async fn seed_1_journal_migrations_and_reports_are_as_pinned() {
    pin(1, false).await;
}

#[tokio::test]
async fn seed_7_journal_migrations_and_reports_are_as_pinned() {
    pin(7, false).await;
}

#[tokio::test]
async fn seed_42_journal_migrations_reports_and_command_output_are_as_pinned() {
    pin(42, true).await;
}
