//! Catalog detection queries: the shared scans of columns, indexes and foreign keys a kind
//! gives a condition to, and the placeholders every query may use.

use crate::words::Words;

/// A catalog detection query, returning one row per defect present with a single text column
/// `object`, named the README way ("What lands in `state/`"). Every query keeps to the user's
/// schemas. In its text, `{user_schemas}` stands for [`crate::pg::USER_SCHEMAS`] (on a
/// `pg_namespace` aliased `n`), `{list}` for the word list `list` ([`Words`]) as a SQL text array,
/// and `{named:x}` for "the column `a` is named by the lists `x_names` (the whole name) or
/// `x_suffixes` (its ending)".
pub enum Query {
    /// The live columns of user tables (`schema.table.column`) for which this condition holds,
    /// on `a` (the column's pg_attribute row), `c` (its table's pg_class row) and `n` (its
    /// schema). A partition's columns are its partitioned table's and are reported there, once.
    Columns(&'static str),
    /// The indexes of user tables (`schema.index`) for which this condition holds, on `i` (the
    /// pg_index row), `ic` (the index's pg_class row), `t` (the table's) and `am` (its access
    /// method). A partition's index attached to an index of the partitioned table is that
    /// index's, reported once.
    Indexes(&'static str),
    /// The foreign keys of user tables (`schema.table(col,...)`, the columns in declared order)
    /// for which this condition holds, on `con` (the pg_constraint row), `c` (the table's
    /// pg_class row) and `n`. A key on a partitioned table is that table's, reported once.
    ForeignKeys(&'static str),
    /// A query of its own, which applies `{user_schemas}` and `{scope:...}` itself.
    Sql(&'static str),
}

const COLUMNS: Scan = Scan {
    object: "format('%s.%s.%s', n.nspname, c.relname, a.attname)",
    owner: "c.oid",
    from: r#"
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE a.attnum > 0
  AND NOT a.attisdropped
  AND c.relkind IN ('r', 'p')
  AND NOT c.relispartition
"#,
};

const INDEXES: Scan = Scan {
    object: "format('%s.%s', n.nspname, ic.relname)",
    owner: "t.oid",
    from: r#"
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_class t ON t.oid = i.indrelid
JOIN pg_namespace n ON n.oid = ic.relnamespace
JOIN pg_am am ON am.oid = ic.relam
WHERE t.relkind IN ('r', 'p')
  AND NOT ic.relispartition
"#,
};

// `conparentid = 0` keeps one row per key: a key on a partitioned table is copied onto each
// partition, and a key referencing a partitioned table gets a hidden copy per referenced
// partition on the same table, which would name the same key again.
const FOREIGN_KEYS: Scan = Scan {
    object: "format('%s.%s(%s)', n.nspname, c.relname, cols.list)",
    owner: "c.oid",
    from: r#"
FROM pg_constraint con
JOIN pg_class c ON c.oid = con.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
CROSS JOIN LATERAL (
    SELECT string_agg(a.attname, ',' ORDER BY k.ord) AS list
    FROM unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord)
    JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
) cols
WHERE con.contype = 'f'
  AND con.conparentid = 0
  AND c.relkind IN ('r', 'p')
"#,
};

/// `{named:x}`: the name is one of `x_names` or ends with one of `x_suffixes`.
const NAMED: &str = "(a.attname::text = ANY ({x_names}) OR EXISTS (
    SELECT 1 FROM unnest({x_suffixes}) AS s(suffix)
    WHERE right(a.attname::text, length(s.suffix)) = s.suffix))";

/// A shared scan: the object each row names, the relation it belongs to (for `{scope:...}`), and
/// the rows (`FROM ... WHERE ...`, to be narrowed with `AND`).
struct Scan {
    object: &'static str,
    owner: &'static str,
    from: &'static str,
}

/// The kinds that give a condition to the same shared scan: their audit is one pass over it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Family {
    Columns,
    Indexes,
    ForeignKeys,
}

impl Family {
    fn scan(self) -> &'static Scan {
        match self {
            Family::Columns => &COLUMNS,
            Family::Indexes => &INDEXES,
            Family::ForeignKeys => &FOREIGN_KEYS,
        }
    }

    /// One pass of the scan for several kinds (`(kind, condition)`): a row `(object, kind)` for
    /// each object and each kind whose condition holds on it, as each kind's own query would
    /// return it.
    pub fn sql_in(self, kinds: &[(&str, &str)], words: &Words, scoped: bool) -> String {
        let scan = self.scan();
        let names: Vec<String> = kinds.iter().map(|(name, _)| format!("'{name}'")).collect();
        let hits: Vec<String> = kinds
            .iter()
            .map(|(_, condition)| format!("({})", condition.trim()))
            .collect();
        let query = format!(
            "SELECT s.object, k.kind\nFROM (\nSELECT {} AS object,\n  ARRAY[{}] AS hits{}  AND {{user_schemas}}\n  AND {{scope:{}}}\n) s\n\
             CROSS JOIN LATERAL unnest(ARRAY[{}]::text[], s.hits) AS k(kind, hit)\nWHERE k.hit\n",
            scan.object,
            hits.join(",\n  "),
            scan.from,
            scan.owner,
            names.join(", ")
        );
        fill_placeholders(&query, words, scoped)
    }
}

