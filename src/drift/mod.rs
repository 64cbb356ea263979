//! Drift: before each change, the whole user schema (every column, index and constraint, with
//! its definition) is compared with what the ledger recorded after the last change. A schema
//! changed behind engineer-sim's back would have the next change blamed for what someone else
//! did, so the change stops with exit 1 and the difference (README "Operating it").

use std::collections::BTreeMap;

use anyhow::Result;
use sqlx::types::Json;
use sqlx::PgConnection;

use crate::error::{Exit, UserError};
use crate::pg::USER_SCHEMAS;

mod names;
pub use names::names;

/// What the schema holds: `column schema.table.col`, `index schema.name`,
/// `constraint schema.table.name` -> the definition.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Schema(pub BTreeMap<String, String>);

/// A schema's objects as the ledger keeps them (json, name -> definition).
type Objects = BTreeMap<String, String>;

/// Where the ledger keeps each change's schema, and beside a fingerprint what a change that
/// finds the same fingerprint starts from (apply/fingerprint.rs): which relation each object
/// belongs to (`owners`), the apply step's catalog snapshot (`catalog`) and, from the last
/// change of a process, what tells the next one that the catalog is unchanged without reading
/// it (`stamp`, apply/stamp.rs). Only the last change's row keeps these three. The columns are
/// added to ledgers that predate them on first use.
const TABLE_SQL: &str = "CREATE TABLE IF NOT EXISTS engineer_sim.schema_snapshots (
    change_id varchar(100) PRIMARY KEY REFERENCES engineer_sim.changes(change_id) ON DELETE CASCADE,
    objects jsonb NOT NULL
);
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'engineer_sim.schema_snapshots'::regclass
                 AND attname = 'stamp' AND NOT attisdropped) THEN
    ALTER TABLE engineer_sim.schema_snapshots ADD COLUMN IF NOT EXISTS fingerprint text,
      ADD COLUMN IF NOT EXISTS owners json, ADD COLUMN IF NOT EXISTS catalog json,
      ADD COLUMN stamp json;
    -- Megabytes a change at 2,000 tables: lz4 compresses them several times faster than pglz,
    -- where the server has it (PostgreSQL 14+ built with lz4; EXECUTE, so 13 parses the block).
    -- owners, catalog and stamp are json, kept as written: only engineer-sim reads them, and
    -- jsonb's parse made the insert twice as long.
    BEGIN
      EXECUTE 'ALTER TABLE engineer_sim.schema_snapshots ALTER COLUMN objects SET COMPRESSION lz4,
               ALTER COLUMN owners SET COMPRESSION lz4, ALTER COLUMN catalog SET COMPRESSION lz4,
               ALTER COLUMN stamp SET COMPRESSION lz4';
    EXCEPTION WHEN OTHERS THEN NULL;
    END;
  END IF;
END $$";

/// Every object of the schema with its definition and the oid of the relation it belongs to (a
/// column's or constraint's table, an index's table). `{of_c}` and `{of_x}` are empty, or keep
/// the relations in `$1`: two statements, so that each keeps a plan of its own (one generic
/// plan for both scanned the whole catalog for a few relations: 89 ms a change at 2,000 tables).
const OBJECTS: &str = "
SELECT format('column %s.%s.%s', n.nspname, c.relname, a.attname),
       format_type(a.atttypid, a.atttypmod)
       || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END
       || COALESCE(' DEFAULT ' || pg_get_expr(d.adbin, d.adrelid), ''),
       c.oid::bigint
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE c.relkind IN ('r', 'p', 'm', 'f') AND a.attnum > 0 AND NOT a.attisdropped
  AND {user_schemas} {of_c}
UNION ALL
SELECT format('index %s.%s', n.nspname, i.relname),
       pg_get_indexdef(i.oid) || CASE WHEN x.indisvalid THEN '' ELSE ' (INVALID)' END,
       x.indrelid::bigint
FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_namespace n ON n.oid = i.relnamespace
WHERE {user_schemas} {of_x}
UNION ALL
SELECT format('constraint %s.%s.%s', n.nspname, c.relname, k.conname),
       pg_get_constraintdef(k.oid),
       c.oid::bigint
FROM pg_constraint k
JOIN pg_class c ON c.oid = k.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE {user_schemas} {of_c}";

/// The schema, with the relation each object belongs to and the names its text depends on: a
/// change's schema is the one before it with the objects of the relations it touched read again
/// (README "Performance"), which is what reading it whole gives while the names stay the same.
#[derive(Debug, Clone, Default)]
pub struct Tracked {
    pub schema: Schema,
    owners: BTreeMap<String, i64>,
    /// The names (NAMES) when it was read, if asked for: a schema can be patched only while
    /// the names its definitions print stay the same.
    names: Option<String>,
}

