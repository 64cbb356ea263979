//! `missing_unique`: a UNIQUE left out.
//!
//! Slip: `token_hash VARCHAR(64) NOT NULL{{ missing_unique(object="public.t.token_hash", sql=" UNIQUE") }}`;
//! clean renders `sql`, the slip nothing.

use anyhow::Result;

use super::{omitted_when_slipped, MistakeKind, SlipArgs, Verification};

pub struct MissingUnique;

impl MistakeKind for MissingUnique {
    fn name(&self) -> &'static str {
        "missing_unique"
    }

    fn roadmap_code(&self) -> Option<&'static str> {
        None
    }

    fn verification(&self) -> Verification {
        Verification::Catalog
    }

    fn render(&self, args: &SlipArgs, slipped: bool) -> Result<String> {
        omitted_when_slipped(args, slipped)
    }
}
