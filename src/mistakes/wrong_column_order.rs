//! `wrong_column_order`: a composite index with the low-cardinality column first.
//!
//! Slip: `{{ wrong_column_order(object="public.idx", sql="CREATE INDEX idx ON t(project_id, is_active);",
//! slipped="CREATE INDEX idx ON t(is_active, project_id);") }}`; clean renders `sql`, the slip `slipped`.

use anyhow::Result;

use super::{swapped_when_slipped, MistakeKind, SlipArgs, Verification};

pub struct WrongColumnOrder;

impl MistakeKind for WrongColumnOrder {
    fn name(&self) -> &'static str {
        "wrong_column_order"
    }

    fn roadmap_code(&self) -> Option<&'static str> {
        None
    }

    fn verification(&self) -> Verification {
        Verification::Catalog
    }

    fn render(&self, args: &SlipArgs, slipped: bool) -> Result<String> {
        swapped_when_slipped(args, slipped)
    }
}
