//! `duplicate_index` (H004, also H004 in the checkup): a second index with the same definition as
//! an existing one, under another name.
//!
//! Every copy is maintained on every insert and every update of an indexed column, takes the same
//! space on disk and in the cache, and gives the planner nothing the first one did not: a lookup
//! that can use one can use the other.
//!
//! Slip: `{{ duplicate_index(object="public.idx_new", sql="CREATE INDEX idx_new ON t(c);") }}`; clean renders
//! nothing, the slip adds the statement.
//!
//! Detection: two valid indexes (`indisvalid`) on the same table are duplicates when they have
//! - the same access method: a hash index on `(a)` answers only equality, a btree on `(a)` also
//!   ranges and ordering, so they are different indexes;
//! - the same key columns in the same order (the first `indnkeyatts` of `indkey`): `(a, b)` and
//!   `(b, a)` serve different lookups;
//! - the same operator class and collation at each key position: `text_pattern_ops` serves
//!   `LIKE 'x%'` where the default class does not, and a `COLLATE "C"` index serves comparisons
//!   in that collation only;
//! - the same key expressions and the same predicate, compared as `pg_get_expr` text (`(lower(email))`
//!   twice is a duplicate; `(a)` beside `(a) WHERE x > 0` is not: the partial one is smaller and
//!   may be there on purpose);
//! - the same INCLUDE columns, compared as a set (their order does not change what the index can
//!   return).
//!
//! ASC/DESC and NULLS FIRST/LAST (`indoption`) are ignored: a btree can be scanned in both
//! directions, so `(a)` and `(a DESC)` serve the same lookups and orderings. (On several columns a
//! mixed order such as `(a, b DESC)` can serve an `ORDER BY a, b DESC` that `(a, b)` cannot; the
//! rule still calls them duplicates, since such an ORDER BY is rare and both serve every lookup.)
//! Uniqueness is ignored too: a unique index serves every lookup a plain index on the same columns
//! serves.
//!
//! Of a group of duplicates one is kept and every other is reported. The kept one is the oldest
//! (lowest index oid) among those that cannot simply be dropped: the index of a constraint
//! (primary key, unique or exclusion), a unique index (dropping it stops enforcing uniqueness, with
//! or without a constraint), or an index attached to an index of the partitioned table. When none
//! of the group is such an index, the oldest is kept. So `(a)` beside an older `(a)` reports the
//! newer one, and a plain `(a)` created before a `UNIQUE (a)` constraint reports the plain one.
//! Indexes of partitions attached to an index of the partitioned table are never reported; the
//! finding, if any, is the partitioned table's index, once.

use super::kind::{MistakeKind, Proof};
use super::query::Query;
use super::slip::Slip;

pub const KIND: MistakeKind = MistakeKind {
    name: "duplicate_index",
    roadmap_code: Some("H004"),
    checkup_code: Some("H004"),
    proof: Proof::Catalog(Query::Sql(DETECTION_QUERY)),
    slip: Slip::Added,
    ..MistakeKind::USUAL
};

// `indkey` is a 0-based vector of key columns then INCLUDE columns (0 for an expression);
// `indclass` and `indcollation` hold the key columns only. `pinned`: the index cannot be
// dropped on its own without changing what the schema enforces or how partitions attach.
const DETECTION_QUERY: &str = r#"
WITH idx AS (
    SELECT i.indexrelid,
           i.indrelid,
           ic.relam,
           ic.relname,
           n.nspname,
           ic.relispartition,
           (i.indkey::int2[])[0:i.indnkeyatts - 1] AS keys,
           ARRAY(SELECT x FROM unnest((i.indkey::int2[])[i.indnkeyatts:]) AS x ORDER BY x) AS includes,
           i.indclass::oid[] AS classes,
           i.indcollation::oid[] AS collations,
           pg_get_expr(i.indexprs, i.indrelid) AS exprs,
           pg_get_expr(i.indpred, i.indrelid) AS pred,
           (i.indisunique OR ic.relispartition OR EXISTS (
               SELECT 1 FROM pg_constraint con
               WHERE con.conindid = i.indexrelid
                 AND con.conrelid = i.indrelid
                 AND con.contype IN ('p', 'u', 'x')
           )) AS pinned
    FROM pg_index i
    JOIN pg_class ic ON ic.oid = i.indexrelid
    JOIN pg_namespace n ON n.oid = ic.relnamespace
    WHERE i.indisvalid
      AND {user_schemas}
      AND {scope:i.indrelid}
)
SELECT format('%s.%s', a.nspname, a.relname) AS object
FROM idx a
JOIN pg_class t ON t.oid = a.indrelid
WHERE t.relkind IN ('r', 'p')
  AND NOT a.relispartition
  AND EXISTS (
      SELECT 1
      FROM idx b
      WHERE b.indrelid = a.indrelid
        AND b.indexrelid <> a.indexrelid
        AND b.relam = a.relam
        AND b.keys = a.keys
        AND b.includes = a.includes
        AND b.classes = a.classes
        AND b.collations = a.collations
        AND b.exprs IS NOT DISTINCT FROM a.exprs
        AND b.pred IS NOT DISTINCT FROM a.pred
        AND ((b.pinned AND NOT a.pinned)
             OR (b.pinned = a.pinned AND b.indexrelid < a.indexrelid))
  )
