//! `json_as_text`: TEXT for a column that holds JSON.
//!
//! Slip: `payload {{ json_as_text(object="public.t.payload") }}`; clean renders `JSONB`, the slip `TEXT`.

use anyhow::Result;

use super::{typed, MistakeKind, SlipArgs, Verification};

pub struct JsonAsText;

impl MistakeKind for JsonAsText {
    fn name(&self) -> &'static str {
        "json_as_text"
    }

    fn roadmap_code(&self) -> Option<&'static str> {
        None
    }

    fn verification(&self) -> Verification {
        Verification::Catalog
    }

    fn render(&self, args: &SlipArgs, slipped: bool) -> Result<String> {
        typed(args, slipped, "JSONB", "TEXT")
    }
}
