//! Mapping a linter's `file:line` back to the object it names (README "Scoring your tool"):
//! engineer-sim wrote the migration files, so it knows which change each file holds and which
//! object each line defines. [`Mapper`] collects a report from violations in any format.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::rules::{self, Target};
use super::Report;
use crate::audit::Key;
use crate::ledger::ChangeRow;

/// Migration file name -> the change it holds.
pub type Files<'a> = BTreeMap<String, &'a ChangeRow>;

/// Builds a [`Report`] from violations, one at a time.
pub struct Mapper<'a> {
    files: &'a Files<'a>,
    report: Report,
    tools: BTreeSet<&'static str>,
    /// (tool, rule) -> (violations, why not mapped).
    unmapped_rules: BTreeMap<(String, String), (usize, &'static str)>,
}

impl<'a> Mapper<'a> {
    /// `tool`: the tool the report comes from when the format says it (squawk's and eugene's
    /// JSON do; SARIF names its driver); otherwise found from the rules seen.
    pub fn new(files: &'a Files<'a>, tool: Option<&'static str>) -> Mapper<'a> {
        let mut mapper = Mapper {
            files,
            report: Report::default(),
            tools: BTreeSet::new(),
            unmapped_rules: BTreeMap::new(),
        };
        if let Some(tool) = tool {
            mapper.tools.insert(tool);
        }
        mapper
    }

    /// One violation: the file as the tool wrote it, the line in it (0-based), the rule id.
    pub fn violation(&mut self, tool: Option<&str>, file: &str, line: usize, rule_id: &str) {
        let Some(rule) = rules::find(tool.or(self.tools.first().copied()), rule_id) else {
            let entry = self
                .unmapped_rules
                .entry((tool.unwrap_or("?").to_string(), rule_id.to_string()))
                .or_insert((0, "a rule engineer-sim does not know"));
            entry.0 += 1;
            return;
        };
        self.tools.insert(rule.tool);
        let Some(kind) = rule.kind else {
            let entry = self
                .unmapped_rules
                .entry((rule.tool.to_string(), rule.id.to_string()))
                .or_insert((0, rule.note));
            entry.0 += 1;
            return;
        };
        let name = Path::new(file)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let Some(change) = self.files.get(&name) else {
            self.report.unmapped.push(format!(
                "{file}:{} {rule_id}: not a migration engineer-sim wrote",
                line + 1
            ));
            return;
        };
        let sql_line = line.checked_sub(crate::migrations::HEADER_LINES);
        match sql_line.and_then(|l| object_at(&change.applied_sql, l, rule.target)) {
            Some(object) => {
                self.report.found.insert(Key::new(kind, object));
            }
            None => self.report.unmapped.push(format!(
                "{file}:{} {rule_id}: no object on that line",
                line + 1
            )),
        }
    }

    /// The report: coverage is what the tools seen check (their mapped rules), unmapped rules
    /// are listed once each with their count.
    pub fn finish(mut self) -> Report {
        self.report.covers_declared = !self.tools.is_empty();
        for tool in &self.tools {
            self.report.covers.extend(rules::kinds_of(tool));
        }
        if self.report.tool.is_none() && !self.tools.is_empty() {
            self.report.tool = Some(self.tools.iter().copied().collect::<Vec<_>>().join("+"));
        }
        for ((tool, rule), (count, why)) in self.unmapped_rules {
            self.report
                .unmapped
                .push(format!("rule {tool} {rule} x{count}: {why}"));
        }
        self.report
    }
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
            // A tool that reports the statement's first line (eugene) points at `ALTER TABLE t`
            // when the column is on a later line: read the statement as one line.
            let starts_alter = words(text)
                .iter()
                .take(2)
                .map(|w| w.to_ascii_lowercase())
                .eq(["alter", "table"]);
            let column = if starts_alter && !text.trim_end().ends_with(';') {
                let statement: Vec<&str> = lines[line..]
                    .iter()
                    .scan(false, |done, l| {
                        if *done {
                            return None;
                        }
                        *done = l.trim_end().ends_with(';');
                        Some(*l)
                    })
                    .collect();
                column_on(&statement.join(" "))?
            } else {
                column_on(text)?
            };
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

    #[test]
    fn a_statement_reported_by_its_first_line() {
        let sql = "ALTER TABLE time_reports\n    ALTER COLUMN user_id SET NOT NULL;\n";
        assert_eq!(
            object_at(sql, 0, Target::Column).as_deref(),
            Some("public.time_reports.user_id")
        );
    }

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
