//! `btree_on_jsonb`: a btree index on a jsonb column where GIN was meant.
//!
//! A btree on a jsonb column orders whole documents, so it serves only equality and ordering of the
//! entire value, which nobody queries. The lookups people write on a document (`doc @> '{"k": 1}'`,
//! `doc ? 'k'`) need a GIN index, and a lookup on one field needs an expression index on that
//! field. The btree is paid for on every write and is never used; large documents can even fail to
//! insert once an entry passes the btree's size limit of about a third of a page.
//!
//! Slip: `{{ btree_on_jsonb(object="public.idx", sql="CREATE INDEX idx ON t USING gin(doc);",
//! slipped="CREATE INDEX idx ON t(doc);") }}`; clean renders `sql`, the slip `slipped`.
//!
//! Detection: a valid (`indisvalid`) btree index on a table with at least one key column (among
//! the first `indnkeyatts` of `indkey`) that is a table column of type `jsonb`, in any position,
//! with or without a predicate, unique or not. Not reported:
//! - GIN (or any other non-btree) indexes on jsonb;
//! - expression indexes such as `((doc->>'k'))`: they index one scalar field, which is the right
//!   way to serve an equality or range lookup on it. Any expression is left alone, even one whose
//!   result is a whole jsonb document: the rule is about the plain column typed where GIN was meant;
//! - jsonb columns that appear only among INCLUDE columns (stored, never compared);
//! - `json` (which has no btree operator class at all), `jsonb[]`, and domains over `jsonb`.
//!
//! Indexes of partitions that are attached to an index of the partitioned table are skipped; the
//! finding is the partitioned table's index, once.

use super::kind::{MistakeKind, Proof};
use super::query::Query;
use super::slip::Slip;

pub const KIND: MistakeKind = MistakeKind {
    name: "btree_on_jsonb",
    proof: Proof::Catalog(Query::Indexes(DEFECTIVE)),
    slip: Slip::Swapped,
    ..MistakeKind::USUAL
};

// The key part of `indkey` (0-based, 0 for an expression) joined to the table's columns.
const DEFECTIVE: &str = r#"
am.amname = 'btree'
AND i.indisvalid
AND EXISTS (
    SELECT 1
    FROM unnest((i.indkey::int2[])[0:i.indnkeyatts - 1]) AS k(attnum)
    JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
    WHERE a.atttypid = 'jsonb'::regtype
)
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mistakes::testing::detect;

    #[tokio::test]
    async fn finds_btrees_over_whole_documents() {
        let found = detect(
            &KIND,
            r#"
            CREATE TABLE doc (
                id int PRIMARY KEY,
                body jsonb,
                meta jsonb,
                attrs jsonb,
                raw json,
                tags jsonb[]
            );
            CREATE INDEX doc_body_idx ON doc (body);
            CREATE INDEX doc_id_meta_idx ON doc (id, meta) WHERE id > 0;
            CREATE INDEX doc_body_gin_idx ON doc USING gin (body);
            CREATE INDEX doc_meta_gin_path_idx ON doc USING gin (meta jsonb_path_ops);
            CREATE INDEX doc_attrs_k_idx ON doc ((attrs->>'k'));
            CREATE INDEX doc_attrs_whole_expr_idx ON doc ((attrs || '{}'::jsonb));
            CREATE INDEX doc_id_incl_attrs_idx ON doc (id) INCLUDE (attrs);
            CREATE INDEX doc_raw_k_idx ON doc ((raw->>'k'));
            CREATE INDEX doc_tags_idx ON doc (tags);
            "#,
        )
        .await;
        assert_eq!(found, ["public.doc_body_idx", "public.doc_id_meta_idx"]);
    }
}
