//! Judgement calls (README "Scoring your tool"): findings where reasonable tools disagree, so a
//! score shows them apart and counts them only with `--strict`, and the expected findings label
//! them.
//!
//! - `sort_order_duplicate`: a `duplicate_index` that differs from the index it duplicates only
//!   in ASC/DESC or NULLS order, such as `(x_id, date DESC)` beside `UNIQUE (x_id, date)`. A btree
//!   scans both ways, so engineer-sim calls it a duplicate; tools that compare definitions do not.
//! - `unbounded_text`: an `oversized_varchar` on a TEXT (or unbounded varchar) column with a
//!   short-value name. Type linters flag `varchar(n)` and recommend TEXT: the opposite.
//!
//! Both are read from the SQL the ledger holds (the last statement that defined the object), so
//! the label is the same wherever the journal is rebuilt, with or without a database.

use crate::ledger::ChangeRow;

pub const SORT_ORDER_DUPLICATE: &str = "sort_order_duplicate";
pub const UNBOUNDED_TEXT: &str = "unbounded_text";

/// What each label means, for the score's legend.
pub fn meaning(label: &str) -> &'static str {
    match label {
        SORT_ORDER_DUPLICATE => {
            "differs from the index it duplicates only in ASC/DESC order: a duplicate for some tools, not for others"
        }
        UNBOUNDED_TEXT => {
            "a TEXT column with a short-value name: type linters flag varchar(n) and recommend TEXT"
        }
        _ => "",
    }
}

/// The judgement label of a finding, if it is one where tools disagree.
pub fn of(kind: &str, object: &str, history: &[ChangeRow]) -> Option<&'static str> {
    let statements = || {
        history
            .iter()
            .flat_map(|c| c.applied_sql.split(';'))
            .map(|s| {
                s.split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
                    .to_lowercase()
            })
    };
    match kind {
        "duplicate_index" => {
            let name = object.rsplit('.').next()?.to_lowercase();
            let columns = statements().rev().find_map(|s| index_columns(&s, &name))?;
            let ordered = columns
                .split(|c: char| !c.is_alphanumeric() && c != '_')
                .any(|w| matches!(w, "asc" | "desc" | "nulls"));
            ordered.then_some(SORT_ORDER_DUPLICATE)
        }
        "oversized_varchar" => {
            let (table, column) = object.rsplit_once('.')?;
            let table = table.to_lowercase();
            let column = column.to_lowercase();
            let ty = statements()
                .rev()
                .find_map(|s| column_type(&s, &table, &column))?;
            let unbounded =
                ty.starts_with("text") || (ty.starts_with("varchar") && !ty.contains('('));
            unbounded.then_some(UNBOUNDED_TEXT)
        }
        _ => None,
    }
}

/// `create [unique] index [concurrently] [if not exists] <name> on <t> [using m] (<cols>)...`
/// -> the column list text, when the statement creates `name`.
fn index_columns(statement: &str, name: &str) -> Option<String> {
    let at = statement.find("index ")?;
    if !statement[..at].trim_start().starts_with("create") {
        return None;
    }
    let rest = &statement[at + "index ".len()..];
    let words: Vec<&str> = rest.split(' ').collect();
    let created = words
        .iter()
        .find(|w| !matches!(**w, "concurrently" | "if" | "not" | "exists"))?;
    if created.trim_matches('"').rsplit('.').next() != Some(name) {
        return None;
    }
    let open = rest.find('(')?;
    let close = rest.rfind(')')?;
    rest.get(open + 1..close).map(str::to_string)
}