impl Tracked {
    /// The whole schema, with the NAMES read just before when it is to be `patched` later.
    pub async fn read(conn: &mut PgConnection, names: Option<String>) -> Result<Tracked> {
        let (schema, owners) = objects(conn, None).await?;
        Ok(Tracked {
            schema,
            owners,
            names,
        })
    }

    /// The schema recorded after the last change, when its fingerprint is `fingerprint`: the
    /// catalog is then as that change left it (apply/fingerprint.rs says what it covers), so
    /// the recorded schema, its owners and the catalog snapshot recorded with them (returned as
    /// it was given to [`Tracked::record`]) are the catalog now. `names` are the NAMES read now.
    pub async fn recorded_if<C>(
        conn: &mut PgConnection,
        fingerprint: &str,
        names: String,
    ) -> Result<Option<(Tracked, C)>>
    where
        C: serde::de::DeserializeOwned + Send + Unpin + 'static,
    {
        if !has_column(conn, "catalog").await? {
            return Ok(None);
        }
        // Decoded straight into their types: through serde_json::Value it took twice as long.
        type Row<C> = (Json<Objects>, Json<BTreeMap<String, i64>>, Json<C>);
        let row: Option<Row<C>> = sqlx::query_as(
            "SELECT s.objects, s.owners, s.catalog FROM engineer_sim.schema_snapshots s
             WHERE s.change_id = (SELECT change_id FROM engineer_sim.changes ORDER BY seq DESC LIMIT 1)
               AND s.fingerprint = $1 AND s.owners IS NOT NULL AND s.catalog IS NOT NULL",
        )
        .bind(fingerprint)
        .fetch_optional(&mut *conn)
        .await?;
        let Some((Json(objects), Json(owners), Json(catalog))) = row else {
            return Ok(None);
        };
        // Every object must have its relation, or a patch would keep a stale one.
        if !owners.keys().eq(objects.keys()) {
            return Ok(None);
        }
        let tracked = Tracked {
            schema: Schema(objects),
            owners,
            names: Some(names),
        };
        Ok(Some((tracked, catalog)))
    }

    /// Keeps this as the schema after `change_id`, in the change's transaction. With a
    /// fingerprint, also the owners and `catalog` (the apply step's snapshot), for the next
    /// change that finds the same fingerprint, and the `stamp` that lets it find so without
    /// reading the catalog, if one was taken; without one, the next change reads afresh.
    pub async fn record<C, S>(
        &self,
        conn: &mut PgConnection,
        change_id: &str,
        fingerprinted: Option<(&str, &C, Option<&S>)>,
    ) -> Result<()>
    where
        C: serde::Serialize + Sync,
        S: serde::Serialize + Sync,
    {
        let fingerprinted = match fingerprinted {
            Some((fingerprint, catalog, stamp)) => Some(Fingerprinted {
                fingerprint,
                owners: serde_json::to_string(&self.owners)?,
                catalog: serde_json::to_string(catalog)?,
                stamp: stamp.map(serde_json::to_string).transpose()?,
            }),
            None => None,
        };
        insert(conn, change_id, &self.schema, fingerprinted).await
    }

    /// The stamp the last change recorded (apply/stamp.rs), as it was given to
    /// [`Tracked::record`]; none for a ledger that predates it or a change that took none.
    pub async fn recorded_stamp<S>(conn: &mut PgConnection) -> Result<Option<S>>
    where
        S: serde::de::DeserializeOwned + Send + Unpin + 'static,
    {
        if !has_column(conn, "stamp").await? {
            return Ok(None);
        }
        let stamp: Option<Json<S>> = sqlx::query_scalar(
            "SELECT s.stamp FROM engineer_sim.schema_snapshots s
             WHERE s.change_id = (SELECT change_id FROM engineer_sim.changes ORDER BY seq DESC LIMIT 1)
               AND s.stamp IS NOT NULL",
        )
        .fetch_optional(conn)
        .await?;
        Ok(stamp.map(|Json(stamp)| stamp))
    }

    /// The NAMES this schema was read with, if it was read for patching.
    pub fn names(&self) -> Option<&str> {
        self.names.as_deref()
    }

