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

use anyhow::Result;

use super::{added_when_slipped, MistakeKind, SlipArgs, Snapshot, Verification};

pub struct DroppedUsedIndex;

impl MistakeKind for DroppedUsedIndex {
    fn name(&self) -> &'static str {
        "dropped_used_index"
    }

    fn roadmap_code(&self) -> Option<&'static str> {
        None
    }

    fn verification(&self) -> Verification {
        Verification::Ledger
    }

    fn render(&self, args: &SlipArgs, slipped: bool) -> Result<String> {
        added_when_slipped(args, slipped)
    }

    fn observe(&self, before: &Snapshot, after: &Snapshot) -> Vec<String> {
        before
            .indexes
            .keys()
            .filter(|name| !after.indexes.contains_key(*name))
            .cloned()
            .collect()
    }

    fn incidental_possible(&self) -> bool {
        false
    }

    fn closed_after(&self, object: &str, after: &Snapshot) -> bool {
        after.indexes.contains_key(object)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mistakes::testing::{observe, render_both};

    #[test]
    fn slip_adds_the_drop() {
        let (clean, slipped) = render_both(
            &DroppedUsedIndex,
            &[("object", "public.i"), ("sql", "DROP INDEX i;")],
        );
        assert_eq!((clean.as_str(), slipped.as_str()), ("", "DROP INDEX i;"));
    }

    #[tokio::test]
    async fn sees_dropped_indexes_only() {
        let seen = observe(
            &DroppedUsedIndex,
            "CREATE TABLE t (a int, b int); CREATE INDEX t_a ON t(a); CREATE INDEX t_b ON t(b);",
            "DROP INDEX t_a; CREATE INDEX t_ab ON t(a, b);",
        )
        .await;
        assert_eq!(seen, ["public.t_a"]);
    }

    #[test]
    fn closes_when_recreated() {
        let mut after = Snapshot::default();
        assert!(!DroppedUsedIndex.closed_after("public.t_a", &after));
        after.indexes.insert("public.t_a".into(), "public.t".into());
        assert!(DroppedUsedIndex.closed_after("public.t_a", &after));
    }
}
