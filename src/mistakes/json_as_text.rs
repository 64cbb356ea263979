//! `json_as_text`: TEXT for a column that holds JSON.
//!
//! A `text` column takes any string, so malformed JSON goes in unnoticed and breaks the reader
//! months later. Every query that looks inside has to cast (`payload::jsonb->>'k'`), which fails
//! on the first bad row, cannot use a GIN index on the column, and reparses the document each
//! time. `jsonb` validates on write, stores the parsed form and supports the operators and indexes.
//!
//! Slip: `payload {{ json_as_text(object="public.t.payload") }}`; clean renders `JSONB`, the slip `TEXT`.
//!
//! Detection: a live user column of a table, of type `text` or `varchar` (any length; not an
//! array, not a domain), whose name says it holds a JSON document: one of [`JSON_NAMES`], or ending
//! with one of [`JSON_SUFFIXES`]. The catalog cannot see the values, so the name is the only
//! evidence; the vocabulary is what people call a bag of structured data. Names that describe
//! free text (`description`, `error_message`, `notes`) are not in it, and a column already typed
//! `json` or `jsonb` is never reported. A name in the vocabulary that really holds prose (a
//! `details text` written by a person) is reported all the same. Partitions are skipped (their
//! columns are the partitioned table's, reported there once).

use super::{MistakeKind, Proof, Slip};

const DETECTION_QUERY: &str = r#"
SELECT format('%s.%s.%s', n.nspname, c.relname, a.attname) AS object
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE a.atttypid IN ('text'::regtype, 'varchar'::regtype)
  AND a.attnum > 0
  AND NOT a.attisdropped
  AND c.relkind IN ('r', 'p')
  AND NOT c.relispartition
  AND {user_schemas}
  AND (
      a.attname::text = ANY ({json_names})
      OR EXISTS (
          SELECT 1 FROM unnest({json_suffixes}) AS s(suffix)
          WHERE right(a.attname::text, length(s.suffix)) = s.suffix
      )
  )
ORDER BY 1
"#;

pub const KIND: MistakeKind = MistakeKind {
    name: "json_as_text",
    proof: Proof::Catalog(DETECTION_QUERY),
    slip: Slip::Typed {
        clean: "JSONB",
        slipped: "TEXT",
    },
    ..MistakeKind::USUAL
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mistakes::testing::detect;

    #[tokio::test]
    async fn finds_text_columns_named_for_json() {
        let found = detect(
            &KIND,
            r#"
            CREATE TABLE webhook (
                id int PRIMARY KEY,
                errors text,
                payload varchar(500),
                raw_json text,
                delivery_details varchar,
                form_data text,
                description text,
                error_message text,
                notes text,
                database text,
                metadata jsonb,
                settings json,
                options text[],
                extra char(10)
            );
            CREATE TABLE job (payload jsonb, context text);
            "#,
        )
        .await;
        assert_eq!(
            found,
            [
                "public.job.context",
                "public.webhook.delivery_details",
                "public.webhook.errors",
                "public.webhook.form_data",
                "public.webhook.payload",
                "public.webhook.raw_json",
            ]
        );
    }

    #[tokio::test]
    async fn partitioned_tables_are_reported_once_and_ledger_is_ignored() {
        let found = detect(
            &KIND,
            r#"
            CREATE TABLE event (d date, data text) PARTITION BY RANGE (d);
            CREATE TABLE event_2024 PARTITION OF event
                FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
            CREATE SCHEMA engineer_sim;
            CREATE TABLE engineer_sim.journal (payload text, details text);
            "#,
        )
        .await;
        assert_eq!(found, ["public.event.data"]);
    }
}
