//! `btree_on_jsonb`: a btree index on a jsonb column where GIN was meant.
//!
//! Slip: `{{ btree_on_jsonb(object="public.idx", sql="CREATE INDEX idx ON t USING gin(doc);",
//! slipped="CREATE INDEX idx ON t(doc);") }}`; clean renders `sql`, the slip `slipped`.

use anyhow::Result;

use super::{swapped_when_slipped, MistakeKind, SlipArgs, Verification};

pub struct BtreeOnJsonb;

impl MistakeKind for BtreeOnJsonb {
    fn name(&self) -> &'static str {
        "btree_on_jsonb"
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
