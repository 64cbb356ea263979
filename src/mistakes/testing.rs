//! Helpers for the per-kind tests: run a detector on a fixture, or a ledger kind's observation
//! around a change.

use std::collections::HashMap;

use super::kind::MistakeKind;
use super::slip::SlipArgs;
use super::snapshot::Snapshot;
use crate::pg::scratch::ScratchDb;
use crate::words::Words;

pub fn render_both(kind: &MistakeKind, args: &[(&str, &str)]) -> (String, String) {
    let values = to_values(args);
    let slip_args = SlipArgs {
        kind: kind.name,
        args: &values,
    };
    (
        kind.render(&slip_args, false).expect("clean render"),
        kind.render(&slip_args, true).expect("slipped render"),
    )
}

pub fn to_values(args: &[(&str, &str)]) -> HashMap<String, tera::Value> {
    args.iter()
        .map(|(k, v)| {
            let value = v
                .parse::<i64>()
                .map(tera::Value::from)
                .unwrap_or_else(|_| tera::Value::from(*v));
            (k.to_string(), value)
        })
        .collect()
}

/// Applies `fixture` to a fresh database and returns what the kind's detector reports with the
/// built-in word lists, sorted.
pub async fn detect(kind: &MistakeKind, fixture: &str) -> Vec<String> {
    detect_with(kind, &Words::builtin(), fixture).await
}

/// [`detect`] with the word lists `words`. Unless the fixture makes the ledger's schema itself,
/// it is first applied inside `engineer_sim`, where the detector must report nothing: every
/// kind's own fixture shows that its query keeps to the user's schemas.
pub async fn detect_with(kind: &MistakeKind, words: &Words, fixture: &str) -> Vec<String> {
    let query = kind
        .detection_query(words)
        .expect("catalog kind has a detection query");
    let (db, mut conn) = scratch(kind, "").await;
    if !fixture.contains("engineer_sim") {
        let in_ledger = format!("CREATE SCHEMA engineer_sim; SET search_path TO engineer_sim;\n{fixture}\nRESET search_path;");
        apply(&mut conn, &in_ledger).await;
        let found = crate::pg::query_objects(&mut conn, &query)
            .await
            .expect("detection query runs");
        assert!(
            found.is_empty(),
            "{} reports the ledger schema's {found:?}",
            kind.name
        );
    }
    apply(&mut conn, fixture).await;
    let found = crate::pg::query_objects(&mut conn, &query)
        .await
        .expect("detection query runs");
    drop(conn);
    db.drop_now().await.expect("drop scratch database");
    found
}

/// Applies `setup`, snapshots, applies `change`, snapshots, and returns what the ledger kind
/// observes between the two.
pub async fn observe(kind: &MistakeKind, setup: &str, change: &str) -> Vec<String> {
    let (db, mut conn) = scratch(kind, setup).await;
    let before = Snapshot::take(&mut conn).await.expect("snapshot before");
    sqlx::raw_sql(change)
        .execute(&mut conn)
        .await
        .expect("change applies");
    let after = Snapshot::take(&mut conn).await.expect("snapshot after");
    drop(conn);
    db.drop_now().await.expect("drop scratch database");
    let mut seen = kind.observe(&before, &after);
    seen.sort();
    seen
}

/// A fresh database named after the kind, with `sql` applied.
async fn scratch(kind: &MistakeKind, sql: &str) -> (ScratchDb, sqlx::PgConnection) {
    ScratchDb::with_sql(kind.name, sql)
        .await
        .expect("scratch database with the fixture")
}

async fn apply(conn: &mut sqlx::PgConnection, sql: &str) {
    sqlx::raw_sql(sql)
        .execute(&mut *conn)
        .await
        .expect("fixture applies");
}
