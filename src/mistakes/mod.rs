//! The catalog of mistake kinds (README "Mistake kinds").
//!
//! One file per kind, each holding how a persona slips into it (the text a slip point renders,
//! clean and slipped), how the audit finds it in the catalog, its codes and its tests. Adding a
//! kind is adding a file and one line in [`all`].
//!
//! A slip point in a template is a call of a function named after its kind, for example
//! `{{ nullable_fk(object="public.time_entries.issue_id") }}`. Every slip point names the object
//! it concerns, using the naming of README "What lands in `state/`": `schema.table.column` for a column,
//! `schema.table(col,...)` for a key, `schema.index_name` for an index.

use std::collections::HashMap;

use anyhow::{anyhow, Result};

pub use crate::audit::Snapshot;

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

/// A line that starts a statement run outside the change's transaction (`CREATE INDEX
/// CONCURRENTLY` cannot run inside one). Such steps come last; each holds one statement
/// (README "How it works": steps outside the transaction).
pub const OUTSIDE_TRANSACTION: &str = "-- engineer-sim: outside transaction";

/// How the presence of a finding of this kind is proven.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verification {
    /// A query on pg_catalog proves it; the audit runs it before and after every change.
    Catalog,
    /// The apply step observes it (statement kind, relfilenode before/after).
    Ledger,
    /// Needs a workload to prove; the journal records the declaration.
    Declared,
    /// Proven by the statistics of a database with data (the last workload, dead tuples);
    /// pending until they exist.
    Statistics,
}

impl Verification {
    pub fn as_str(self) -> &'static str {
        match self {
            Verification::Catalog => "catalog",
            Verification::Ledger => "ledger",
            Verification::Declared => "declared",
            Verification::Statistics => "statistics",
        }
    }
}

/// Arguments of a slip point call, as the template wrote them.
pub struct SlipArgs<'a> {
    pub kind: &'static str,
    pub args: &'a HashMap<String, tera::Value>,
}

impl SlipArgs<'_> {
    pub fn object(&self) -> Result<String> {
        self.string("object")
    }

    pub fn string(&self, name: &str) -> Result<String> {
        match self.args.get(name) {
            Some(tera::Value::String(s)) => Ok(s.clone()),
            Some(other) => Err(anyhow!(
                "slip point `{}`: argument `{name}` must be a string, got {other}",
                self.kind
            )),
            None => Err(anyhow!(
                "slip point `{}` needs the argument `{name}`",
                self.kind
            )),
        }
    }

    pub fn string_or(&self, name: &str, default: &str) -> Result<String> {
        match self.args.get(name) {
            None => Ok(default.to_string()),
            Some(_) => self.string(name),
        }
    }

    pub fn integer(&self, name: &str) -> Result<i64> {
        match self.args.get(name) {
            Some(tera::Value::Number(n)) if n.is_i64() => Ok(n.as_i64().unwrap_or_default()),
            Some(other) => Err(anyhow!(
                "slip point `{}`: argument `{name}` must be an integer, got {other}",
                self.kind
            )),
            None => Err(anyhow!(
                "slip point `{}` needs the argument `{name}`",
                self.kind
            )),
        }
    }
}

/// One kind of mistake: its identity, how a slip renders, and how the audit detects it.
pub trait MistakeKind: Sync {
    /// The kind's name, as used in persona weights, the roadmap and the journal.
    fn name(&self) -> &'static str;
    /// Code in the roadmap's findings table (H002, B001, ...), if it has one.
    fn roadmap_code(&self) -> Option<&'static str>;
    /// Code in the postgres_ai checkup report, if it has one.
    fn checkup_code(&self) -> Option<&'static str> {
        None
    }
    fn verification(&self) -> Verification;
    /// Whether the slip point is offered only on a database with data (its mistake can only be
    /// proven there). In empty mode it renders clean and is not offered, so empty mode's
    /// decisions and SQL stay what they were.
    fn needs_data(&self) -> bool {
        false
    }
    /// Whether the slip renders a step run outside the change's transaction: its finding is
    /// looked for after that step, not in the change's transaction.
    fn outside_transaction(&self) -> bool {
        false
    }
    /// The text the slip point emits: the careful version when `slipped` is false, the mistake
    /// when it is true.
    fn render(&self, args: &SlipArgs, slipped: bool) -> Result<String>;
    /// For `Verification::Catalog` kinds: a query returning one row per defect present, with a
    /// single text column `object`. It must ignore the `engineer_sim` schema and system schemas.
    fn detection_query(&self) -> Option<&'static str> {
        None
    }
    /// For `Verification::Ledger` kinds: the objects this change shows the mistake on, seen by
    /// comparing the catalog snapshots taken just before and just after the change's DDL.
    fn observe(&self, _before: &Snapshot, _after: &Snapshot) -> Vec<String> {
        Vec::new()
    }
    /// Whether an observation nobody declared is journaled as an incidental finding. False for
    /// kinds whose observation alone does not prove the mistake (a dropped index was "used" only
    /// if the roadmap or a slip says so).
    fn incidental_possible(&self) -> bool {
        true
    }
    /// For kinds the audit does not query: whether an open finding on `object` is gone after a
    /// change. By default a declared finding closes when its object no longer exists, and a
    /// migration finding (a fact of the history a linter reads) never closes.
    fn closed_after(&self, object: &str, after: &Snapshot) -> bool {
        self.verification() == Verification::Declared && !after.has_object(object)
    }
}

