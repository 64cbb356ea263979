//! One look per change within a run: a change that starts from what the previous one left
//! journals exactly what a fresh look would, and looks afresh once anything was journaled since.

use chrono::NaiveDate;
use sqlx::PgConnection;

use super::{apply, apply_after, AsRecorded, Left, Unit};
use crate::identity::Identity;
use crate::ledger::{self, FindingRow, Marker, Origin};
use crate::mistakes::{CodeSet, Snapshot};
use crate::pg::scratch::ScratchDb;
use crate::render::Rendered;
use crate::words::Words;

static WORDS: std::sync::LazyLock<Words> = std::sync::LazyLock::new(Words::builtin);

/// Three changes whose findings depend on each other: `b`'s key opens findings the third change
/// closes, and its SET NOT NULL is a ledger kind seen only by comparing the snapshots around it.
const CHANGES: [(&str, &str); 3] = [
    ("c1", "CREATE TABLE a (id bigint PRIMARY KEY);"),
    (
        "c2",
        "CREATE TABLE b (id bigint PRIMARY KEY, a_id bigint REFERENCES a(id));",
    ),
    (
        "c3",
        "CREATE INDEX b_a_id ON b(a_id); ALTER TABLE b ALTER COLUMN a_id SET NOT NULL;",
    ),
];

fn rendered(sql: &str) -> Rendered {
    Rendered {
        clean_sql: sql.to_string(),
        applied_sql: sql.to_string(),
        points: vec![],
        slips: vec![],
    }
}

/// A week-1 change by Alex with this SQL (the outside-step tests use it too).
pub(super) fn unit<'a>(id: &'a str, rendered: &'a Rendered) -> Unit<'a> {
    Unit {
        id,
        week: 1,
        day: "mon",
        sim_day: 1,
        sim_date: NaiveDate::from_ymd_opt(2026, 1, 5).expect("date"),
        author: "alex",
        title: id,
        source: "test",
        rendered,
        scripted: &[],
        declared_origin: Origin::Scripted,
        words: &WORDS,
        full_audit: false,
        stamp: true,
    }
}

/// A scratch database with the ledger created (the outside-step tests use it too).
pub(super) async fn ledger_db(prefix: &str) -> (ScratchDb, PgConnection) {
    let db = ScratchDb::create(prefix).await.expect("scratch");
    let mut conn = crate::pg::connect(&db.url).await.expect("connect");
    let marker = Marker {
        identity: Identity {
            roadmap: "test".into(),
            seed: 1,
            start_date: NaiveDate::from_ymd_opt(2026, 1, 5).expect("date"),
            assign: Default::default(),
        },
        tool_version: "test".into(),
    };
    ledger::create_schema(&mut conn, &marker)
        .await
        .expect("ledger");
    (db, conn)
}

/// The ledger as the journal tells it: every finding and every event but its wall time.
async fn journaled(conn: &mut PgConnection) -> (Vec<FindingRow>, Vec<serde_json::Value>) {
    let findings = ledger::findings(conn, true).await.expect("findings");
    let events = ledger::events(conn)
        .await
        .expect("events")
        .into_iter()
        .map(|mut e| {
            e.as_object_mut().expect("object").remove("wall_time");
            e
        })
        .collect();
    (findings, events)
}

