//! `not_null_full_scan`: SET NOT NULL on an existing table without a validated CHECK first, so
//! PostgreSQL scans the whole table under an ACCESS EXCLUSIVE lock.
//!
//! Slip: `{{ not_null_full_scan(object="public.t.c", sql="ALTER TABLE t ADD CONSTRAINT t_c_not_null CHECK (c IS
//! NOT NULL) NOT VALID;\nALTER TABLE t VALIDATE CONSTRAINT t_c_not_null;\nALTER TABLE t ALTER COLUMN c SET NOT
//! NULL;", slipped="ALTER TABLE t ALTER COLUMN c SET NOT NULL;") }}`; clean renders `sql`, the slip
//! `slipped`.
//!
//! Verification: ledger. The apply step sees a column of a table that existed before the change
//! turn NOT NULL without a validated `CHECK (c IS NOT NULL)` in place before the change (PostgreSQL
//! 12+ skips the scan when such a constraint exists). A CHECK added and validated inside the same
//! change, before the SET NOT NULL, also spares the scan: the snapshot after the change shows it.
//! The finding never closes: it is a fact of the migration history.
//!
//! Measured: on a database with data, right after the change commits, the table's rows, its heap
//! bytes (what the scan reads) and how long the change held its locks, with the app queries that
//! waited under `daemon --workload`; the finding's verification becomes `measured`
//! (`data/measure.rs`, README "Reading the measurements").

use super::kind::{never_closes, MistakeKind, Proof};
use super::slip::Slip;
use super::snapshot::Snapshot;

pub const KIND: MistakeKind = MistakeKind {
    name: "not_null_full_scan",
    proof: Proof::Ledger {
        observe,
        closed_after: never_closes,
    },
    slip: Slip::Swapped,
    ..MistakeKind::USUAL
};

fn observe(before: &Snapshot, after: &Snapshot) -> Vec<String> {
    after
        .columns
        .iter()
        .filter(|(column, not_null)| **not_null && before.columns.get(*column) == Some(&false))
        .filter(|(column, _)| {
            column
                .rsplit_once('.')
                .is_some_and(|(table, _)| before.same_table(after, table))
        })
        .filter(|(column, _)| {
            !before.checked_not_null.contains(*column) && !after.checked_not_null.contains(*column)
        })
        .map(|(column, _)| column.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mistakes::testing::observe;

    #[tokio::test]
    async fn set_not_null_without_a_validated_check_is_seen() {
        let seen = observe(
            &KIND,
            "CREATE TABLE t (scanned int, checked int, fresh int);",
            "ALTER TABLE t ALTER COLUMN scanned SET NOT NULL;
             ALTER TABLE t ADD CONSTRAINT t_checked_nn CHECK (checked IS NOT NULL) NOT VALID;
             ALTER TABLE t VALIDATE CONSTRAINT t_checked_nn;
             ALTER TABLE t ALTER COLUMN checked SET NOT NULL;
             ALTER TABLE t ADD COLUMN added int NOT NULL DEFAULT 0;",
        )
        .await;
        assert_eq!(seen, ["public.t.scanned"]);
    }
}
