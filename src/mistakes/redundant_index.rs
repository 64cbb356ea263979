//! `redundant_index` (H004, also H004 in the checkup): an index on the leading column(s) of another
//! index that already serves every lookup it can.
//!
//! It costs writes, space and cache for nothing: any query that could use it can use the longer
//! index, which keeps the same columns first.
//!
//! Slip: the template writes `{{ redundant_index(object="public.t_a_idx", sql="CREATE INDEX t_a_idx ON t (a);") }}`;
//! clean renders nothing (the careful engineer does not add it), the slip renders the `sql`.
//!
//! Detection: index A is redundant when
//! - A is a valid btree index on a table, not unique, not the index of a constraint (primary key,
//!   unique or exclusion), with no expression among its columns: dropping any of those changes
//!   what the schema enforces or what lookups are possible;
//! - another valid btree index B on the same table (unique, a primary key's or a constraint's index
//!   included) has key columns (the first `indnkeyatts` of `indkey`) of which A's key columns are a
//!   strict prefix, position by position, with the same operator class at each of those positions:
//!   `text_pattern_ops` serves `LIKE 'x%'` where the default class does not, so it is not the same
//!   index;
//! - A's predicate is NULL or equal to B's (compared as `pg_get_expr` text). A partial B never
//!   makes a non-partial A redundant, since B does not hold every row; a partial A beside a full B
//!   is left alone too, as a smaller index someone may have made on purpose.
//!
//! ASC/DESC and NULLS FIRST/LAST (`indoption`) and collations are ignored: a btree can be scanned in
//! both directions, and for a lookup on a prefix the order does not matter. INCLUDE columns of A are
//! not compared either, only key columns are (so `(a) INCLUDE (c)` beside `(a, b)` is reported).
//! Exact duplicates (the same key columns) are not reported here: they are `duplicate_index`'s.
//! Indexes of partitions that are attached to an index of the partitioned table are skipped; the
//! finding is the partitioned table's index, once.

use super::kind::{MistakeKind, Proof};
use super::query::Query;
use super::slip::Slip;

pub const KIND: MistakeKind = MistakeKind {
    name: "redundant_index",
    roadmap_code: Some("H004"),
    checkup_code: Some("H004"),
    proof: Proof::Catalog(Query::Indexes(DEFECTIVE)),
    slip: Slip::Added,
    ..MistakeKind::USUAL
};