    /// The schema now, when only the relations `touched` (their oids, those dropped since
    /// included) can have changed since `self` was read: their objects are read again, the
    /// rest kept. Read whole when a name the kept definitions print changed (crate::drift::names).
    pub async fn patched(&self, conn: &mut PgConnection, touched: &[i64]) -> Result<Tracked> {
        let Some(before) = &self.names else {
            let names = names(conn).await?;
            return Tracked::read(conn, Some(names)).await;
        };
        let names = names(conn).await?;
        if &names != before {
            let printed = match names::changed(before, &names) {
                Some(changed) => self.schema.prints_any(&changed),
                None => true,
            };
            if printed {
                tracing::debug!("a name the definitions print changed: the whole schema");
                let (schema, owners) = objects(conn, None).await?;
                return Ok(Tracked {
                    schema,
                    owners,
                    names: Some(names),
                });
            }
        }
        if touched.is_empty() {
            return Ok(Tracked {
                names: Some(names),
                ..self.clone()
            });
        }
        let (fresh, fresh_owners) = objects(conn, Some(touched)).await?;
        let touched: std::collections::BTreeSet<i64> = touched.iter().copied().collect();
        let mut schema = self.schema.0.clone();
        let mut owners = self.owners.clone();
        for (name, owner) in &self.owners {
            if touched.contains(owner) {
                schema.remove(name);
                owners.remove(name);
            }
        }
        schema.extend(fresh.0);
        owners.extend(fresh_owners);
        Ok(Tracked {
            schema: Schema(schema),
            owners,
            names: Some(names),
        })
    }
}

async fn objects(
    conn: &mut PgConnection,
    of: Option<&[i64]>,
) -> Result<(Schema, BTreeMap<String, i64>)> {
    let sql = OBJECTS.replace("{user_schemas}", USER_SCHEMAS);
    let rows: Vec<(String, String, i64)> = match of {
        None => {
            let sql = sql.replace("{of_c}", "").replace("{of_x}", "");
            sqlx::query_as(&sql).fetch_all(conn).await?
        }
        Some(oids) => {
            let sql = sql
                .replace("{of_c}", "AND c.oid = ANY($1)")
                .replace("{of_x}", "AND x.indrelid = ANY($1)");
            sqlx::query_as(&sql).bind(oids).fetch_all(conn).await?
        }
    };
    let owners = rows
        .iter()
        .map(|(name, _, owner)| (name.clone(), *owner))
        .collect();
    let schema = rows
        .into_iter()
        .map(|(name, text, _)| (name, text))
        .collect();
    Ok((Schema(schema), owners))
}

impl Schema {
    /// The whole schema.
    pub async fn read(conn: &mut PgConnection) -> Result<Schema> {
        Ok(objects(conn, None).await?.0)
    }

    /// Keeps this as the schema after `change_id`, in the change's transaction, with no
    /// fingerprint: the next change reads afresh.
    pub async fn record(&self, conn: &mut PgConnection, change_id: &str) -> Result<()> {
        insert(conn, change_id, self, None).await
    }

    /// The schema recorded after the last change, and that change's id; none for a ledger
    /// written before schemas were recorded.
    pub async fn last_recorded(conn: &mut PgConnection) -> Result<Option<(String, Schema)>> {
        let table: bool =
            sqlx::query_scalar("SELECT to_regclass('engineer_sim.schema_snapshots') IS NOT NULL")
                .fetch_one(&mut *conn)
                .await?;
        if !table {
            return Ok(None);
        }
        let row: Option<(String, Option<Json<Objects>>)> = sqlx::query_as(
            "SELECT c.change_id, s.objects FROM engineer_sim.changes c
             LEFT JOIN engineer_sim.schema_snapshots s ON s.change_id = c.change_id
             ORDER BY c.seq DESC LIMIT 1",
        )
        .fetch_optional(conn)
        .await?;
        Ok(match row {
            Some((change_id, Some(Json(objects)))) => Some((change_id, Schema(objects))),
            _ => None,
        })
    }

    /// Whether an object's name or definition holds any of `names`: a definition that prints
    /// none of them reads the same after they changed.
    fn prints_any(&self, names: &std::collections::BTreeSet<&str>) -> bool {
        self.0
            .iter()
            .any(|(object, text)| names.iter().any(|n| object.contains(n) || text.contains(n)))
    }

    /// What changed from `recorded` to `self`, one phrase per object.
    pub fn differences(&self, recorded: &Schema) -> Vec<String> {
        let mut out = Vec::new();
        for (name, was) in &recorded.0 {
            match self.0.get(name) {
                None => out.push(format!("{name} is gone (was {was})")),
                Some(now) if now != was => out.push(format!("{name} is now {now} (was {was})")),
                Some(_) => {}
            }
        }
        for (name, now) in &self.0 {
            if !recorded.0.contains_key(name) {
                out.push(format!("{name} was added ({now})"));
            }
        }
        out
    }
}