ORDER BY 1
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mistakes::testing::detect;

    #[tokio::test]
    async fn finds_the_newer_copy_of_the_same_definition() {
        let found = detect(
            &KIND,
            r#"
            CREATE TABLE dup (a int, b int, c text, x int);
            CREATE INDEX dup_a_idx ON dup (a);
            CREATE INDEX dup_a_again_idx ON dup (a);
            CREATE TABLE desc_dup (a int);
            CREATE INDEX desc_dup_a_idx ON desc_dup (a);
            CREATE INDEX desc_dup_a_desc_idx ON desc_dup (a DESC);
            CREATE TABLE triple (a int, b int);
            CREATE INDEX triple_1_idx ON triple (a, b);
            CREATE INDEX triple_2_idx ON triple (a, b);
            CREATE INDEX triple_3_idx ON triple (a, b);
            CREATE TABLE expr (c text);
            CREATE INDEX expr_lower_idx ON expr (lower(c));
            CREATE INDEX expr_lower_again_idx ON expr (lower(c));
            CREATE TABLE incl (a int, b int, c int);
            CREATE INDEX incl_a_bc_idx ON incl (a) INCLUDE (b, c);
            CREATE INDEX incl_a_cb_idx ON incl (a) INCLUDE (c, b);
            CREATE TABLE part_dup (a int, x int);
            CREATE INDEX part_dup_a_x_idx ON part_dup (a) WHERE x > 0;
            CREATE INDEX part_dup_a_x_again_idx ON part_dup (a) WHERE x > 0;
            "#,
        )
        .await;
        assert_eq!(
            found,
            [
                "public.desc_dup_a_desc_idx",
                "public.dup_a_again_idx",
                "public.expr_lower_again_idx",
                "public.incl_a_cb_idx",
                "public.part_dup_a_x_again_idx",
                "public.triple_2_idx",
                "public.triple_3_idx",
            ]
        );
    }

    #[tokio::test]
    async fn keeps_the_index_that_enforces_something() {
        let found = detect(
            &KIND,
            r#"
            CREATE TABLE cons (a int);
            CREATE INDEX cons_a_idx ON cons (a);
            ALTER TABLE cons ADD CONSTRAINT cons_a_key UNIQUE (a);
            CREATE TABLE pk (id int PRIMARY KEY);
            CREATE INDEX pk_id_idx ON pk (id);
            CREATE TABLE uniq (a int);
            CREATE INDEX uniq_a_idx ON uniq (a);
            CREATE UNIQUE INDEX uniq_a_key ON uniq (a);
            CREATE TABLE both_cons (id int PRIMARY KEY);
            ALTER TABLE both_cons ADD UNIQUE (id);
            "#,
        )
        .await;
        assert_eq!(
            found,
            [
                "public.both_cons_id_key",
                "public.cons_a_idx",
                "public.pk_id_idx",
                "public.uniq_a_idx",
            ]
        );
    }

    #[tokio::test]
    async fn different_definitions_are_not_duplicates() {
        let found = detect(
            &KIND,
            r#"
            CREATE TABLE t (a int, b int, c text, x int);
            CREATE INDEX t_a_idx ON t (a);
            CREATE INDEX t_a_partial_idx ON t (a) WHERE x > 0;
            CREATE INDEX t_a_hash_idx ON t USING hash (a);
            CREATE INDEX t_a_b_idx ON t (a, b);
            CREATE INDEX t_b_a_idx ON t (b, a);
            CREATE INDEX t_a_incl_idx ON t (a) INCLUDE (b);
            CREATE INDEX t_c_idx ON t (c);
            CREATE INDEX t_c_pattern_idx ON t (c text_pattern_ops);
            CREATE INDEX t_c_collate_idx ON t (c COLLATE "C");
            CREATE INDEX t_lower_c_idx ON t (lower(c));
            CREATE INDEX t_upper_c_idx ON t (upper(c));
            CREATE TABLE inv (a int);
            CREATE INDEX inv_a_idx ON inv (a);
            CREATE INDEX inv_a_again_idx ON inv (a);
            UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'inv_a_again_idx'::regclass;
            "#,
        )
        .await;
        assert_eq!(found, Vec::<String>::new());
    }

    #[tokio::test]
    async fn partitioned_indexes_are_reported_once() {
        let found = detect(
            &KIND,
            r#"
            CREATE TABLE event (a int, b int, d date) PARTITION BY RANGE (d);
            CREATE TABLE event_2024 PARTITION OF event
                FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
            CREATE INDEX event_a_idx ON event (a);
            CREATE INDEX event_a_again_idx ON event (a);
            CREATE INDEX event_b_idx ON event (b);
            CREATE INDEX event_2024_b_local_idx ON event_2024 (b);
            "#,
        )
        .await;
        assert_eq!(
            found,
            ["public.event_2024_b_local_idx", "public.event_a_again_idx"]
        );
    }
}
