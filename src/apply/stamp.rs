//! The catalog's stamp (README "Performance"): a cheap way for the next process to know that no
//! catalog row changed since a change recorded what it left, so that its first change starts
//! from that record without reading the relation digests and the names again (the fingerprint,
//! apply/fingerprint.rs, needs both: about 80 ms at 2,000 extra tables in a new process; the
//! stamp about 20).
//!
//! Every row PostgreSQL writes carries the id of the transaction that wrote it (`xmin`), and an
//! update writes a new row: so the rows of each catalog, counted and their `xmin`s hashed
//! together, change with any insert, update or delete, whoever made it. The ids are taken
//! relative to the recording transaction's own (`age(xmin) - age(reference)`), which stays the
//! same as transactions go by (the rows initdb wrote, and those VACUUM froze, all count as one
//! id). What PostgreSQL updates in place without a new row: the
//! statistics in pg_class (no digest reads them) and an index's valid, ready and live flags,
//! which are hashed as they are. Anything else that moves an `xmin` (a catalog row VACUUM
//! freezes, a temporary table of another session) only makes the next process look afresh.
//!
//! The stamp is taken right after the change's DDL, before the digests and names it is recorded
//! with: a commit by another session in between is in those but not in the stamp, and the next
//! process, whose stamp has it, looks afresh.

use anyhow::Result;
use sqlx::PgConnection;

use super::scope::Relations;
use super::Unit;

/// The catalogs the relation digests (apply/scope.rs), the names (crate::drift NAMES) and the
/// catalog snapshot read. `{reference}` is the transaction id the `xmin`s are taken against.
const CATALOGS: [&str; 15] = [
    "pg_namespace",
    "pg_class",
    "pg_attribute",
    "pg_attrdef",
    "pg_index",
    "pg_constraint",
    "pg_trigger",
    "pg_depend",
    "pg_inherits",
    "pg_type",
    "pg_proc",
    "pg_collation",
    "pg_operator",
    "pg_opclass",
    "pg_am",
];

/// What `age` gives a row written by initdb or frozen by VACUUM (a transaction id that is not
/// a normal one), whatever the reference.
const FROZEN: i32 = i32::MAX;

/// The stamp of the catalog now, against transaction `$1`, or against the current one when
/// `$1` is null: the reference and an md5 of the search_path, each catalog's row count and sum
/// of hashed `xmin`s, and the index flags PostgreSQL sets in place.
fn stamp_sql() -> String {
    let catalogs = CATALOGS
        .iter()
        .map(|catalog| {
            format!(
                "(SELECT count(*) || ' ' || coalesce(sum(hashint8extended(CASE age(xmin) WHEN {FROZEN} THEN -1 ELSE age(xmin) - age(r.x) END, 0)), 0) FROM {catalog})"
            )
        })
        .collect::<Vec<_>>()
        .join(",\n    ");
    format!(
        "WITH r AS (SELECT coalesce($1::xid, pg_current_xact_id()::xid) AS x)
SELECT r.x::text, md5(concat_ws(E'\\n', current_setting('search_path'),
    {catalogs},
    (SELECT coalesce(sum(hashtextextended(concat_ws(' ', indexrelid, indisvalid, indisready, indislive), 0)), 0)
     FROM pg_index)))
FROM r"
    )
}

/// The catalog's stamp: the transaction it is taken against, and the digest.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(super) struct Stamp {
    reference: String,
    digest: String,
}

impl Stamp {
    /// The stamp now, against the current transaction.
    pub(super) async fn take(conn: &mut PgConnection) -> Result<Stamp> {
        Self::read(conn, None).await
    }

    /// The stamp after `unit`'s DDL, when it is to record one: on a catalog large enough for
    /// the fingerprint (`before` its DDL), unless it audits the whole database anyway. The
    /// ledger's own table is made sure of first, so that creating it does not move the stamp.
    pub(super) async fn take_for(
        conn: &mut PgConnection,
        unit: &Unit<'_>,
        before: &Relations,
    ) -> Result<Option<Stamp>> {
        if !unit.stamp || unit.full_audit || !super::look::patches(before) {
            return Ok(None);
        }
        crate::drift::ensure_table(conn).await?;
        Ok(Some(Self::take(conn).await?))
    }

    /// Whether the catalog is as it was when `self` was taken.
    pub(super) async fn holds(&self, conn: &mut PgConnection) -> Result<bool> {
        Ok(&Self::read(conn, Some(&self.reference)).await? == self)
    }

