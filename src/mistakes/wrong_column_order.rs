//! `wrong_column_order`: a composite index with the low-cardinality column first.
//!
//! A btree is sorted by its first column, then by the next within each value of the first. With a
//! boolean first, the index is two long runs, and a lookup on the selective column alone
//! (`WHERE project_id = $1`, the common one) cannot descend to it: it has to scan the index or is
//! not used at all. Put the other way round, `(project_id, is_active)` serves `project_id = $1`
//! and `project_id = $1 AND is_active` both.
//!
//! Slip: `{{ wrong_column_order(object="public.idx", sql="CREATE INDEX idx ON t(project_id, is_active);",
//! slipped="CREATE INDEX idx ON t(is_active, project_id);") }}`; clean renders `sql`, the slip `slipped`.
//!
//! Detection: a valid (`indisvalid`) btree index on a table with two or more key columns
//! (`indnkeyatts >= 2`) whose first key column is a table column of type `boolean` and at least one
//! later key column is not boolean (a column or an expression, typed by the index's own
//! attribute). So `(flag, project_id)` is reported; `(project_id, flag)` is the right order;
//! `(flag)` alone is `low_cardinality_index`'s business; `(flag, other_flag)` has no selective
//! column to put first, so there is no better order. An expression first, even a boolean one, is
//! not reported. INCLUDE columns are not key columns and are not looked at.
//!
//! The rule does not look at uniqueness or a predicate: a unique or partial index led by a flag
//! has the same shape problem. Domains over `boolean` are not looked through. Indexes of
//! partitions that are attached to an index of the partitioned table are skipped; the finding is
//! the partitioned table's index, once.

use super::kind::{MistakeKind, Proof};
use super::query::Query;
use super::slip::Slip;

pub const KIND: MistakeKind = MistakeKind {
    name: "wrong_column_order",
    proof: Proof::Catalog(Query::Indexes(DEFECTIVE)),
    slip: Slip::Swapped,
    ..MistakeKind::USUAL
};

// `indkey[0]` is the first key column's attnum (0 for an expression). The index's own
// attributes 1..indnkeyatts carry the type of each key, expressions included.
const DEFECTIVE: &str = r#"
am.amname = 'btree'
AND i.indisvalid
AND i.indnkeyatts >= 2
AND i.indkey[0] <> 0
AND EXISTS (
    SELECT 1 FROM pg_attribute first_col
    WHERE first_col.attrelid = i.indrelid
      AND first_col.attnum = i.indkey[0]
      AND first_col.atttypid = 'bool'::regtype
)
AND EXISTS (
    SELECT 1 FROM pg_attribute k
    WHERE k.attrelid = i.indexrelid
      AND k.attnum BETWEEN 2 AND i.indnkeyatts
      AND k.atttypid <> 'bool'::regtype
)
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mistakes::testing::detect;

    #[tokio::test]
    async fn finds_composite_indexes_led_by_a_flag() {
        let found = detect(
            &KIND,
            r#"
            CREATE TABLE task (
                id int PRIMARY KEY,
                project_id int NOT NULL,
                is_active bool NOT NULL,
                is_done bool NOT NULL,
                title text
            );
            CREATE INDEX task_active_project_idx ON task (is_active, project_id);
            CREATE INDEX task_active_done_title_idx ON task (is_active, is_done, title);
            CREATE INDEX task_done_lower_title_idx ON task (is_done, lower(title));
            CREATE UNIQUE INDEX task_done_id_key ON task (is_done, id) WHERE is_done;
            CREATE INDEX task_project_active_idx ON task (project_id, is_active);
            CREATE INDEX task_active_idx ON task (is_active);
            CREATE INDEX task_active_done_idx ON task (is_active, is_done);
            CREATE INDEX task_active_incl_idx ON task (is_active) INCLUDE (project_id);
            CREATE INDEX task_expr_first_idx ON task ((project_id > 0), project_id);
            CREATE INDEX task_active_hash_idx ON task USING hash (is_active);
            "#,
        )
        .await;
        assert_eq!(
            found,
            [
                "public.task_active_done_title_idx",
                "public.task_active_project_idx",
                "public.task_done_id_key",
                "public.task_done_lower_title_idx",
            ]
        );
    }
}
