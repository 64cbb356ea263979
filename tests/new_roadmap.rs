//! README "Bring your own schema", end to end: `new-roadmap` from a library database, a second
//! week added by hand, then `check`, `run`, `verify` and `replay --into` under three seeds.

mod common;

use std::path::Path;

use common::{engineer_sim, temp_state, ScratchDb};
use sqlx::Connection;

/// The library's schema, as its owner would have it: none of TaskPilot's tables.
const LIBRARY: &str = "
CREATE TABLE authors (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    full_name TEXT NOT NULL,
    born DATE
);
CREATE TABLE books (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    author_id BIGINT NOT NULL REFERENCES authors(id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    published_on DATE
);
CREATE INDEX idx_books_author ON books(author_id);
CREATE FUNCTION book_count(a BIGINT) RETURNS BIGINT LANGUAGE sql STABLE
    AS $$ SELECT count(*) FROM books WHERE author_id = a $$;
CREATE VIEW prolific_authors AS SELECT a.id, book_count(a.id) AS books FROM authors a;
";

/// Week 2: loans of the base's books, with slip points on the base's own table.
const LOANS: &str = r#"CREATE TABLE loans (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    book_id BIGINT{{ nullable_fk(object="public.loans.book_id") }} REFERENCES books(id){{ missing_on_delete(object="public.loans(book_id)", action="CASCADE") }},
    loaned_at {{ timestamp_without_tz(object="public.loans.loaned_at") }} NOT NULL DEFAULT now()
);
{{ missing_fk_index(object="public.loans(book_id)", sql="CREATE INDEX idx_loans_book ON loans(book_id);") }}
{{ unused_index(object="public.idx_loans_loaned_at", sql="CREATE INDEX idx_loans_loaned_at ON loans(loaned_at);") }}
"#;

const WEEK_2: &str = "
  - id: w02-wed-loans
    week: 2
    day: wed
    author: sam
    title: Track loans
    template: library/week02/wed_loans.sql.tera
    focus: feature
";

fn es(data: &Path, state: &Path, url: Option<&str>, args: &[&str]) -> (Option<i32>, String) {
    let mut cmd = engineer_sim(state);
    cmd.env("ENGINEER_SIM_DATA", data);
    if let Some(url) = url {
        cmd.env("DATABASE_URL", url);
    }
    let out = cmd.args(args).output().expect("spawn engineer-sim");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

fn ok(data: &Path, state: &Path, url: Option<&str>, args: &[&str]) -> String {
    let (code, text) = es(data, state, url, args);
    assert_eq!(code, Some(0), "engineer-sim {args:?}:\n{text}");
    text
}

#[tokio::test]
async fn a_two_week_roadmap_of_your_own_through_check_run_verify_and_replay() {
    let source = ScratchDb::create("library_src").await.unwrap();
    let mut conn = sqlx::PgConnection::connect(&source.url).await.unwrap();
    sqlx::raw_sql(LIBRARY).execute(&mut conn).await.unwrap();
    drop(conn);

    let work = temp_state();
    let dir = work.path().join("library");
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR"));
    let state = work.path().join("state");
    let new_roadmap = [
        "new-roadmap",
        "library",
        "--from-database",
        &source.url,
        "--dir",
        dir.to_str().unwrap(),
    ];
    let wrote = ok(shipped, &state, None, &new_roadmap);
    assert!(wrote.contains("3 personas"), "{wrote}");
    let base = std::fs::read_to_string(dir.join("templates/library/base.sql")).unwrap();
    assert!(base.contains("CREATE TABLE public.books ("), "{base}");
    assert!(
        !base.contains("search_path"),
        "the dump's session is left out: {base}"
    );
    // Never written over.
    let (code, text) = es(shipped, &state, None, &new_roadmap);
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("already exists and is not empty"), "{text}");

    // As written it is ready: one week, one example change.
    ok(&dir, &state, Some(&source.url), &["check"]);

    // A second week, by hand, as README "Bring your own schema" does it.
    let roadmap = dir.join("roadmap/library.yaml");
    let text = std::fs::read_to_string(&roadmap)
        .unwrap()
        .replace("weeks: 1", "weeks: 2");
    std::fs::write(&roadmap, text + WEEK_2).unwrap();
    let week2 = dir.join("templates/library/week02");
    std::fs::create_dir_all(&week2).unwrap();
    std::fs::write(week2.join("wed_loans.sql.tera"), LOANS).unwrap();
    let checked = ok(&dir, &state, Some(&source.url), &["check"]);
    assert!(
        checked.contains("on a scratch database: 2 changes"),
        "{checked}"
    );

    let mut slips = 0;
    for seed in ["1", "2", "3"] {
        let db = ScratchDb::create("library_run").await.unwrap();
        let state = work.path().join(format!("state-{seed}"));
        ok(&dir, &state, Some(&db.url), &["init", "--seed", seed]);
        let ran = ok(&dir, &state, Some(&db.url), &["run", "--until-week", "2"]);
        assert!(ran.contains("applied w02-wed-loans"), "{ran}");
        let verified = ok(&dir, &state, Some(&db.url), &["verify"]);
        assert!(verified.contains("verify: OK"), "{verified}");
        let expected: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(state.join("expected-findings.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(expected["roadmap"], "library");
        slips += expected["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["origin"] == "slip")
            .count();
        let replay = format!("library_replay_{seed}");
        ok(
            &dir,
            &state,
            Some(&db.url),
            &["replay", "--week", "2", "--into", &replay],
        );
        assert_eq!(
            std::fs::read_to_string(
                state
                    .join("replays")
                    .join(&replay)
                    .join("expected-findings.json")
            )
            .unwrap(),
            std::fs::read_to_string(state.join("expected-findings.json")).unwrap(),
            "seed {seed}: the replay ends where the run did"
        );
        let mut admin = sqlx::PgConnection::connect(&db.url).await.unwrap();
        sqlx::raw_sql(&format!("DROP DATABASE {replay} WITH (FORCE)"))
            .execute(&mut admin)
            .await
            .unwrap();
        drop(admin);
        db.drop_now().await.unwrap();
    }
    assert!(slips > 0, "the personas slipped in none of three seeds");

    // The same base from the SQL file: a data directory that checks too.
    let from_sql = work.path().join("from-sql");
    ok(
        shipped,
        &state,
        None,
        &[
            "new-roadmap",
            "library",
            "--from-sql",
            dir.join("templates/library/base.sql").to_str().unwrap(),
            "--dir",
            from_sql.to_str().unwrap(),
        ],
    );
    ok(&from_sql, &state, Some(&source.url), &["check"]);
    source.drop_now().await.unwrap();
}

#[test]
fn new_roadmap_refuses_a_name_that_is_no_database_name() {
    let work = temp_state();
    let sql = work.path().join("schema.sql");
    std::fs::write(&sql, "CREATE TABLE t (id bigint PRIMARY KEY);\n").unwrap();
    let (code, text) = es(
        Path::new(env!("CARGO_MANIFEST_DIR")),
        &work.path().join("state"),
        None,
        &[
            "new-roadmap",
            "My-Shop",
            "--from-sql",
            sql.to_str().unwrap(),
        ],
    );
    assert_eq!(code, Some(2), "{text}");
    assert!(
        text.contains("new-roadmap \"My-Shop\": not a plain name"),
        "{text}"
    );
}
