//! Reading squawk's JSON reporter output (`squawk --reporter json state/migrations/*.sql`).
//! Its violations name a file, a 0-based line and a rule; [`super::rules`] maps the rules and
//! [`super::lines`] the lines back to objects.

use std::path::Path;

use anyhow::Result;
use serde::Deserialize;

use super::lines::{Files, Mapper};
use super::{read_text, Report};
use crate::error::bad_input;

#[derive(Debug, Deserialize)]
struct Violation {
    file: String,
    /// 0-based.
    line: usize,
    rule_name: String,
}

/// Reads a squawk JSON report run over `state/migrations/`.
pub fn read(path: &Path, files: &Files) -> Result<Report> {
    let text = read_text(path)?;
    let violations: Vec<Violation> = serde_json::from_str(&text).map_err(|err| {
        bad_input(format!(
            "{}:{}:{}: not a squawk JSON report: {err}",
            path.display(),
            err.line(),
            err.column()
        ))
        .with_hint("run `squawk --reporter json state/migrations/*.sql > report.json`")
    })?;
    let mut mapper = Mapper::new(files, Some("squawk"));
    for v in violations {
        mapper.violation(Some("squawk"), &v.file, v.line, &v.rule_name);
    }
    Ok(mapper.finish())
}
