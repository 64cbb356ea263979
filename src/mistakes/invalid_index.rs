//! `invalid_index`: an index left invalid by a failed `CREATE INDEX CONCURRENTLY` (checkup H001).
//!
//! A concurrent build cannot run inside a transaction, so when it fails nothing rolls it back:
//! the index stays in the catalog marked invalid. The planner never uses it, yet every write may
//! still pay for it, and a checker lists it. The usual way to get one is a unique index built
//! concurrently over data that already holds duplicates: the build fails with 23505.
//!
//! Slip: `{{ invalid_index(object="public.idx", sql="DELETE ...dupes...; CREATE UNIQUE INDEX idx ...;",
//! slipped="CREATE UNIQUE INDEX CONCURRENTLY idx ...;") }}`. The careful engineer removes the
//! duplicates and builds the index inside the change's transaction; the slip builds it
//! concurrently, as a step outside the transaction, without looking at the data. Offered only on
//! a database with data (`needs_data`): on empty tables the build cannot fail. The step is written
//! around in the ledger (README "How it works"), so a crash or a failure leaves nothing unrecorded.
//!
//! Detection: an index of a user table with `indisvalid` false. It closes when the index is
//! rebuilt valid or dropped.

use super::kind::{MistakeKind, Proof};
use super::query::Query;
use super::slip::Slip;

pub const KIND: MistakeKind = MistakeKind {
    name: "invalid_index",
    checkup_code: Some("H001"),
    proof: Proof::Catalog(Query::Sql(DETECTION_QUERY)),
    slip: Slip::OutsideTransaction,
    needs_data: true,
    ..MistakeKind::USUAL
};

const DETECTION_QUERY: &str = r#"
SELECT format('%s.%s', n.nspname, c.relname) AS object
FROM pg_index i
JOIN pg_class c ON c.oid = i.indexrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE NOT i.indisvalid
  AND {user_schemas}
  AND {scope:i.indrelid}
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pg::scratch::ScratchDb;
    use crate::words::Words;

    /// A real failed concurrent build over duplicates, as the slip makes it.
    #[tokio::test]
    async fn detects_the_index_a_failed_concurrent_build_leaves() {
        let query = KIND.detection_query(&Words::builtin()).unwrap();
        let (db, mut conn) = ScratchDb::with_sql(
            "invalid_index",
            "CREATE TABLE t (a int); INSERT INTO t VALUES (1), (1), (2);
             CREATE UNIQUE INDEX ok_idx ON t(a) WHERE a > 1;",
        )
        .await
        .expect("scratch with the fixture");
        let err = sqlx::raw_sql("CREATE UNIQUE INDEX CONCURRENTLY dup_idx ON t(a)")
            .execute(&mut conn)
            .await
            .expect_err("duplicates make the build fail");
        let code = err
            .as_database_error()
            .and_then(|e| e.code())
            .map(|c| c.to_string());
        assert_eq!(code.as_deref(), Some("23505"));
        let found = crate::pg::query_objects(&mut conn, &query)
            .await
            .expect("detect");
        assert_eq!(found, vec!["public.dup_idx".to_string()]);
        sqlx::raw_sql("DROP INDEX dup_idx")
            .execute(&mut conn)
            .await
            .expect("drop");
        let found = crate::pg::query_objects(&mut conn, &query)
            .await
            .expect("detect");
        assert!(found.is_empty(), "closed once dropped: {found:?}");
        drop(conn);
        db.drop_now().await.expect("drop scratch database");
    }
}
