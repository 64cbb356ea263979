//! Naming an object the way tools do (README "Scoring your tool"): a constraint name, an index
//! name, a `table(cols)` list (names or column numbers), a column, or a pair/group of these. Each
//! resolves to the candidates in the journal's naming (`schema.table(col,...)`,
//! `schema.index_name`, `schema.table.column`); the reader keeps the candidate the journal names.
//!
//! Constraint names are resolved first from the ledger's own objects (PostgreSQL's default name of
//! a foreign key on `t(a, b)` is `t_a_b_fkey`), then from the catalog (`pg_constraint`), which also
//! knows constraints named by hand. Anything in the `engineer_sim` schema is the ledger's own and is
//! ignored.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Result;
use sqlx::PgConnection;

use crate::audit::Key;
use crate::pg::USER_SCHEMAS;

pub const LEDGER_SCHEMA: &str = "engineer_sim";

/// What the resolver knows about names: constraints and column numbers.
#[derive(Debug, Default)]
pub struct Resolver {
    /// `schema.constraint_name` -> the objects it may stand for (names are unique per table only).
    constraints: BTreeMap<String, BTreeSet<String>>,
    /// `schema.table` -> attnum -> column name.
    columns: BTreeMap<String, BTreeMap<i16, String>>,
}

/// One object as a tool wrote it, resolved.
#[derive(Debug, PartialEq)]
pub enum Resolved {
    /// The names it may stand for in the journal's naming, the most likely first.
    Candidates(Vec<String>),
    /// In the `engineer_sim` schema: the ledger's own, not scored.
    Ledger,
}

impl Resolver {
    /// Default foreign-key names of the ledger's `table(cols)` objects.
    pub fn from_truth(truth: &BTreeSet<Key>) -> Resolver {
        let mut resolver = Resolver::default();
        for Key { object, .. } in truth {
            if let Some((table, cols)) = split_key(object) {
                let (schema, name) = table.split_once('.').unwrap_or(("public", table));
                let default = format!("{schema}.{name}_{}_fkey", cols.join("_"));
                resolver
                    .constraints
                    .entry(default)
                    .or_default()
                    .insert(object.clone());
            }
        }
        resolver
    }

    /// Adds the catalog's constraints and column numbers (user schemas only).
    pub async fn add_catalog(&mut self, conn: &mut PgConnection) -> Result<()> {
        let rows: Vec<(String, String, String, Vec<String>)> = sqlx::query_as(&format!(
            r#"
SELECT n.nspname::text, co.conname::text, c.relname::text,
       array_agg(a.attname::text ORDER BY k.ord)
FROM pg_constraint co
JOIN pg_class c ON c.oid = co.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
CROSS JOIN LATERAL unnest(co.conkey) WITH ORDINALITY AS k(attnum, ord)
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
WHERE co.contype IN ('f', 'u', 'p', 'c', 'x')
  AND {USER_SCHEMAS}
GROUP BY 1, 2, 3
"#
        ))
        .fetch_all(&mut *conn)
        .await?;
        let mut from_catalog: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (schema, name, table, cols) in rows {
            from_catalog
                .entry(format!("{schema}.{name}"))
                .or_default()
                .insert(format!("{schema}.{table}({})", cols.join(",")));
        }
        // What the ledger's own objects say comes first.
        for (name, objects) in from_catalog {
            self.constraints.entry(name).or_insert(objects);
        }
        let rows: Vec<(String, String, i16, String)> = sqlx::query_as(&format!(
            r#"
SELECT n.nspname::text, c.relname::text, a.attnum, a.attname::text
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p')
  AND {USER_SCHEMAS}
"#
        ))
        .fetch_all(&mut *conn)
        .await?;
        for (schema, table, attnum, name) in rows {
            self.columns
                .entry(format!("{schema}.{table}"))
                .or_default()
                .insert(attnum, name);
        }
        Ok(())
    }

