//! `int_should_be_bigint` (P002): INTEGER for an id or a size that grows past 2^31.
//!
//! Slip: `size_bytes {{ int_should_be_bigint(object="public.t.size_bytes") }} NOT NULL`; clean renders
//! `BIGINT`, the slip `INTEGER`.

use anyhow::Result;

use super::{typed, MistakeKind, SlipArgs, Verification};

pub struct IntShouldBeBigint;

impl MistakeKind for IntShouldBeBigint {
    fn name(&self) -> &'static str {
        "int_should_be_bigint"
    }

    fn roadmap_code(&self) -> Option<&'static str> {
        Some("P002")
    }

    fn verification(&self) -> Verification {
        Verification::Catalog
    }

    fn render(&self, args: &SlipArgs, slipped: bool) -> Result<String> {
        typed(args, slipped, "BIGINT", "INTEGER")
    }
}
