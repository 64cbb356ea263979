//! `missing_updated_at_trigger`: an `updated_at` column with no trigger keeping it current.
//!
//! Slip: `{{ missing_updated_at_trigger(object="public.t", sql="CREATE TRIGGER trg_t_updated_at BEFORE UPDATE ON t
//! FOR EACH ROW EXECUTE FUNCTION set_updated_at();") }}`; clean renders `sql`, the slip nothing.

use anyhow::Result;

use super::{omitted_when_slipped, MistakeKind, SlipArgs, Verification};

pub struct MissingUpdatedAtTrigger;

impl MistakeKind for MissingUpdatedAtTrigger {
    fn name(&self) -> &'static str {
        "missing_updated_at_trigger"
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
