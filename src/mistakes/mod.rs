//! The catalog of mistake kinds (README "Mistake kinds").
//!
//! One file per kind. Each describes itself with one value, its `KIND`: name and codes, how a
//! finding of it is proven ([`Proof`], holding the detection query or the observation), and how a
//! persona slips into it ([`Slip`]); beside it, the kind's documentation and its own tests.
//! Adding a kind is adding a file and one line in [`all`].
//!
//! A slip point in a template is a call of a function named after its kind, for example
//! `{{ nullable_fk(object="public.time_entries.issue_id") }}`. Every slip point names the object
//! it concerns, using the naming of README "What lands in `state/`": `schema.table.column` for a column,
//! `schema.table(col,...)` for a key, `schema.index_name` for an index.

use anyhow::Result;

use crate::words::Words;

pub mod slip;
pub mod snapshot;

pub mod blocking_index_build;
pub mod btree_on_jsonb;
pub mod dropped_used_index;
pub mod duplicate_index;
pub mod int_should_be_bigint;
pub mod invalid_index;
pub mod json_as_text;
pub mod jsonb_overuse;
pub mod low_cardinality_index;
pub mod missing_check;
pub mod missing_fk_index;
pub mod missing_on_delete;
pub mod missing_query_index;
pub mod missing_unique;
pub mod missing_updated_at_trigger;
pub mod not_null_full_scan;
pub mod nullable_fk;
pub mod oversized_varchar;
pub mod polymorphic_reference;
pub mod redundant_index;
pub mod serial_not_identity;
pub mod table_bloat;
pub mod table_rewrite;
pub mod timestamp_without_tz;
pub mod unused_index;
pub mod wrong_column_order;

#[cfg(test)]
pub mod testing;

pub use slip::{Slip, SlipArgs, OUTSIDE_TRANSACTION};
pub use snapshot::{Snapshot, TableId};

/// One kind of mistake, described once in its file as `pub const KIND`.
pub struct MistakeKind {
    /// The kind's name, as used in persona weights, the roadmap, templates and the journal; also
    /// its file's name.
    pub name: &'static str,
    /// Code in the roadmap's findings table (H002, B001, ...), if it has one.
    pub roadmap_code: Option<&'static str>,
    /// Code in the postgres_ai checkup report, if it has one.
    pub checkup_code: Option<&'static str>,
    /// How a finding of this kind is proven, and when an open one closes.
    pub proof: Proof,
    /// What its slip point renders, careful and slipped.
    pub slip: Slip,
    /// Whether the slip point is offered only on a database with data (its mistake can only be
    /// proven there). In empty mode it renders clean and is not offered, so empty mode's
    /// decisions and SQL stay what they were.
    pub needs_data: bool,
    /// Whether an observation nobody declared is journaled as an incidental finding. False for
    /// kinds whose observation alone does not prove the mistake (a dropped index was "used" only
    /// if the roadmap or a slip says so).
    pub incidental: bool,
}

impl MistakeKind {
    /// What most kinds leave as it is: no codes, offered on an empty database too, undeclared
    /// observations journaled. A kind always gives its own `name`, `proof` and `slip`.
    pub const USUAL: MistakeKind = MistakeKind {
        name: "",
        roadmap_code: None,
        checkup_code: None,
        proof: Proof::Declared,
        slip: Slip::Omitted,
        needs_data: false,
        incidental: true,
    };
}

/// How a finding is proven.
pub enum Proof {
    /// A query on pg_catalog; the audit runs it before and after every change, and a finding
    /// closes when the query no longer returns it.
    Catalog(Query),
    /// The apply step compares the catalog snapshots taken just before and just after the
    /// change's DDL: `observe` names the objects this change shows the mistake on. `closed_after`
    /// says whether an open finding is gone after a later change ([`never_closes`] for a fact of
    /// the migration history, which a linter reads).
    Ledger {
        observe: fn(&Snapshot, &Snapshot) -> Vec<String>,
        closed_after: fn(&str, &Snapshot) -> bool,
    },
    /// Needs a workload to prove; the journal records the declaration. The finding closes when
    /// its object no longer exists.
    Declared,
    /// Proven by the statistics of a database with data (the last workload, dead tuples); pending
    /// until they exist. `closed_after` as for `Ledger`.
    Statistics {
        closed_after: fn(&str, &Snapshot) -> bool,
    },
}

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
    /// A query of its own, which applies `{user_schemas}` itself.
    Sql(&'static str),
}

const COLUMNS: &str = r#"
SELECT format('%s.%s.%s', n.nspname, c.relname, a.attname) AS object
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE a.attnum > 0
  AND NOT a.attisdropped
  AND c.relkind IN ('r', 'p')
  AND NOT c.relispartition
  AND {user_schemas}
  AND ({condition})
"#;

const INDEXES: &str = r#"
SELECT format('%s.%s', n.nspname, ic.relname) AS object
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_class t ON t.oid = i.indrelid
JOIN pg_namespace n ON n.oid = ic.relnamespace
JOIN pg_am am ON am.oid = ic.relam
WHERE t.relkind IN ('r', 'p')
  AND NOT ic.relispartition
  AND {user_schemas}
  AND ({condition})
