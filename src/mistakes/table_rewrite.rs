//! `table_rewrite`: ALTER COLUMN TYPE, or a stored generated column, that rewrites a whole table
//! under an ACCESS EXCLUSIVE lock.
//!
//! Slip: `{{ table_rewrite(object="public.t", sql="ALTER TABLE t ALTER COLUMN c TYPE VARCHAR(200);",
//! slipped="ALTER TABLE t ALTER COLUMN c TYPE TEXT USING c::text;") }}`; clean renders `sql`, the slip
//! `slipped`. Object: `schema.table`.
//!
//! Verification: ledger. A rewrite gives the table a new relfilenode: the apply step compares it
//! before and after the change, for tables that existed before (the same table: a table dropped
//! and created again under its name is new, not rewritten). Changes run with TimeZone = UTC,
//! so whether timestamp -> timestamptz rewrites does not depend on the machine (under UTC it does
//! not). The finding never closes: it is a fact of the migration history.
//!
//! Measured: on a database with data, right after the change commits, the table's rows, the bytes
//! rewritten (the table with its rebuilt indexes) and how long the change held its locks, with the
//! app queries that waited under `daemon --workload`; the finding's verification becomes
//! `measured` (`data/measure.rs`, README "Reading the measurements").

use super::kind::{never_closes, MistakeKind, Proof};
use super::slip::Slip;
use super::snapshot::Snapshot;

pub const KIND: MistakeKind = MistakeKind {
    name: "table_rewrite",
    proof: Proof::Ledger {
        observe,
        closed_after: never_closes,
    },
    slip: Slip::Swapped,
    ..MistakeKind::USUAL
};

fn observe(before: &Snapshot, after: &Snapshot) -> Vec<String> {
    before
        .tables
        .iter()
        .filter(|(name, id)| {
            after
                .tables
                .get(*name)
                .is_some_and(|now| now.oid == id.oid && now.relfilenode != id.relfilenode)
        })
        .map(|(name, _)| name.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mistakes::testing::observe;

    #[tokio::test]
    async fn type_changes_that_rewrite_are_seen_and_binary_compatible_ones_are_not() {
        let seen = observe(
            &KIND,
            "CREATE TABLE widened (v varchar(20)); CREATE TABLE retyped (n int); CREATE TABLE generated (d date);
             CREATE TABLE recreated (n int);",
            "DROP TABLE recreated; CREATE TABLE recreated (n bigint);
             ALTER TABLE widened ALTER COLUMN v TYPE varchar(50);
             ALTER TABLE retyped ALTER COLUMN n TYPE bigint;
             ALTER TABLE generated ADD COLUMN y int GENERATED ALWAYS AS (extract(year from d)::int) STORED;",
        )
        .await;
        assert_eq!(seen, ["public.generated", "public.retyped"]);
    }
}
