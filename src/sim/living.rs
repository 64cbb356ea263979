//! The living database's share of a run (README "A living database"): each change's backfill
//! after it, each sim day's growth before that day's changes, and what a killed run left half
//! done. Only databases with data do any of it.

use anyhow::Result;
use sqlx::{Connection, PgConnection};

use super::progress::Happened;
use super::Project;
use crate::apply::Outcome;
use crate::audit::Key;
use crate::calendar;
use crate::data::growth::{self, DataPlan};
use crate::data::measure;
use crate::data::run::{Runner, Written};
use crate::data::waits::WaitWatch;
use crate::identity::Identity;
use crate::ledger::{self, DataWritten, Event, FindingRow};
use crate::mistakes::Verification;
use crate::roadmap::Change;

/// Data work for a run on a database that has data: where to write it and at which scale.
pub struct DataRun<'a> {
    pub runner: Runner,
    pub scale: f64,
    pub plan: &'a DataPlan,
    /// With `daemon --workload`: the sampler of the app's lock waits, and the app, told after
    /// each change so it runs the new mix.
    pub waits: Option<std::sync::Arc<WaitWatch>>,
    pub app: Option<&'a dyn LiveApp>,
}

/// The app kept running while changes apply (`daemon --workload`).
pub trait LiveApp {
    /// A change was applied: run the mix of the features live now (a restart when it differs).
    fn changed(&self) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<()>> + '_>>;
}

