//! `missing_updated_at_trigger`: an `updated_at` column with no trigger keeping it current.
//!
//! A column named `updated_at` promises the time of the last change. Without a trigger it holds
//! whatever the last writer remembered to set: the ORM path sets it, the bulk `UPDATE` in a
//! migration or a support script does not, and incremental syncs and caches keyed on it silently
//! miss rows. A `BEFORE UPDATE ... FOR EACH ROW` trigger setting `NEW.updated_at` keeps it true
//! for every writer.
//!
//! Slip: `{{ missing_updated_at_trigger(object="public.t", sql="CREATE TRIGGER trg_t_updated_at BEFORE UPDATE ON t
//! FOR EACH ROW EXECUTE FUNCTION set_updated_at();") }}`; clean renders `sql`, the slip nothing.
//!
//! Detection: a table with a live (not dropped) column named `updated_at`, of any type, on which no
//! user trigger (`NOT tgisinternal`) that fires in a normal session (`tgenabled` `O` or `A`: a
//! disabled trigger, or one enabled for replicas only, does not run on ordinary writes) is all of
//! - `FOR EACH ROW` (`tgtype` bit 1): a statement trigger cannot change the rows;
//! - `BEFORE` (bit 2): an `AFTER` trigger runs once the row is written, too late to set `NEW`;
//! - fired on `UPDATE` (bit 16), alone or with other events (`BEFORE INSERT OR UPDATE` counts).
//!
//! The catalog does not say what the trigger function does, so any such trigger counts, whatever
//! its function, its `WHEN` condition or an `UPDATE OF col, ...` column list that limits it to
//! some updates. A table without `updated_at` is never reported. The object is the table,
//! `schema.table`. Partitions are skipped: a row trigger on a partitioned table is cloned onto
//! every partition, and the finding is the partitioned table's, once.

use super::kind::{MistakeKind, Proof};
use super::query::Query;
use super::slip::Slip;

pub const KIND: MistakeKind = MistakeKind {
    name: "missing_updated_at_trigger",
    proof: Proof::Catalog(Query::Sql(DETECTION_QUERY)),
    slip: Slip::Omitted,
    ..MistakeKind::USUAL
};

// `tgtype` bits (src/include/catalog/pg_trigger.h): ROW = 1, BEFORE = 2, UPDATE = 16;
// 1 + 2 + 16 = 19.
const DETECTION_QUERY: &str = r#"
SELECT format('%s.%s', n.nspname, c.relname) AS object
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p')
  AND NOT c.relispartition
  AND {user_schemas}
  AND {scope:c.oid}
  AND EXISTS (
      SELECT 1 FROM pg_attribute a
      WHERE a.attrelid = c.oid
        AND a.attname = 'updated_at'
        AND a.attnum > 0
        AND NOT a.attisdropped
  )
  AND NOT EXISTS (
      SELECT 1 FROM pg_trigger tg
      WHERE tg.tgrelid = c.oid
        AND NOT tg.tgisinternal
        AND tg.tgenabled IN ('O', 'A')
        AND (tg.tgtype::int & 19) = 19
  )
ORDER BY 1
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mistakes::testing::detect;

    const TOUCH: &str = "CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ \
                         BEGIN NEW.updated_at := now(); RETURN NEW; END $$;";

    #[tokio::test]
    async fn finds_updated_at_without_a_before_update_row_trigger() {
        let fixture = format!(
            r#"
            {TOUCH}
            CREATE TABLE kept (id int, updated_at timestamptz);
            CREATE TRIGGER kept_touch BEFORE UPDATE ON kept
                FOR EACH ROW EXECUTE FUNCTION touch();
            CREATE TABLE kept_too (id int, updated_at timestamptz);
            CREATE TRIGGER kept_too_touch BEFORE INSERT OR UPDATE OF id ON kept_too
                FOR EACH ROW EXECUTE FUNCTION touch();
            CREATE TABLE after_only (id int, updated_at timestamptz);
            CREATE TRIGGER after_only_touch AFTER UPDATE ON after_only
                FOR EACH ROW EXECUTE FUNCTION touch();
            CREATE TABLE insert_only (id int, updated_at timestamptz);
            CREATE TRIGGER insert_only_touch BEFORE INSERT ON insert_only
                FOR EACH ROW EXECUTE FUNCTION touch();
            CREATE TABLE per_statement (id int, updated_at timestamptz);
            CREATE TRIGGER per_statement_touch BEFORE UPDATE ON per_statement
                FOR EACH STATEMENT EXECUTE FUNCTION touch();
            CREATE TABLE disabled (id int, updated_at timestamptz);
            CREATE TRIGGER disabled_touch BEFORE UPDATE ON disabled
                FOR EACH ROW EXECUTE FUNCTION touch();
            ALTER TABLE disabled DISABLE TRIGGER disabled_touch;
            CREATE TABLE bare (id int, updated_at timestamp);
            CREATE TABLE no_column (id int, created_at timestamptz);
            CREATE TABLE dropped (id int, updated_at timestamptz);
            ALTER TABLE dropped DROP COLUMN updated_at;
            "#
        );
        let found = detect(&KIND, &fixture).await;
        assert_eq!(
            found,
            [
                "public.after_only",
                "public.bare",
                "public.disabled",
                "public.insert_only",
                "public.per_statement",
            ]
        );
    }

    #[tokio::test]
    async fn partitioned_tables_are_reported_once() {
        let fixture = format!(
            r#"
            {TOUCH}
            CREATE TABLE event (d date, updated_at timestamptz) PARTITION BY RANGE (d);
            CREATE TABLE event_2024 PARTITION OF event
                FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
            CREATE TABLE touched (d date, updated_at timestamptz) PARTITION BY RANGE (d);
            CREATE TABLE touched_2024 PARTITION OF touched
                FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
            CREATE TRIGGER touched_touch BEFORE UPDATE ON touched
                FOR EACH ROW EXECUTE FUNCTION touch();
            "#
        );
        let found = detect(&KIND, &fixture).await;
        assert_eq!(found, ["public.event"]);
    }
}
