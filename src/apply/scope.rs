//! The audit after a change, kept to what the change touched (README "Performance"): the
//! relations whose catalog rows changed, and their neighbours by foreign key (both ways) and by
//! inheritance. Every other relation's findings are the audit before the change's. The whole
//! database is audited when the scope cannot be told apart by name (a schema, table or index
//! whose name holds `.` or `(`), when a finding before the change names no known relation, and
//! with `--full-audit`.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Result;
use sqlx::PgConnection;

use crate::audit::Key;
use crate::mistakes::Snapshot;
use crate::pg::USER_SCHEMAS;

/// Every user relation the detectors can report on, by oid: its name, a digest of every catalog
/// row a detector reads about it, and its neighbours.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Relations(BTreeMap<i64, Relation>);

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct Relation {
    /// `schema.table`, as findings name it.
    name: String,
    /// md5 of the relation's rows in pg_class (its relfilenode included, which a rewrite
    /// changes), pg_attribute, pg_attrdef, pg_index (with its indexes' pg_class rows),
    /// pg_constraint (its own and those referencing it), pg_trigger and pg_depend (the
    /// sequences it owns), and of its schema's name: everything its findings, its objects in the
    /// drift check's schema (crate::drift) and its entries in the catalog snapshot
    /// (crate::mistakes::Snapshot) are read from.
    digest: String,
    /// The relations it references or is referenced by, its partitions or parents.
    neighbours: Vec<i64>,
}

/// One pass over each catalog, grouped by relation: a correlated subquery per relation would
/// scan pg_constraint once per table (it has no index on `confrelid`). A relation's rows of a
/// catalog are added up as 64-bit hashes of their text (each line holds its key, so the sum
/// tells rows apart) rather than joined in order: no sort, and a fifth less time at 2,000 extra
/// tables. Internal triggers are left out: they are the foreign keys', which the constraints
/// already say.
const RELATIONS: &str = r#"
WITH rels AS (
    SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'm', 'f') AND {user_schemas}
), cols AS (
    SELECT attrelid AS rel,
           sum(hashtextextended(concat_ws(' ', attnum, attname, atttypid, atttypmod, attnotnull,
                                           attisdropped, attidentity, attgenerated, attcollation),
                                 0)) AS rows
    FROM pg_attribute WHERE attnum > 0 AND attrelid IN (SELECT oid FROM rels) GROUP BY attrelid
), defaults AS (
    SELECT adrelid AS rel, sum(hashtextextended(concat_ws(' ', adnum, adbin), 0)) AS rows
    FROM pg_attrdef WHERE adrelid IN (SELECT oid FROM rels) GROUP BY adrelid
), indexes AS (
    SELECT x.indrelid AS rel,
           sum(hashtextextended(concat_ws(' ', x.indexrelid, ic.relname, ic.relam, ic.relispartition,
                                           ic.reloptions, x.indisunique, x.indisprimary, x.indisvalid,
                                           x.indkey, x.indclass, x.indcollation, x.indoption,
                                           x.indnkeyatts, x.indexprs, x.indpred),
                                 0)) AS rows
    FROM pg_index x JOIN pg_class ic ON ic.oid = x.indexrelid
    WHERE x.indrelid IN (SELECT oid FROM rels)
    GROUP BY x.indrelid
), constraint_rows AS (
    SELECT oid, conrelid, confrelid,
           concat_ws(' ', oid, conname, contype, conrelid, confrelid, conkey, confkey, confdeltype,
                     confupdtype, convalidated, condeferrable, condeferred, conindid,
                     conparentid, conbin) AS line
    FROM pg_constraint
), constraints AS (
    SELECT rel, sum(hashtextextended(line, 0)) AS rows
    FROM (SELECT conrelid AS rel, oid, line FROM constraint_rows WHERE conrelid <> 0
          UNION ALL
          SELECT confrelid, oid, line FROM constraint_rows WHERE confrelid <> 0) ends
    GROUP BY rel
), triggers AS (
    SELECT tgrelid AS rel,
           sum(hashtextextended(concat_ws(' ', oid, tgname, tgtype, tgenabled, tgisinternal, tgfoid),
                                 0)) AS rows
    FROM pg_trigger WHERE NOT tgisinternal GROUP BY tgrelid
), owned AS (
    SELECT refobjid AS rel, sum(hashtextextended(concat_ws(' ', objid, refobjsubid), 0)) AS rows
    FROM pg_depend
    WHERE classid = 'pg_class'::regclass AND refclassid = 'pg_class'::regclass AND deptype = 'a'
      AND refobjid IN (SELECT oid FROM rels)
    GROUP BY refobjid
), links AS (
    SELECT conrelid AS a, confrelid AS b FROM pg_constraint WHERE contype = 'f'
    UNION SELECT inhrelid, inhparent FROM pg_inherits
), neighbours AS (
    SELECT rel, array_agg(DISTINCT other::bigint) AS oids
    FROM (SELECT a AS rel, b AS other FROM links UNION ALL SELECT b, a FROM links) l
    GROUP BY rel
)
SELECT c.oid::bigint, format('%s.%s', n.nspname, c.relname),
       md5(concat_ws(E'\n', n.nspname, c.relname, c.relkind, c.relispartition, c.relfilenode,
                     coalesce(c.reloptions, '{}'), coalesce(cols.rows, 0),
                     coalesce(defaults.rows, 0), coalesce(indexes.rows, 0),
                     coalesce(constraints.rows, 0), coalesce(triggers.rows, 0),
                     coalesce(owned.rows, 0))),
       coalesce(neighbours.oids, '{}')
