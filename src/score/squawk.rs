//! Reading squawk's JSON reporter output (`squawk --reporter json state/migrations/*.sql`).
//!
//! squawk lints migration files, so its violations name a file, a line and a rule. engineer-sim
//! wrote those files, so it knows which change each file holds and which object each line
//! defines; [`RULES`] maps squawk's rules to mistake kinds and says what object the line names.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::Result;
use serde::Deserialize;

use super::Report;
use crate::error::bad_input;
use crate::ledger::ChangeRow;

/// What a rule's violation line names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// `schema.table.column`: the column defined or altered on the line.
    Column,
    /// `schema.index_name`: the index created on the line.
    Index,
    /// `schema.table`: the table the statement alters.
    Table,
}

/// squawk rule -> (kind, what the line names). Rules not listed are not mapped to a kind (most are
/// about migration hygiene: robust statements, timeouts); their violations are ignored.
pub const RULES: &[(&str, &str, Target)] = &[
    ("prefer-timestamptz", "timestamp_without_tz", Target::Column),
    (
        "prefer-timestamp-tz",
        "timestamp_without_tz",
        Target::Column,
    ),
    (
        "prefer-bigint-over-int",
        "int_should_be_bigint",
        Target::Column,
    ),
    (
        "prefer-bigint-over-smallint",
        "int_should_be_bigint",
        Target::Column,
    ),
    ("prefer-identity", "serial_not_identity", Target::Column),
    (
        "require-concurrent-index-creation",
        "blocking_index_build",
        Target::Index,
    ),
    ("changing-column-type", "table_rewrite", Target::Table),
    (
        "adding-not-nullable-field",
        "not_null_full_scan",
        Target::Column,
    ),
];

#[derive(Debug, Deserialize)]
struct Violation {
    file: String,
    /// 0-based.
    line: usize,
    rule_name: String,
}

/// Reads a squawk JSON report run over `state/migrations/`.
pub fn read(path: &Path, files: &BTreeMap<String, &ChangeRow>) -> Result<Report> {
    let text = std::fs::read_to_string(path)
        .map_err(|err| bad_input(format!("cannot read report {}: {err}", path.display())))?;
    let violations: Vec<Violation> = serde_json::from_str(&text).map_err(|err| {
        bad_input(format!(
            "{}:{}:{}: not a squawk JSON report: {err}",
            path.display(),
            err.line(),
            err.column()
        ))
        .with_hint("run `squawk --reporter json state/migrations/*.sql > report.json`")
    })?;
    let mut report = Report {
        covers: RULES
            .iter()
            .map(|(_, kind, _)| kind.to_string())
            .collect::<BTreeSet<_>>(),
        covers_declared: true,
        tool: Some("squawk".into()),
        ..Report::default()
    };
    for v in violations {
        let Some((_, kind, target)) = RULES.iter().find(|(rule, _, _)| *rule == v.rule_name) else {
            continue;
        };
        let name = Path::new(&v.file)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let Some(change) = files.get(&name) else {
            report.unmapped.push(format!(
                "{}:{} {}: not a migration engineer-sim wrote",
                v.file,
                v.line + 1,
                v.rule_name
            ));
            continue;
        };
        let sql_line = v.line.checked_sub(crate::migrations::HEADER_LINES);
        match sql_line.and_then(|l| object_at(&change.applied_sql, l, *target)) {
            Some(object) => {
                report.found.insert((kind.to_string(), object));
            }
            None => report.unmapped.push(format!(
                "{}:{} {}: no object on that line",
                v.file,
                v.line + 1,
                v.rule_name
            )),
        }
    }
    Ok(report)
}

/// The object that line `line` (0-based) of `sql` defines, for a rule of the given target.
pub fn object_at(sql: &str, line: usize, target: Target) -> Option<String> {
    let lines: Vec<&str> = sql.lines().collect();
    let text = lines.get(line)?.trim();
    match target {
        Target::Index => index_created(text),
        Target::Table => table_of_statement(&lines, line),
        Target::Column => {
            let table = table_of_statement(&lines, line)?;
            let column = column_on(text)?;
            Some(format!("{table}.{column}"))
        }
    }
}