#[tokio::test]
async fn a_change_starting_from_the_previous_one_journals_what_a_fresh_look_would() {
    let changes: Vec<(&str, Rendered)> = CHANGES
        .iter()
        .map(|(id, sql)| (*id, rendered(sql)))
        .collect();

    // Each change on its own, as separate processes would apply them.
    let (fresh_db, mut fresh) = ledger_db("look_fresh").await;
    for (id, sql) in &changes {
        let outcome = apply(&mut fresh, &unit(id, sql), CodeSet::Roadmap)
            .await
            .expect("apply");
        assert!(outcome.looked_afresh);
    }
    let want = journaled(&mut fresh).await;
    assert!(
        want.0
            .iter()
            .any(|f| f.kind == "missing_fk_index" && f.closed_by.as_deref() == Some("c3")),
        "the fixture closes a finding: {:?}",
        want.0
    );
    assert!(
        want.0
            .iter()
            .any(|f| f.kind == "not_null_full_scan" && f.opened_by == "c3"),
        "the fixture opens a ledger kind: {:?}",
        want.0
    );

    // One run: the first change looks, the next ones start from what the previous one left.
    let (run_db, mut run) = ledger_db("look_run").await;
    let mut left: Option<Left> = None;
    let mut looked = Vec::new();
    for (id, sql) in &changes {
        let outcome = apply_after(&mut run, &unit(id, sql), CodeSet::Roadmap, &mut left)
            .await
            .expect("apply");
        looked.push(outcome.looked_afresh);
        assert!(left.is_some(), "{id} left nothing for the next change");
    }
    assert_eq!(looked, [true, false, false]);
    assert_eq!(journaled(&mut run).await, want);

    // Another process applies c2 between this run's c1 and c3: c3 looks afresh.
    let (shared_db, mut shared) = ledger_db("look_shared").await;
    let mut other = crate::pg::connect(&shared_db.url).await.expect("connect");
    let mut left: Option<Left> = None;
    let (c1, c2, c3) = (&changes[0], &changes[1], &changes[2]);
    apply_after(&mut shared, &unit(c1.0, &c1.1), CodeSet::Roadmap, &mut left)
        .await
        .expect("c1");
    apply(&mut other, &unit(c2.0, &c2.1), CodeSet::Roadmap)
        .await
        .expect("c2 by another process");
    let outcome = apply_after(&mut shared, &unit(c3.0, &c3.1), CodeSet::Roadmap, &mut left)
        .await
        .expect("c3");
    assert!(outcome.looked_afresh, "c3 started from what c1 left");
    assert_eq!(journaled(&mut shared).await, want);

    drop((fresh, run, shared, other));
    for db in [fresh_db, run_db, shared_db] {
        db.drop_now().await.expect("drop");
    }
}

/// A failed change leaves nothing to start from: the next change looks afresh.
#[tokio::test]
async fn a_failed_change_makes_the_next_one_look_afresh() {
    let (db, mut conn) = ledger_db("look_failed").await;
    let mut left: Option<Left> = None;
    let first = rendered(CHANGES[0].1);
    apply_after(&mut conn, &unit("c1", &first), CodeSet::Roadmap, &mut left)
        .await
        .expect("c1");
    let failing = rendered("CREATE TABLE a (id bigint);");
    apply_after(
        &mut conn,
        &unit("bad", &failing),
        CodeSet::Roadmap,
        &mut left,
    )
    .await
    .expect_err("a exists");
    assert!(left.is_none());
    let second = rendered(CHANGES[1].1);
    let outcome = apply_after(&mut conn, &unit("c2", &second), CodeSet::Roadmap, &mut left)
        .await
        .expect("c2");
    assert!(outcome.looked_afresh);
    drop(conn);
    db.drop_now().await.expect("drop");
}

