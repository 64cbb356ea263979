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

use super::kind::{MistakeKind, Proof};
use super::query::Query;
use super::slip::Slip;

pub const KIND: MistakeKind = MistakeKind {
    name: "json_as_text",
    proof: Proof::Catalog(Query::Columns(
        "a.atttypid IN ('text'::regtype, 'varchar'::regtype) AND {named:json}",
    )),
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
}
