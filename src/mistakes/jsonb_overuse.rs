//! `jsonb_overuse` (P001): a JSONB bag for fields that should be columns.
//!
//! Slip: `{{ jsonb_overuse(object="public.t.settings", sql="timezone VARCHAR(50),\n    locale VARCHAR(10)",
//! slipped="settings JSONB NOT NULL DEFAULT '{}'::jsonb") }}`; clean renders `sql` (the columns), the
//! slip `slipped` (the bag).
//!
//! Verification: declared. Whether a JSONB column is a bag of fields that deserve columns is a
//! judgement about how the application queries it, not something the catalog shows. The finding
//! closes when the column is dropped.

use anyhow::Result;

use super::{swapped_when_slipped, MistakeKind, SlipArgs, Verification};

pub struct JsonbOveruse;

impl MistakeKind for JsonbOveruse {
    fn name(&self) -> &'static str {
        "jsonb_overuse"
    }

    fn roadmap_code(&self) -> Option<&'static str> {
        Some("P001")
    }

    fn verification(&self) -> Verification {
        Verification::Declared
    }

    fn render(&self, args: &SlipArgs, slipped: bool) -> Result<String> {
        swapped_when_slipped(args, slipped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mistakes::testing::render_both;

    #[test]
    fn slip_swaps_columns_for_a_bag() {
        let (clean, slipped) = render_both(
            &JsonbOveruse,
            &[
                ("object", "public.t.settings"),
                ("sql", "tz VARCHAR(50)"),
                ("slipped", "settings JSONB"),
            ],
        );
        assert_eq!(
            (clean.as_str(), slipped.as_str()),
            ("tz VARCHAR(50)", "settings JSONB")
        );
    }
}
