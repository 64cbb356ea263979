//! `serial_not_identity`: SERIAL/BIGSERIAL instead of an identity column.
//!
//! Slip: `id {{ serial_not_identity(object="public.t.id") }} PRIMARY KEY`; clean renders
//! `BIGINT GENERATED ALWAYS AS IDENTITY`, the slip `BIGSERIAL`.

use anyhow::Result;

use super::{typed, MistakeKind, SlipArgs, Verification};

pub struct SerialNotIdentity;

impl MistakeKind for SerialNotIdentity {
    fn name(&self) -> &'static str {
        "serial_not_identity"
    }

    fn roadmap_code(&self) -> Option<&'static str> {
        None
    }

    fn verification(&self) -> Verification {
        Verification::Catalog
    }

    fn render(&self, args: &SlipArgs, slipped: bool) -> Result<String> {
        typed(
            args,
            slipped,
            "BIGINT GENERATED ALWAYS AS IDENTITY",
            "BIGSERIAL",
        )
    }
}