// `i` is A, `b` the longer index. `indkey` and `indclass` are 0-based vectors; a slice of each
// gives A's key positions.
const DEFECTIVE: &str = r#"
am.amname = 'btree'
AND i.indisvalid
AND NOT i.indisunique
AND i.indexprs IS NULL
AND NOT EXISTS (
    SELECT 1 FROM pg_constraint con
    WHERE con.conindid = i.indexrelid
      AND con.conrelid = i.indrelid
      AND con.contype IN ('p', 'u', 'x')
)
AND EXISTS (
    SELECT 1
    FROM pg_index b
    JOIN pg_class bc ON bc.oid = b.indexrelid
    WHERE b.indrelid = i.indrelid
      AND b.indexrelid <> i.indexrelid
      AND bc.relam = ic.relam
      AND b.indisvalid
      AND b.indnkeyatts > i.indnkeyatts
      AND (b.indkey::int2[])[0:i.indnkeyatts - 1] = (i.indkey::int2[])[0:i.indnkeyatts - 1]
      AND (b.indclass::oid[])[0:i.indnkeyatts - 1] = (i.indclass::oid[])[0:i.indnkeyatts - 1]
      AND pg_get_expr(b.indpred, b.indrelid) IS NOT DISTINCT FROM pg_get_expr(i.indpred, i.indrelid)
)
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mistakes::testing::detect;

    #[tokio::test]
    async fn finds_strict_prefixes_of_matching_indexes() {
        let found = detect(
            &KIND,
            r#"
            CREATE TABLE uniq (a int, b int, UNIQUE (a, b));
            CREATE INDEX uniq_a_idx ON uniq (a);
            CREATE INDEX uniq_b_idx ON uniq (b);
            CREATE TABLE pk (a int, b int, PRIMARY KEY (a, b));
            CREATE INDEX pk_a_desc_idx ON pk (a DESC);
            CREATE TABLE comp (a int, b int, c text, d text, x bool);
            CREATE INDEX comp_a_b_idx ON comp (a, b);
            CREATE INDEX comp_a_idx ON comp (a);
            CREATE INDEX comp_b_idx ON comp (b);
            CREATE INDEX comp_c_pattern_idx ON comp (c text_pattern_ops);
            CREATE INDEX comp_c_b_idx ON comp (c, b);
            CREATE INDEX comp_d_idx ON comp (d);
            CREATE INDEX comp_d_b_idx ON comp (d, b);
            CREATE INDEX comp_d_gin_idx ON comp USING gin (to_tsvector('simple', d));
            CREATE INDEX comp_a_plus_idx ON comp ((a + 1));
            CREATE INDEX comp_a_plus_b_idx ON comp ((a + 1), b);
            "#,
        )
        .await;
        assert_eq!(
            found,
            [
                "public.comp_a_idx",
                "public.comp_d_idx",
                "public.pk_a_desc_idx",
                "public.uniq_a_idx"
            ]
        );
    }

    #[tokio::test]
    async fn leaves_duplicates_constraints_and_other_methods_alone() {
        let found = detect(
            &KIND,
            r#"
            CREATE TABLE dup (a int, b int);
            CREATE INDEX dup_a_idx ON dup (a);
            CREATE INDEX dup_a_again_idx ON dup (a);
            CREATE TABLE cons (a int, b int, UNIQUE (a), PRIMARY KEY (a, b));
            CREATE TABLE gin_only (a int, tags int[]);
            CREATE INDEX gin_only_tags_idx ON gin_only USING gin (tags);
            CREATE INDEX gin_only_a_idx ON gin_only (a);
            CREATE TABLE hashed (a int, b int);
            CREATE INDEX hashed_a_idx ON hashed USING hash (a);
            CREATE INDEX hashed_a_b_idx ON hashed (a, b);
            "#,
        )
        .await;
        assert_eq!(found, Vec::<String>::new());
    }

    #[tokio::test]
    async fn predicates_must_match() {
        let found = detect(
            &KIND,
            r#"
            CREATE TABLE full_b (a int, b int, x bool);
            CREATE INDEX full_b_a_b_idx ON full_b (a, b);
            CREATE INDEX full_b_a_x_idx ON full_b (a) WHERE x;
            CREATE TABLE partial_b (a int, b int, x bool);
            CREATE INDEX partial_b_a_b_x_idx ON partial_b (a, b) WHERE x;
            CREATE INDEX partial_b_a_idx ON partial_b (a);
            CREATE INDEX partial_b_a_x_idx ON partial_b (a) WHERE x;
            CREATE INDEX partial_b_a_not_x_idx ON partial_b (a) WHERE NOT x;
            "#,
        )
        .await;
        assert_eq!(found, ["public.partial_b_a_x_idx"]);
    }

    #[tokio::test]
    async fn partitioned_indexes_are_reported_once() {
        let found = detect(
            &KIND,
            r#"
            CREATE TABLE event (a int, b int, d date) PARTITION BY RANGE (d);
            CREATE TABLE event_2024 PARTITION OF event
                FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
            CREATE INDEX event_a_b_idx ON event (a, b);
            CREATE INDEX event_a_idx ON event (a);
            CREATE INDEX event_2024_b_idx ON event_2024 (b);
            CREATE INDEX event_2024_b_a_idx ON event_2024 (b, a);
            "#,
        )
        .await;
        assert_eq!(found, ["public.event_2024_b_idx", "public.event_a_idx"]);
    }
}
