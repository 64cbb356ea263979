//! Helpers for the per-kind tests: render a slip point both ways, run a detector on a fixture.

use std::collections::HashMap;

use super::{MistakeKind, SlipArgs};
use crate::pg::scratch::ScratchDb;

pub fn render_both(kind: &dyn MistakeKind, args: &[(&str, &str)]) -> (String, String) {
    let values = to_values(args);
    let slip_args = SlipArgs {
        kind: kind.name(),
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

/// Applies `fixture` to a fresh database and returns what the kind's detector reports, sorted.
pub async fn detect(kind: &dyn MistakeKind, fixture: &str) -> Vec<String> {
    let db = ScratchDb::create(kind.name())
        .await
        .expect("scratch database");
    let mut conn = crate::pg::connect(&db.url).await.expect("connect");
    sqlx::raw_sql(fixture)
        .execute(&mut conn)
        .await
        .expect("fixture applies");
    let query = kind
        .detection_query()
        .expect("catalog kind has a detection query");
    let found = crate::pg::query_objects(&mut conn, query)
        .await
        .expect("detection query runs");
    drop(conn);
    db.drop_now().await.expect("drop scratch database");
    found
}

/// Applies `setup`, snapshots, applies `change`, snapshots, and returns what the ledger kind
/// observes between the two.
pub async fn observe(kind: &dyn MistakeKind, setup: &str, change: &str) -> Vec<String> {
    let db = ScratchDb::create(kind.name())
        .await
        .expect("scratch database");
    let mut conn = crate::pg::connect(&db.url).await.expect("connect");
    sqlx::raw_sql(setup)
        .execute(&mut conn)
        .await
        .expect("setup applies");
    let before = crate::audit::Snapshot::take(&mut conn)
        .await
        .expect("snapshot before");
    sqlx::raw_sql(change)
        .execute(&mut conn)
        .await
        .expect("change applies");
    let after = crate::audit::Snapshot::take(&mut conn)
        .await
        .expect("snapshot after");
    drop(conn);
    db.drop_now().await.expect("drop scratch database");
    let mut seen = kind.observe(&before, &after);
    seen.sort();
    seen
}
