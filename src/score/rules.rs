//! Linter rules and the mistake kinds they report (README "Scoring your tool"): squawk's and
//! eugene's, whichever format their output comes in (their own JSON, SARIF, `file:line: rule`).
//! A rule with no kind is listed as unmapped in the score, with why.

use std::collections::BTreeSet;

/// What a rule's violation line names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// `schema.table.column`: the column defined or altered on the line.
    Column,
    /// `schema.index_name`: the index created on the line.
    Index,
    /// `schema.table`: the table the statement creates or alters.
    Table,
}

pub struct Rule {
    pub tool: &'static str,
    pub id: &'static str,
    /// The kind it reports, or `None` with why in `note`.
    pub kind: Option<&'static str>,
    pub target: Target,
    pub note: &'static str,
}

const fn maps(tool: &'static str, id: &'static str, kind: &'static str, target: Target) -> Rule {
    Rule {
        tool,
        id,
        kind: Some(kind),
        target,
        note: "",
    }
}

const fn none(tool: &'static str, id: &'static str, note: &'static str) -> Rule {
    Rule {
        tool,
        id,
        kind: None,
        target: Target::Table,
        note,
    }
}

const HYGIENE: &str = "migration hygiene, no mistake kind";
const LOCKING: &str = "a lock the statement takes, no mistake kind";

pub const RULES: &[Rule] = &[
    // squawk: rule names as in its JSON `rule_name`, each one `squawk --exclude` accepts (2.70)
    maps(
        "squawk",
        "prefer-timestamptz",
        "timestamp_without_tz",
        Target::Column,
    ),
    maps(
        "squawk",
        "prefer-timestamp-tz",
        "timestamp_without_tz",
        Target::Column,
    ),
    maps(
        "squawk",
        "prefer-bigint-over-int",
        "int_should_be_bigint",
        Target::Column,
    ),
    maps(
        "squawk",
        "prefer-bigint-over-smallint",
        "int_should_be_bigint",
        Target::Column,
    ),
    maps(
        "squawk",
        "prefer-identity",
        "serial_not_identity",
        Target::Column,
    ),
    maps(
        "squawk",
        "require-concurrent-index-creation",
        "blocking_index_build",
        Target::Index,
    ),
    maps(
        "squawk",
        "changing-column-type",
        "table_rewrite",
        Target::Table,
    ),
    // "Adding a generated column requires a table rewrite": week 12's stored generated column.
    maps(
        "squawk",
        "adding-field-with-default",
        "table_rewrite",
        Target::Table,
    ),
    maps(
        "squawk",
        "adding-not-nullable-field",
        "not_null_full_scan",
        Target::Column,
    ),
    none(
        "squawk",
        "prefer-text-field",
        "recommends TEXT over varchar(n): the opposite of what oversized_varchar checks",
    ),
    none("squawk", "prefer-robust-stmts", HYGIENE),
    none("squawk", "require-lock-timeout", HYGIENE),
    none("squawk", "require-statement-timeout", HYGIENE),
    none("squawk", "require-timeout-settings", HYGIENE),
    none("squawk", "ban-drop-table", HYGIENE),
    none("squawk", "ban-drop-column", HYGIENE),
    none("squawk", "ban-drop-database", HYGIENE),
    none("squawk", "renaming-column", HYGIENE),
    none("squawk", "renaming-table", HYGIENE),
    none("squawk", "transaction-nesting", HYGIENE),
    none(
        "squawk",
        "ban-char-field",
        "char(n) columns: not a kind engineer-sim journals",
    ),
    none(
        "squawk",
        "adding-required-field",
        "a NOT NULL column without a default fails on a filled table: not a kind",
    ),
    none("squawk", "adding-foreign-key-constraint", LOCKING),
    none("squawk", "constraint-missing-not-valid", LOCKING),
    none("squawk", "disallowed-unique-constraint", LOCKING),
    none("squawk", "adding-serial-primary-key-field", LOCKING),
    none("squawk", "require-concurrent-index-deletion", LOCKING),
    none(
        "squawk",
        "ban-concurrent-index-creation-in-transaction",
        HYGIENE,
    ),
    none("squawk", "ban-drop-not-null", HYGIENE),
    none("squawk", "ban-truncate-cascade", HYGIENE),
    none("squawk", "ban-uncommitted-transaction", HYGIENE),
    none("squawk", "require-table-schema", HYGIENE),
    none("squawk", "ban-create-domain-with-constraint", LOCKING),
    none("squawk", "ban-alter-domain-with-add-constraint", LOCKING),
    // eugene: hint ids as in `eugene lint --format json` (`eugene hints` lists them; 0.8.3)
    maps("eugene", "E2", "not_null_full_scan", Target::Column),
    maps("eugene", "E5", "table_rewrite", Target::Table),
    maps("eugene", "E6", "blocking_index_build", Target::Index),
    maps("eugene", "E10", "table_rewrite", Target::Table),
    maps("eugene", "E11", "table_rewrite", Target::Table),
    none("eugene", "E1", LOCKING),
    none(
        "eugene",
        "E3",
        "a json (not jsonb) column: not a kind engineer-sim journals",
    ),
    none("eugene", "E4", LOCKING),
    none("eugene", "E7", LOCKING),
    none("eugene", "E8", LOCKING),
    none("eugene", "E9", HYGIENE),
    none("eugene", "W12", HYGIENE),
    none("eugene", "W13", HYGIENE),
    none("eugene", "W14", LOCKING),
    none(
        "eugene",
        "E15",
        "a foreign key without an index: `eugene trace` only, and its line does not say which key",
    ),
];

/// The rule `id` of `tool`, or of any tool when the tool is unknown.
pub fn find(tool: Option<&str>, id: &str) -> Option<&'static Rule> {
    RULES
        .iter()
        .find(|r| r.id == id && tool.is_none_or(|t| r.tool == t))
        .or_else(|| RULES.iter().find(|r| r.id == id))
}

/// The kinds a tool checks: those of its mapped rules.
pub fn kinds_of(tool: &str) -> BTreeSet<String> {
    RULES
        .iter()
        .filter(|r| r.tool == tool)
        .filter_map(|r| r.kind.map(str::to_string))
        .collect()
}

/// The tool a name stands for (`squawk`, `eugene`, or a SARIF driver name containing them).
pub fn tool_named(name: &str) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    ["squawk", "eugene"].into_iter().find(|t| lower.contains(t))
}