impl Query {
    /// The query as it runs over the whole database, its placeholders filled in.
    pub fn sql(&self, words: &Words) -> String {
        self.sql_in(words, false)
    }

    /// The query as it runs; `scoped`: kept to the relations whose oids are bound as `$1`.
    pub fn sql_in(&self, words: &Words, scoped: bool) -> String {
        let query = match self {
            Query::Columns(condition) => scan(&COLUMNS, condition),
            Query::Indexes(condition) => scan(&INDEXES, condition),
            Query::ForeignKeys(condition) => scan(&FOREIGN_KEYS, condition),
            Query::Sql(query) => query.to_string(),
        };
        fill_placeholders(&query, words, scoped)
    }

    /// The shared scan this query narrows, and its condition; `None` for a query of its own.
    pub fn family(&self) -> Option<(Family, &'static str)> {
        match self {
            Query::Columns(condition) => Some((Family::Columns, condition)),
            Query::Indexes(condition) => Some((Family::Indexes, condition)),
            Query::ForeignKeys(condition) => Some((Family::ForeignKeys, condition)),
            Query::Sql(_) => None,
        }
    }
}

/// A shared scan kept to the user's schemas (and the scope) and narrowed by a kind's condition.
fn scan(scan: &Scan, condition: &str) -> String {
    format!(
        "SELECT {} AS object{}  AND {{user_schemas}}\n  AND {{scope:{}}}\n  AND ({})\n",
        scan.object,
        scan.from,
        scan.owner,
        condition.trim()
    )
}

/// `{scope:expr}`: `true`, or `expr` among the oids bound as `$1`.
fn scope_condition(expr: &str, scoped: bool) -> String {
    match scoped {
        false => "true".to_string(),
        true => format!("{expr} = ANY ($1)"),
    }
}

/// `{user_schemas}`, `{scope:expr}`, `{list}` and `{named:x}` replaced; any other text in braces
/// is left as written, so the query fails naming its kind rather than running with a guess.
fn fill_placeholders(query: &str, words: &Words, scoped: bool) -> String {
    let mut out = String::with_capacity(query.len() + 256);
    let mut rest = query;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let name = after.find('}').map(|close| &after[..close]).filter(|name| {
            name.chars()
                .all(|c| c.is_ascii_lowercase() || "_:.".contains(c))
        });
        let filled = match name {
            Some("user_schemas") => Some(crate::pg::USER_SCHEMAS.to_string()),
            Some(name) if name.starts_with("scope:") => {
                Some(scope_condition(&name["scope:".len()..], scoped))
            }
            Some(name) => match name.strip_prefix("named:") {
                Some(x) => Some(fill_placeholders(
                    &NAMED.replace("{x_", &format!("{{{x}_")),
                    words,
                    scoped,
                )),
                None => words.get(name).map(sql_text_array),
            },
            None => None,
        };
        match (name, filled) {
            (Some(name), Some(filled)) => {
                out.push_str(&filled);
                rest = &after[name.len() + 1..];
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// A word list as a SQL text array literal.
fn sql_text_array(words: &[String]) -> String {
    let quoted: Vec<String> = words
        .iter()
        .map(|w| format!("'{}'", w.replace('\'', "''")))
        .collect();
    format!("ARRAY[{}]::text[]", quoted.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_become_the_schema_filter_and_quoted_word_arrays() {
        let words: Words = serde_yaml::from_str("unique_names: [\"o'hara\"]").unwrap();
        let filled = fill_placeholders("{user_schemas} {unique_names} {nope} '{}'", &words, false);
        assert_eq!(
            filled,
            format!(
                "{} ARRAY['email', 'slug', 'token_hash', 'key_hash', 'api_key', 'o''hara']::text[] \
                 {{nope}} '{{}}'",
                crate::pg::USER_SCHEMAS
            )
        );
    }

    #[test]
    fn the_scope_is_true_for_the_whole_audit_and_the_bound_oids_for_a_scoped_one() {
        let words = Words::builtin();
        assert_eq!(fill_placeholders("{scope:c.oid}", &words, false), "true");
        assert_eq!(
            fill_placeholders("{scope:i.indrelid}", &words, true),
            "i.indrelid = ANY ($1)"
        );
    }
}
