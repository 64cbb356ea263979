//! `polymorphic_reference`: an `entity_type` + `entity_id` pair with no foreign key.
//!
//! Slip: `{{ polymorphic_reference(object="public.t(entity_type,entity_id)", sql="issue_id UUID NOT NULL REFERENCES
//! issues(id) ON DELETE CASCADE", slipped="entity_type VARCHAR(50) NOT NULL,\n    entity_id UUID NOT NULL") }}`; clean
//! renders `sql`, the slip `slipped`.

use anyhow::Result;

use super::{swapped_when_slipped, MistakeKind, SlipArgs, Verification};

pub struct PolymorphicReference;

impl MistakeKind for PolymorphicReference {
    fn name(&self) -> &'static str {
        "polymorphic_reference"
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
