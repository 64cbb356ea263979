//! The living database: the data each change brings (backfill), the writes of every sim day
//! (daily) and the app's reads (queries), read from the data file beside each DDL template
//! (`<stem>.data.yaml`; format in docs/data-files.md and README "Data files").
//!
//! This module holds the model and the rendering; [`run`] executes steps over several
//! connections, [`growth`] decides what runs when, [`workload`] drives pgbench, [`stats`] reads
//! the statistics the workload is judged against, [`measure`] what a blocking change cost and
//! [`waits`] the app queries that waited on it.

pub mod check;
mod chunks;
pub mod defer;
pub mod growth;
pub mod judge;
pub mod measure;
mod queue;
pub mod run;
pub mod stats;
pub mod waits;
pub mod workload;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Result;
use chrono::NaiveDate;
use serde::Deserialize;

use crate::error::bad_input;

/// The playground: small enough to build with the whole roadmap in about two minutes, large
/// enough that the tables that grow with use pass the size gates of common checkers.
pub const DEFAULT_SCALE: f64 = 0.01;

/// How big a table gets with use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SizeClass {
    /// History, log, run and per-issue tables: they grow every day.
    Grows,
    /// Settings and catalogues: realistic and small.
    Config,
}

/// One data file: what a change stores, writes each day and reads.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataFile {
    #[serde(default)]
    pub tables: BTreeMap<String, SizeClass>,
    #[serde(default)]
    pub backfill: Vec<Step>,
    #[serde(default)]
    pub daily: Vec<Step>,
    #[serde(default)]
    pub queries: Vec<Query>,
    /// Tera macros every step and query of the file may import (`{% import "macros" as m %}`):
    /// an expression several steps share is written once.
    #[serde(default)]
    pub macros: String,
    /// Where it was read from, for messages.
    #[serde(skip)]
    pub path: PathBuf,
}

/// A set of rows written by one SQL template over a range of `n`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// The counter `n` runs on; an insert names it after its table.
    pub name: String,
    /// Rows at scale 1.
    pub rows: f64,
    #[serde(default = "one")]
    pub min: u64,
    pub sql: String,
}

fn one() -> u64 {
    1
}

/// One statement of the app, as a pgbench script.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Query {
    pub name: String,
    #[serde(default = "one")]
    pub weight: u64,
    pub sql: String,
}

impl Step {
    /// The number of rows at `scale`: rounded, at least `min`.
    pub fn scaled_rows(&self, scale: f64) -> u64 {
        let scaled = (self.rows * scale).round();
        let scaled = if scaled.is_finite() && scaled > 0.0 {
            scaled as u64
        } else {
            0
        };
        scaled.max(self.min)
    }
}

/// Where the data file of a DDL template lives: `x.sql.tera` -> `x.data.yaml`, `x.sql` ->
/// `x.data.yaml`, relative to the templates directory.
pub fn data_file_for(template: &str) -> String {
    let stem = template
        .strip_suffix(".sql.tera")
        .or_else(|| template.strip_suffix(".sql"))
        .unwrap_or(template);
    format!("{stem}.data.yaml")
}

impl DataFile {
    /// The data file beside `template`, or an empty one when there is none.
    pub fn load_for(templates_dir: &Path, template: &str) -> Result<DataFile> {
        let path = templates_dir.join(data_file_for(template));
        if !path.is_file() {
            return Ok(DataFile {
                path,
                ..DataFile::default()
            });
        }
        DataFile::load(&path)
    }

    pub fn load(path: &Path) -> Result<DataFile> {
        let text = std::fs::read_to_string(path)
            .map_err(|err| bad_input(format!("cannot read {}: {err}", path.display())))?;
        let mut file: DataFile = serde_yaml::from_str(&text).map_err(|err| {
            let place = match err.location() {
                Some(loc) => format!("{}:{}:{}", path.display(), loc.line(), loc.column()),
                None => path.display().to_string(),
            };
            bad_input(format!("{place}: invalid data file: {err}"))
                .with_hint("the format is in docs/data-files.md")
        })?;
        file.path = path.to_path_buf();
        Ok(file)
    }

    pub fn is_empty(&self) -> bool {
        self.backfill.is_empty() && self.daily.is_empty() && self.queries.is_empty()
    }
}

/// What every step and query template can use besides its range of `n`.
#[derive(Debug, Clone)]
pub struct Scope {
    pub scale: f64,
    pub seed: u64,
    /// Sim day (0 for the base seed).
    pub day: u32,
    pub date: NaiveDate,
    pub start_date: NaiveDate,
    pub counts: BTreeMap<String, i64>,
}

impl Scope {
    pub fn context(&self) -> tera::Context {
        let mut ctx = tera::Context::new();
        ctx.insert("scale", &self.scale);
        ctx.insert("seed", &self.seed);
        ctx.insert("day", &self.day);
        ctx.insert("date", &self.date.to_string());
        ctx.insert("start_date", &self.start_date.to_string());
        ctx.insert("counts", &self.counts);
        ctx
    }
}

/// A template compiled once and rendered many times (one per chunk).
pub struct Compiled {
    tera: tera::Tera,
}

/// The name under which a data file's macros are imported.
const MACROS: &str = "macros";

impl Compiled {
    /// `source` as template `name`, with the data file's `macros` to import.
    pub fn new(name: &str, source: &str, macros: &str) -> Result<Compiled> {
        let mut tera = tera::Tera::default();
        tera.autoescape_on(vec![]);
        let mut templates = vec![(name, source)];
        if !macros.is_empty() {
            templates.insert(0, (MACROS, macros));
        }
        tera.add_raw_templates(templates).map_err(|err| {
            bad_input(format!("{name}: {}", crate::render::tera_error_chain(&err)))
        })?;
        Ok(Compiled { tera })
    }

    pub fn render(&self, name: &str, ctx: &tera::Context) -> Result<String> {
        self.tera.render(name, ctx).map_err(|err| {
            bad_input(format!(
                "{name}: {}",
                crate::render::tera_error_chain(&err)
            ))
            .with_hint("variables are listed in docs/data-files.md; counts.<name> needs a counter some step advanced")
            .into()
        })
    }
}
