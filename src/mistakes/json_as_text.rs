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

use std::sync::LazyLock;

use anyhow::Result;

use super::{sql_text_array, typed, MistakeKind, SlipArgs, Verification};

/// Column names that hold a JSON document.
pub const JSON_NAMES: &[&str] = &[
    "payload",
    "metadata",
    "config",
    "settings",
    "options",
    "data",
    "errors",
    "details",
    "attributes",
    "properties",
    "context",
    "extra",
];

/// Name endings with the same meaning: `raw_json`, `webhook_payload`, `user_settings`.
pub const JSON_SUFFIXES: &[&str] = &[
    "_json",
    "_data",
    "_payload",
    "_config",
    "_metadata",
    "_settings",
    "_options",
    "_details",
];

static DETECTION_QUERY: LazyLock<String> = LazyLock::new(|| {
    format!(
        r#"
SELECT format('%s.%s.%s', n.nspname, c.relname, a.attname) AS object
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE a.atttypid IN ('text'::regtype, 'varchar'::regtype)
  AND a.attnum > 0
  AND NOT a.attisdropped
  AND c.relkind IN ('r', 'p')
  AND NOT c.relispartition
  AND n.nspname NOT IN ('engineer_sim', 'information_schema')
  AND n.nspname NOT LIKE 'pg\_%'
  AND (
      a.attname::text = ANY ({names})
      OR EXISTS (
          SELECT 1 FROM unnest({suffixes}) AS s(suffix)
          WHERE right(a.attname::text, length(s.suffix)) = s.suffix
      )
  )
ORDER BY 1
"#,
        names = sql_text_array(JSON_NAMES),
        suffixes = sql_text_array(JSON_SUFFIXES),
    )
});

pub struct JsonAsText;

impl MistakeKind for JsonAsText {
    fn name(&self) -> &'static str {
        "json_as_text"
    }

    fn roadmap_code(&self) -> Option<&'static str> {
        None
    }

    fn verification(&self) -> Verification {
        Verification::Catalog
    }

    fn render(&self, args: &SlipArgs, slipped: bool) -> Result<String> {
        typed(args, slipped, "JSONB", "TEXT")
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
    fn slip_uses_text() {
        let (clean, slipped) = render_both(&JsonAsText, &[("object", "public.t.payload")]);
        assert_eq!(clean, "JSONB");
        assert_eq!(slipped, "TEXT");
    }

    #[test]
    fn render_needs_the_object() {
        let values = to_values(&[]);
        let args = SlipArgs {
            kind: "json_as_text",
            args: &values,
        };
        let err = JsonAsText.render(&args, false).unwrap_err().to_string();
        assert!(err.contains("needs the argument `object`"), "{err}");
    }

    #[tokio::test]
    async fn finds_text_columns_named_for_json() {
        let found = detect(
            &JsonAsText,
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
            &JsonAsText,
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