/// Creates schema_snapshots, or adds the columns an older ledger lacks (each record does so
/// too): a change that takes the catalog's stamp does it first, so that the stamp covers it.
pub async fn ensure_table(conn: &mut PgConnection) -> Result<()> {
    sqlx::raw_sql(TABLE_SQL).execute(conn).await?;
    Ok(())
}

/// Whether the ledger's schema_snapshots has `column`: a ledger that predates it has nothing
/// there to start from (the next change's record adds it).
async fn has_column(conn: &mut PgConnection, column: &str) -> Result<bool> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM pg_attribute
                        WHERE attrelid = to_regclass('engineer_sim.schema_snapshots')
                          AND attname = $1 AND NOT attisdropped)",
    )
    .bind(column)
    .fetch_one(conn)
    .await?)
}

/// What a change with a fingerprint records beside its schema, as json.
struct Fingerprinted<'a> {
    fingerprint: &'a str,
    owners: String,
    catalog: String,
    stamp: Option<String>,
}

/// Writes the schema after `change_id`; a row with a fingerprint clears the owners, catalog and
/// stamp of the rows before it, which no change starts from any more (they are ~1 MB at 2,000
/// tables).
async fn insert(
    conn: &mut PgConnection,
    change_id: &str,
    schema: &Schema,
    fingerprinted: Option<Fingerprinted<'_>>,
) -> Result<()> {
    ensure_table(&mut *conn).await?;
    if fingerprinted.is_some() {
        sqlx::query(
            "UPDATE engineer_sim.schema_snapshots SET owners = NULL, catalog = NULL, stamp = NULL
             WHERE catalog IS NOT NULL AND change_id <> $1",
        )
        .bind(change_id)
        .execute(&mut *conn)
        .await?;
    }
    let f = fingerprinted.as_ref();
    sqlx::query(
        "INSERT INTO engineer_sim.schema_snapshots
                (change_id, objects, fingerprint, owners, catalog, stamp)
         VALUES ($1, $2, $3, $4::json, $5::json, $6::json)
         ON CONFLICT (change_id) DO UPDATE
         SET objects = EXCLUDED.objects, fingerprint = EXCLUDED.fingerprint,
             owners = EXCLUDED.owners, catalog = EXCLUDED.catalog, stamp = EXCLUDED.stamp",
    )
    .bind(change_id)
    .bind(Json(&schema.0))
    .bind(f.map(|f| f.fingerprint))
    .bind(f.map(|f| f.owners.as_str()))
    .bind(f.map(|f| f.catalog.as_str()))
    .bind(f.and_then(|f| f.stamp.as_deref()))
    .execute(conn)
    .await?;
    Ok(())
}

/// Records the schema as it is now as the one after `change_id`: for work a change does outside
/// its transaction (e.g. `CREATE INDEX CONCURRENTLY`), which must call this once it is done, or
/// the next change would take that work for drift.
pub async fn record_now(conn: &mut PgConnection, change_id: &str) -> Result<()> {
    Schema::read(conn).await?.record(conn, change_id).await
}

/// Fails (exit 1) when `now` differs from what the ledger recorded after the last change.
pub async fn ensure_as_recorded(conn: &mut PgConnection, before: &str, now: &Schema) -> Result<()> {
    let Some((last, recorded)) = Schema::last_recorded(conn).await? else {
        return Ok(());
    };
    let differences = now.differences(&recorded);
    if differences.is_empty() {
        return Ok(());
    }
    Err(drift_error(&format!("before applying {before}"), &last, &differences).into())
}

/// How many differences a drift message names; the rest are counted (`verify` lists them all).
const SHOWN: usize = 5;

/// The first few `items` joined by `separator`, and how many more there are.
pub fn first_few(items: &[String], separator: &str) -> String {
    let mut listed = items
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(separator);
    if items.len() > SHOWN {
        listed.push_str(&format!("{separator}and {} more", items.len() - SHOWN));
    }
    listed
}

