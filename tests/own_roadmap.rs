//! A roadmap other than the shipped one (README "Bring your own schema"): found by its own name,
//! its database, weeks and base author taken from it, a `\n` in a slip point caught by `check`,
//! and `replay` refusing SQL that changed since the original run.

mod common;

use std::path::Path;
use std::process::Output;

use common::{engineer_sim, temp_state, ScratchDb};
use sqlx::Connection;

/// tests/fixtures/shop (a two-week roadmap on a small shop schema) with the shipped personas, in
/// a temp dir a test may edit.
fn shop() -> tempfile::TempDir {
    let dir = temp_state();
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let status = std::process::Command::new("cp")
        .arg("-r")
        .arg(manifest.join("tests/fixtures/shop/roadmap"))
        .arg(manifest.join("tests/fixtures/shop/templates"))
        .arg(manifest.join("personas"))
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(status.success());
    dir
}

fn es(data: &Path, state: &Path, args: &[&str]) -> Output {
    engineer_sim(state)
        .env("ENGINEER_SIM_DATA", data)
        .args(args)
        .output()
        .expect("spawn engineer-sim")
}

/// engineer-sim on the database at `url`: its exit code and everything it printed.
fn on(data: &Path, state: &Path, url: &str, args: &[&str]) -> (Option<i32>, String) {
    let out = engineer_sim(state)
        .env("ENGINEER_SIM_DATA", data)
        .env("DATABASE_URL", url)
        .args(args)
        .output()
        .expect("spawn engineer-sim");
    (out.status.code(), text(&out))
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn the_roadmap_is_found_by_its_own_name_or_chosen() {
    let data = shop();
    let state = temp_state();
    let out = es(data.path(), state.path(), &["check", "--no-db"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("roadmap/shop.yaml"), "{}", text(&out));
    // The embedded database is the roadmap's.
    let url = text(&es(data.path(), state.path(), &["db", "url"]));
    assert!(
        url.starts_with("postgres://postgres@localhost/shop?"),
        "{url}"
    );

    std::fs::copy(
        data.path().join("roadmap/shop.yaml"),
        data.path().join("roadmap/other.yaml"),
    )
    .unwrap();
    let out = es(data.path(), state.path(), &["plan"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("holds several roadmaps (other.yaml, shop.yaml)")
            && text(&out).contains("--roadmap FILE"),
        "{}",
        text(&out)
    );
    let chosen = data.path().join("roadmap/other.yaml");
    let out = es(
        data.path(),
        state.path(),
        &["check", "--no-db", "--roadmap", chosen.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", text(&out));

    // A YAML mistake is reported with the actual file.
    std::fs::write(&chosen, "name: [\n").unwrap();
    let out = es(
        data.path(),
        state.path(),
        &["check", "--roadmap", chosen.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains(&format!("fix the YAML of {}", chosen.display())),
        "{}",
        text(&out)
    );
}

#[test]
fn weeks_and_the_database_name_come_from_the_roadmap_and_are_checked() {
    let data = shop();
    let state = temp_state();
    let out = es(data.path(), state.path(), &["run", "--until-week", "3"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("--until-week 3: 3 is not in 1..=2, the weeks of"),
        "{}",
        text(&out)
    );
    let out = es(data.path(), state.path(), &["replay", "--week", "3"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("weeks run from 1 to 2"),
        "{}",
        text(&out)
    );

    let roadmap = data.path().join("roadmap/shop.yaml");
    let original = std::fs::read_to_string(&roadmap).unwrap();
    for (from, to, says) in [
        (
            "database: shop",
            "database: Shop-DB",
            "`database` \"Shop-DB\" is not a plain database name",
        ),
        ("weeks: 2", "weeks: 1", "week 2 is outside 1..1"),
        ("weeks: 2", "weeks: 0", "`weeks: 0` is outside 1..520"),
    ] {
        std::fs::write(&roadmap, original.replace(from, to)).unwrap();
        let out = es(data.path(), state.path(), &["check"]);
        assert_eq!(out.status.code(), Some(2), "{to}");
        assert!(text(&out).contains(says), "{to}: {}", text(&out));
    }
}

#[test]
fn an_escaped_line_break_in_a_slip_point_fails_check_and_a_real_one_renders() {
    let data = shop();
    let state = temp_state();
    let template = data
        .path()
        .join("templates/shop/week02/tue_order_notes.sql.tera");
    std::fs::write(
        &template,
        "ALTER TABLE orders ADD COLUMN note TEXT;\n\
         {{ unused_index(object=\"public.idx_orders_note\", sql=\"CREATE INDEX idx_orders_note ON orders(note);\\nCOMMENT ON INDEX idx_orders_note IS 'x';\") }}\n",
    )
    .unwrap();
    let out = es(data.path(), state.path(), &["check"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("tue_order_notes.sql.tera:2: `\\n` in a slip point's argument"),
        "{}",
        text(&out)
    );
    // The line break itself, inside the quotes: one statement per line when it slips.
    std::fs::write(
        &template,
        "ALTER TABLE orders ADD COLUMN note TEXT;\n\
         {{ unused_index(object=\"public.idx_orders_note\", sql=\"CREATE INDEX idx_orders_note ON orders(note);\n\
         COMMENT ON INDEX idx_orders_note IS 'x';\") }}\n",
    )
    .unwrap();
    let out = es(data.path(), state.path(), &["check", "--no-db"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = es(
        data.path(),
        state.path(),
        &["render", "w02-tue-order-notes", "--all-slips"],
    );
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("CREATE INDEX idx_orders_note ON orders(note);\nCOMMENT ON INDEX"),
        "{}",
        text(&out)
    );
}

/// The base migration names the roadmap's title and author; replay refuses SQL that renders
/// differently than the original run applied it, and with --allow-changed journals the change.
#[tokio::test]
async fn base_author_and_replay_of_changed_sql() {
    let data = shop();
    let db = ScratchDb::create("own_replay").await.unwrap();
    let state = temp_state();
    let ok = |args: &[&str]| on(data.path(), state.path(), &db.url, args);
    assert_eq!(ok(&["init", "--seed", "3"]).0, Some(0));
    assert_eq!(ok(&["run", "--until-week", "2"]).0, Some(0));
    let migrations = state.path().join("migrations");
    let base = std::fs::read_dir(&migrations)
        .unwrap()
        .flatten()
        .find(|e| e.file_name().to_string_lossy().contains("base"))
        .unwrap();
    let header = std::fs::read_to_string(base.path()).unwrap();
    assert!(
        header.starts_with("-- Shop base schema\n--\n-- Author: Shop founders\n"),
        "{header}"
    );

    // Unchanged: the replay goes through.
    let (code, out) = ok(&["replay", "--week", "2", "--into", "own_replay_same"]);
    assert_eq!(code, Some(0), "{out}");

    // An edited template: refused before anything is created.
    let template = data
        .path()
        .join("templates/shop/week02/tue_order_notes.sql.tera");
    let edited = std::fs::read_to_string(&template)
        .unwrap()
        .replace("note TEXT", "note TEXT NOT NULL DEFAULT ''");
    std::fs::write(&template, edited).unwrap();
    let (code, out) = ok(&["replay", "--week", "2", "--into", "own_replay_changed"]);
    assert_eq!(code, Some(2), "{out}");
    assert!(
        out.contains("the SQL of 1 change renders differently than the original run applied it: w02-tue-order-notes (sha256 "),
        "{out}"
    );
    let exists = ok(&[
        "replay",
        "--week",
        "2",
        "--into",
        "own_replay_changed",
        "--allow-changed",
    ]);
    assert_eq!(exists.0, Some(0), "{}", exists.1);
    assert!(
        exists.1.contains("warning: replaying w02-tue-order-notes"),
        "{}",
        exists.1
    );
    let journal = std::fs::read_to_string(
        state
            .path()
            .join("replays/own_replay_changed/journal.jsonl"),
    )
    .unwrap();
    let event: serde_json::Value = journal
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|e| e["event"] == "replay_sql_changed")
        .expect("a replay_sql_changed event");
    assert_eq!(event["change_id"], "w02-tue-order-notes");
    assert!(
        event["diff"]
            .as_str()
            .unwrap()
            .contains("+ALTER TABLE orders ADD COLUMN note TEXT NOT NULL DEFAULT '';"),
        "{event}"
    );
    for name in ["own_replay_same", "own_replay_changed"] {
        let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
        sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut conn)
            .await
            .unwrap();
    }
    db.drop_now().await.unwrap();
}

/// `check` applies every slip point to a scratch database: one no detector can see (a CHECK
/// left out on `order_state`, a name `missing_check` does not know) fails there, at its line;
/// `--no-db` keeps the fast check of the files.
#[tokio::test]
async fn check_applies_every_slip_point_to_a_scratch_database() {
    let data = shop();
    let server = ScratchDb::create("own_check").await.unwrap();
    let state = temp_state();
    let check = |args: &[&str]| on(data.path(), state.path(), &server.url, args);
    let (code, out) = check(&["check"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("on a scratch database: 2 changes, every slip point alone and each change's together (6 variants)"),
        "{out}"
    );
    let template = data
        .path()
        .join("templates/shop/week02/tue_order_notes.sql.tera");
    std::fs::write(
        &template,
        "ALTER TABLE orders ADD COLUMN note TEXT;\n\
         ALTER TABLE orders ADD COLUMN order_state TEXT NOT NULL DEFAULT 'new'{{ missing_check(object=\"public.orders.order_state\", expr=\"order_state IN ('new', 'paid')\") }};\n",
    )
    .unwrap();
    let (code, out) = check(&["check", "--no-db"]);
    assert_eq!(code, Some(0), "the files are fine: {out}");
    let (code, out) = check(&["check"]);
    assert_eq!(code, Some(2), "{out}");
    assert!(
        out.contains(&format!(
            "{}:2: change w02-tue-order-notes, slip point 0 (missing_check on public.orders.order_state) alone: ",
            template.display()
        )) && out.contains("declared mistakes the audit does not see"),
        "{out}"
    );
    assert!(out.contains("check: 1 problem"), "{out}");
    // The scratch database is gone.
    let mut conn = sqlx::PgConnection::connect(&server.url).await.unwrap();
    let left: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_database WHERE datname LIKE 'engineer_sim_check_%'",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(left, 0);
    server.drop_now().await.unwrap();
}
