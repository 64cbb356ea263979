//! `jsonb_overuse` (P001): a JSONB bag for fields that should be columns.
//!
//! Slip: `{{ jsonb_overuse(object="public.t.settings", sql="timezone VARCHAR(50),\n    locale VARCHAR(10)",
//! slipped="settings JSONB NOT NULL DEFAULT '{}'::jsonb") }}`; clean renders `sql` (the columns), the
//! slip `slipped` (the bag).
//!
//! Verification: declared. Whether a JSONB column is a bag of fields that deserve columns is a
//! judgement about how the application queries it, not something the catalog shows. The finding
//! closes when the column is dropped.

use super::kind::{MistakeKind, Proof};
use super::slip::Slip;

pub const KIND: MistakeKind = MistakeKind {
    name: "jsonb_overuse",
    roadmap_code: Some("P001"),
    proof: Proof::Declared,
    slip: Slip::Swapped,
    ..MistakeKind::USUAL
};
