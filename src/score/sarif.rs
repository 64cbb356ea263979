//! Reading SARIF 2.1.0 (the static-analysis interchange format many linters and CI systems
//! use): each result's `ruleId` and its first location's file and `startLine` (1-based). The
//! driver's name says which tool's rules apply (README "Scoring your tool").

use std::path::Path;

use anyhow::Result;
use serde_json::Value;

use super::lines::{Files, Mapper};
use super::{read_text, rules, Report};
use crate::error::bad_input;

pub fn read(path: &Path, files: &Files) -> Result<Report> {
    let text = read_text(path)?;
    let doc: Value = serde_json::from_str(&text).map_err(|err| {
        bad_input(format!(
            "{}:{}:{}: not a SARIF report: {err}",
            path.display(),
            err.line(),
            err.column()
        ))
    })?;
    let Some(runs) = doc.get("runs").and_then(Value::as_array) else {
        return Err(bad_input(format!("{}: not a SARIF report: no `runs` list", path.display()))
            .with_hint("SARIF 2.1.0: {\"version\": \"2.1.0\", \"runs\": [{\"tool\": ..., \"results\": [...]}]}")
            .into());
    };
    let driver = |run: &Value| {
        run.pointer("/tool/driver/name")
            .and_then(Value::as_str)
            .and_then(rules::tool_named)
    };
    let mut mapper = Mapper::new(files, runs.iter().find_map(driver));
    let mut skipped = Vec::new();
    for (r, run) in runs.iter().enumerate() {
        let tool = driver(run);
        let results = run.get("results").and_then(Value::as_array);
        for (i, result) in results.into_iter().flatten().enumerate() {
            let rule = result
                .get("ruleId")
                .or_else(|| result.pointer("/rule/id"))
                .and_then(Value::as_str);
            let location = result.pointer("/locations/0/physicalLocation");
            let file = location
                .and_then(|l| l.pointer("/artifactLocation/uri"))
                .and_then(Value::as_str);
            let line = location
                .and_then(|l| l.pointer("/region/startLine"))
                .and_then(Value::as_u64)
                .and_then(|n| usize::try_from(n).ok())
                .and_then(|n| n.checked_sub(1));
            match (rule, file, line) {
                (Some(rule), Some(file), Some(line)) => {
                    let file = file.strip_prefix("file://").unwrap_or(file);
                    mapper.violation(tool, file, line, rule);
                }
                _ => skipped.push(format!(
                    "{} run {} result {}: no ruleId, file or startLine",
                    path.display(),
                    r + 1,
                    i + 1
                )),
            }
        }
    }
    let mut report = mapper.finish();
    report.unmapped.extend(skipped);
    Ok(report)
}
