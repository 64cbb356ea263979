//! `engineer-sim check`: one test per problem it must catch, each reported with file and line,
//! exit code 2, and nothing touched (no state directory, no database).

mod common;

use std::path::{Path, PathBuf};

use common::*;

/// A copy of the shipped data files with one edit applied to `file` (first occurrence).
struct Broken {
    dir: tempfile::TempDir,
}

impl Broken {
    fn new(file: &str, from: &str, to: &str) -> Broken {
        let dir = copy_data();
        let path = dir.path().join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{file} has no {from:?}");
        std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
        Broken { dir }
    }

    fn path(&self, file: &str) -> PathBuf {
        self.dir.path().join(file)
    }

    /// 1-based line of the first line containing `needle` in `file`.
    fn line_of(&self, file: &str, needle: &str) -> usize {
        std::fs::read_to_string(self.path(file))
            .unwrap()
            .lines()
            .position(|l| l.contains(needle))
            .unwrap()
            + 1
    }

    /// Runs check; asserts exit 2, an untouched state dir, and returns stderr.
    fn check(&self) -> String {
        let state = self.dir.path().join("state-must-not-exist");
        let out = engineer_sim(&state)
            .env("ENGINEER_SIM_DATA", self.dir.path())
            .env("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")
            .arg("check")
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(2),
            "stdout: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert!(!state.exists(), "check must not create state");
        String::from_utf8_lossy(&out.stderr).into_owned()
    }
}

fn assert_reports(err: &str, file: &Path, line: usize, message: &str) {
    let place = format!("{}:{line}:", file.display());
    assert!(
        err.lines()
            .any(|l| l.starts_with(&place) && l.contains(message)),
        "expected `{place} ... {message}` in:\n{err}"
    );
    assert!(
        err.contains("hint:"),
        "every problem says what to do:\n{err}"
    );
}

const ROADMAP: &str = "roadmap/taskpilot.yaml";

#[test]
fn shipped_files_pass() {
    let state = tempfile::tempdir().unwrap();
    let out = engineer_sim(&state.path().join("s"))
        .args(["check", "--no-db"])
        .output()
        .unwrap();
    assert_success(&out, &["check", "--no-db"]);
    assert!(
        !state.path().join("s").exists(),
        "--no-db touches no database"
    );
}

