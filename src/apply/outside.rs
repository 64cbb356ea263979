//! Steps a change runs outside its transaction (`CREATE INDEX CONCURRENTLY`), and the ledger
//! written around them (README "How it works": steps outside the transaction).
//!
//! The change's transaction records each such step as pending, together with the change itself.
//! After it commits, each step runs on its own and its outcome (a failure is an outcome: a failed
//! concurrent build leaves an invalid index, as in life) is written down at once. A second
//! transaction then audits the database, journals what the steps opened or closed, and clears
//! the pending rows. A process killed anywhere in between leaves pending rows, which the next
//! apply finishes first: a step that already ran reports "already exists", and the audit sees
//! whatever it left.

use anyhow::Result;
use chrono::NaiveDate;
use serde_json::json;
use sqlx::{Connection, PgConnection};

use super::delta::{self, DeclaredMap, Seen};
use crate::audit::{self, Key};
use crate::ledger::{self, By, Event, Origin};
use crate::mistakes::CodeSet;
use crate::mistakes::Snapshot;
use crate::words::Words;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS engineer_sim.outside_steps (
    change_id varchar(100) NOT NULL REFERENCES engineer_sim.changes(change_id) ON DELETE CASCADE,
    step integer NOT NULL,
    week integer NOT NULL,
    sim_date date NOT NULL,
    author varchar(40) NOT NULL,
    sql text NOT NULL,
    -- Declared findings this change's steps are expected to leave: [[[kind, object], excuse]].
    deferred jsonb NOT NULL DEFAULT '[]'::jsonb,
    ran boolean NOT NULL DEFAULT false,
    sqlstate varchar(5),
    message text,
    PRIMARY KEY (change_id, step)
)";