/// A ledger whose schema_snapshots predates the fingerprint gets its columns with the next
/// record (lz4 where the server has it), and only that record's fingerprint is started from.
#[tokio::test]
async fn a_ledger_from_before_the_fingerprint_gets_its_columns_on_the_next_record() {
    let (db, mut conn) = ledger_db("apply_fp_upgrade").await;
    let sql = rendered(CHANGES[0].1);
    apply(&mut conn, &unit(CHANGES[0].0, &sql), CodeSet::Roadmap)
        .await
        .expect("c1");
    sqlx::raw_sql(
        "ALTER TABLE engineer_sim.schema_snapshots
           DROP COLUMN fingerprint, DROP COLUMN owners, DROP COLUMN catalog, DROP COLUMN stamp",
    )
    .execute(&mut conn)
    .await
    .expect("as an older ledger");
    let names = crate::drift::names(&mut conn).await.expect("names");
    let none = crate::drift::Tracked::recorded_if::<Snapshot>(&mut conn, "fp", names.clone())
        .await
        .expect("an older ledger is read");
    assert!(none.is_none(), "no fingerprint to start from");

    let tracked = crate::drift::Tracked::read(&mut conn, Some(names.clone()))
        .await
        .expect("schema");
    let snapshot = Snapshot::take(&mut conn).await.expect("snapshot");
    tracked
        .record(
            &mut conn,
            CHANGES[0].0,
            Some(("fp", &snapshot, None::<&()>)),
        )
        .await
        .expect("record upgrades the table");
    let (again, catalog) =
        crate::drift::Tracked::recorded_if::<Snapshot>(&mut conn, "fp", names.clone())
            .await
            .expect("read")
            .expect("the recorded fingerprint");
    assert_eq!(again.schema, tracked.schema);
    assert_eq!(catalog, snapshot);
    let other = crate::drift::Tracked::recorded_if::<Snapshot>(&mut conn, "other", names)
        .await
        .expect("read");
    assert!(other.is_none(), "another fingerprint starts afresh");
    let compression: Vec<String> = sqlx::query_scalar(
        "SELECT attcompression::text FROM pg_attribute
         WHERE attrelid = 'engineer_sim.schema_snapshots'::regclass
           AND attname IN ('objects', 'owners', 'catalog', 'stamp') ORDER BY attname",
    )
    .fetch_all(&mut conn)
    .await
    .expect("compression");
    assert_eq!(
        compression,
        ["l", "l", "l", "l"],
        "PostgreSQL 15 built with lz4"
    );
    drop(conn);
    db.drop_now().await.expect("drop");
}

/// On a catalog of 200 relations or more, a change in a new process starts from the stamp the
/// last change took; from its fingerprint when only a catalog row outside the user's schemas
/// moved the stamp; and a change made behind engineer-sim's back is still drift.
#[tokio::test]
async fn on_a_large_catalog_a_new_process_starts_from_the_stamp_or_the_fingerprint() {
    let (db, mut conn) = ledger_db("apply_stamp").await;
    sqlx::raw_sql(
        "DO $$ BEGIN FOR i IN 1..200 LOOP
           EXECUTE format('CREATE TABLE extra_%s (id bigint PRIMARY KEY)', i);
         END LOOP; END $$",
    )
    .execute(&mut conn)
    .await
    .expect("200 tables");
    let sqls: Vec<Rendered> = CHANGES.iter().map(|(_, sql)| rendered(sql)).collect();
    let mut outcomes = Vec::new();
    for (n, ((id, _), sql)) in CHANGES.iter().zip(&sqls).enumerate() {
        if n == 2 {
            sqlx::raw_sql("CREATE TABLE engineer_sim.elsewhere (id int)")
                .execute(&mut conn)
                .await
                .expect("outside the user's schemas");
        }
        let outcome = apply(&mut conn, &unit(id, sql), CodeSet::Roadmap)
            .await
            .expect(id);
        outcomes.push(outcome.as_recorded);
    }
    assert_eq!(
        outcomes,
        [None, Some(AsRecorded::Stamp), Some(AsRecorded::Fingerprint)]
    );
    sqlx::raw_sql("ALTER TABLE extra_1 ADD COLUMN z int")
        .execute(&mut conn)
        .await
        .expect("behind its back");
    let fourth = rendered("CREATE TABLE d (id int);");
    let err = apply(&mut conn, &unit("c4", &fourth), CodeSet::Roadmap)
        .await
        .expect_err("drift");
    assert!(
        format!("{err:#}").contains("public.extra_1.z was added"),
        "{err:#}"
    );
    drop(conn);
    db.drop_now().await.expect("drop");
}
