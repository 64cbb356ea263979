//! `missing_unique`: a UNIQUE left out.
//!
//! Two users with the same email, two projects with the same slug, two tokens hashing to the same
//! stored hash: the application checks first and inserts after ("we validate in the app layer"),
//! and two concurrent requests both pass the check. Only a unique index makes the second insert
//! fail, and it is also the index the lookup by that value needs.
//!
//! Slip: `token_hash VARCHAR(64) NOT NULL{{ missing_unique(object="public.t.token_hash", sql=" UNIQUE") }}`;
//! clean renders `sql`, the slip nothing.
//!
//! Detection: a live user column of a table whose name is one of [`UNIQUE_NAMES`] (exactly: a
//! `billing_email` or a `parent_slug` may legitimately repeat), of any type, that no valid
//! (`indisvalid`) unique index of the table covers. A unique index covers the column when
//! - the column is one of its key columns (the first `indnkeyatts` of `indkey`), in any position:
//!   `UNIQUE (organization_id, slug)` makes slugs unique per organization, which is the usual
//!   intent, and the catalog cannot tell which scope was meant;
//! - or one of its key expressions reads the column: `UNIQUE (lower(email))` is the stronger
//!   form of the same rule. (Found by the column's attribute number among the `Var` nodes of
//!   `indexprs`; an index expression can only read its own table.)
//!
//! A partial unique index (`WHERE deleted_at IS NULL`) counts: uniqueness among the live rows is a
//! deliberate design. A primary key counts, since its index is unique. An INCLUDE column is not
//! covered (it is stored, not compared), nor is a column that only a predicate mentions. A table
//! where the value may legitimately repeat (an `invitations.email`, a log of sent mails) is
//! reported all the same: the name is the only evidence the catalog has. Partitions are skipped
//! (their columns and indexes are the partitioned table's, reported there once).

use super::kind::{MistakeKind, Proof};
use super::query::Query;
use super::slip::Slip;

pub const KIND: MistakeKind = MistakeKind {
    name: "missing_unique",
    proof: Proof::Catalog(Query::Columns(DEFECTIVE)),
    slip: Slip::Omitted,
    ..MistakeKind::USUAL
};

// In the node tree of `indexprs`, a column reads as `{VAR :varno 1 :varattno <attnum> ...}`.
const DEFECTIVE: &str = r#"
a.attname::text = ANY ({unique_names})
AND NOT EXISTS (
    SELECT 1
    FROM pg_index i
    WHERE i.indrelid = a.attrelid
      AND i.indisunique
      AND i.indisvalid
      AND (
          a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])
          OR i.indexprs::text ~ (':varattno ' || a.attnum || ' ')
      )
)
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mistakes::testing::detect;

    #[tokio::test]
    async fn finds_identifying_columns_without_a_unique_index() {
        let found = detect(
            &KIND,
            r#"
            CREATE TABLE person (id int PRIMARY KEY, email text, name text, billing_email text);
            CREATE INDEX person_email_idx ON person (email);
            CREATE TABLE member (id int PRIMARY KEY, email text UNIQUE);
            CREATE TABLE project (id int PRIMARY KEY, org_id int, slug text, UNIQUE (org_id, slug));
            CREATE TABLE session (id int PRIMARY KEY, token_hash varchar(64) NOT NULL);
            CREATE TABLE login (id int PRIMARY KEY, email text);
            CREATE UNIQUE INDEX login_email_lower_key ON login (lower(email));
            CREATE TABLE invite (id int PRIMARY KEY, email text, deleted_at timestamptz);
            CREATE UNIQUE INDEX invite_email_live_key ON invite (email) WHERE deleted_at IS NULL;
            CREATE TABLE api_client (api_key text PRIMARY KEY, key_hash bytea, slug text, x int);
            CREATE UNIQUE INDEX api_client_x_incl_key ON api_client (x) INCLUDE (key_hash);
            CREATE UNIQUE INDEX api_client_x_slug_key ON api_client (x) WHERE slug IS NOT NULL;
            CREATE TABLE broken (id int PRIMARY KEY, email text);
            CREATE UNIQUE INDEX broken_email_key ON broken (email);
            UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'broken_email_key'::regclass;
            "#,
        )
        .await;
        assert_eq!(
            found,
            [
                "public.api_client.key_hash",
                "public.api_client.slug",
                "public.broken.email",
                "public.person.email",
                "public.session.token_hash",
            ]
        );
    }

    #[tokio::test]
    async fn partitioned_tables_are_reported_once() {
        let found = detect(
            &KIND,
            r#"
            CREATE TABLE account (d date, email text) PARTITION BY RANGE (d);
            CREATE TABLE account_2024 PARTITION OF account
                FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
            CREATE TABLE page (d date, slug text, UNIQUE (slug, d)) PARTITION BY RANGE (d);
            CREATE TABLE page_2024 PARTITION OF page
                FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
            "#,
        )
        .await;
        assert_eq!(found, ["public.account.email"]);
    }
}
