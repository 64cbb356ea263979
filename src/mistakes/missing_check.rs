//! `missing_check`: a bounded value with no CHECK constraint to hold it in bounds.
//!
//! A status column that accepts any string, or a duration that accepts -30 minutes, relies on every
//! writer, now and later, to validate the same way ("we validate in the app layer").
//!
//! Slip: the template writes `minutes INT NOT NULL{{ missing_check(object="public.t.minutes", expr="minutes > 0") }}`;
//! clean renders ` CHECK (<expr>)`, the slip renders nothing.
//!
//! Detection: a live user column of a table that no CHECK constraint of the table mentions (the
//! column is not in any CHECK's `conkey`), and that is either
//! - `text` or `varchar` (any length) whose name denotes a closed set of values: one of
//!   [`CLOSED_SET_NAMES`] or ending with one of [`CLOSED_SET_SUFFIXES`], except [`OPEN_SET_NAMES`];
//! - `smallint`, `integer`, `bigint`, `numeric`, `real` or `double precision` whose name denotes a
//!   quantity that cannot be negative or is capped: one of [`BOUNDED_NUMBER_NAMES`] or ending with
//!   one of [`BOUNDED_NUMBER_SUFFIXES`].
//!
//! The vocabulary is narrow on purpose: `time_spent_minutes` or `unit_price` may be bounded too, but
//! the rule reports only the names that leave little doubt. Enum and domain typed columns are never
//! reported, since the type already constrains them. Any CHECK that mentions the column counts,
//! table-level or column-level, valid or `NOT VALID`, whatever it tests: the catalog cannot judge
//! whether the condition is the right one. Partitions are skipped (they inherit the partitioned
//! table's columns and CHECKs, and are reported there once).

use std::sync::LazyLock;

use anyhow::Result;

use super::{sql_text_array, MistakeKind, SlipArgs, Verification};

/// Text column names whose values come from a closed set the schema should list.
pub const CLOSED_SET_NAMES: &[&str] = &["status", "kind", "role", "type"];

/// Name endings with the same meaning: `order_status`, `member_role`.
pub const CLOSED_SET_SUFFIXES: &[&str] = &["_status", "_kind", "_role", "_type"];

/// Names ending in `_type` that hold open sets (any MIME type), so a CHECK cannot list them.
pub const OPEN_SET_NAMES: &[&str] = &["content_type", "mime_type"];

/// Numeric column names whose values cannot be negative or have a ceiling.
pub const BOUNDED_NUMBER_NAMES: &[&str] = &[
    "minutes",
    "quantity",
    "amount",
    "price",
    "rating",
    "score",
    "percent",
    "percentage",
];

/// Name endings with the same meaning: `discount_percent`.
pub const BOUNDED_NUMBER_SUFFIXES: &[&str] = &["_percent", "_percentage"];

static DETECTION_QUERY: LazyLock<String> = LazyLock::new(|| {
    format!(
        r#"
SELECT format('%s.%s.%s', n.nspname, c.relname, a.attname) AS object
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE a.attnum > 0
  AND NOT a.attisdropped
  AND c.relkind IN ('r', 'p')
  AND NOT c.relispartition
  AND n.nspname NOT IN ('engineer_sim', 'information_schema')
  AND n.nspname NOT LIKE 'pg\_%'
  AND (
      (a.atttypid IN ('text'::regtype, 'varchar'::regtype)
       AND (a.attname::text = ANY ({closed_names})
            OR EXISTS (
                SELECT 1 FROM unnest({closed_suffixes}) AS s(suffix)
                WHERE right(a.attname::text, length(s.suffix)) = s.suffix
            ))
       AND a.attname::text <> ALL ({open_sets}))
      OR
      (a.atttypid IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype, 'numeric'::regtype,
                      'float4'::regtype, 'float8'::regtype)
       AND (a.attname::text = ANY ({number_names})
            OR EXISTS (
                SELECT 1 FROM unnest({number_suffixes}) AS s(suffix)
                WHERE right(a.attname::text, length(s.suffix)) = s.suffix
            )))
  )
  AND NOT EXISTS (
      SELECT 1 FROM pg_constraint k
      WHERE k.conrelid = c.oid
        AND k.contype = 'c'
        AND a.attnum = ANY (k.conkey)
  )
ORDER BY 1
"#,
        closed_names = sql_text_array(CLOSED_SET_NAMES),
        closed_suffixes = sql_text_array(CLOSED_SET_SUFFIXES),
        open_sets = sql_text_array(OPEN_SET_NAMES),
        number_names = sql_text_array(BOUNDED_NUMBER_NAMES),
        number_suffixes = sql_text_array(BOUNDED_NUMBER_SUFFIXES),
    )
});

