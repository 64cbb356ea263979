//! `duplicate_index` (H004): a second index with the same definition as an existing one, under another name.
//!
//! Slip: `{{ duplicate_index(object="public.idx_new", sql="CREATE INDEX idx_new ON t(c);") }}`; clean renders
//! nothing, the slip adds the statement.

use anyhow::Result;

use super::{added_when_slipped, MistakeKind, SlipArgs, Verification};

pub struct DuplicateIndex;

impl MistakeKind for DuplicateIndex {
    fn name(&self) -> &'static str {
        "duplicate_index"
    }

    fn roadmap_code(&self) -> Option<&'static str> {
        Some("H004")
    }

    fn checkup_code(&self) -> Option<&'static str> {
        Some("H004")
    }

    fn verification(&self) -> Verification {
        Verification::Catalog
    }

    fn render(&self, args: &SlipArgs, slipped: bool) -> Result<String> {
        added_when_slipped(args, slipped)
    }
}
