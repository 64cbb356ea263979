//! `missing_fk_index` (H002 in the roadmap, H003 in the postgres_ai checkup): a foreign key with no index to look it up by.
//!
//! Without one, every delete or key update on the parent scans the child table to check the
//! constraint, and every join from parent to children scans it too.
//!
//! Slip: the template writes `{{ missing_fk_index(object="public.t(col)", sql="CREATE INDEX ...;") }}`
//! where the index belongs; clean renders the `sql` as given, the slip renders nothing (the index
//! is left out).
//!
//! Detection: a foreign key (declared on the table itself, not a partition's copy of a parent's key)
//! is covered only by an index on the same table that is
//! - valid (`indisvalid`): a failed `CREATE INDEX CONCURRENTLY` leaves an index the planner ignores;
//! - not partial: a partial index serves only the rows its predicate admits, and the constraint
//!   check on a parent delete looks for every row. One exception: for a single-column key, a
//!   predicate of exactly `col IS NOT NULL` covers, because the check's `col = $1` implies it and
//!   the planner uses the index (week 6's `idx_issues_template ... WHERE template_id IS NOT NULL`);
//! - btree: the other access methods either cannot serve the equality lookup on several columns or
//!   are not what anyone means by "the FK index";
//! - led by exactly the key's columns: its first n key columns (n = the key's column count) are
//!   the key's columns as a set, in any order. An equality lookup on all n columns uses such an
//!   index whatever their order, while a key column in a later position cannot be reached without
//!   the columns before it. An expression in those positions does not count, even one over a key
//!   column. INCLUDE columns are not key columns and never cover.
//!
//! The index behind a PRIMARY KEY or UNIQUE constraint is an ordinary unique btree index and covers
//! like any other.

use super::kind::{MistakeKind, Proof};
use super::query::Query;
use super::slip::Slip;

pub const KIND: MistakeKind = MistakeKind {
    name: "missing_fk_index",
    roadmap_code: Some("H002"),
    checkup_code: Some("H003"),
    proof: Proof::Catalog(Query::ForeignKeys(DEFECTIVE)),
    slip: Slip::Omitted,
    ..MistakeKind::USUAL
};

