//! `low_cardinality_index` (L002): a btree index on a boolean or flag column alone.
//!
//! A boolean has two values (three with NULL), so an index on it alone splits the table into two
//! halves. Looking up the common value reads most of the table through the index, slower than a
//! sequential scan, so the planner ignores it; looking up the rare value is what someone wanted,
//! and a partial index does that at a fraction of the size. Meanwhile the full index is maintained
//! on every insert and on every update of the flag.
//!
//! Slip: `{{ low_cardinality_index(object="public.idx_t_flag", sql="CREATE INDEX idx_t_flag ON t(flag);") }}`;
//! clean renders nothing, the slip adds the statement.
//!
//! Detection: a valid (`indisvalid`) btree index on a table, with no predicate, whose only key
//! column (`indnkeyatts = 1`) is a table column (not an expression) of type `boolean`.
//! - A partial index (`WHERE is_active`, `WHERE NOT archived`) is the right way to index a flag and
//!   is never reported, whatever its key.
//! - An index whose boolean column is followed by other key columns is not this kind:
//!   `(flag, project_id)` is `wrong_column_order`'s, `(project_id, flag)` is fine.
//! - A unique index or the index of a constraint is reported like any other: a unique boolean
//!   allows at most two rows, which is either a bug or a table that needs no index.
//! - INCLUDE columns do not change the verdict: the lookup is still on the flag alone.
//!
//! "Flag" means the `boolean` type only: a `smallint` or `char(1)` used as a flag cannot be told
//! apart from a real number or code in the catalog, and a domain over `boolean` is not looked
//! through. Indexes of partitions that are attached to an index of the partitioned table are
//! skipped; the finding is the partitioned table's index, once.

use super::kind::{MistakeKind, Proof};
use super::query::Query;
use super::slip::Slip;

pub const KIND: MistakeKind = MistakeKind {
    name: "low_cardinality_index",
    roadmap_code: Some("L002"),
    proof: Proof::Catalog(Query::Indexes(DEFECTIVE)),
    slip: Slip::Added,
    ..MistakeKind::USUAL
};

// `indkey[0]` is the first key column's attnum, 0 for an expression.
const DEFECTIVE: &str = r#"
am.amname = 'btree'
AND i.indisvalid
AND i.indpred IS NULL
AND i.indnkeyatts = 1
AND i.indkey[0] <> 0
AND EXISTS (
    SELECT 1 FROM pg_attribute a
    WHERE a.attrelid = i.indrelid AND a.attnum = i.indkey[0] AND a.atttypid = 'bool'::regtype
)
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mistakes::testing::detect;

    #[tokio::test]
    async fn finds_full_btree_indexes_on_a_boolean_alone() {
        let found = detect(
            &KIND,
            r#"
            CREATE TABLE project (
                id int PRIMARY KEY,
                is_active bool NOT NULL,
                archived boolean,
                is_default bool,
                is_public bool,
                visible bool,
                status_code smallint,
                name text
            );
            CREATE INDEX project_is_active_idx ON project (is_active);
            CREATE INDEX project_archived_desc_idx ON project (archived DESC) INCLUDE (name);
            CREATE UNIQUE INDEX project_is_default_key ON project (is_default);
            CREATE INDEX project_active_partial_idx ON project (is_active) WHERE is_active;
            CREATE INDEX project_id_archived_partial_idx ON project (id) WHERE NOT archived;
            CREATE INDEX project_public_id_idx ON project (is_public, id);
            CREATE INDEX project_id_public_idx ON project (id, is_public);
            CREATE INDEX project_visible_hash_idx ON project USING hash (visible);
            CREATE INDEX project_visible_expr_idx ON project ((NOT visible));
            CREATE INDEX project_status_code_idx ON project (status_code);
            CREATE INDEX project_name_idx ON project (name);
            "#,
        )
        .await;
        assert_eq!(
            found,
            [
                "public.project_archived_desc_idx",
                "public.project_is_active_idx",
                "public.project_is_default_key",
            ]
        );
    }
}
