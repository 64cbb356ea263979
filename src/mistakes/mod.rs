//! The catalog of mistake kinds (DESIGN section 5).
//!
//! One file per kind, each holding how a persona slips into it (the text a slip point renders,
//! clean and slipped), how the audit finds it in the catalog, its codes and its tests. Adding a
//! kind is adding a file and one line in [`all`].
//!
//! A slip point in a template is a call of a function named after its kind, for example
//! `{{ nullable_fk(object="public.time_entries.issue_id") }}`. Every slip point names the object
//! it concerns, using the naming of DESIGN section 4: `schema.table.column` for a column,
//! `schema.table(col,...)` for a key, `schema.index_name` for an index.

use std::collections::HashMap;

use anyhow::{anyhow, Result};

pub mod missing_check;
pub mod missing_fk_index;
pub mod missing_on_delete;
pub mod nullable_fk;
pub mod oversized_varchar;
pub mod redundant_index;
pub mod timestamp_without_tz;

#[cfg(test)]
pub mod testing;

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
    /// The text the slip point emits: the careful version when `slipped` is false, the mistake
    /// when it is true.
    fn render(&self, args: &SlipArgs, slipped: bool) -> Result<String>;
    /// For `Verification::Catalog` kinds: a query returning one row per defect present, with a
    /// single text column `object`. It must ignore the `engineer_sim` schema and system schemas.
    fn detection_query(&self) -> Option<&'static str> {
        None
    }
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
    ]
}

pub fn by_name(name: &str) -> Option<&'static dyn MistakeKind> {
    all().iter().copied().find(|kind| kind.name() == name)
}

/// Which code set to report findings under (DESIGN section 5: the sources disagree about H002).
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