/// `CREATE [UNIQUE] INDEX [CONCURRENTLY] [IF NOT EXISTS] name ON ...` -> `public.name`.
fn index_created(text: &str) -> Option<String> {
    let words = words(text);
    let start = words.iter().position(|w| w.eq_ignore_ascii_case("index"))?;
    let name = words[start + 1..].iter().find(|w| {
        !["concurrently", "if", "not", "exists"].contains(&w.to_ascii_lowercase().as_str())
    })?;
    Some(qualify(name))
}

/// The table of the CREATE TABLE / ALTER TABLE statement that line `line` belongs to.
fn table_of_statement(lines: &[&str], line: usize) -> Option<String> {
    for i in (0..=line).rev() {
        let words = words(lines[i]);
        if i < line && lines[i].trim_end().ends_with(';') {
            return None;
        }
        if let Some(pos) = words.iter().position(|w| w.eq_ignore_ascii_case("table")) {
            let verb = pos.checked_sub(1).map(|p| words[p].to_ascii_lowercase());
            if matches!(verb.as_deref(), Some("create") | Some("alter")) {
                let name = words[pos + 1..].iter().find(|w| {
                    !["if", "not", "exists", "only"].contains(&w.to_ascii_lowercase().as_str())
                })?;
                return Some(qualify(name));
            }
        }
    }
    None
}

/// The column a line defines or alters: after ADD [COLUMN] / ALTER [COLUMN], else the line's
/// first word (a column definition inside CREATE TABLE).
fn column_on(text: &str) -> Option<String> {
    const SKIP: [&str; 4] = ["column", "if", "not", "exists"];
    let words = words(text);
    let lower: Vec<String> = words.iter().map(|w| w.to_ascii_lowercase()).collect();
    let verb_at = (0..lower.len()).find(|&i| {
        (lower[i] == "add" || lower[i] == "alter")
            && lower.get(i + 1).map(String::as_str) != Some("table")
    });
    match verb_at {
        Some(i) => words[i + 1..]
            .iter()
            .find(|w| !SKIP.contains(&w.to_ascii_lowercase().as_str()))
            .map(|w| unquote(w)),
        None => words.first().map(|w| unquote(w)),
    }
}

fn words(text: &str) -> Vec<&str> {
    text.split(|c: char| c.is_whitespace() || c == '(' || c == ',')
        .filter(|w| !w.is_empty())
        .collect()
}

fn unquote(word: &str) -> String {
    word.trim_matches('"').to_string()
}

fn qualify(name: &str) -> String {
    let name = unquote(name.trim_end_matches(';'));
    if name.contains('.') {
        name
    } else {
        format!("public.{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SQL: &str = "CREATE TABLE time_reports (\n    id UUID PRIMARY KEY,\n    created_at TIMESTAMP\n);\nCREATE INDEX idx_tr_user ON time_reports(user_id);\nALTER TABLE issues ADD COLUMN time_spent_minutes INTEGER DEFAULT 0;\nALTER TABLE time_reports ALTER COLUMN created_at TYPE TIMESTAMP WITH TIME ZONE;\n";

    #[test]
    fn maps_lines_to_objects() {
        assert_eq!(
            object_at(SQL, 2, Target::Column).as_deref(),
            Some("public.time_reports.created_at")
        );
        assert_eq!(
            object_at(SQL, 4, Target::Index).as_deref(),
            Some("public.idx_tr_user")
        );
        assert_eq!(
            object_at(SQL, 5, Target::Column).as_deref(),
            Some("public.issues.time_spent_minutes")
        );
        assert_eq!(
            object_at(SQL, 6, Target::Column).as_deref(),
            Some("public.time_reports.created_at")
        );
        assert_eq!(
            object_at(SQL, 6, Target::Table).as_deref(),
            Some("public.time_reports")
        );
    }
}