impl DataRun<'_> {
    /// Measures what `change` cost (its measured findings, the app's waits on it) right after
    /// it committed, on the connection that applied it; then the app runs the new mix.
    pub(super) async fn measure(
        &self,
        conn: &mut PgConnection,
        identity: &Identity,
        change: &Change,
        outcome: &Outcome,
    ) -> Result<()> {
        let waits = match &self.waits {
            Some(watch) => {
                let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
                    .fetch_one(&mut *conn)
                    .await?;
                Some(watch.take(pid).await)
            }
            None => None,
        };
        let by = ledger::By {
            change_id: change.id.clone(),
            week: change.week,
            author: outcome.author.clone(),
            sim_date: calendar::date_of(identity.start_date, change.sim_day()),
        };
        measure::record(conn, &by, &outcome.opened, outcome.locked, waits).await?;
        if let Some(app) = self.app {
            app.changed().await?;
        }
        Ok(())
    }

    /// Finishes what a killed or failed run left half done, before anything new: the
    /// measurement of `last` (the last applied change), then the backfills.
    pub(super) async fn resume(
        &self,
        conn: &mut PgConnection,
        project: &Project,
        identity: &Identity,
        last: Option<String>,
        report: &mut dyn FnMut(Happened<'_>),
    ) -> Result<()> {
        if let Some(change) = last
            .as_ref()
            .and_then(|id| project.roadmap.ordered().into_iter().find(|c| &c.id == id))
        {
            self.resume_measurement(conn, identity, change).await?;
        }
        self.resume_backfills(conn, project, identity, last, report)
            .await
    }

    /// Measures `change`, the last applied, again when a run killed between its commit and its
    /// measurement lost it: its measured kinds' findings are still `ledger` and its backfill has
    /// not begun, so its tables are as it left them. The lock time is the change's span in the
    /// ledger (its audit before the DDL included); the app's waits on it are lost.
    async fn resume_measurement(
        &self,
        conn: &mut PgConnection,
        identity: &Identity,
        change: &Change,
    ) -> Result<()> {
        let lost: Vec<FindingRow> = ledger::findings(conn, false)
            .await?
            .into_iter()
            .filter(|f| f.opened_by == change.id && measure::measured(&f.kind))
            .filter(|f| f.verification != Verification::Measured)
            .collect();
        let Some(author) = lost.first().map(|f| f.opened_author.clone()) else {
            return Ok(());
        };
        if growth::backfill_started(conn, &change.id).await? {
            return Ok(());
        }
        let keys: Vec<Key> = lost
            .into_iter()
            .map(|f| Key::new(f.kind, f.object))
            .collect();
        let locked = ledger::change_span(conn, &change.id)
            .await?
            .unwrap_or_default();
        let by = ledger::By {
            change_id: change.id.clone(),
            week: change.week,
            author,
            sim_date: calendar::date_of(identity.start_date, change.sim_day()),
        };
        measure::record(conn, &by, &keys, locked, None).await?;
        Ok(())
    }

    /// Writes `change`'s feature data, after the change, and journals it when there was any.
    pub(super) async fn backfill(
        &self,
        conn: &mut PgConnection,
        identity: &Identity,
        change: &Change,
        report: &mut dyn FnMut(Happened<'_>),
    ) -> Result<()> {
        let written = self.write_backfill(conn, identity, change).await?;
        if written.rows > 0 {
            report(Happened::Backfilled {
                change,
                written: &written,
            });
            let event = Event::ChangeBackfilled(data_written(Some(&change.id), None, &written));
            ledger::record(conn, &event).await?;
        }
        Ok(())
    }

    /// Finishes a backfill that a killed or failed run left behind, and journals it: one a step
    /// of which is recorded but not done, or the last applied change's (a run killed between the
    /// change's commit and its backfill, or between its backfill and its event). Finished steps
    /// are skipped.
    async fn resume_backfills(
        &self,
        conn: &mut PgConnection,
        project: &Project,
        identity: &Identity,
        last_applied: Option<String>,
        report: &mut dyn FnMut(Happened<'_>),
    ) -> Result<()> {
        let mut ids = growth::unfinished_backfills(conn).await?;
        ids.extend(last_applied);
        for change in project.roadmap.ordered() {
            // A backfill journaled is done; one killed after its last step and before its event
            // is journaled here, with the rows of all its steps.
            if ids.contains(&change.id) && !ledger::backfill_journaled(conn, &change.id).await? {
                self.backfill(conn, identity, change, report).await?;
            }
        }
        Ok(())
    }

    /// The steps of `change`'s backfill not done yet.
    async fn write_backfill(
        &self,
        conn: &mut PgConnection,
        identity: &Identity,
        change: &Change,
    ) -> Result<Written> {
        growth::backfill(
            conn,
            &self.runner,
            self.plan,
            self.scale,
            &change.id,
            change.sim_day(),
            identity.start_date,
        )
        .await
    }

    /// Writes the growth of every sim day not grown yet, through `day`. Each day is marked grown
    /// in the transaction that journals it: a run killed before that grows the day again (its
    /// finished steps skipped) and journals it then, with all its rows.
    pub(super) async fn grow(
        &self,
        conn: &mut PgConnection,
        identity: &Identity,
        day: u32,
        report: &mut dyn FnMut(Happened<'_>),
    ) -> Result<()> {
        let applied: std::collections::BTreeMap<String, u32> = ledger::changes(conn)
            .await?
            .into_iter()
            .map(|c| (c.change_id, c.sim_day.max(0) as u32))
            .collect();
        for d in growth::last_grown_day(conn).await? + 1..=day {
            let written = growth::grow_day(
                conn,
                &self.runner,
                self.plan,
                self.scale,
                d,
                &applied,
                identity.start_date,
            )
            .await?;
            report(Happened::Grew {
                day: d,
                date: calendar::date_of(identity.start_date, d),
                written: &written,
            });
            let mut tx = conn.begin().await?;
            growth::mark_grown(&mut tx, d, written.rows).await?;
            let event = Event::DayGrown(data_written(None, Some(d), &written));
            ledger::record(&mut tx, &event).await?;
            tx.commit().await?;
        }
        Ok(())
    }
}

/// Data work as its journal event tells it.
pub fn data_written(
    change_id: Option<&str>,
    sim_day: Option<u32>,
    written: &Written,
) -> DataWritten {
    DataWritten {
        change_id: change_id.map(str::to_string),
        sim_day,
        rows: written.rows,
        bytes: written.bytes,
        ms: written.elapsed.as_millis() as u64,
    }
}