"#;

// `conparentid = 0` keeps one row per key: a key on a partitioned table is copied onto each
// partition, and a key referencing a partitioned table gets a hidden copy per referenced
// partition on the same table, which would name the same key again.
const FOREIGN_KEYS: &str = r#"
SELECT format('%s.%s(%s)', n.nspname, c.relname, cols.list) AS object
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
  AND {user_schemas}
  AND ({condition})
"#;

/// `{named:x}`: the name is one of `x_names` or ends with one of `x_suffixes`.
const NAMED: &str = "(a.attname::text = ANY ({x_names}) OR EXISTS (
    SELECT 1 FROM unnest({x_suffixes}) AS s(suffix)
    WHERE right(a.attname::text, length(s.suffix)) = s.suffix))";

impl Query {
    /// The query as it runs, its placeholders filled in.
    pub fn sql(&self, words: &Words) -> String {
        let query = match self {
            Query::Columns(condition) => COLUMNS.replace("{condition}", condition.trim()),
            Query::Indexes(condition) => INDEXES.replace("{condition}", condition.trim()),
            Query::ForeignKeys(condition) => FOREIGN_KEYS.replace("{condition}", condition.trim()),
            Query::Sql(query) => query.to_string(),
        };
        fill_placeholders(&query, words)
    }
}

/// How the presence of a finding of a kind is proven, as the journal names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verification {
    Catalog,
    Ledger,
    Declared,
    Statistics,
}

impl Verification {
    pub fn as_str(self) -> &'static str {
        match self {
            Verification::Catalog => "catalog",
            Verification::Ledger => "ledger",
            Verification::Declared => "declared",
            Verification::Statistics => "statistics",
        }
    }
}

/// `closed_after` of a finding that never closes.
pub fn never_closes(_object: &str, _after: &Snapshot) -> bool {
    false
}

/// `closed_after` of a finding that closes when its object is gone.
pub fn closes_when_gone(object: &str, after: &Snapshot) -> bool {
    !after.has_object(object)
}

impl MistakeKind {
    pub fn verification(&self) -> Verification {
        match self.proof {
            Proof::Catalog(_) => Verification::Catalog,
            Proof::Ledger { .. } => Verification::Ledger,
            Proof::Declared => Verification::Declared,
            Proof::Statistics { .. } => Verification::Statistics,
        }
    }

    /// The text the slip point emits: the careful version when `slipped` is false, the mistake
    /// when it is true.
    pub fn render(&self, args: &SlipArgs, slipped: bool) -> Result<String> {
        self.slip.render(args, slipped)
    }

    /// Whether the slip renders a step run outside the change's transaction: its finding is
    /// looked for after that step, not in the change's transaction.
    pub fn outside_transaction(&self) -> bool {
        matches!(self.slip, Slip::OutsideTransaction)
    }

    /// For catalog kinds: the detection query as it runs, its placeholders filled in.
    pub fn detection_query(&self, words: &Words) -> Option<String> {
        match &self.proof {
            Proof::Catalog(query) => Some(query.sql(words)),
            _ => None,
        }
    }

    /// For ledger kinds: the objects this change shows the mistake on.
    pub fn observe(&self, before: &Snapshot, after: &Snapshot) -> Vec<String> {
        match self.proof {
            Proof::Ledger { observe, .. } => observe(before, after),
            _ => Vec::new(),
        }
    }

    /// For kinds the audit does not query: whether an open finding on `object` is gone after a
    /// change.
    pub fn closed_after(&self, object: &str, after: &Snapshot) -> bool {
        match self.proof {
            Proof::Catalog(_) => false,
            Proof::Ledger { closed_after, .. } | Proof::Statistics { closed_after } => {
                closed_after(object, after)
            }
            Proof::Declared => closes_when_gone(object, after),
        }
    }
}

