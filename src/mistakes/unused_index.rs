//! `unused_index` (L001 in the roadmap, H002 in the postgres_ai checkup): a "just in case" index
//! that no query uses.
//!
//! Slip: `{{ unused_index(object="public.idx_t_c", sql="CREATE INDEX idx_t_c ON t(c);") }}`; clean
//! renders nothing, the slip adds the statement.
//!
//! Verification: declared. Whether an index is used depends on the workload (pg_stat_user_indexes
//! after real traffic), which engineer-sim does not run, so the journal records the declaration and
//! says so. The finding closes when the index is dropped.

use anyhow::Result;

use super::{added_when_slipped, MistakeKind, SlipArgs, Verification};

pub struct UnusedIndex;

impl MistakeKind for UnusedIndex {
    fn name(&self) -> &'static str {
        "unused_index"
    }

    fn roadmap_code(&self) -> Option<&'static str> {
        Some("L001")
    }

    fn checkup_code(&self) -> Option<&'static str> {
        Some("H002")
    }

    fn verification(&self) -> Verification {
        Verification::Declared
    }

    fn render(&self, args: &SlipArgs, slipped: bool) -> Result<String> {
        added_when_slipped(args, slipped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::Snapshot;
    use crate::mistakes::testing::render_both;

    #[test]
    fn slip_adds_the_index() {
        let sql = "CREATE INDEX idx_t_c ON t(c);";
        let (clean, slipped) =
            render_both(&UnusedIndex, &[("object", "public.idx_t_c"), ("sql", sql)]);
        assert_eq!((clean.as_str(), slipped.as_str()), ("", sql));
    }

    #[test]
    fn closes_when_the_index_is_gone() {
        let mut after = Snapshot::default();
        assert!(UnusedIndex.closed_after("public.idx_t_c", &after));
        after
            .indexes
            .insert("public.idx_t_c".into(), "public.t".into());
        assert!(!UnusedIndex.closed_after("public.idx_t_c", &after));
    }
}
