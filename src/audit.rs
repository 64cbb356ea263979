//! The audit: every catalog detector run on the live database (the `engineer_sim` schema and the
//! system schemas are ignored). The apply step runs it before and after each change; `audit` and
//! `verify` run it on demand.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use sqlx::postgres::types::Oid;
use sqlx::PgConnection;

use crate::mistakes::query::Family;
use crate::mistakes::{self, Proof, Verification};
use crate::words::Words;

/// A defect: its kind and the object it concerns, named the README way ("What lands in
/// `state/`"). Ordered by kind, then object; stored as the pair `[kind, object]`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(from = "(String, String)", into = "(String, String)")]
pub struct Key {
    pub kind: String,
    pub object: String,
}

impl Key {
    pub fn new(kind: impl Into<String>, object: impl Into<String>) -> Key {
        Key {
            kind: kind.into(),
            object: object.into(),
        }
    }
}

impl From<(String, String)> for Key {
    fn from((kind, object): (String, String)) -> Key {
        Key { kind, object }
    }
}

impl From<Key> for (String, String) {
    fn from(key: Key) -> (String, String) {
        (key.kind, key.object)
    }
}

/// Every catalog-verifiable defect present now, sorted. `words` are the run's word lists.
pub async fn audit(conn: &mut PgConnection, words: &Words) -> Result<BTreeSet<Key>> {
    audit_in(conn, words, None).await
}

/// [`audit`], kept to the defects of the relations `scope` (oids) when given: the apply step's
/// audit after a change, which touched only those (README "Performance"). The kinds that narrow
/// the same shared scan (columns, indexes, foreign keys) are detected in one pass over it.
pub async fn audit_in(
    conn: &mut PgConnection,
    words: &Words,
    scope: Option<&[i64]>,
) -> Result<BTreeSet<Key>> {
    let mut found = BTreeSet::new();
    let mut families: BTreeMap<Family, Vec<(&str, &str)>> = BTreeMap::new();
    // The scope is bound, not written into the text: each query is planned once per process.
    let oids: Option<Vec<Oid>> = scope.map(|oids| {
        oids.iter()
            .filter_map(|oid| u32::try_from(*oid).ok().map(Oid))
            .collect()
    });
    for kind in mistakes::all() {
        let Proof::Catalog(query) = &kind.proof else {
            continue;
        };
        if let Some((family, condition)) = query.family() {
            families
                .entry(family)
                .or_default()
                .push((kind.name, condition));
            continue;
        }
        let sql = query.sql_in(words, oids.is_some());
        let mut detect = sqlx::query_scalar::<_, String>(&sql);
        if let Some(oids) = &oids {
            detect = detect.bind(oids);
        }
        let objects = detect
            .fetch_all(&mut *conn)
            .await
            .with_context(|| format!("detecting {}", kind.name))?;
        found.extend(
            objects
                .into_iter()
                .map(|object| Key::new(kind.name, object)),
        );
    }
    for (family, kinds) in families {
        let sql = family.sql_in(&kinds, words, oids.is_some());
        let mut detect = sqlx::query_as::<_, (String, String)>(&sql);
        if let Some(oids) = &oids {
            detect = detect.bind(oids);
        }
        let rows = detect.fetch_all(&mut *conn).await.with_context(|| {
            let names: Vec<&str> = kinds.iter().map(|(name, _)| *name).collect();
            format!("detecting {}", names.join(", "))
        })?;
        found.extend(
            rows.into_iter()
                .map(|(object, kind)| Key::new(kind, object)),
        );
    }
    Ok(found)
}