/// `{user_schemas}`, `{list}` and `{named:x}` replaced; any other text in braces is left as
/// written, so the query fails naming its kind rather than running with a guess.
fn fill_placeholders(query: &str, words: &Words) -> String {
    let mut out = String::with_capacity(query.len() + 256);
    let mut rest = query;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let name = after.find('}').map(|close| &after[..close]).filter(|name| {
            name.chars()
                .all(|c| c.is_ascii_lowercase() || "_:".contains(c))
        });
        let filled = match name {
            Some("user_schemas") => Some(crate::pg::USER_SCHEMAS.to_string()),
            Some(name) => match name.strip_prefix("named:") {
                Some(x) => Some(fill_placeholders(
                    &NAMED.replace("{x_", &format!("{{{x}_")),
                    words,
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

/// Every kind that templates can use as a slip point or the roadmap can script.
pub fn all() -> &'static [&'static MistakeKind] {
    &[
        &missing_fk_index::KIND,
        &nullable_fk::KIND,
        &missing_on_delete::KIND,
        &timestamp_without_tz::KIND,
        &oversized_varchar::KIND,
        &missing_check::KIND,
        &redundant_index::KIND,
        &duplicate_index::KIND,
        &unused_index::KIND,
        &low_cardinality_index::KIND,
        &wrong_column_order::KIND,
        &btree_on_jsonb::KIND,
        &dropped_used_index::KIND,
        &int_should_be_bigint::KIND,
        &json_as_text::KIND,
        &serial_not_identity::KIND,
        &missing_unique::KIND,
        &missing_updated_at_trigger::KIND,
        &jsonb_overuse::KIND,
        &polymorphic_reference::KIND,
        &blocking_index_build::KIND,
        &table_rewrite::KIND,
        &not_null_full_scan::KIND,
        &missing_query_index::KIND,
        &table_bloat::KIND,
        &invalid_index::KIND,
    ]
}

pub fn by_name(name: &str) -> Option<&'static MistakeKind> {
    all().iter().copied().find(|kind| kind.name == name)
}

/// Which code set to report findings under (README "Mistake kinds": the sources disagree about H002).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum CodeSet {
    #[default]
    Roadmap,
    Checkup,
}

pub fn code_for(kind: &str, codes: CodeSet) -> Option<&'static str> {
    let kind = by_name(kind)?;
    match codes {
        CodeSet::Roadmap => kind.roadmap_code,
        CodeSet::Checkup => kind.checkup_code,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mistakes::testing::detect;

    /// A kind file not listed in `all`, or a `KIND` named otherwise than its file, is a kind
    /// the templates cannot call by the name its documentation gives.
    #[test]
    fn every_kind_file_is_listed_under_its_own_name() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/mistakes");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter_map(|p| Some(p.file_stem()?.to_str()?.to_string()))
            .filter(|stem| !["mod", "slip", "snapshot", "testing"].contains(&stem.as_str()))
            .collect();
        files.sort();
        let mut names: Vec<String> = all().iter().map(|k| k.name.to_string()).collect();
        names.sort();
        assert_eq!(names, files);
    }

    #[test]
    fn catalog_queries_fill_every_placeholder_and_keep_to_user_schemas() {
        let words = Words::builtin();
        for kind in all() {
            let Proof::Catalog(query) = &kind.proof else {
                continue;
            };
            if let Query::Sql(sql) = query {
                assert!(sql.contains("{user_schemas}"), "{}", kind.name);
            }
            let filled = kind.detection_query(&words).unwrap();
            assert!(!filled.contains('{'), "{}: {filled}", kind.name);
        }
    }

    #[test]
    fn placeholders_become_the_schema_filter_and_quoted_word_arrays() {
        let words: Words = serde_yaml::from_str("unique_names: [\"o'hara\"]").unwrap();
        let filled = fill_placeholders("{user_schemas} {unique_names} {nope} '{}'", &words);
        assert_eq!(
            filled,
            format!(
                "{} ARRAY['email', 'slug', 'token_hash', 'key_hash', 'api_key', 'o''hara']::text[] \
                 {{nope}} '{{}}'",
                crate::pg::USER_SCHEMAS
            )
        );
    }

    /// What `Query::Columns`, `Indexes` and `ForeignKeys` look at before a kind's condition: the
    /// columns, indexes and keys of tables, a partitioned table's once, no materialized view's.
    #[tokio::test]
    async fn family_queries_see_each_table_once() {
        let fixture = "
            CREATE TABLE p (id int PRIMARY KEY);
            CREATE TABLE event (d date, v int REFERENCES p, PRIMARY KEY (v, d)) PARTITION BY RANGE (d);
            CREATE TABLE event_2024 PARTITION OF event
                FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
            CREATE INDEX event_v_idx ON event (v);
            CREATE INDEX event_2024_d_idx ON event_2024 (d);
            CREATE TABLE t (a int);
            ALTER TABLE t DROP COLUMN a;
            CREATE MATERIALIZED VIEW m AS SELECT 1 AS x;
            CREATE INDEX m_x_idx ON m (x);
            CREATE TABLE booking (ev int, ed date, FOREIGN KEY (ev, ed) REFERENCES event (v, d));";
        let every = |query| MistakeKind {
            name: "every",
            proof: Proof::Catalog(query),
            ..MistakeKind::USUAL
        };
        let columns = detect(&every(Query::Columns("true")), fixture).await;
        assert_eq!(
            columns,
            [
                "public.booking.ed",
                "public.booking.ev",
                "public.event.d",
                "public.event.v",
                "public.p.id"
            ]
        );
        let indexes = detect(&every(Query::Indexes("true")), fixture).await;
        assert_eq!(
            indexes,
            [
                "public.event_2024_d_idx",
                "public.event_pkey",
                "public.event_v_idx",
                "public.p_pkey"
            ]
        );
        let keys = detect(&every(Query::ForeignKeys("true")), fixture).await;
        assert_eq!(keys, ["public.booking(ev,ed)", "public.event(v)"]);
    }
}