    /// Resolves one member (not a group: see [`members`]).
    pub fn resolve(&self, raw: &str) -> Resolved {
        let text = raw.trim();
        if let Some(open) = text.find('(') {
            let table = qualify(&text[..open]);
            if is_ledger(&table) {
                return Resolved::Ledger;
            }
            let inner = text[open + 1..].trim_end().trim_end_matches(')');
            let mut cols: Vec<String> = crate::journal::judgement::top_level(inner)
                .iter()
                .map(|c| unquote(c))
                .collect();
            if cols
                .iter()
                .all(|c| !c.is_empty() && c.bytes().all(|b| b.is_ascii_digit()))
            {
                if let Some(names) = self.columns.get(&table) {
                    let by_number: Option<Vec<String>> = cols
                        .iter()
                        .map(|c| c.parse::<i16>().ok().and_then(|n| names.get(&n).cloned()))
                        .collect();
                    cols = by_number.unwrap_or(cols);
                }
            }
            return Resolved::Candidates(with_column_form(format!("{table}({})", cols.join(","))));
        }
        let parts: Vec<String> = text.split('.').map(unquote).collect();
        let (schema, rest) = match parts.len() {
            1 => ("public".to_string(), parts[0..].to_vec()),
            _ => (parts[0].clone(), parts[1..].to_vec()),
        };
        if schema == LEDGER_SCHEMA {
            return Resolved::Ledger;
        }
        // `schema.name`: a constraint, else an index or a table. `schema.table.name`: a
        // constraint of that table, else a column.
        let constraint = |name: &str, table: Option<&str>| -> Vec<String> {
            let Some(objects) = self.constraints.get(&format!("{schema}.{name}")) else {
                return Vec::new();
            };
            // The name as written comes first: a false alarm is shown the way the tool said it.
            // A unique or primary key constraint is also an index of that name.
            let mut out = vec![format!("{schema}.{name}")];
            for object in objects {
                let on_table = table.is_none_or(|t| object.starts_with(&format!("{schema}.{t}(")));
                if on_table {
                    out.extend(with_column_form(object.clone()));
                }
            }
            if out.len() == 1 {
                out.clear();
            }
            out
        };
        match rest.as_slice() {
            [name] => {
                let mut found = constraint(name, None);
                if found.is_empty() {
                    found.push(format!("{schema}.{name}"));
                }
                Resolved::Candidates(found)
            }
            [table, name] => {
                let mut found = constraint(name, Some(table));
                if found.is_empty() {
                    found.push(format!("{schema}.{table}.{name}"));
                }
                Resolved::Candidates(found)
            }
            _ => Resolved::Candidates(vec![text.to_string()]),
        }
    }
}

/// `schema.t(c)` also stands for the column `schema.t.c` (a nullable foreign key is named by its
/// column in the journal, by its constraint in many tools).
fn with_column_form(key: String) -> Vec<String> {
    let mut out = vec![key.clone()];
    if let Some((table, cols)) = split_key(&key) {
        if let [col] = cols.as_slice() {
            out.push(format!("{table}.{col}"));
        }
    }
    out
}

/// `schema.t(a,b)` -> (`schema.t`, [a, b]).
fn split_key(object: &str) -> Option<(&str, Vec<&str>)> {
    let open = object.find('(')?;
    let inner = object[open + 1..].strip_suffix(')')?;
    Some((&object[..open], inner.split(',').collect()))
}

/// The members of a group written as one string: `a, b` (commas inside parentheses belong to a
/// column list).
pub fn members(text: &str) -> Vec<String> {
    crate::journal::judgement::top_level(text)
        .into_iter()
        .filter(|m| !m.is_empty())
        .collect()
}

fn qualify(table: &str) -> String {
    let parts: Vec<String> = table.trim().split('.').map(unquote).collect();
    match parts.as_slice() {
        [name] => format!("public.{name}"),
        _ => parts.join("."),
    }
}

fn unquote(word: &str) -> String {
    word.trim().trim_matches('"').replace(' ', "")
}

fn is_ledger(qualified: &str) -> bool {
    qualified.starts_with(&format!("{LEDGER_SCHEMA}."))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn truth() -> BTreeSet<Key> {
        [Key::new(
            "missing_on_delete",
            "public.time_reports(user_id)",
        )]
        .into()
    }

    #[test]
    fn names_resolve_to_the_journal_naming() {
        let r = Resolver::from_truth(&truth());
        let c = |s: &str| r.resolve(s);
        assert_eq!(
            c("time_reports_user_id_fkey"),
            Resolved::Candidates(vec![
                "public.time_reports_user_id_fkey".into(),
                "public.time_reports(user_id)".into(),
                "public.time_reports.user_id".into(),
            ])
        );
        assert_eq!(
            c("time_reports (user_id)"),
            Resolved::Candidates(vec![
                "public.time_reports(user_id)".into(),
                "public.time_reports.user_id".into()
            ])
        );
        assert_eq!(
            c("public.t(a, \"b\")"),
            Resolved::Candidates(vec!["public.t(a,b)".into()])
        );
        assert_eq!(
            c("idx_x"),
            Resolved::Candidates(vec!["public.idx_x".into()])
        );
        for odd in ["(", ")", "a(", "()", "...", "a.b.c.d", "\"\"", "t(1,x)", ""] {
            let _ = c(odd);
        }
        assert_eq!(c("engineer_sim.findings_opened_by"), Resolved::Ledger);
        assert_eq!(c("engineer_sim.findings(opened_by)"), Resolved::Ledger);
        assert_eq!(
            members("public.idx_a, public.t(a, b)"),
            vec!["public.idx_a".to_string(), "public.t(a, b)".to_string()]
        );
    }
}
