//! `dropped_used_index`: drops an index that queries rely on (week 12's `DROP INDEX
//! idx_issues_status`).
//!
//! Slip: `{{ dropped_used_index(object="public.idx_t_c", sql="DROP INDEX idx_t_c;") }}`; clean renders
//! nothing, the slip adds the statement.
//!
//! Verification: ledger. The apply step sees the index present before the change and gone after
//! it. That an index was *used* needs the query history, so only a declared drop (scripted or a
//! slip) is journaled, never an undeclared one: a clean-up that drops a redundant index is no
//! mistake. The finding closes when an index of that name exists again.
//!
//! On a database with data, `verify` judges it against the last workload (`data/judge.rs`): the
//! queries that scanned the index in an earlier workload, or any query without one, read its
//! table sequentially since the drop (README "Mistake kinds").

use super::kind::{MistakeKind, Proof};
use super::slip::Slip;
use super::snapshot::Snapshot;

pub const KIND: MistakeKind = MistakeKind {
    name: "dropped_used_index",
    proof: Proof::Ledger {
        observe,
        closed_after,
    },
    slip: Slip::Added,
    incidental: false,
    ..MistakeKind::USUAL
};

fn observe(before: &Snapshot, after: &Snapshot) -> Vec<String> {
    before
        .indexes
        .keys()
        .filter(|name| !after.indexes.contains_key(*name))
        .cloned()
        .collect()
}

/// Closes when an index of that name exists again.
fn closed_after(object: &str, after: &Snapshot) -> bool {
    after.indexes.contains_key(object)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mistakes::testing::observe;

    #[tokio::test]
    async fn sees_dropped_indexes_only() {
        let seen = observe(
            &KIND,
            "CREATE TABLE t (a int, b int); CREATE INDEX t_a ON t(a); CREATE INDEX t_b ON t(b);",
            "DROP INDEX t_a; CREATE INDEX t_ab ON t(a, b);",
        )
        .await;
        assert_eq!(seen, ["public.t_a"]);
    }

    #[test]
    fn closes_when_recreated() {
        let mut after = Snapshot::default();
        assert!(!KIND.closed_after("public.t_a", &after));
        after.indexes.insert("public.t_a".into(), "public.t".into());
        assert!(KIND.closed_after("public.t_a", &after));
    }
}
