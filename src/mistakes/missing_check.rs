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

use super::kind::{MistakeKind, Proof};
use super::query::Query;
use super::slip::Slip;

pub const KIND: MistakeKind = MistakeKind {
    name: "missing_check",
    proof: Proof::Catalog(Query::Columns(DEFECTIVE)),
    slip: Slip::Clause {
        arg: "expr",
        clean: " CHECK ({})",
    },
    ..MistakeKind::USUAL
};

const DEFECTIVE: &str = r#"
(
    (a.atttypid IN ('text'::regtype, 'varchar'::regtype)
     AND {named:closed_set}
     AND a.attname::text <> ALL ({open_set_names}))
    OR
    (a.atttypid IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype, 'numeric'::regtype,
                    'float4'::regtype, 'float8'::regtype)
     AND {named:bounded_number})
)
AND NOT EXISTS (
    SELECT 1 FROM pg_constraint k
    WHERE k.conrelid = c.oid
      AND k.contype = 'c'
      AND a.attnum = ANY (k.conkey)
)
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mistakes::testing::{detect, detect_with};

    #[tokio::test]
    async fn finds_bounded_columns_without_a_check() {
        let found = detect(
            &KIND,
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
            ]
        );
    }

    #[tokio::test]
    async fn a_roadmap_can_add_closed_set_suffixes() {
        let fixture = "CREATE TABLE job (run_state text, run_status text);";
        assert_eq!(detect(&KIND, fixture).await, ["public.job.run_status"]);
        let words = serde_yaml::from_str("closed_set_suffixes: [_state]").unwrap();
        assert_eq!(
            detect_with(&KIND, &words, fixture).await,
            ["public.job.run_state", "public.job.run_status"]
        );
    }
}
