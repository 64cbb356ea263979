//! `polymorphic_reference`: an `entity_type` + `entity_id` pair with no foreign key.
//!
//! One column names a table, the other holds an id in it, so a row can point at an issue, a
//! project or a comment. No foreign key can say that, so the database checks nothing: ids of
//! deleted rows stay behind, a typo in the type column points nowhere, and every join needs a
//! `CASE` over the type. One nullable foreign key column per target, or a table per relation,
//! keeps the references checked and indexable.
//!
//! Slip: `{{ polymorphic_reference(object="public.t(entity_type,entity_id)", sql="issue_id UUID NOT NULL REFERENCES
//! issues(id) ON DELETE CASCADE", slipped="entity_type VARCHAR(50) NOT NULL,\n    entity_id UUID NOT NULL") }}`; clean
//! renders `sql`, the slip `slipped`.
//!
//! Detection: a table with two live columns `<p>_type` and `<p>_id` for the same non-empty prefix
//! `<p>` (`entity_type`/`entity_id`, `trigger_entity_type`/`trigger_entity_id`), where
//! - `<p>_type` is of one of [`DISCRIMINATOR_TYPES`]: a name stored as a string;
//! - `<p>_id` is of one of [`ID_TYPES`]: the types ids are stored as;
//! - `<p>_id` is not a column of any foreign key declared on the table. A pair whose id has a
//!   foreign key is a plain reference with a redundant or descriptive type column, not a
//!   polymorphic one.
//!
//! The object is the pair, `schema.table(<p>_type,<p>_id)`; a table with two such pairs has two
//! findings. A `<p>_type` column alone (`content_type`) or a `type`/`id` pair (empty prefix) is
//! never reported. The names are the only evidence: `payment_type` (card or cash) beside a
//! `payment_id` uuid is reported too. An enum or domain typed discriminator and text ids are not
//! in the type lists, so such pairs are not reported. Partitions are skipped (their columns and
//! keys are the partitioned table's, reported there once).

use super::kind::{MistakeKind, Proof};
use super::query::Query;
use super::slip::Slip;

pub const KIND: MistakeKind = MistakeKind {
    name: "polymorphic_reference",
    proof: Proof::Catalog(Query::Sql(DETECTION_QUERY)),
    slip: Slip::Swapped,
    ..MistakeKind::USUAL
};

// `left(name, -length('_type'))` drops the `_type` suffix, leaving the prefix. The
// discriminator is a name stored as a string; the id is of a type ids are stored as.
const DETECTION_QUERY: &str = r#"
SELECT format('%s.%s(%s,%s)', n.nspname, c.relname, ty.attname, id.attname) AS object
FROM pg_attribute ty
JOIN pg_attribute id
  ON id.attrelid = ty.attrelid
 AND id.attname::text = left(ty.attname::text, -length('_type')) || '_id'
JOIN pg_class c ON c.oid = ty.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE right(ty.attname::text, length('_type')) = '_type'
  AND length(ty.attname::text) > length('_type')
  AND ty.atttypid IN ('text'::regtype, 'varchar'::regtype)
  AND id.atttypid IN ('uuid'::regtype, 'int2'::regtype, 'int4'::regtype, 'int8'::regtype)
  AND ty.attnum > 0
  AND NOT ty.attisdropped
  AND id.attnum > 0
  AND NOT id.attisdropped
  AND c.relkind IN ('r', 'p')
  AND NOT c.relispartition
  AND {user_schemas}
  AND {scope:c.oid}
  AND NOT EXISTS (
      SELECT 1 FROM pg_constraint con
      WHERE con.conrelid = id.attrelid
        AND con.contype = 'f'
        AND id.attnum = ANY (con.conkey)
  )
ORDER BY 1
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mistakes::testing::detect;

    #[tokio::test]
    async fn finds_type_and_id_pairs_without_a_foreign_key() {
        let found = detect(
            &KIND,
            r#"
            CREATE TYPE subject_kind AS ENUM ('issue', 'project');
            CREATE TABLE target (id int PRIMARY KEY);
            CREATE TABLE comment (
                id uuid PRIMARY KEY,
                entity_type varchar(50) NOT NULL,
                entity_id uuid NOT NULL,
                author_type text,
                author_id bigint
            );
            CREATE TABLE automation (
                id int PRIMARY KEY,
                trigger_entity_type text,
                trigger_entity_id int,
                target_type text,
                target_id int REFERENCES target (id)
            );
            CREATE TABLE attachment (id int PRIMARY KEY, content_type text, size_bytes bigint);
            CREATE TABLE thing (id int PRIMARY KEY, type text);
            CREATE TABLE odd ("_type" text, "_id" int);
            CREATE TABLE external (owner_type text, owner_id text);
            CREATE TABLE subject (subject_type subject_kind, subject_id uuid);
            "#,
        )
        .await;
        assert_eq!(
            found,
            [
                "public.automation(trigger_entity_type,trigger_entity_id)",
                "public.comment(author_type,author_id)",
                "public.comment(entity_type,entity_id)",
            ]
        );
    }

    #[tokio::test]
    async fn partitioned_tables_are_reported_once() {
        let found = detect(
            &KIND,
            r#"
            CREATE TABLE event (d date, entity_type text, entity_id uuid) PARTITION BY RANGE (d);
            CREATE TABLE event_2024 PARTITION OF event
                FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
            "#,
        )
        .await;
        assert_eq!(found, ["public.event(entity_type,entity_id)"]);
    }
}
