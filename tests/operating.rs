//! README "Operating it": every way a run can be handed bad input, a broken environment, a lock,
//! a lost server or a schema changed behind its back, one row each. A row runs one command and
//! asserts its exit code, its one-line message (naming the file and line, or the object), and that
//! the database's schema is the same before and after.

mod common;

use std::path::Path;
use std::process::Output;

use common::*;
use engineer_sim::drift::Schema;
use sqlx::Connection;

const ROADMAP: &str = "roadmap/taskpilot.yaml";
const SAM: &str = "personas/sam.yaml";
const W01_TUE: &str = "templates/taskpilot/week01/tue_time_entries.sql.tera";
const W04_MON: &str = "templates/taskpilot/week04/mon_sla_policies.sql.tera";

/// How a row prepares the data files it runs on.
#[derive(Clone)]
enum Data {
    Shipped,
    /// Replace the first occurrence of `from` with `to` in `file`.
    Edit(&'static str, &'static str, &'static str),
    /// Write `file` with `text`.
    Add(&'static str, &'static str),
    Remove(&'static str),
}

/// Which database a row points at.
#[derive(Clone)]
enum On {
    /// The shared database, initialised through week 1.
    Shared,
    /// A fresh database prepared with this SQL (may be empty).
    Fresh(&'static str),
    /// An existing database of the cluster, by name.
    Named(&'static str),
    /// A URL that leads nowhere.
    Nowhere,
}

#[derive(Clone)]
struct Case {
    name: &'static str,
    data: Data,
    on: On,
    args: Vec<&'static str>,
    exit: i32,
    /// Must appear in the error line (or, for exit 0, in stdout).
    says: &'static str,
    /// The error line names `file:line:` of the first line of `file` containing the needle.
    at: Option<(&'static str, &'static str)>,
    /// SQL run on the shared database before the command, and after it to put things back.
    before: &'static str,
    after: &'static str,
    /// Text that must appear nowhere in the output.
    never: Option<&'static str>,
}

fn case(name: &'static str, args: &[&'static str], exit: i32, says: &'static str) -> Case {
    Case {
        name,
        data: Data::Shipped,
        on: On::Shared,
        args: args.to_vec(),
        exit,
        says,
        at: None,
        before: "",
        after: "",
        never: None,
    }
}

/// A bad-input row: an edit to a data file, exit 2 naming the file and the line.
fn bad(
    name: &'static str,
    args: &[&'static str],
    edit: (&'static str, &'static str, &'static str),
    says: &'static str,
    needle: &'static str,
) -> Case {
    Case {
        data: Data::Edit(edit.0, edit.1, edit.2),
        at: Some((edit.0, needle)),
        ..case(name, args, 2, says)
    }
}

const RUN: &[&str] = &["run", "--until-week", "12"];
const TICK: &[&str] = &["tick", "--now", "2026-06-01"];
const INIT: &[&str] = &["init"];
const REPLAY: &[&str] = &["replay", "--week", "4", "--into", "never_created"];

fn cases() -> Vec<Case> {
    let mut rows = vec![
        // Item 2: bad input never reaches the database.
        bad("week 13", RUN, (ROADMAP, "week: 1\n    day: tue", "week: 13\n    day: tue"), "week 13 is outside 1..12", "week: 13"),
        bad("week 0 (no panic)", RUN, (ROADMAP, "week: 1\n    day: tue", "week: 0\n    day: tue"), "week 0 is outside 1..12", "week: 0"),
        bad("huge week", TICK, (ROADMAP, "week: 1\n    day: tue", "week: 4294967295\n    day: tue"), "is outside 1..12", "week: 4294967295"),
        bad("unknown scripted kind", RUN, (ROADMAP, "{ kind: nullable_fk, object: public.time_reports.user_id }", "{ kind: bogus_kind, object: public.time_reports.user_id }"), "unknown kind `bogus_kind`", "bogus_kind"),
        bad("unknown fixes id", RUN, (ROADMAP, "fixes: [w01-thu-time-reports]", "fixes: [w01-thu-nothing]"), "fixes unknown change `w01-thu-nothing`", "w01-thu-nothing"),
        bad("fixes a later change", TICK, (ROADMAP, "fixes: []", "fixes: [w01-fri-fix-time-reports]"), "which is not earlier", "fixes: [w01-fri-fix-time-reports]"),
        bad("unknown tendency", RUN, (SAM, "  redundant_index: 3", "  redundant_indx: 3"), "unknown mistake kind `redundant_indx`", "redundant_indx:"),
        bad("NaN error_rate", RUN, (SAM, "error_rate: 0.25", "error_rate: .nan"), "error_rate NaN is not a probability", "error_rate"),
        bad("negative error_rate", TICK, (SAM, "error_rate: 0.25", "error_rate: -0.5"), "error_rate -0.5 is not a probability", "error_rate"),
        bad("huge error_rate", RUN, (SAM, "error_rate: 0.25", "error_rate: 1e308"), "is not a probability", "error_rate"),
        bad("extra_slip_chance above 1", RUN, (SAM, "extra_slip_chance: 0.20", "extra_slip_chance: 2"), "extra_slip_chance 2 is not a probability", "extra_slip_chance"),
        bad("NaN tendency weight", RUN, (SAM, "  redundant_index: 3", "  redundant_index: .nan"), "weight of `redundant_index` is NaN", "redundant_index:"),
        bad("negative focus weight", INIT, (SAM, "  feature: 3", "  feature: -3"), "weight of `feature` is -3", "feature:"),
        bad("initials with a path", RUN, (SAM, "initials: sp", "initials: ../sp"), "initials \"../sp\" cannot be part of a migration file name", "initials:"),
        bad("change id with a path", RUN, (ROADMAP, "id: w01-tue-time-entries", "id: ../w01-tue-time-entries"), "is not a plain word", "id: ../w01-tue-time-entries"),
        bad("unknown author", TICK, (ROADMAP, "author: jordan", "author: jordon"), "unknown author `jordon`", "author: jordon"),
        bad("duplicate change id", REPLAY, (ROADMAP, "id: w01-tue-time-entries", "id: w01-mon-time-tracking-columns"), "duplicate change id", "2nd:id: w01-mon-time-tracking-columns"),
        bad("missing template", RUN, (ROADMAP, "week01/tue_time_entries.sql.tera", "week01/tue_time_entrys.sql.tera"), "not found", "tue_time_entrys"),
        bad("missing template (init)", INIT, (ROADMAP, "week04/mon_sla_policies.sql.tera", "week04/mon_sla_policy.sql.tera"), "not found", "mon_sla_policy.sql"),
        bad("day saturday", RUN, (ROADMAP, "day: wed", "day: sat"), "unknown variant `sat`", "day: sat"),
        bad("unknown slip function", RUN, (W04_MON, "{{ low_cardinality_index(", "{{ low_cardinality_indx("), "unknown slip kind `low_cardinality_indx`", "low_cardinality_indx"),
        bad("unknown slip function (tick)", TICK, (W01_TUE, "{{ missing_check(", "{{ missing_chek("), "unknown slip kind `missing_chek`", "missing_chek"),
        bad("undefined Tera variable", RUN, (W04_MON, "CREATE TABLE sla_policies (", "CREATE TABLE sla_policies ( {{ policy_prefix }}"), "Variable `policy_prefix` not found", "policy_prefix"),
        bad("undefined Tera variable (replay)", REPLAY, (W04_MON, "CREATE TABLE sla_policies (", "CREATE TABLE sla_policies ( {{ policy_prefix }}"), "Variable `policy_prefix` not found", "policy_prefix"),
        bad("unknown Tera filter", TICK, (W04_MON, "CREATE TABLE sla_policies (", "CREATE TABLE sla_policies ( {{ 1 | shout }}"), "Filter 'shout' not found", "shout"),
        bad("slip call without sql=", RUN, (W04_MON, ", sql=\"CREATE INDEX idx_sla_policies_active ON sla_policies(is_active);\"", ""), "needs the argument `sql`", "object=\"public.idx_sla_policies_active\""),
        bad("slip call without object=", RUN, (W01_TUE, r#"missing_check(object="public.time_entries.minutes", "#, "missing_check("), "does not name its object", "missing_check("),
        bad("Tera syntax error", INIT, (W01_TUE, "CREATE TABLE time_entries (", "CREATE TABLE time_entries ( {{ 1 + }}"), "Failed to parse", "CREATE TABLE time_entries ("),
        bad("persona YAML error", TICK, (SAM, "years: 4", "years: [4"), "invalid persona", "years: [4"),
        bad("unknown roadmap field", RUN, (ROADMAP, "    focus: core\n", "    focus: core\n    colour: red\n"), "unknown field `colour`", "colour: red"),
        Case {
            data: Data::Remove("templates/taskpilot/base.sql"),
            at: Some((ROADMAP, "base:")),
            ..case("missing base file", INIT, 2, "the base schema `taskpilot/base.sql` is not under")
        },
        Case {
            data: Data::Add("personas/sam2.yaml", "name: sam\ndisplay_name: Sam Two\ninitials: s2\nrole: r\nyears: 1\nerror_rate: 0.1\nexcuses: []\n"),
            at: Some(("personas/sam2.yaml", "name:")),
            ..case("two personas named sam", RUN, 2, "persona name `sam` is already used by")
        },
        case("--error-rate above 1", &["--error-rate", "2", "run", "--until-week", "2"], 2, "must be between 0 and 1"),
        // Item 8: CLI edges.
        case("cron that never fires (schedule)", &["schedule", "--cron", "0 9 31 2 *"], 2, "never fires"),
        case("cron that never fires (daemon)", &["daemon", "--cron", "0 9 30 2 *"], 2, "never fires"),
        case("daemon --workload without data", &["daemon", "--cron", "0 9 * * 1-5", "--workload", "2"], 2, "daemon --workload needs a database with data"),
        case("cron minute 61", &["schedule", "--cron", "61 * * * *"], 2, "minute \"61\" is out of range 0-59"),
        case("cron hour 24", &["schedule", "--cron", "0 24 * * *"], 2, "hour \"24\" is out of range 0-23"),
        case("plan --week 99", &["plan", "--week", "99"], 2, "the roadmap has no week 99"),
        case("init --start-date 9999-12-31", &["init", "--start-date", "9999-12-31"], 2, "four-digit years"),
        case("run --until-week 13", &["run", "--until-week", "13"], 2, "13 is not in 1..=12"),
        case("replay into a bad name", &["replay", "--week", "4", "--into", "no-dashes"], 2, "use letters, digits and underscores"),
        // Item 7: secrets and safety.
        Case { on: On::Named("template1"), ..case("init template1", &["init"], 3, "refusing to initialise `template1`: it is a system database") },
        Case { on: On::Named("postgres"), ..case("init postgres", &["init"], 3, "refusing to initialise `postgres`: it is a system database") },
        Case { on: On::Fresh("CREATE SEQUENCE s"), ..case("init on a database holding a sequence", &["init"], 3, "holds 1 sequence") },
        Case { on: On::Fresh("CREATE TYPE mood AS ENUM ('ok')"), ..case("init on a database holding a type", &["init"], 3, "holds 1 type") },
        Case { on: On::Fresh("CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'"), ..case("init on a database holding a function", &["init"], 3, "holds 1 function") },
        Case {
            on: On::Fresh("CREATE FOREIGN DATA WRAPPER w; CREATE SERVER s FOREIGN DATA WRAPPER w; CREATE FOREIGN TABLE ft (a int) SERVER s"),
            ..case("init on a database holding a foreign table", &["init"], 3, "holds 1 foreign table")
        },
        Case {
            on: On::Fresh("CREATE TABLE issues (id int PRIMARY KEY, title text)"),
            ..case("init --force over a user's issues table leaves nothing", &["init", "--force"], 1, "before applying base")
        },
        Case { on: On::Nowhere, ..case("no server", &["status"], 3, "cannot connect to") },
        case("password in the URL query is redacted", &["status"], 0, "password=***"),
        // Item 6: locks. A locked table fails the change (exit 4, journaled with its SQLSTATE).
        Case {
            before: "LOCK:projects",
            ..case("table locked by another session", &["run", "--until-week", "3"], 4, "55P03")
        },
        Case {
            before: "LOCK:engineer_sim.changes",
            ..case("ledger locked by another session", &["tick", "--now", "2026-06-01"], 3, "the database is busy")
        },
        Case {
            before: "STATELOCK",
            ..case("state lock held by another engineer-sim", &["run", "--until-week", "2", "--lock-wait", "1"], 3, "is still held by")
        },
        Case {
            before: "STATE:under-a-file",
            ..case("state directory cannot be created", &["run", "--until-week", "2"], 3, "cannot be written")
        },
        Case {
            before: "STATE:migrations-is-a-file",
            ..case("state directory's migrations/ cannot be written", &["tick", "--now", "2026-06-01"], 3, "cannot be written")
        },
        // Item 3: drift.
        Case {
            before: "DROP INDEX idx_issues_status",
            after: "CREATE INDEX idx_issues_status ON public.issues USING btree (project_id, status)",
            ..case("plain index dropped behind its back", &["run", "--until-week", "2"], 1, "index public.idx_issues_status is gone")
        },
        Case {
            before: "DROP INDEX idx_time_reports_user_id",
            after: "CREATE INDEX idx_time_reports_user_id ON public.time_reports USING btree (user_id)",
            ..case("index that is a finding dropped behind its back", &["run", "--until-week", "2"], 1, "public.idx_time_reports_user_id")
        },
        Case {
            before: "DROP INDEX idx_time_reports_user_id",
            after: "CREATE INDEX idx_time_reports_user_id ON public.time_reports USING btree (user_id)",
            ..case("verify sees a dropped index", &["verify"], 1, "differences")
        },
        Case {
            before: "ALTER TABLE projects ADD COLUMN colour text",
            after: "ALTER TABLE projects DROP COLUMN colour",
            ..case("column added behind its back", &["tick", "--now", "2026-06-01"], 1, "column public.projects.colour was added")
        },
        // Item 4: diff.
        case("diff of equal sides", &["diff", "--from", "week:1", "--to", "week:1"], 0, "no difference"),
        case("diff of different sides exits 1", &["diff", "--from", "week:0", "--to", "week:1"], 1, "week:0 and week:1 differ"),
    ];
    // The redaction row points at the shared database with a password parameter.
    for row in rows.iter_mut() {
        if row.name == "password in the URL query is redacted" {
            row.never = Some("hunter2");
        }
    }
    rows
}

/// What "the database is unchanged" compares: every column, index and constraint, the applied
/// changes, and (for rows that must not journal) the number of events.
async fn dump(url: &str) -> (Schema, Vec<String>, i64) {
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    let schema = Schema::read(&mut conn).await.unwrap();
    let has_ledger: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'engineer_sim')",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    if !has_ledger {
        return (schema, vec![], 0);
    }
    let changes =
        sqlx::query_scalar("SELECT change_id::text FROM engineer_sim.changes ORDER BY seq")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    let events = sqlx::query_scalar("SELECT count(*) FROM engineer_sim.events")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    (schema, changes, events)
}

fn prepare_data(data: &Data) -> tempfile::TempDir {
    let dir = copy_data();
    let path = |f: &str| dir.path().join(f);
    match data {
        Data::Shipped => {}
        Data::Edit(file, from, to) => {
            let text = std::fs::read_to_string(path(file)).unwrap();
            assert!(text.contains(from), "{file} has no {from:?}");
            std::fs::write(path(file), text.replacen(from, to, 1)).unwrap();
        }
        Data::Add(file, text) => std::fs::write(path(file), text).unwrap(),
        Data::Remove(file) => std::fs::remove_file(path(file)).unwrap(),
    }
    dir
}

/// The line of the first line of `file` containing `needle` (`2nd:` before it: the second).
fn line_of(file: &Path, needle: &str) -> usize {
    let (skip, needle) = match needle.strip_prefix("2nd:") {
        Some(rest) => (1, rest),
        None => (0, needle),
    };
    std::fs::read_to_string(file)
        .unwrap()
        .lines()
        .enumerate()
        .filter(|(_, l)| l.contains(needle))
        .nth(skip)
        .unwrap_or_else(|| panic!("{} has no {needle:?}", file.display()))
        .0
        + 1
}

/// The error line of a failed command: exactly one line starts with `error: `, and only hint
/// lines follow it.
fn error_line(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    let at: Vec<usize> = (0..lines.len())
        .filter(|i| lines[*i].starts_with("error: "))
        .collect();
    assert_eq!(at.len(), 1, "one error line expected:\n{stderr}");
    for extra in &lines[at[0] + 1..] {
        // clap's own errors end with a pointer to --help.
        let fine = extra.starts_with("  hint: ")
            || extra.is_empty()
            || extra.starts_with("For more information");
        assert!(fine, "only a hint may follow:\n{stderr}");
    }
    lines[at[0]].to_string()
}

/// Another session holding a lock, until dropped (closing the connection ends its transaction).
struct Held {
    _conn: Option<sqlx::PgConnection>,
}

/// A session holding an ACCESS EXCLUSIVE lock on `table`.
async fn hold_lock(url: &str, table: &str) -> Held {
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    sqlx::raw_sql(&format!(
        "BEGIN; LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"
    ))
    .execute(&mut conn)
    .await
    .unwrap();
    Held { _conn: Some(conn) }
}

async fn exec(url: &str, sql: &str) {
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    sqlx::raw_sql(sql).execute(&mut conn).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn every_case_of_operating_it() {
    let shared = ScratchDb::create("operating").await.unwrap();
    let state = temp_state();
    run_ok(
        state.path(),
        &shared.url,
        &[
            "init",
            "--no-data",
            "--seed",
            "42",
            "--start-date",
            "2026-01-05",
        ],
    );
    run_ok(state.path(), &shared.url, &["run", "--until-week", "1"]);
    let admin = shared
        .url
        .replace(&format!("/{}?", shared.name), "/postgres?");
    let mut fresh_dbs = Vec::new();
    // State directories of single rows, removed at the end.
    let mut row_dirs = Vec::new();
    let rows = cases();
    assert!(rows.len() >= 40, "{} rows", rows.len());
    // OPERATING_ROW=text runs only the rows whose name holds it (when debugging one).
    let only = std::env::var("OPERATING_ROW").unwrap_or_default();
    for row in rows.iter().filter(|r| r.name.contains(&only)) {
        let data = prepare_data(&row.data);
        let url = match &row.on {
            On::Shared => shared.url.clone(),
            On::Named(db) => shared
                .url
                .replace(&format!("/{}?", shared.name), &format!("/{db}?")),
            On::Nowhere => {
                "postgres://nobody@localhost/none?host=/nonexistent-socket-dir&port=1".into()
            }
            On::Fresh(sql) => {
                let db = ScratchDb::create("operating_fresh").await.unwrap();
                if !sql.is_empty() {
                    exec(&db.url, sql).await;
                }
                let url = db.url.clone();
                fresh_dbs.push(db);
                url
            }
        };
        let url = if row.never == Some("hunter2") {
            format!("{url}&password=hunter2")
        } else {
            url
        };
        let row_state = if row.before.starts_with("STATE:") {
            // A state directory that cannot take files: under a regular file, or a copy of the
            // shared one whose migrations/ is a file.
            let dir = temp_state();
            let path = dir.path().to_path_buf();
            row_dirs.push(dir);
            if row.before == "STATE:under-a-file" {
                std::fs::write(path.join("file"), "").unwrap();
                path.join("file").join("state")
            } else {
                let copy = path.join("state");
                let status = std::process::Command::new("cp")
                    .arg("-r")
                    .arg(state.path())
                    .arg(&copy)
                    .status()
                    .unwrap();
                assert!(status.success());
                std::fs::remove_dir_all(copy.join("migrations")).unwrap();
                std::fs::write(copy.join("migrations"), "").unwrap();
                copy
            }
        } else if matches!(row.on, On::Shared) {
            state.path().to_path_buf()
        } else {
            let dir = temp_state();
            let path = dir.path().to_path_buf();
            row_dirs.push(dir);
            path
        };
        let mut _held = Held { _conn: None };
        let mut _state_lock = None;
        // The dump reads definitions, which waits for a locked table: taken before the lock.
        // template1 stays untouched by the test itself: CREATE DATABASE elsewhere copies it.
        let observable = matches!(row.on, On::Shared | On::Fresh(_));
        let early = if observable && row.before.starts_with("LOCK:") {
            Some(dump(&url).await)
        } else {
            None
        };
        match row.before {
            "" => {}
            state if state.starts_with("STATE:") => {}
            "STATELOCK" => {
                let file = std::fs::OpenOptions::new()
                    .create(true)
                    .truncate(false)
                    .write(true)
                    .open(row_state.join("tick.lock"))
                    .unwrap();
                file.lock().unwrap();
                _state_lock = Some(file);
            }
            lock if lock.starts_with("LOCK:") => {
                _held = hold_lock(&url, &lock["LOCK:".len()..]).await;
            }
            sql => exec(&url, sql).await,
        }
        let before = match early {
            Some(dump) => Some(dump),
            None if observable => Some(dump(&url).await),
            None => None,
        };
        let out = engineer_sim(&row_state)
            .env("ENGINEER_SIM_DATA", data.path())
            .env("DATABASE_URL", &url)
            .args(&row.args)
            .output()
            .unwrap();
        drop(_held);
        drop(_state_lock);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(
            out.status.code(),
            Some(row.exit),
            "{}: exit code\nstdout:\n{stdout}\nstderr:\n{stderr}",
            row.name
        );
        if row.exit == 0 {
            assert!(
                stdout.contains(row.says),
                "{}: stdout lacks {:?}:\n{stdout}",
                row.name,
                row.says
            );
        } else {
            let line = error_line(&out);
            assert!(
                line.contains(row.says),
                "{}: {line:?} lacks {:?}",
                row.name,
                row.says
            );
            if let Some((file, needle)) = row.at {
                let path = data.path().join(file);
                let place = format!("{}:{}:", path.display(), line_of(&path, needle));
                assert!(
                    line.contains(&place),
                    "{}: {line:?} does not name {place}",
                    row.name
                );
            }
        }
        if let Some(secret) = row.never {
            assert!(
                !stdout.contains(secret) && !stderr.contains(secret),
                "{}: leaked",
                row.name
            );
            let settings =
                std::fs::read_to_string(row_state.join("settings.json")).unwrap_or_default();
            assert!(
                !settings.contains(secret),
                "{}: settings.json holds the password",
                row.name
            );
        }
        if let Some((schema, changes, events)) = before {
            let (schema_after, changes_after, events_after) = dump(&url).await;
            assert!(schema == schema_after, "{}: the schema changed", row.name);
            assert_eq!(changes, changes_after, "{}: changes were applied", row.name);
            if row.exit == 2 || row.exit == 0 {
                assert_eq!(
                    events, events_after,
                    "{}: bad input was journaled",
                    row.name
                );
            }
            if row.exit == 4 {
                let failed = events_named(&common::events(&row_state), "change_failed")
                    .last()
                    .map(|e| e["sqlstate"].clone());
                assert_eq!(
                    failed,
                    Some(serde_json::json!("55P03")),
                    "{}: change_failed",
                    row.name
                );
            }
        }
        if !row.after.is_empty() {
            exec(&url, row.after).await;
        }
        if row.name.starts_with("init --force") {
            let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
            let marker: bool = sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'engineer_sim')",
            )
            .fetch_one(&mut conn)
            .await
            .unwrap();
            assert!(!marker, "a failed init --force leaves no ledger or marker");
        }
    }
    // Nothing a row did may have created the replay's database.
    let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
    let stray: i64 =
        sqlx::query_scalar("SELECT count(*) FROM pg_database WHERE datname = 'never_created'")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert_eq!(stray, 0);
    // After all of it the shared database is still exactly as its ledger says.
    run_ok(state.path(), &shared.url, &["verify"]);
    for db in fresh_dbs {
        db.drop_now().await.unwrap();
    }
    shared.drop_now().await.unwrap();
}

/// `replay --into MixedCase` builds that database and no lower-case twin; a user's own file in
/// migrations/ survives every rewrite of the folder.
#[tokio::test(flavor = "multi_thread")]
async fn replay_into_mixed_case_and_a_users_own_migration() {
    let db = ScratchDb::create("operating_mixed").await.unwrap();
    let state = temp_state();
    run_ok(
        state.path(),
        &db.url,
        &["init", "--no-data", "--start-date", "2026-01-05"],
    );
    run_ok(state.path(), &db.url, &["run", "--until-week", "1"]);
    let mine = state
        .path()
        .join("migrations")
        .join("20260101_000000_me_my_own.sql");
    std::fs::write(&mine, "-- my own\nSELECT 1;\n").unwrap();
    run_ok(state.path(), &db.url, &["journal"]);
    run_ok(state.path(), &db.url, &["run", "--until-week", "2"]);
    assert!(mine.is_file(), "a user's own migration file was deleted");
    let name = format!("Mixed{}", db.name.len());
    run_ok(
        state.path(),
        &db.url,
        &["replay", "--week", "1", "--into", &name],
    );
    let admin = db.url.replace(&format!("/{}?", db.name), "/postgres?");
    let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT datname::text FROM pg_database WHERE lower(datname) = lower($1) ORDER BY 1",
    )
    .bind(&name)
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert_eq!(names, std::slice::from_ref(&name));
    sqlx::raw_sql(&format!("DROP DATABASE \"{name}\" WITH (FORCE)"))
        .execute(&mut conn)
        .await
        .unwrap();
    db.drop_now().await.unwrap();
}

/// `diff --from week:4` is, byte for byte, what `run --until-week 4` journals, even when later
/// weeks closed some of those findings.
#[tokio::test(flavor = "multi_thread")]
async fn diff_at_week_4_equals_the_journal_of_a_run_to_week_4() {
    let (whole, upto) = (
        ScratchDb::create("operating_whole").await.unwrap(),
        ScratchDb::create("operating_upto").await.unwrap(),
    );
    let (s_whole, s_upto) = (temp_state(), temp_state());
    for (state, db, week) in [(&s_whole, &whole, "12"), (&s_upto, &upto, "4")] {
        run_ok(
            state.path(),
            &db.url,
            &["init", "--no-data", "--start-date", "2026-01-05"],
        );
        run_ok(state.path(), &db.url, &["run", "--until-week", week]);
    }
    let journaled = std::fs::read_to_string(s_upto.path().join("expected-findings.json")).unwrap();
    let file = s_whole.path().join("week4.json");
    std::fs::write(&file, &journaled).unwrap();
    let out = engineer_sim(s_whole.path())
        .env("DATABASE_URL", &whole.url)
        .args(["diff", "--from", "week:4", "--to"])
        .arg(&file)
        .output()
        .unwrap();
    assert_success(&out, &["diff", "--from", "week:4"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("no difference"));
    whole.drop_now().await.unwrap();
    upto.drop_now().await.unwrap();
}

/// The server goes away in the middle of a change (here: its backend is terminated while it
/// waits for a lock): exit 3, one line, nothing applied, and the next run goes on.
#[tokio::test(flavor = "multi_thread")]
async fn server_gone_mid_change_is_exit_3() {
    let db = ScratchDb::create("operating_gone").await.unwrap();
    let state = temp_state();
    run_ok(
        state.path(),
        &db.url,
        &["init", "--no-data", "--start-date", "2026-01-05"],
    );
    run_ok(state.path(), &db.url, &["run", "--until-week", "1"]);
    let (schema, changes, _) = dump(&db.url).await;
    let held = hold_lock(&db.url, "projects").await;
    let child = engineer_sim(state.path())
        .env("DATABASE_URL", &db.url)
        .args(["run", "--until-week", "3"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
    let mut terminated = false;
    for _ in 0..600 {
        let waiting: Option<i32> = sqlx::query_scalar(
            "SELECT pid FROM pg_stat_activity
             WHERE datname = current_database() AND wait_event_type = 'Lock' LIMIT 1",
        )
        .fetch_optional(&mut conn)
        .await
        .unwrap();
        if let Some(pid) = waiting {
            sqlx::query("SELECT pg_terminate_backend($1)")
                .bind(pid)
                .execute(&mut conn)
                .await
                .unwrap();
            terminated = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(terminated, "the run never waited for the lock");
    let out = child.wait_with_output().unwrap();
    drop(held);
    assert_eq!(
        out.status.code(),
        Some(3),
        "stderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = error_line(&out);
    assert!(line.contains("lost the database server"), "{line}");
    let (schema_after, changes_after, _) = dump(&db.url).await;
    assert!(schema == schema_after, "the schema changed");
    assert_eq!(changes, changes_after, "nothing applied");
    run_ok(state.path(), &db.url, &["run", "--until-week", "3"]);
    run_ok(state.path(), &db.url, &["verify"]);
    db.drop_now().await.unwrap();
}

/// The issue's stuck database: a ledger and marker without the base schema (what an older
/// engineer-sim left when killed during setup). The next run applies the base, then goes on.
#[tokio::test(flavor = "multi_thread")]
async fn a_ledger_left_without_its_base_is_finished() {
    use engineer_sim::ledger::{self, Marker};
    let db = ScratchDb::create("operating_nobase").await.unwrap();
    let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
    let marker = Marker {
        identity: engineer_sim::identity::Identity {
            roadmap: "taskpilot".into(),
            seed: 42,
            start_date: chrono::NaiveDate::from_ymd_opt(2026, 1, 5).unwrap(),
            assign: engineer_sim::identity::Assign::Roadmap,
        },
        tool_version: "0.1.0".into(),
    };
    ledger::create_schema(&mut conn, &marker).await.unwrap();
    let state = temp_state();
    let out = run_ok(state.path(), &db.url, &["run", "--until-week", "1"]);
    assert!(out.contains("applied the base schema"), "{out}");
    run_ok(state.path(), &db.url, &["verify"]);
    let applied = ledger::applied_change_ids(&mut conn).await.unwrap();
    assert_eq!(applied.first().map(String::as_str), Some("base"));
    db.drop_now().await.unwrap();
}

/// The input check is remembered once it passed (README "Performance"): a later tick whose inputs
/// hash the same skips it, and one after an input was edited, added or removed refuses it with
/// the exit code and message of a tick that never saw the inputs before.
#[tokio::test]
async fn a_remembered_check_still_refuses_input_changed_since() {
    let db = ScratchDb::create("check_cache").await.unwrap();
    let data = copy_data();
    let state = temp_state();
    let tick = |state: &Path| {
        engineer_sim(state)
            .env("ENGINEER_SIM_DATA", data.path())
            .env("DATABASE_URL", &db.url)
            .args(["tick", "--now", "2026-01-05"])
            .output()
            .unwrap()
    };
    let init = ["init", "--start-date", "2026-01-05"];
    let out = engineer_sim(state.path())
        .env("ENGINEER_SIM_DATA", data.path())
        .env("DATABASE_URL", &db.url)
        .args(init)
        .output()
        .unwrap();
    assert_success(&out, &init);
    let kept = state.path().join(engineer_sim::check::CACHE_FILE);
    assert!(kept.is_file(), "init kept no fingerprint of its inputs");
    assert_success(&tick(state.path()), &["tick"]);

    let edits: [(&str, Data); 4] = [
        (
            "a Tera syntax error",
            Data::Edit(W01_TUE, "CREATE TABLE time_entries (", "CREATE TABLE time_entries ( {{ 1 + }}"),
        ),
        (
            "a bad persona",
            Data::Edit(SAM, "error_rate: 0.25", "error_rate: -0.5"),
        ),
        (
            "a persona added",
            Data::Add("personas/sam2.yaml", "name: sam\ndisplay_name: Sam Two\ninitials: s2\nrole: r\nyears: 1\nerror_rate: 0.1\nexcuses: []\n"),
        ),
        ("a template removed", Data::Remove(W04_MON)),
    ];
    for (what, edit) in edits {
        let path = |file: &str| data.path().join(file);
        let file = match &edit {
            Data::Edit(file, ..) | Data::Add(file, _) | Data::Remove(file) => *file,
            Data::Shipped => unreachable!(),
        };
        let original = std::fs::read(path(file)).ok();
        match edit {
            Data::Edit(_, from, to) => {
                let text = String::from_utf8(original.clone().unwrap()).unwrap();
                assert!(text.contains(from), "{what}: {from:?} not in {file}");
                std::fs::write(path(file), text.replacen(from, to, 1)).unwrap();
            }
            Data::Add(_, text) => std::fs::write(path(file), text).unwrap(),
            Data::Remove(_) => std::fs::remove_file(path(file)).unwrap(),
            Data::Shipped => unreachable!(),
        }
        let cached = tick(state.path());
        let fresh_state = temp_state();
        let fresh = tick(fresh_state.path());
        assert_eq!(
            cached.status.code(),
            Some(2),
            "{what}: {}",
            error_line(&cached)
        );
        assert_eq!(
            fresh.status.code(),
            Some(2),
            "{what}: {}",
            error_line(&fresh)
        );
        assert_eq!(error_line(&cached), error_line(&fresh), "{what}");
        assert_eq!(cached.stderr, fresh.stderr, "{what}");
        match original {
            Some(bytes) => std::fs::write(path(file), bytes).unwrap(),
            None => std::fs::remove_file(path(file)).unwrap(),
        }
        assert_success(&tick(state.path()), &["tick", what]);
    }
    db.drop_now().await.unwrap();
}
