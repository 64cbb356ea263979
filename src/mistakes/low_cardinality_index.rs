//! `low_cardinality_index` (L002): a btree index on a boolean or flag column alone.
//!
//! Slip: `{{ low_cardinality_index(object="public.idx_t_flag", sql="CREATE INDEX idx_t_flag ON t(flag);") }}`;
//! clean renders nothing, the slip adds the statement.

use anyhow::Result;

use super::{added_when_slipped, MistakeKind, SlipArgs, Verification};

pub struct LowCardinalityIndex;

impl MistakeKind for LowCardinalityIndex {
    fn name(&self) -> &'static str {
        "low_cardinality_index"
    }

    fn roadmap_code(&self) -> Option<&'static str> {
        Some("L002")
    }

    fn verification(&self) -> Verification {
        Verification::Catalog
    }

    fn render(&self, args: &SlipArgs, slipped: bool) -> Result<String> {
        added_when_slipped(args, slipped)
    }
}