/// A vocabulary as a SQL text array literal, for detection queries built from `pub const` lists.
pub fn sql_text_array(words: &[&str]) -> String {
    let quoted: Vec<String> = words
        .iter()
        .map(|w| format!("'{}'", w.replace('\'', "''")))
        .collect();
    format!("ARRAY[{}]::text[]", quoted.join(", "))
}

/// Slip shape "the careful engineer writes `sql`, the slip leaves it out".
pub fn omitted_when_slipped(args: &SlipArgs, slipped: bool) -> Result<String> {
    args.object()?;
    let sql = args.string("sql")?;
    Ok(if slipped { String::new() } else { sql })
}

/// Slip shape "the careful engineer does not write it, the slip adds `sql`".
pub fn added_when_slipped(args: &SlipArgs, slipped: bool) -> Result<String> {
    args.object()?;
    let sql = args.string("sql")?;
    Ok(if slipped { sql } else { String::new() })
}

/// Slip shape "the careful engineer writes `sql`, the slip writes `slipped` instead".
pub fn swapped_when_slipped(args: &SlipArgs, slipped: bool) -> Result<String> {
    args.object()?;
    let clean = args.string("sql")?;
    let wrong = args.string("slipped")?;
    Ok(if slipped { wrong } else { clean })
}

/// Slip shape "a type written two ways": `clean` or `wrong`, both fixed by the kind.
pub fn typed(args: &SlipArgs, slipped: bool, clean: &str, wrong: &str) -> Result<String> {
    args.object()?;
    Ok(if slipped { wrong } else { clean }.to_string())
}

/// Every kind that templates can use as a slip point or the roadmap can script.
pub fn all() -> &'static [&'static dyn MistakeKind] {
    &[
        &missing_fk_index::MissingFkIndex,
        &nullable_fk::NullableFk,
        &missing_on_delete::MissingOnDelete,
        &timestamp_without_tz::TimestampWithoutTz,
        &oversized_varchar::OversizedVarchar,
        &missing_check::MissingCheck,
        &redundant_index::RedundantIndex,
        &duplicate_index::DuplicateIndex,
        &unused_index::UnusedIndex,
        &low_cardinality_index::LowCardinalityIndex,
        &wrong_column_order::WrongColumnOrder,
        &btree_on_jsonb::BtreeOnJsonb,
        &dropped_used_index::DroppedUsedIndex,
        &int_should_be_bigint::IntShouldBeBigint,
        &json_as_text::JsonAsText,
        &serial_not_identity::SerialNotIdentity,
        &missing_unique::MissingUnique,
        &missing_updated_at_trigger::MissingUpdatedAtTrigger,
        &jsonb_overuse::JsonbOveruse,
        &polymorphic_reference::PolymorphicReference,
        &blocking_index_build::BlockingIndexBuild,
        &table_rewrite::TableRewrite,
        &not_null_full_scan::NotNullFullScan,
        &missing_query_index::MissingQueryIndex,
        &table_bloat::TableBloat,
        &invalid_index::InvalidIndex,
    ]
}

pub fn by_name(name: &str) -> Option<&'static dyn MistakeKind> {
    all().iter().copied().find(|kind| kind.name() == name)
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
        CodeSet::Roadmap => kind.roadmap_code(),
        CodeSet::Checkup => kind.checkup_code(),
    }
}
