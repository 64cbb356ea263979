//! `blocking_index_build`: CREATE INDEX without CONCURRENTLY on a table that already existed.
//!
//! A plain CREATE INDEX holds a SHARE lock for the whole build: on a populated production table
//! every write waits. engineer-sim treats every table that existed before a change as populated
//! (the production database it stands for holds gigabytes), whether or not this database has rows.
//!
//! Verification: ledger. The apply step sees an index that is new after the change on a table that
//! existed before it. Every change runs in one transaction, where CONCURRENTLY is impossible, so
//! each such index was built blocking; the roadmap's own CREATE INDEX on existing tables are
//! journaled as incidental findings of this kind. It is not a slip point: the careful version
//! (CONCURRENTLY, outside the transaction) cannot be applied inside the change's transaction.
//! The finding never closes: it is a fact of the migration history, which a linter reads.
//!
//! Measured: on a database with data, right after the change commits, the table's rows, its heap
//! bytes (what the build reads) and how long the change held its locks, with the app queries
//! that waited under `daemon --workload`; the finding's verification becomes `measured`
//! (`data/measure.rs`, README "Reading the measurements").

use super::kind::{never_closes, MistakeKind, Proof};
use super::slip::Slip;
use super::snapshot::Snapshot;

pub const KIND: MistakeKind = MistakeKind {
    name: "blocking_index_build",
    proof: Proof::Ledger {
        observe,
        closed_after: never_closes,
    },
    slip: Slip::NotASlipPoint(
        "the careful version (CREATE INDEX CONCURRENTLY) cannot run inside the change's transaction",
    ),
    ..MistakeKind::USUAL
};

fn observe(before: &Snapshot, after: &Snapshot) -> Vec<String> {
    after
        .indexes
        .iter()
        .filter(|(name, table)| {
            !before.indexes.contains_key(*name) && before.same_table(after, table)
        })
        .map(|(name, _)| name.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mistakes::testing::observe;

    #[tokio::test]
    async fn indexes_on_existing_tables_block_new_tables_do_not() {
        let seen = observe(
            &KIND,
            "CREATE TABLE old (a int, b int); CREATE TABLE recreated (a int);",
            "DROP TABLE recreated; CREATE TABLE recreated (a int); CREATE INDEX recreated_a ON recreated(a);
             CREATE INDEX old_a ON old(a);
             ALTER TABLE old ADD CONSTRAINT old_b_key UNIQUE (b);
             CREATE TABLE fresh (id int PRIMARY KEY, c int);
             CREATE INDEX fresh_c ON fresh(c);",
        )
        .await;
        assert_eq!(seen, ["public.old_a", "public.old_b_key"]);
    }
}