FROM rels
JOIN pg_class c ON c.oid = rels.oid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN cols ON cols.rel = c.oid
LEFT JOIN defaults ON defaults.rel = c.oid
LEFT JOIN indexes ON indexes.rel = c.oid
LEFT JOIN constraints ON constraints.rel = c.oid
LEFT JOIN triggers ON triggers.rel = c.oid
LEFT JOIN owned ON owned.rel = c.oid
LEFT JOIN neighbours ON neighbours.rel = c.oid
"#;

impl Relations {
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether every relation's name is `schema.table` with no `.` or `(` in either part, so
    /// that an object's name tells its relation.
    pub fn plain(&self) -> bool {
        self.0.values().all(|relation| plain(&relation.name))
    }

    /// The names of the relations `oids` that are here.
    pub fn names_of(&self, oids: &[i64]) -> BTreeSet<String> {
        oids.iter()
            .filter_map(|oid| self.0.get(oid))
            .map(|relation| relation.name.clone())
            .collect()
    }

    /// Each relation's oid and digest, by oid.
    pub fn digests(&self) -> impl Iterator<Item = (i64, &str)> {
        self.0.iter().map(|(oid, r)| (*oid, r.digest.as_str()))
    }

    pub async fn read(conn: &mut PgConnection) -> Result<Relations> {
        let rows: Vec<(i64, String, String, Vec<i64>)> =
            sqlx::query_as(&RELATIONS.replace("{user_schemas}", USER_SCHEMAS))
                .fetch_all(conn)
                .await?;
        Ok(Relations(
            rows.into_iter()
                .map(|(oid, name, digest, neighbours)| {
                    (
                        oid,
                        Relation {
                            name,
                            digest,
                            neighbours,
                        },
                    )
                })
                .collect(),
        ))
    }
}

/// What the audit after a change covers.
#[derive(Debug, PartialEq, Eq)]
pub struct Scope {
    /// The relations to audit (those present after the change).
    pub oids: Vec<i64>,
    /// Those and the relations the change dropped: whose objects the schema after the change
    /// reads again (crate::drift::Tracked::patched).
    pub touched: Vec<i64>,
    /// The names those and the relations the change dropped had, before and after it: the
    /// findings before the change that are on them are replaced by the scoped audit's.
    names: BTreeSet<String>,
}

impl Scope {
    /// The relations whose catalog rows differ between `before` and `after` (changed, created or
    /// dropped), and their neighbours on either side.
    pub fn between(before: &Relations, after: &Relations) -> Scope {
        let mut touched: BTreeSet<i64> = BTreeSet::new();
        for (oid, was) in &before.0 {
            if after.0.get(oid) != Some(was) {
                touched.insert(*oid);
            }
        }
        touched.extend(after.0.keys().filter(|oid| !before.0.contains_key(oid)));
        let mut scope = touched.clone();
        for oid in &touched {
            for side in [before, after] {
                if let Some(relation) = side.0.get(oid) {
                    scope.extend(&relation.neighbours);
                }
            }
        }
        let names = scope
            .iter()
            .flat_map(|oid| [before.0.get(oid), after.0.get(oid)])
            .flatten()
            .map(|relation| relation.name.clone())
            .collect();
        Scope {
            oids: scope
                .iter()
                .copied()
                .filter(|oid| after.0.contains_key(oid))
                .collect(),
            touched: scope.into_iter().collect(),
            names,
        }
    }

    /// The audit after the change: the findings before it outside the scope, and `scoped` (the
    /// audit kept to the scope). `None` when a finding cannot be placed on a relation by its
    /// name: then only the whole audit is right.
    pub fn merge(
        &self,
        audit_before: &BTreeSet<Key>,
        scoped: BTreeSet<Key>,
        names: &Names<'_>,
    ) -> Option<BTreeSet<Key>> {
        let mut merged = scoped;
        for key in audit_before {
            let relation = names.relation_of(&key.object)?;
            if !self.names.contains(relation) {
                merged.insert(key.clone());
            }
        }
        Some(merged)
    }
}

