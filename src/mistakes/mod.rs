//! The catalog of mistake kinds (README "Mistake kinds").
//!
//! One file per kind. Each describes itself with one value, its `KIND`: name and codes, how a
//! finding of it is proven ([`Proof`], holding the detection query or the observation), and how a
//! persona slips into it ([`Slip`]); beside it, the kind's documentation and its own tests.
//! Adding a kind is adding a file, its `pub mod` line below and one line in [`all`]. The types a
//! kind is made of live in `kind`, `query`, `slip` and `snapshot`; this file only lists the kinds.
//!
//! A slip point in a template is a call of a function named after its kind, for example
//! `{{ nullable_fk(object="public.time_entries.issue_id") }}`. Every slip point names the object
//! it concerns, using the naming of README "What lands in `state/`": `schema.table.column` for a column,
//! `schema.table(col,...)` for a key, `schema.index_name` for an index.

pub mod kind;
pub mod query;
pub mod slip;
pub mod snapshot;

pub mod blocking_index_build;
pub mod btree_on_jsonb;
pub mod dropped_used_index;
pub mod duplicate_index;
pub mod int_should_be_bigint;
pub mod invalid_index;
pub mod json_as_text;
pub mod jsonb_overuse;
pub mod low_cardinality_index;
pub mod missing_check;
pub mod missing_fk_index;
pub mod missing_on_delete;
pub mod missing_query_index;
pub mod missing_unique;
pub mod missing_updated_at_trigger;
pub mod not_null_full_scan;
pub mod nullable_fk;
pub mod oversized_varchar;
pub mod polymorphic_reference;
pub mod redundant_index;
pub mod serial_not_identity;
pub mod table_bloat;
pub mod table_rewrite;
pub mod timestamp_without_tz;
pub mod unused_index;
pub mod wrong_column_order;

#[cfg(test)]
pub mod testing;
#[cfg(test)]
mod tests;

pub use kind::{closes_when_gone, never_closes, MistakeKind, Proof, Verification};
pub use query::Query;
pub use slip::{Slip, SlipArgs, OUTSIDE_TRANSACTION};
pub use snapshot::{Snapshot, TableId};

/// Every kind that templates can use as a slip point or the roadmap can script.
pub fn all() -> &'static [&'static MistakeKind] {
    &[
        &missing_fk_index::KIND,
        &nullable_fk::KIND,
        &missing_on_delete::KIND,
        &timestamp_without_tz::KIND,
        &oversized_varchar::KIND,
        &missing_check::KIND,
        &redundant_index::KIND,
        &duplicate_index::KIND,
        &unused_index::KIND,
        &low_cardinality_index::KIND,
        &wrong_column_order::KIND,
        &btree_on_jsonb::KIND,
        &dropped_used_index::KIND,
        &int_should_be_bigint::KIND,
        &json_as_text::KIND,
        &serial_not_identity::KIND,
        &missing_unique::KIND,
        &missing_updated_at_trigger::KIND,
        &jsonb_overuse::KIND,
        &polymorphic_reference::KIND,
        &blocking_index_build::KIND,
        &table_rewrite::KIND,
        &not_null_full_scan::KIND,
        &missing_query_index::KIND,
        &table_bloat::KIND,
        &invalid_index::KIND,
    ]
}

pub fn by_name(name: &str) -> Option<&'static MistakeKind> {
    all().iter().copied().find(|kind| kind.name == name)
}

/// Which code set to report findings under (README "Mistake kinds": the sources disagree about H002).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum CodeSet {
    #[default]
    Roadmap,
    Checkup,
}

pub fn code_for(kind: &str, codes: CodeSet) -> Option<&'static str> {
    let kind = by_name(kind)?;
    match codes {
        CodeSet::Roadmap => kind.roadmap_code,
        CodeSet::Checkup => kind.checkup_code,
    }
}
