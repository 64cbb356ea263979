//! Reading eugene's JSON (`eugene lint --format json --accept-failures state/migrations/`): one
//! JSON document per file, one after the other, each statement with its 1-based `line_number`
//! and the hints it triggered (README "Scoring your tool").

use std::path::Path;

use anyhow::Result;
use serde::Deserialize;

use super::lines::{Files, Mapper};
use super::{read_text, Report};
use crate::error::bad_input;

#[derive(Debug, Deserialize)]
struct FileReport {
    name: String,
    statements: Vec<Statement>,
}

#[derive(Debug, Deserialize)]
struct Statement {
    /// 1-based: the statement's first line.
    line_number: usize,
    triggered_rules: Vec<Hint>,
}

#[derive(Debug, Deserialize)]
struct Hint {
    id: String,
}

pub fn read(path: &Path, files: &Files) -> Result<Report> {
    let text = read_text(path)?;
    let mut mapper = Mapper::new(files, Some("eugene"));
    for doc in serde_json::Deserializer::from_str(&text).into_iter::<FileReport>() {
        let doc = doc.map_err(|err| {
            bad_input(format!(
                "{}:{}:{}: not an eugene JSON report: {err}",
                path.display(),
                err.line(),
                err.column()
            ))
            .with_hint(
                "run `eugene lint --format json --accept-failures state/migrations/ > report.json`",
            )
        })?;
        for statement in doc.statements {
            for hint in statement.triggered_rules {
                let line = statement.line_number.saturating_sub(1);
                mapper.violation(Some("eugene"), &doc.name, line, &hint.id);
            }
        }
    }
    Ok(mapper.finish())
}