/// Whether a relation's or index's name (`schema.name`) holds no other `.` and no `(`.
fn plain(name: &str) -> bool {
    name.matches('.').count() == 1 && !name.contains('(')
}

/// Which relation a finding's object names, from the names around a change: `schema.index` (by
/// the catalog snapshots), `schema.table`, `schema.table.column` or `schema.table(columns)`.
pub struct Names<'a> {
    indexes: [&'a BTreeMap<String, String>; 2],
    relations: BTreeSet<&'a str>,
}

impl<'a> Names<'a> {
    /// `None` when a name would make that ambiguous (a `.` or `(` in a schema, table or index
    /// name).
    pub fn around(
        relations: [&'a Relations; 2],
        snapshots: [&'a Snapshot; 2],
    ) -> Option<Names<'a>> {
        let relation_names: BTreeSet<&str> = relations
            .iter()
            .flat_map(|r| r.0.values().map(|relation| relation.name.as_str()))
            .collect();
        let indexes = snapshots.map(|s| &s.indexes);
        let all_plain = relation_names.iter().all(|n| plain(n))
            && indexes.iter().all(|map| map.keys().all(|n| plain(n)));
        all_plain.then_some(Names {
            indexes,
            relations: relation_names,
        })
    }

    fn relation_of(&self, object: &str) -> Option<&str> {
        if let Some(table) = self.indexes.iter().find_map(|map| map.get(object)) {
            return Some(table.as_str());
        }
        let (schema, rest) = object.split_once('.')?;
        let table_len = rest.find(['.', '(']).unwrap_or(rest.len());
        let name = &object[..schema.len() + 1 + table_len];
        self.relations.get(name).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn relations(rows: &[(i64, &str, &str, &[i64])]) -> Relations {
        Relations(
            rows.iter()
                .map(|(oid, name, digest, neighbours)| {
                    (
                        *oid,
                        Relation {
                            name: name.to_string(),
                            digest: digest.to_string(),
                            neighbours: neighbours.to_vec(),
                        },
                    )
                })
                .collect(),
        )
    }

    #[test]
    fn the_scope_is_what_changed_and_its_neighbours_on_either_side() {
        let before = relations(&[
            (1, "public.users", "a", &[2]),
            (2, "public.tasks", "b", &[1]),
            (3, "public.tags", "c", &[]),
            (4, "public.old", "d", &[3]),
            (5, "public.quiet", "e", &[]),
        ]);
        // tasks changed; old dropped; notes created, referencing users.
        let after = relations(&[
            (1, "public.users", "a2", &[2, 6]),
            (2, "public.tasks", "b2", &[1]),
            (3, "public.tags", "c", &[]),
            (5, "public.quiet", "e", &[]),
            (6, "public.notes", "f", &[1]),
        ]);
        let scope = Scope::between(&before, &after);
        assert_eq!(scope.oids, [1, 2, 3, 6]);
        assert_eq!(scope.touched, [1, 2, 3, 4, 6]);
        let names: Vec<&str> = scope.names.iter().map(String::as_str).collect();
        assert_eq!(
            names,
            [
                "public.notes",
                "public.old",
                "public.tags",
                "public.tasks",
                "public.users"
            ]
        );
        assert_eq!(
            Scope::between(&after, &after),
            Scope {
                oids: vec![],
                touched: vec![],
                names: BTreeSet::new()
            }
        );
    }

    #[test]
    fn findings_outside_the_scope_are_kept_and_inside_it_replaced() {
        let before = relations(&[(1, "public.a", "x", &[]), (2, "public.b", "y", &[])]);
        let after = relations(&[(1, "public.a", "x", &[]), (2, "public.b", "y2", &[])]);
        let mut snapshot = Snapshot::default();
        snapshot
            .indexes
            .insert("public.b_idx".into(), "public.b".into());
        snapshot
            .indexes
            .insert("public.a_idx".into(), "public.a".into());
        let names = Names::around([&before, &after], [&snapshot, &snapshot]).expect("plain");
        let key = |kind: &str, object: &str| Key::new(kind, object);
        let audit_before = BTreeSet::from([
            key("missing_check", "public.a.status"),
            key("missing_check", "public.b.status"),
            key("duplicate_index", "public.a_idx"),
            key("duplicate_index", "public.b_idx"),
            key("missing_fk_index", "public.b(a_id)"),
        ]);
        let scoped = BTreeSet::from([key("missing_check", "public.b.kind")]);
        let scope = Scope::between(&before, &after);
        let merged = scope.merge(&audit_before, scoped, &names).expect("placed");
        assert_eq!(
            merged,
            BTreeSet::from([
                key("missing_check", "public.a.status"),
                key("duplicate_index", "public.a_idx"),
                key("missing_check", "public.b.kind"),
            ])
        );
        // A finding on no known relation: only the whole audit can say.
        let stray = BTreeSet::from([key("missing_check", "public.c.status")]);
        assert_eq!(scope.merge(&stray, BTreeSet::new(), &names), None);
    }

    /// ALTER CONSTRAINT changes only the constraint's deferrability, which the drift check's
    /// schema prints: the digest must see it.
    #[tokio::test]
    async fn a_constraint_made_deferrable_is_in_the_scope() {
        let (db, mut conn) = crate::pg::scratch::ScratchDb::with_sql(
            "scope_deferrable",
            "CREATE TABLE a (id bigint PRIMARY KEY);
             CREATE TABLE b (id bigint PRIMARY KEY, a_id bigint CONSTRAINT b_a REFERENCES a(id));",
        )
        .await
        .expect("scratch with two tables");
        let before = Relations::read(&mut conn).await.expect("before");
        sqlx::raw_sql("ALTER TABLE b ALTER CONSTRAINT b_a DEFERRABLE INITIALLY DEFERRED")
            .execute(&mut conn)
            .await
            .expect("alter");
        let after = Relations::read(&mut conn).await.expect("after");
        let b: i64 = sqlx::query_scalar("SELECT 'b'::regclass::oid::bigint")
            .fetch_one(&mut conn)
            .await
            .expect("oid");
        assert!(Scope::between(&before, &after).touched.contains(&b));
        drop(conn);
        db.drop_now().await.expect("drop");
    }

    /// After each DDL, the snapshot before it patched with what the DDL touched (as the apply
    /// step does) is the snapshot taken whole: renames, moves, rewrites, NOT NULL, new and
    /// dropped indexes and tables.
    #[tokio::test]
    async fn the_patched_snapshot_is_the_one_taken_whole() {
        let (db, mut conn) = crate::pg::scratch::ScratchDb::with_sql(
            "scope_snapshot",
            "CREATE SCHEMA other;
             CREATE TABLE a (id bigint PRIMARY KEY, name text);
             CREATE TABLE b (id bigint PRIMARY KEY, a_id bigint REFERENCES a(id), n int);
             CREATE TABLE quiet (id bigint PRIMARY KEY, note text NOT NULL);
             CREATE INDEX quiet_note ON quiet(note);",
        )
        .await
        .expect("scratch with three tables");
        let steps = [
            "CREATE INDEX b_a_id ON b(a_id)",
            "ALTER TABLE b ALTER COLUMN a_id SET NOT NULL",
            "ALTER TABLE a ADD CONSTRAINT name_present CHECK (name IS NOT NULL)",
            "ALTER TABLE b ALTER COLUMN n TYPE bigint",
            "TRUNCATE quiet",
            "ALTER TABLE b RENAME TO b2",
            "ALTER TABLE b2 RENAME COLUMN a_id TO owner_id",
            "ALTER INDEX b_a_id RENAME TO b2_owner",
            "ALTER TABLE a SET SCHEMA other",
            "CREATE TABLE c (id bigint PRIMARY KEY, b_id bigint REFERENCES b2(id))",
            "DROP INDEX b2_owner",
            "DROP TABLE c",
            "ALTER SCHEMA other RENAME TO renamed",
            "VACUUM FULL quiet",
        ];
        let mut relations = Relations::read(&mut conn).await.expect("relations");
        let mut snapshot = Snapshot::take(&mut conn).await.expect("snapshot");
        for step in steps {
            sqlx::raw_sql(step).execute(&mut conn).await.expect(step);
            let after = Relations::read(&mut conn).await.expect("relations after");
            let scope = Scope::between(&relations, &after);
            let was_named = relations.names_of(&scope.touched);
            let patched = snapshot
                .patched(&mut conn, &scope.touched, &was_named)
                .await
                .expect("patched");
            let whole = Snapshot::take(&mut conn).await.expect("whole");
            assert_eq!(patched, whole, "after {step}");
            (relations, snapshot) = (after, whole);
        }
        drop(conn);
        db.drop_now().await.expect("drop");
    }

    #[test]
    fn a_dotted_name_asks_for_the_whole_audit() {
        let dotted = relations(&[(1, "public.a.b", "x", &[])]);
        let plain = relations(&[(1, "public.a", "x", &[])]);
        let snapshot = Snapshot::default();
        assert!(Names::around([&dotted, &plain], [&snapshot, &snapshot]).is_none());
        assert!(Names::around([&plain, &plain], [&snapshot, &snapshot]).is_some());
        let mut paren = Snapshot::default();
        paren
            .indexes
            .insert("public.i(x)".into(), "public.a".into());
        assert!(Names::around([&plain, &plain], [&paren, &snapshot]).is_none());
    }
}
