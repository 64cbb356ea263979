//! `check` for the data files: each parses, each step and query renders with every variable it
//! may use, row counts are numbers, and every table a file lists is classed. Touches no database.

use std::path::Path;

use chrono::NaiveDate;

use super::growth::{DataPlan, BASE};
use super::{Compiled, DataFile, Scope};
use crate::problem::Problem;
use crate::roadmap::Roadmap;

/// Every problem in the data files beside the templates of `roadmap`.
pub fn check(templates: &Path, roadmap: &Roadmap) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut files = vec![(BASE.to_string(), roadmap.base.clone())];
    files.extend(
        roadmap
            .ordered()
            .into_iter()
            .map(|c| (c.id.clone(), c.template.clone())),
    );
    let mut loaded = Vec::new();
    for (_, template) in &files {
        match DataFile::load_for(templates, template) {
            Ok(file) => loaded.push(file),
            Err(err) => {
                let path = templates.join(super::data_file_for(template));
                problems.push(Problem {
                    line: line_in_message(&format!("{err:#}")),
                    file: path,
                    message: format!("{err:#}"),
                    hint: "the format is in docs/data-files.md".into(),
                });
            }
        }
    }
    if !problems.is_empty() {
        return problems;
    }
    let Ok(plan) = DataPlan::load(templates, roadmap) else {
        return problems;
    };
    let date = NaiveDate::from_ymd_opt(2026, 1, 5).unwrap_or_default();
    let scope = Scope {
        scale: 0.01,
        seed: 42,
        day: 1,
        date,
        start_date: date,
        counts: plan.names.keys().map(|k| (k.clone(), 1000)).collect(),
    };
    for file in plan.files.values() {
        check_file(file, &scope, &mut problems);
    }
    problems
}

fn check_file(file: &DataFile, scope: &Scope, problems: &mut Vec<Problem>) {
    let text = std::fs::read_to_string(&file.path).unwrap_or_default();
    // The first line holding `needle` under the top-level key `section` (a daily step may have
    // the name of a backfill step).
    let lines: Vec<&str> = text.lines().collect();
    let line_of = |section: &str, needle: &str| -> usize {
        let header = format!("{section}:");
        let start = lines
            .iter()
            .position(|l| l.trim_end() == header)
            .unwrap_or(0);
        lines[start..]
            .iter()
            .position(|l| l.contains(needle))
            .map_or(1, |n| start + n + 1)
    };
    let mut add = |section: &str, needle: &str, message: String, hint: &str| {
        problems.push(Problem {
            file: file.path.clone(),
            line: line_of(section, needle),
            message,
            hint: hint.into(),
        })
    };
    for (phase, steps) in [("backfill", &file.backfill), ("daily", &file.daily)] {
        for step in steps {
            let needle = format!("name: {}", step.name);
            if !(step.rows.is_finite() && step.rows >= 0.0 && step.rows < 1e12) {
                let message = format!(
                    "{phase} step `{}`: rows must be a number of rows at scale 1, got {}",
                    step.name, step.rows
                );
                add(
                    phase,
                    &needle,
                    message,
                    "give `rows` as a count, e.g. 500000",
                );
            }
            let mut ctx = scope.context();
            for var in ["lo", "first"] {
                ctx.insert(var, &1);
            }
            for var in ["hi", "last", "rows"] {
                ctx.insert(var, &10);
            }
            let name = format!("{phase} step `{}`", step.name);
            if let Err(err) =
                Compiled::new(&name, &step.sql, &file.macros).and_then(|c| c.render(&name, &ctx))
            {
                add(
                    phase,
                    &needle,
                    message_of(&err),
                    "variables, helpers and macros are in docs/data-files.md",
                );
            }
        }
    }
    for query in &file.queries {
        let needle = format!("name: {}", query.name);
        let name = format!("query `{}`", query.name);
        match Compiled::new(&name, &query.sql, &file.macros)
            .and_then(|c| c.render(&name, &scope.context()))
        {
            Err(err) => add(
                "queries",
                &needle,
                message_of(&err),
                "variables and macros are in docs/data-files.md",
            ),
            Ok(sql) => {
                let statements = sql
                    .lines()
                    .filter(|l| {
                        !l.trim_start().starts_with('\\') && !l.trim_start().starts_with("--")
                    })
                    .collect::<Vec<_>>()
                    .join("\n");
                if !statements.trim_end().ends_with(';') {
                    let message = format!(
                        "query `{}` must end its SQL statement with `;` (pgbench script)",
                        query.name
                    );
                    add(
                        "queries",
                        &needle,
                        message,
                        "end the statement with a semicolon",
                    );
                }
            }
        }
    }
}

/// An error's message without the hint it may carry: the problem gives its own.
fn message_of(err: &anyhow::Error) -> String {
    match err.downcast_ref::<crate::error::UserError>() {
        Some(user) => user.message.clone(),
        None => format!("{err:#}"),
    }
}

/// serde_yaml places errors as `path:line:column`; the line, or 1.
fn line_in_message(message: &str) -> usize {
    message
        .split(':')
        .skip(1)
        .find_map(|part| part.trim().parse().ok())
        .unwrap_or(1)
}