/// Every shipped slip point, alone and with the others of its change, applies on the schema the
/// roadmap builds and is seen by its detector (on a scratch database of the test cluster).
#[tokio::test]
async fn shipped_slip_points_are_all_seen_on_a_scratch_database() {
    let server = common::ScratchDb::create("check_server").await.unwrap();
    let state = tempfile::tempdir().unwrap();
    let out = engineer_sim(&state.path().join("s"))
        .env("DATABASE_URL", &server.url)
        .arg("check")
        .output()
        .unwrap();
    assert_success(&out, &["check"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("on a scratch database: 41 changes, every slip point alone"),
        "{stdout}"
    );
    server.drop_now().await.unwrap();
}

#[test]
fn duplicate_ids() {
    let b = Broken::new(
        ROADMAP,
        "id: w01-tue-time-entries",
        "id: w01-mon-time-tracking-columns",
    );
    let err = b.check();
    let second = std::fs::read_to_string(b.path(ROADMAP))
        .unwrap()
        .lines()
        .enumerate()
        .filter(|(_, l)| l.contains("id: w01-mon-time-tracking-columns"))
        .nth(1)
        .unwrap()
        .0
        + 1;
    assert_reports(
        &err,
        &b.path(ROADMAP),
        second,
        "duplicate change id `w01-mon-time-tracking-columns`",
    );
}

#[test]
fn unknown_author() {
    let b = Broken::new(ROADMAP, "author: jordan", "author: jordon");
    assert_reports(
        &b.check(),
        &b.path(ROADMAP),
        b.line_of(ROADMAP, "author: jordon"),
        "unknown author `jordon`",
    );
}

#[test]
fn missing_template() {
    let b = Broken::new(
        ROADMAP,
        "week01/tue_time_entries.sql.tera",
        "week01/tue_time_entrys.sql.tera",
    );
    assert_reports(
        &b.check(),
        &b.path(ROADMAP),
        b.line_of(ROADMAP, "tue_time_entrys"),
        "not found",
    );
}

#[test]
fn tera_syntax_error() {
    let file = "templates/taskpilot/week01/tue_time_entries.sql.tera";
    let b = Broken::new(
        file,
        "CREATE TABLE time_entries (",
        "CREATE TABLE time_entries ( {{ 1 + }}",
    );
    assert_reports(&b.check(), &b.path(file), 1, "Failed to parse");
}

#[test]
fn unknown_slip_kind() {
    let file = "templates/taskpilot/week01/tue_time_entries.sql.tera";
    let b = Broken::new(file, "{{ missing_check(", "{{ missing_chek(");
    assert_reports(
        &b.check(),
        &b.path(file),
        b.line_of(file, "missing_chek"),
        "unknown slip kind `missing_chek`",
    );
}

#[test]
fn unknown_scripted_kind() {
    let b = Broken::new(
        ROADMAP,
        "{ kind: nullable_fk, object: public.time_reports.user_id }",
        "{ kind: nulable_fk, object: public.time_reports.user_id }",
    );
    assert_reports(
        &b.check(),
        &b.path(ROADMAP),
        b.line_of(ROADMAP, "nulable_fk"),
        "unknown kind `nulable_fk`",
    );
}

#[test]
fn slip_point_without_object() {
    let file = "templates/taskpilot/week01/tue_time_entries.sql.tera";
    let b = Broken::new(
        file,
        r#"missing_check(object="public.time_entries.minutes", "#,
        "missing_check(",
    );
    assert_reports(
        &b.check(),
        &b.path(file),
        b.line_of(file, "missing_check("),
        "does not name its object",
    );
}

#[test]
fn fixes_an_unknown_change() {
    let b = Broken::new(
        ROADMAP,
        "fixes: [w01-thu-time-reports]",
        "fixes: [w01-thu-time-report]",
    );
    assert_reports(
        &b.check(),
        &b.path(ROADMAP),
        b.line_of(ROADMAP, "w01-thu-time-report]"),
        "fixes unknown change `w01-thu-time-report`",
    );
}

#[test]
fn fixes_a_later_change() {
    let b = Broken::new(ROADMAP, "fixes: []", "fixes: [w01-fri-fix-time-reports]");
    assert_reports(
        &b.check(),
        &b.path(ROADMAP),
        b.line_of(ROADMAP, "fixes: [w01-fri-fix-time-reports]"),
        "which is not earlier",
    );
}

#[test]
fn week_out_of_range() {
    let b = Broken::new(ROADMAP, "week: 1\n    day: tue", "week: 13\n    day: tue");
    assert_reports(
        &b.check(),
        &b.path(ROADMAP),
        b.line_of(ROADMAP, "week: 13"),
        "week 13 is outside 1..12",
    );
}

#[test]
fn day_out_of_range() {
    let b = Broken::new(ROADMAP, "day: wed", "day: sat");
    assert_reports(
        &b.check(),
        &b.path(ROADMAP),
        b.line_of(ROADMAP, "day: sat"),
        "unknown variant `sat`",
    );
}

#[test]
fn unknown_word_list() {
    let b = Broken::new(
        ROADMAP,
        "base_findings: []",
        "base_findings: []\nwords:\n  unique_names: [handle]\n  closed_set_sufixes: [_state]",
    );
    assert_reports(
        &b.check(),
        &b.path(ROADMAP),
        b.line_of(ROADMAP, "closed_set_sufixes"),
        "no word list `closed_set_sufixes`; the lists are: ",
    );
}

const BASE_DATA: &str = "templates/taskpilot/base.data.yaml";

/// Asserts that check reports `message` on the line of step `name` under `section` of the base
/// data file, and returns what it printed.
fn assert_step_reported(b: &Broken, section: &str, name: &str, message: &str) -> String {
    let text = std::fs::read_to_string(b.path(BASE_DATA)).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.iter().position(|l| *l == section).unwrap();
    let step = format!("- name: {name}");
    let line = start
        + lines[start..]
            .iter()
            .position(|l| l.contains(&step))
            .unwrap()
        + 1;
    let err = b.check();
    assert_reports(&err, &b.path(BASE_DATA), line, message);
    err
}

/// A data step calling a macro its file does not define is reported on the step (the daily
/// one, not the seed step of the same name).
#[test]
fn data_step_calls_an_unknown_macro() {
    let b = Broken::new(BASE_DATA, "m::recent_issue(", "m::recent_isue(");
    let err = assert_step_reported(&b, "daily:", "comments", "daily step `comments`");
    assert!(err.contains("recent_isue"), "{err}");
}

/// A syntax error in a data file's macros is reported on every step that imports them.
#[test]
fn data_file_macros_do_not_parse() {
    let b = Broken::new(
        BASE_DATA,
        "{% macro users_of_org(counts) -%}",
        "{% macro users_of_org(counts -%}",
    );
    assert_step_reported(&b, "backfill:", "issues", "backfill step `issues`");
}