/// The drift error: what differs from the schema recorded after `last`.
pub fn drift_error(when: &str, last: &str, differences: &[String]) -> UserError {
    let listed = first_few(differences, "; ");
    UserError::new(
        Exit::Mismatch,
        format!("{when}: the schema changed outside engineer-sim since {last}: {listed}; nothing was applied"),
    )
    .with_hint("put the schema back as it was (or start a fresh database): engineer-sim journals only its own changes, and the next one would be blamed for this")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differences_name_gone_changed_and_added_objects() {
        let was = Schema(BTreeMap::from([
            ("index public.a".to_string(), "A".to_string()),
            ("index public.b".to_string(), "B".to_string()),
        ]));
        let now = Schema(BTreeMap::from([
            ("index public.b".to_string(), "B2".to_string()),
            ("index public.c".to_string(), "C".to_string()),
        ]));
        assert_eq!(
            now.differences(&was),
            [
                "index public.a is gone (was A)",
                "index public.b is now B2 (was B)",
                "index public.c was added (C)"
            ]
        );
        assert!(was.differences(&was).is_empty());
    }

    /// A scratch database set up with `sql`, and its schema read to be patched.
    async fn tracked(
        prefix: &str,
        sql: &str,
    ) -> (crate::pg::scratch::ScratchDb, PgConnection, Tracked) {
        let (db, mut conn) = crate::pg::scratch::ScratchDb::with_sql(prefix, sql)
            .await
            .expect("scratch with a table");
        let names = names(&mut conn).await.expect("names");
        let tracked = Tracked::read(&mut conn, Some(names)).await.expect("read");
        (db, conn, tracked)
    }

    /// A schema patched with no relation touched is the one read whole only because the names
    /// are watched: renaming the sequence a default names changes no relation's catalog rows.
    #[tokio::test]
    async fn a_renamed_sequence_makes_the_patch_read_the_schema_whole() {
        let (db, mut conn, before) = tracked(
            "drift_names",
            "CREATE TABLE t (id serial PRIMARY KEY, v int CHECK (v > 0))",
        )
        .await;
        sqlx::raw_sql("ALTER SEQUENCE t_id_seq RENAME TO t_ids")
            .execute(&mut conn)
            .await
            .expect("rename");
        let whole = Schema::read(&mut conn).await.expect("whole");
        assert_ne!(whole, before.schema, "the default names the sequence");
        let patched = before.patched(&mut conn, &[]).await.expect("patched");
        assert_eq!(patched.schema, whole);
        // With the names unchanged, the touched relation's objects are read again.
        sqlx::raw_sql("ALTER TABLE t ADD COLUMN w text NOT NULL DEFAULT 'x'")
            .execute(&mut conn)
            .await
            .expect("column");
        let oid: i64 = sqlx::query_scalar("SELECT 't'::regclass::oid::bigint")
            .fetch_one(&mut conn)
            .await
            .expect("oid");
        let again = patched.patched(&mut conn, &[oid]).await.expect("patched");
        assert_eq!(again.schema, Schema::read(&mut conn).await.expect("whole"));
        drop(conn);
        db.drop_now().await.expect("drop");
    }

    /// A new function no definition names keeps the patch; one named like the function a
    /// default calls, in the schema the search_path puts first (`$user`), makes the default
    /// print its schema, though no relation's catalog rows changed.
    #[tokio::test]
    async fn a_function_named_like_one_a_default_calls_makes_the_patch_read_whole() {
        let (db, mut conn, before) = tracked(
            "drift_function_names",
            "CREATE FUNCTION one(int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT 1';
             CREATE TABLE t (id int PRIMARY KEY, v int DEFAULT one(1));
             DO $$ BEGIN EXECUTE format('CREATE SCHEMA %I', current_user); END $$",
        )
        .await;
        sqlx::raw_sql("CREATE FUNCTION two() RETURNS int LANGUAGE sql AS 'SELECT 2'")
            .execute(&mut conn)
            .await
            .expect("two");
        let patched = before.patched(&mut conn, &[]).await.expect("patched");
        assert_eq!(
            patched.schema,
            Schema::read(&mut conn).await.expect("whole")
        );
        assert_ne!(patched.names(), before.names());
        sqlx::raw_sql(
            "DO $$ BEGIN EXECUTE format('CREATE FUNCTION %I.one(int) RETURNS int
                                         LANGUAGE sql AS ''SELECT 3''', current_user); END $$",
        )
        .execute(&mut conn)
        .await
        .expect("one again");
        let whole = Schema::read(&mut conn).await.expect("whole");
        assert_ne!(whole, patched.schema, "the default now prints public.one");
        let again = patched.patched(&mut conn, &[]).await.expect("patched");
        assert_eq!(again.schema, whole);
        drop(conn);
        db.drop_now().await.expect("drop");
    }

    #[test]
    fn first_few_names_five_and_counts_the_rest() {
        let items: Vec<String> = (1..=8).map(|i| format!("x{i}")).collect();
        assert_eq!(first_few(&items, ", "), "x1, x2, x3, x4, x5, and 3 more");
        assert_eq!(first_few(&items[..2], ", "), "x1, x2");
        assert_eq!(first_few(&[], ", "), "");
    }
}