pub struct MissingCheck;

impl MistakeKind for MissingCheck {
    fn name(&self) -> &'static str {
        "missing_check"
    }

    fn roadmap_code(&self) -> Option<&'static str> {
        None
    }

    fn verification(&self) -> Verification {
        Verification::Catalog
    }

    fn render(&self, args: &SlipArgs, slipped: bool) -> Result<String> {
        args.object()?;
        let expr = args.string("expr")?;
        Ok(if slipped {
            String::new()
        } else {
            format!(" CHECK ({expr})")
        })
    }

    fn detection_query(&self) -> Option<&'static str> {
        Some(DETECTION_QUERY.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mistakes::testing::{detect, render_both, to_values};

    #[test]
    fn slip_drops_the_check() {
        let (clean, slipped) = render_both(
            &MissingCheck,
            &[("object", "public.t.minutes"), ("expr", "minutes > 0")],
        );
        assert_eq!(clean, " CHECK (minutes > 0)");
        assert_eq!(slipped, "");
    }

    #[test]
    fn render_needs_the_expression() {
        let values = to_values(&[("object", "public.t.minutes")]);
        let args = SlipArgs {
            kind: "missing_check",
            args: &values,
        };
        let err = MissingCheck.render(&args, false).unwrap_err().to_string();
        assert!(err.contains("needs the argument `expr`"), "{err}");
    }

    #[tokio::test]
    async fn finds_bounded_columns_without_a_check() {
        let found = detect(
            &MissingCheck,
            r#"
            CREATE TYPE mood AS ENUM ('calm', 'busy');
            CREATE DOMAIN positive AS int CHECK (VALUE > 0);
            CREATE TABLE entry (
                minutes int CHECK (minutes > 0),
                time_spent_minutes int,
                status varchar(20) CHECK (status IN ('a', 'b')),
                content_type varchar(100),
                mime_type text,
                kind mood,
                quantity positive,
                price numeric(10, 2),
                score real,
                rating smallint,
                amount bigint,
                low int,
                high int,
                CHECK (low <= high)
            );
            CREATE TABLE log (
                minutes int,
                status varchar(20),
                member_role text,
                entry_type text,
                discount_percent numeric,
                percentage float8,
                role_description text,
                typed boolean
            );
            CREATE TABLE shift (
                starts int,
                ends int,
                minutes int,
                shift_status text,
                CONSTRAINT shift_sane CHECK (minutes > 0 AND shift_status <> '' AND starts < ends)
            );
            CREATE TABLE part (d date, status text) PARTITION BY RANGE (d);
            CREATE TABLE part_2024 PARTITION OF part FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
            CREATE SCHEMA engineer_sim;
            CREATE TABLE engineer_sim.finding (status text);
            "#,
        )
        .await;
        assert_eq!(
            found,
            [
                "public.entry.amount",
                "public.entry.price",
                "public.entry.rating",
                "public.entry.score",
                "public.log.discount_percent",
                "public.log.entry_type",
                "public.log.member_role",
                "public.log.minutes",
                "public.log.percentage",
                "public.log.status",
                "public.part.status",
            ]
        );
    }
}
