//! `unused_index` (L001 in the roadmap, H002 in the postgres_ai checkup): a "just in case" index
//! that no query uses.
//!
//! Slip: `{{ unused_index(object="public.idx_t_c", sql="CREATE INDEX idx_t_c ON t(c);") }}`; clean
//! renders nothing, the slip adds the statement.
//!
//! Verification: declared. Whether an index is used depends on the workload (pg_stat_user_indexes
//! after real traffic), which engineer-sim does not run, so the journal records the declaration and
//! says so. The finding closes when the index is dropped.

use super::kind::{MistakeKind, Proof};
use super::slip::Slip;

pub const KIND: MistakeKind = MistakeKind {
    name: "unused_index",
    roadmap_code: Some("L001"),
    checkup_code: Some("H002"),
    proof: Proof::Declared,
    slip: Slip::Added,
    ..MistakeKind::USUAL
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mistakes::Snapshot;

    #[test]
    fn closes_when_the_index_is_gone() {
        let mut after = Snapshot::default();
        assert!(KIND.closed_after("public.idx_t_c", &after));
        after
            .indexes
            .insert("public.idx_t_c".into(), "public.t".into());
        assert!(!KIND.closed_after("public.idx_t_c", &after));
    }
}