/// Whether the audit can see findings of this kind (catalog detection exists).
pub fn audit_sees(kind: &str) -> bool {
    mistakes::by_name(kind).is_some_and(|k| k.verification() == Verification::Catalog)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pg::scratch::ScratchDb;

    /// Defects of 18 catalog kinds in the schema `{schema}`; the comments name the kinds.
    const DEFECTS: &str = r#"
        CREATE SCHEMA {schema};
        CREATE TABLE {schema}.parent (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY);
        CREATE TABLE {schema}.change (
            id serial PRIMARY KEY,                         -- serial_not_identity, int_should_be_bigint
            parent_id bigint REFERENCES {schema}.parent,   -- missing_fk_index, missing_on_delete, nullable_fk
            status text,                                   -- missing_check, oversized_varchar
            payload text,                                  -- json_as_text
            email text,                                    -- missing_unique
            applied_at timestamp,                          -- timestamp_without_tz
            updated_at timestamptz,                        -- missing_updated_at_trigger
            entity_type text, entity_id uuid,             -- polymorphic_reference
            applied bool,
            doc jsonb
        );
        CREATE INDEX ON {schema}.change (applied);                -- low_cardinality_index
        CREATE INDEX ON {schema}.change (applied, email);         -- wrong_column_order
        CREATE INDEX ON {schema}.change (doc);                    -- btree_on_jsonb
        CREATE INDEX ON {schema}.change (status, email);
        CREATE INDEX ON {schema}.change (status);                 -- redundant_index
        CREATE INDEX email_1 ON {schema}.change (email);
        CREATE INDEX email_2 ON {schema}.change (email);          -- duplicate_index
        CREATE INDEX broken ON {schema}.change (payload);
        UPDATE pg_index SET indisvalid = false                    -- invalid_index
        WHERE indexrelid = '{schema}.broken'::regclass;
    "#;

    async fn audit_of(schema: &str) -> BTreeSet<String> {
        let (db, mut conn) =
            ScratchDb::with_sql("audit_schemas", &DEFECTS.replace("{schema}", schema))
                .await
                .expect("scratch with the fixture");
        let found = audit(&mut conn, &Words::builtin()).await.expect("audit");
        drop(conn);
        db.drop_now().await.expect("drop scratch database");
        found.into_iter().map(|key| key.kind).collect()
    }

    /// One pass per shared scan finds what each kind's own query finds; kept to a scope, it finds
    /// only the defects of the relations in it.
    #[tokio::test]
    async fn one_pass_per_scan_finds_what_each_kinds_query_finds() {
        let (db, mut conn) =
            ScratchDb::with_sql("audit_passes", &DEFECTS.replace("{schema}", "app"))
                .await
                .expect("scratch with the fixture");
        let words = Words::builtin();
        let found = audit(&mut conn, &words).await.expect("audit");
        let mut each = BTreeSet::new();
        for kind in mistakes::all() {
            let Some(query) = kind.detection_query(&words) else {
                continue;
            };
            for object in crate::pg::query_objects(&mut conn, &query)
                .await
                .expect("query")
            {
                each.insert(Key::new(kind.name, object));
            }
        }
        assert_eq!(found, each);

        let parent: i64 = sqlx::query_scalar("SELECT 'app.parent'::regclass::oid::bigint")
            .fetch_one(&mut conn)
            .await
            .expect("oid");
        let scoped = audit_in(&mut conn, &words, Some(&[parent]))
            .await
            .expect("scoped audit");
        assert!(found.len() > 18, "{found:?}");
        assert_eq!(scoped, BTreeSet::new(), "app.parent has no defect");
        let change: i64 = sqlx::query_scalar("SELECT 'app.change'::regclass::oid::bigint")
            .fetch_one(&mut conn)
            .await
            .expect("oid");
        let scoped = audit_in(&mut conn, &words, Some(&[parent, change]))
            .await
            .expect("scoped audit");
        assert_eq!(
            scoped, found,
            "every defect is on app.change or its indexes"
        );
        drop(conn);
        db.drop_now().await.expect("drop scratch database");
    }

    /// The audit keeps to the user's schemas: the defects are found in any schema but
    /// engineer-sim's ledger, where none is reported. (Each kind's own tests check the same of
    /// its detector, with its own fixture.)
    #[tokio::test]
    async fn the_audit_finds_defects_outside_the_ledger_schema_only() {
        let planted: BTreeSet<String> = DEFECTS
            .lines()
            .filter_map(|line| line.split_once("-- ").map(|(_, kinds)| kinds))
            .flat_map(|kinds| kinds.split(", "))
            .map(|kind| kind.trim().to_string())
            .collect();
        assert_eq!(planted.len(), 18, "{planted:?}");
        assert_eq!(audit_of("app").await, planted);
        assert_eq!(audit_of("engineer_sim").await, BTreeSet::new());
    }
}