/// The type a CREATE TABLE or ALTER TABLE statement gives `table`'s `column`, if it does.
fn column_type(statement: &str, table: &str, column: &str) -> Option<String> {
    let s = statement.trim();
    let bare = table.strip_prefix("public.").unwrap_or(table);
    let named = |w: &str| {
        let w = w.trim_matches('"');
        w == table || w == bare
    };
    let words: Vec<&str> = s.split(' ').collect();
    let skip = |w: &&&str| !matches!(**w, "if" | "not" | "exists" | "only");
    if s.starts_with("create table") {
        let t = words[2..].iter().find(skip)?;
        if !named(t.split('(').next().unwrap_or(t)) {
            return None;
        }
        let body = s.get(s.find('(')? + 1..s.rfind(')')?)?;
        return top_level(body).into_iter().find_map(|item| {
            let mut w = item.split(' ');
            (w.next()?.trim_matches('"') == column).then(|| w.next().unwrap_or("").to_string())
        });
    }
    if s.starts_with("alter table") {
        let t = words[2..].iter().find(skip)?;
        if !named(t) {
            return None;
        }
        let actions = &s[s.find(t)? + t.len()..];
        return top_level(actions).into_iter().rev().find_map(|action| {
            let w: Vec<&str> = action.split(' ').filter(|w| !w.is_empty()).collect();
            let w: Vec<&str> = w
                .into_iter()
                .filter(|w| !matches!(*w, "column" | "if" | "not" | "exists"))
                .collect();
            match w.as_slice() {
                ["add", c, ty, ..] if c.trim_matches('"') == column => Some(ty.to_string()),
                ["alter", c, rest @ ..] if c.trim_matches('"') == column => {
                    let at = rest.iter().position(|w| *w == "type")?;
                    rest.get(at + 1).map(|t| t.to_string())
                }
                _ => None,
            }
        });
    }
    None
}

/// Splits SQL on commas outside parentheses, trimmed: a column list, a CREATE TABLE body.
pub fn top_level(text: &str) -> Vec<String> {
    let (mut depth, mut out, mut current) = (0i32, Vec::new(), String::new());
    for c in text.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(current.trim().to_string());
                current.clear();
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    out.push(current.trim().to_string());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(sql: &str) -> ChangeRow {
        ChangeRow {
            change_id: "w09-mon-x".into(),
            seq: 1,
            week: 9,
            day: "mon".into(),
            sim_day: 1,
            sim_date: chrono::NaiveDate::from_ymd_opt(2026, 3, 2).unwrap_or_default(),
            author: "alex".into(),
            title: "X".into(),
            sql_sha256: String::new(),
            applied_sql: sql.into(),
            clean_sql: String::new(),
            slips: vec![],
        }
    }

    #[test]
    fn labels_what_tools_disagree_on() {
        let history = [change(
            "CREATE TABLE m (\n  id UUID PRIMARY KEY,\n  p UUID,\n  date DATE,\n  kind TEXT NOT NULL,\n  code VARCHAR(255),\n  CONSTRAINT u UNIQUE (p, date)\n);\nCREATE INDEX idx_m_p_date ON m(p, date DESC);\nCREATE INDEX idx_m_p ON m(p);\nALTER TABLE m ADD COLUMN status TEXT, ALTER COLUMN code TYPE TEXT;\n",
        )];
        let of = |k, o| of(k, o, &history);
        assert_eq!(
            of("duplicate_index", "public.idx_m_p_date"),
            Some(SORT_ORDER_DUPLICATE)
        );
        assert_eq!(of("duplicate_index", "public.idx_m_p"), None);
        assert_eq!(
            of("oversized_varchar", "public.m.kind"),
            Some(UNBOUNDED_TEXT)
        );
        assert_eq!(
            of("oversized_varchar", "public.m.status"),
            Some(UNBOUNDED_TEXT)
        );
        assert_eq!(
            of("oversized_varchar", "public.m.code"),
            Some(UNBOUNDED_TEXT)
        );
        assert_eq!(of("oversized_varchar", "public.m.id"), None);
        assert_eq!(of("nullable_fk", "public.m.p"), None);
        // Odd SQL never panics.
        let odd = [change(
            "CREATE TABLE m) (;ALTER TABLE;CREATE INDEX;create index x on m)(",
        )];
        assert_eq!(super::of("oversized_varchar", "public.m.kind", &odd), None);
        assert_eq!(super::of("duplicate_index", "public.x", &odd), None);
    }
}
