//! `missing_on_delete` (B002): a foreign key with no ON DELETE clause.
//!
//! The default, NO ACTION, makes deleting a parent fail while children exist. Sometimes that is
//! wanted, but a key written without the clause usually means nobody decided what deleting the
//! parent should do, and the first delete in production finds out.
//!
//! Slip: the template writes `REFERENCES parent(id){{ missing_on_delete(object="public.t(col)", action="CASCADE") }}`;
//! clean renders ` ON DELETE <action>`, the slip renders nothing.
//!
//! Detection: a foreign key whose `confdeltype` is `a` (NO ACTION), named `schema.table(cols)` with
//! its columns in declared order. The catalog stores an explicit `ON DELETE NO ACTION` exactly as
//! it stores a missing clause, so a key that spells NO ACTION out is reported too: the two cannot be
//! told apart after the fact. `ON DELETE RESTRICT` is a decision and is not reported. Only keys
//! declared on the table itself count; a partition's copy of its parent's key is the parent's
//! finding.

use super::kind::{MistakeKind, Proof};
use super::query::Query;
use super::slip::Slip;

pub const KIND: MistakeKind = MistakeKind {
    name: "missing_on_delete",
    roadmap_code: Some("B002"),
    proof: Proof::Catalog(Query::ForeignKeys("con.confdeltype = 'a'")),
    slip: Slip::Clause {
        arg: "action",
        clean: " ON DELETE {}",
    },
    ..MistakeKind::USUAL
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mistakes::testing::detect;

    #[tokio::test]
    async fn finds_keys_without_a_delete_rule() {
        let found = detect(
            &KIND,
            r#"
            CREATE TABLE parent (id int PRIMARY KEY, a int, b int, UNIQUE (a, b));
            CREATE TABLE child (
                id int PRIMARY KEY,
                bare_id int REFERENCES parent(id),
                spelled_id int REFERENCES parent(id) ON DELETE NO ACTION,
                update_only_id int REFERENCES parent(id) ON UPDATE CASCADE,
                cascade_id int REFERENCES parent(id) ON DELETE CASCADE,
                restrict_id int REFERENCES parent(id) ON DELETE RESTRICT,
                null_id int REFERENCES parent(id) ON DELETE SET NULL,
                default_id int DEFAULT 0 REFERENCES parent(id) ON DELETE SET DEFAULT,
                pb int, pa int,
                FOREIGN KEY (pb, pa) REFERENCES parent(b, a)
            );
            CREATE TABLE period (id int, d date, PRIMARY KEY (id, d)) PARTITION BY RANGE (d);
            CREATE TABLE period_2024 PARTITION OF period
                FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
            CREATE TABLE booking (
                period_id int,
                period_d date,
                FOREIGN KEY (period_id, period_d) REFERENCES period(id, d)
            );
            "#,
        )
        .await;
        assert_eq!(
            found,
            [
                "public.booking(period_id,period_d)",
                "public.child(bare_id)",
                "public.child(pb,pa)",
                "public.child(spelled_id)",
                "public.child(update_only_id)",
            ]
        );
    }
}