const DEFECTIVE: &str = r#"
NOT EXISTS (
    SELECT 1
    FROM pg_index i
    JOIN pg_class ic ON ic.oid = i.indexrelid
    JOIN pg_am am ON am.oid = ic.relam
    WHERE i.indrelid = con.conrelid
      AND i.indisvalid
      AND (i.indpred IS NULL OR (
          cardinality(con.conkey) = 1
          AND pg_get_expr(i.indpred, i.indrelid) = format('(%s IS NOT NULL)', quote_ident(
              (SELECT attname FROM pg_attribute WHERE attrelid = con.conrelid AND attnum = con.conkey[1])))
      ))
      AND am.amname = 'btree'
      AND i.indnkeyatts >= cardinality(con.conkey)
      -- The index's first columns are the key's, in any order: as many, each one of the key's
      -- and every one of them (containment both ways; sorting both arrays costs twice as much).
      AND (i.indkey::int2[])[0:cardinality(con.conkey) - 1] @> con.conkey
      AND (i.indkey::int2[])[0:cardinality(con.conkey) - 1] <@ con.conkey
)
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mistakes::testing::detect;

    #[tokio::test]
    async fn covering_needs_a_valid_full_btree_led_by_the_key() {
        let found = detect(
            &KIND,
            r#"
            CREATE TABLE parent (id int PRIMARY KEY, a int, b int, UNIQUE (a, b));
            CREATE TABLE child (
                id int PRIMARY KEY,
                bare_id int REFERENCES parent(id),
                partial_id int REFERENCES parent(id),
                not_null_id int REFERENCES parent(id),
                second_id int REFERENCES parent(id),
                leading_id int REFERENCES parent(id),
                unique_id int UNIQUE REFERENCES parent(id),
                invalid_id int REFERENCES parent(id),
                valid_id int REFERENCES parent(id),
                expr_id int REFERENCES parent(id),
                hash_id int REFERENCES parent(id),
                included_id int REFERENCES parent(id),
                x int,
                swapped_a int, swapped_b int,
                half_a int, half_b int,
                FOREIGN KEY (swapped_a, swapped_b) REFERENCES parent(a, b),
                FOREIGN KEY (half_a, half_b) REFERENCES parent(a, b)
            );
            CREATE INDEX ON child (partial_id) WHERE partial_id > 0;
            CREATE INDEX ON child (not_null_id) WHERE not_null_id IS NOT NULL;
            CREATE INDEX ON child (x, second_id);
            CREATE INDEX ON child (leading_id, x);
            CREATE INDEX child_invalid_idx ON child (invalid_id);
            UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'child_invalid_idx'::regclass;
            CREATE INDEX ON child (valid_id);
            CREATE INDEX ON child ((expr_id + 0), x);
            CREATE INDEX ON child USING hash (hash_id);
            CREATE INDEX ON child (x) INCLUDE (included_id);
            CREATE INDEX ON child (swapped_b, swapped_a);
            CREATE INDEX ON child (half_a);
            CREATE TABLE line (
                order_id int REFERENCES parent(id),
                n int,
                PRIMARY KEY (order_id, n)
            );
            CREATE TABLE tag (
                a int,
                b int REFERENCES parent(id),
                PRIMARY KEY (a, b)
            );
            "#,
        )
        .await;
        assert_eq!(
            found,
            [
                "public.child(bare_id)",
                "public.child(expr_id)",
                "public.child(half_a,half_b)",
                "public.child(hash_id)",
                "public.child(included_id)",
                "public.child(invalid_id)",
                "public.child(partial_id)",
                "public.child(second_id)",
                "public.tag(b)",
            ]
        );
    }

    #[tokio::test]
    async fn partitioned_tables_report_each_key_once() {
        let found = detect(
            &KIND,
            r#"
            CREATE TABLE account (id int PRIMARY KEY);
            CREATE TABLE period (id int, d date, PRIMARY KEY (id, d)) PARTITION BY RANGE (d);
            CREATE TABLE period_2024 PARTITION OF period
                FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
            CREATE TABLE period_2025 PARTITION OF period
                FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
            CREATE TABLE booking (
                id int PRIMARY KEY,
                period_id int,
                period_d date,
                FOREIGN KEY (period_id, period_d) REFERENCES period(id, d)
            );
            CREATE TABLE event (
                id int, d date, account_id int REFERENCES account(id), PRIMARY KEY (id, d)
            ) PARTITION BY RANGE (d);
            CREATE TABLE event_2024 PARTITION OF event
                FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
            CREATE TABLE audit (
                id int, d date, account_id int REFERENCES account(id), PRIMARY KEY (id, d)
            ) PARTITION BY RANGE (d);
            CREATE TABLE audit_2024 PARTITION OF audit
                FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
            CREATE INDEX ON audit (account_id);
            "#,
        )
        .await;
        assert_eq!(
            found,
            [
                "public.booking(period_id,period_d)",
                "public.event(account_id)"
            ]
        );
    }

    #[tokio::test]
    async fn ignores_the_ledger_schema() {
        let found = detect(
            &KIND,
            r#"
            CREATE SCHEMA engineer_sim;
            CREATE TABLE engineer_sim.change (id int PRIMARY KEY);
            CREATE TABLE engineer_sim.finding (id int, change_id int REFERENCES engineer_sim.change(id));
            CREATE SCHEMA app;
            CREATE TABLE app.finding (id int, change_id int REFERENCES engineer_sim.change(id));
            "#,
        )
        .await;
        assert_eq!(found, ["app.finding(change_id)"]);
    }
}
