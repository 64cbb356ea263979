//! `nullable_fk` (B001): a required foreign key column left nullable.
//!
//! Slip: the template writes `user_id UUID{{ nullable_fk(object="public.t.user_id") }} REFERENCES ...`;
//! clean renders ` NOT NULL`, the slip renders nothing.
//!
//! Detection: a column of a foreign key that allows NULL, unless the key is `ON DELETE SET NULL`
//! or `SET DEFAULT`. An optional link is nullable by design, and the way a schema says "optional"
//! is to null the link when the parent goes; a nullable key that blocks or cascades on delete is a
//! required key missing its NOT NULL.

use super::kind::{MistakeKind, Proof};
use super::query::Query;
use super::slip::Slip;

pub const KIND: MistakeKind = MistakeKind {
    name: "nullable_fk",
    roadmap_code: Some("B001"),
    proof: Proof::Catalog(Query::Sql(DETECTION_QUERY)),
    slip: Slip::Typed {
        clean: " NOT NULL",
        slipped: "",
    },
    ..MistakeKind::USUAL
};

const DETECTION_QUERY: &str = r#"
SELECT DISTINCT format('%s.%s.%s', n.nspname, c.relname, a.attname) AS object
FROM pg_constraint con
JOIN pg_class c ON c.oid = con.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN LATERAL unnest(con.conkey) AS k(attnum) ON true
JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
WHERE con.contype = 'f'
  AND NOT a.attnotnull
  AND con.confdeltype NOT IN ('n', 'd')
  AND {user_schemas}
  AND {scope:c.oid}
ORDER BY 1
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mistakes::testing::detect;

    #[tokio::test]
    async fn finds_nullable_required_keys_but_not_optional_links() {
        let found = detect(
            &KIND,
            r#"
            CREATE TABLE parent (id int PRIMARY KEY);
            CREATE TABLE child (
                id int PRIMARY KEY,
                required_id int NOT NULL REFERENCES parent(id) ON DELETE CASCADE,
                loose_id int REFERENCES parent(id) ON DELETE CASCADE,
                no_action_id int REFERENCES parent(id),
                optional_id int REFERENCES parent(id) ON DELETE SET NULL
            );
            "#,
        )
        .await;
        assert_eq!(
            found,
            ["public.child.loose_id", "public.child.no_action_id"]
        );
    }
}