    async fn read(conn: &mut PgConnection, reference: Option<&str>) -> Result<Stamp> {
        let (reference, digest): (String, String) = sqlx::query_as(&stamp_sql())
            .bind(reference)
            .fetch_one(conn)
            .await?;
        Ok(Stamp { reference, digest })
    }
}

/// What a change leaves for the next process beside its fingerprint: the stamp taken after its
/// DDL, and the relation digests and names read after it, which stand for the catalog as long
/// as the stamp holds.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub(super) struct Stamped {
    pub(super) stamp: Stamp,
    pub(super) relations: Relations,
    pub(super) names: String,
}

impl Stamped {
    /// What to record beside the fingerprint, when a stamp was taken and the names read.
    pub(super) fn of(
        stamp: Option<Stamp>,
        relations: &Relations,
        names: Option<&str>,
    ) -> Option<Stamped> {
        Some(Stamped {
            stamp: stamp?,
            relations: relations.clone(),
            names: names?.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pg::scratch::ScratchDb;

    /// Every kind of DDL moves the stamp, and so does another session's; reads, data, VACUUM,
    /// ANALYZE and a rolled-back DDL leave it.
    #[tokio::test]
    async fn the_stamp_moves_with_every_catalog_change_and_only_with_those() {
        let (db, mut conn) = ScratchDb::with_sql(
            "stamp",
            "CREATE TABLE t (id serial PRIMARY KEY, v int, note text);
             CREATE INDEX t_v ON t (v);
             INSERT INTO t (v, note) SELECT g, 'x' FROM generate_series(1, 100) g;",
        )
        .await
        .expect("scratch with a table");
        let mut stamp = Stamp::take(&mut conn).await.expect("stamp");
        for same in [
            "SELECT count(*) FROM t",
            "INSERT INTO t (v) VALUES (1); UPDATE t SET note = 'y' WHERE v < 50; DELETE FROM t WHERE v > 90",
            "VACUUM t",
            "ANALYZE t",
            "BEGIN; CREATE TABLE u (id int); ALTER TABLE t ADD COLUMN w int; ROLLBACK",
        ] {
            sqlx::raw_sql(same).execute(&mut conn).await.expect(same);
            assert!(stamp.holds(&mut conn).await.expect("holds"), "{same}");
        }
        for change in [
            "CREATE INDEX t_note ON t (note)",
            "DROP INDEX t_note",
            "ALTER TABLE t ALTER COLUMN v SET NOT NULL",
            "ALTER TABLE t ADD CONSTRAINT v_positive CHECK (v > 0)",
            "ALTER TABLE t ALTER COLUMN note TYPE varchar(20)",
            "ALTER TABLE t ALTER COLUMN note SET DEFAULT 'z'",
            "TRUNCATE t",
            "VACUUM FULL t",
            "ALTER TABLE t RENAME COLUMN note TO notes",
            "ALTER INDEX t_v RENAME TO t_v2",
            "ALTER SEQUENCE t_id_seq OWNED BY NONE",
            "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'",
            "CREATE TYPE mood AS ENUM ('ok')",
            "CREATE SCHEMA s",
            "ALTER TABLE t SET SCHEMA s",
            "ALTER TABLE s.t SET (fillfactor = 70)",
            "CREATE TRIGGER t_touch BEFORE UPDATE ON s.t FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger()",
            "ALTER TABLE s.t DISABLE TRIGGER t_touch",
            "CREATE TABLE p (id int) PARTITION BY RANGE (id)",
            "CREATE TABLE p1 PARTITION OF p FOR VALUES FROM (0) TO (10)",
            "DROP TABLE p",
            "CREATE INDEX CONCURRENTLY t_v3 ON s.t (v)",
            "SET search_path = s, public",
        ] {
            sqlx::raw_sql(change).execute(&mut conn).await.expect(change);
            assert!(!stamp.holds(&mut conn).await.expect("holds"), "{change}");
            stamp = Stamp::take(&mut conn).await.expect("stamp");
        }
        // Another session's DDL, committed after the stamp.
        let mut other = crate::pg::connect(&db.url).await.expect("connect");
        sqlx::raw_sql("CREATE TABLE public.v (id int)")
            .execute(&mut other)
            .await
            .expect("other");
        assert!(!stamp.holds(&mut conn).await.expect("holds"));
        drop((conn, other));
        db.drop_now().await.expect("drop");
    }
}