/// Records the change's outside steps as pending, in the change's own transaction.
pub(super) async fn record_pending(
    tx: &mut PgConnection,
    by: &By,
    steps: &[&str],
    deferred: &[(Key, Option<String>)],
) -> Result<()> {
    sqlx::raw_sql(SCHEMA).execute(&mut *tx).await?;
    let deferred: Vec<serde_json::Value> = deferred
        .iter()
        .map(|(key, excuse)| json!([key, excuse]))
        .collect();
    for (i, sql) in steps.iter().enumerate() {
        sqlx::query(
            "INSERT INTO engineer_sim.outside_steps (change_id, step, week, sim_date, author, sql, deferred)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&by.change_id)
        .bind(i as i32 + 1)
        .bind(by.week as i32)
        .bind(by.sim_date)
        .bind(&by.author)
        .bind(*sql)
        .bind(json!(deferred))
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

#[derive(sqlx::FromRow)]
struct Pending {
    change_id: String,
    step: i32,
    week: i32,
    sim_date: NaiveDate,
    author: String,
    sql: String,
    deferred: serde_json::Value,
    ran: bool,
    sqlstate: Option<String>,
    message: Option<String>,
}

/// Runs every pending outside step and journals what it left; returns the findings opened and
/// closed. Nothing to do (one catalog lookup) when no step is pending.
pub(super) async fn finish(
    conn: &mut PgConnection,
    codes: CodeSet,
    words: &Words,
) -> Result<(Vec<Key>, Vec<Key>)> {
    let exists: bool =
        sqlx::query_scalar("SELECT to_regclass('engineer_sim.outside_steps') IS NOT NULL")
            .fetch_one(&mut *conn)
            .await?;
    if !exists {
        return Ok((Vec::new(), Vec::new()));
    }
    // The same key as the change transaction's lock: one process runs steps at a time.
    sqlx::query("SELECT pg_advisory_lock(hashtext('engineer-sim apply'))")
        .execute(&mut *conn)
        .await?;
    let result = finish_locked(conn, codes, words).await;
    sqlx::query("SELECT pg_advisory_unlock(hashtext('engineer-sim apply'))")
        .execute(&mut *conn)
        .await?;
    result
}

async fn finish_locked(
    conn: &mut PgConnection,
    codes: CodeSet,
    words: &Words,
) -> Result<(Vec<Key>, Vec<Key>)> {
    let mut pending: Vec<Pending> = sqlx::query_as(
        "SELECT s.change_id, s.step, s.week, s.sim_date, s.author, s.sql, s.deferred, s.ran,
                s.sqlstate, s.message
         FROM engineer_sim.outside_steps s JOIN engineer_sim.changes c USING (change_id)
         ORDER BY c.seq, s.step",
    )
    .fetch_all(&mut *conn)
    .await?;
    for step in pending.iter_mut().filter(|s| !s.ran) {
        run_step(conn, step).await?;
    }
    // One group per change, in the order the changes were applied.
    let mut by_change: Vec<Vec<Pending>> = Vec::new();
    for step in pending {
        match by_change.last_mut() {
            Some(group) if group[0].change_id == step.change_id => group.push(step),
            _ => by_change.push(vec![step]),
        }
    }
    let (mut opened, mut closed) = (Vec::new(), Vec::new());
    for steps in by_change {
        let (o, c) = journal_steps(conn, &steps, codes, words).await?;
        opened.extend(o);
        closed.extend(c);
    }
    Ok((opened, closed))
}

/// Runs one step on its own and writes its outcome down at once.
async fn run_step(conn: &mut PgConnection, step: &mut Pending) -> Result<()> {
    // Session settings, as the change's transaction sets them locally (README "How it works").
    sqlx::raw_sql(&crate::session::for_session())
        .execute(&mut *conn)
        .await?;
    let result = sqlx::raw_sql(&step.sql).execute(&mut *conn).await;
    sqlx::raw_sql(&crate::session::reset())
        .execute(&mut *conn)
        .await?;
    if let Err(err) = result {
        match &err {
            sqlx::Error::Database(db) => {
                step.sqlstate = db.code().map(|c| c.to_string());
                step.message = Some(db.message().to_string());
            }
            // The connection itself failed: the step may or may not have run; the next
            // apply runs it again and the audit sees what is there.
            _ => return Err(err.into()),
        }
        // Journaled below; a failed concurrent build is how the slip shows, not an error.
        tracing::info!(
            "change {} step {} outside the transaction failed: {} {}",
            step.change_id,
            step.step,
            step.sqlstate.as_deref().unwrap_or(""),
            step.message.as_deref().unwrap_or("")
        );
    }
    step.ran = true;
    sqlx::query(
        "UPDATE engineer_sim.outside_steps SET ran = true, sqlstate = $3, message = $4
         WHERE change_id = $1 AND step = $2",
    )
    .bind(&step.change_id)
    .bind(step.step)
    .bind(&step.sqlstate)
    .bind(&step.message)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Audits after one change's steps and journals them and the findings they opened or closed.
async fn journal_steps(
    conn: &mut PgConnection,
    steps: &[Pending],
    codes: CodeSet,
    words: &Words,
) -> Result<(Vec<Key>, Vec<Key>)> {
    let first = &steps[0];
    let by = By {
        change_id: first.change_id.clone(),
        week: first.week as u32,
        author: first.author.clone(),
        sim_date: first.sim_date,
    };
    let mut tx = conn.begin().await?;
    ledger::lock_for_apply(&mut tx).await?;
    let open_before = delta::open_findings(&mut tx).await?;
    let seen = Seen {
        audit: audit::audit(&mut tx, words).await?,
        observed: Default::default(),
        after: Snapshot::take(&mut tx).await?,
    };
    // A declared finding the step did not leave (the build found no duplicates) is not a
    // finding: the step cannot be rolled back, so the journal says what is there.
    let deferred: Vec<(Key, Option<String>)> =
        serde_json::from_value(first.deferred.clone()).unwrap_or_default();
    let declared: DeclaredMap = deferred
        .into_iter()
        .filter(|(key, _)| seen.audit.contains(key))
        .map(|(key, excuse)| (key, (Origin::Slip, excuse)))
        .collect();
    let delta = delta::findings_delta(&declared, &open_before, &seen);
    for step in steps {
        let event = Event::OutsideStepRan {
            by: by.clone(),
            step: step.step,
            sql: step.sql.clone(),
            sqlstate: step.sqlstate.clone(),
            message: step.message.clone(),
        };
        ledger::record(&mut tx, &event).await?;
    }
    delta::record(&mut tx, &by, &delta, codes).await?;
    // What the steps left is part of the change: the next change's drift check compares with it.
    crate::drift::Schema::read(&mut tx)
        .await?
        .record(&mut tx, &by.change_id)
        .await?;
    sqlx::query("DELETE FROM engineer_sim.outside_steps WHERE change_id = $1")
        .bind(&by.change_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(delta.into_keys())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::apply;
    use crate::apply::tests::{ledger_db, unit};
    use crate::mistakes::OUTSIDE_TRANSACTION;
    use crate::render::{Rendered, Slip};

    fn rendered(sql: String, slips: Vec<Slip>) -> Rendered {
        Rendered {
            clean_sql: String::new(),
            applied_sql: sql,
            points: vec![],
            slips,
        }
    }

    async fn events_named(conn: &mut PgConnection, name: &str) -> Vec<serde_json::Value> {
        ledger::events(conn)
            .await
            .expect("events")
            .into_iter()
            .filter(|e| e["event"] == name)
            .collect()
    }

    /// A failed concurrent build is journaled with its SQLSTATE and opens the slip's finding;
    /// steps left pending by a killed process are finished, and attributed to their change, by
    /// the next apply.
    #[tokio::test]
    async fn failed_concurrent_build_is_journaled_and_pending_steps_are_finished() {
        let (db, mut conn) = ledger_db("outside_steps").await;

        let slip = Slip {
            kind: "invalid_index".into(),
            object: "public.u".into(),
            excuse: "habit".into(),
        };
        let first = rendered(
            format!(
                "CREATE TABLE t (a int PRIMARY KEY, b int); INSERT INTO t VALUES (1, 1), (2, 1);\n\
                 {OUTSIDE_TRANSACTION}\nCREATE UNIQUE INDEX CONCURRENTLY u ON t(b);\n"
            ),
            vec![slip],
        );
        let outcome = apply(&mut conn, &unit("c1", &first), CodeSet::Checkup)
            .await
            .expect("apply goes on past the failed step");
        let key = Key::new("invalid_index", "public.u");
        assert!(outcome.opened.contains(&key), "{:?}", outcome.opened);
        let ran = events_named(&mut conn, "outside_step_ran").await;
        assert_eq!(ran.len(), 1);
        assert_eq!(ran[0]["sqlstate"], "23505");
        let opened = events_named(&mut conn, "finding_opened").await;
        assert!(opened
            .iter()
            .any(|e| e["kind"] == "invalid_index" && e["origin"] == "slip" && e["code"] == "H001"));

        // A process killed after c1's transaction committed, before its step ran.
        sqlx::query(
            "INSERT INTO engineer_sim.outside_steps (change_id, step, week, sim_date, author, sql, deferred)
             VALUES ('c1', 2, 1, '2026-01-05', 'alex', 'CREATE UNIQUE INDEX CONCURRENTLY u2 ON t(b)',
                     '[[[\"invalid_index\", \"public.u2\"], \"habit\"]]')",
        )
        .execute(&mut conn)
        .await
        .expect("pending row");
        let second = rendered("CREATE TABLE t2 (a int PRIMARY KEY);".into(), vec![]);
        apply(&mut conn, &unit("c2", &second), CodeSet::Checkup)
            .await
            .expect("the next apply finishes the pending step first");
        let findings = ledger::findings(&mut conn, false).await.expect("findings");
        let u2 = findings
            .iter()
            .find(|f| f.object == "public.u2")
            .expect("the pending step's invalid index is journaled");
        assert_eq!((u2.opened_by.as_str(), u2.origin), ("c1", Origin::Slip));
        let left: i64 = sqlx::query_scalar("SELECT count(*) FROM engineer_sim.outside_steps")
            .fetch_one(&mut conn)
            .await
            .expect("count");
        assert_eq!(left, 0);
        drop(conn);
        db.drop_now().await.expect("drop");
    }
}
