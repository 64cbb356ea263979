//! Driving the pipeline: `init` (the ledger and the base schema), then every due change in
//! order, each rendered, applied and journaled, with the living database's work between them.
//! What happens is handed to the caller as it happens ([`Happened`]); nothing here prints.

use anyhow::Result;
use sqlx::PgConnection;

use super::living::DataRun;
use super::options::{OnError, Options};
use super::progress::{Control, Happened, Progress};
use super::project::Project;
use crate::apply::{self, Outcome, Unit};
use crate::calendar;
use crate::identity::Identity;
use crate::ledger::{self, Event, Marker, Origin, BASE_ID};
use crate::render::{Decide, Rendered};
use crate::roadmap::{Change, Roadmap};
use crate::state::StateDir;

/// Creates the ledger, its marker and the base schema in one transaction: killed or failed
/// half-way, the database is left as it was (README "Operating it"). Refuses the system databases
/// and a database that holds anything unless `force`.
pub async fn init(
    conn: &mut PgConnection,
    project: &Project,
    identity: &Identity,
    force: bool,
    opts: &Options,
) -> Result<InitResult> {
    crate::init_guard::refuse_system_database(conn, force).await?;
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    // Two inits at once: the second waits, then finds the first one's ledger.
    ledger::lock_for_apply(&mut tx).await?;
    let mut start_date = identity.start_date;
    if ledger::has_ledger(&mut tx).await? {
        let marker = ledger::marker(&mut tx).await?;
        if ledger::is_applied(&mut tx, BASE_ID).await? {
            return Ok(InitResult::AlreadyInitialised(marker));
        }
        // A ledger without its base (left by an older engineer-sim killed during setup): the
        // base is applied now, as the interrupted init would have, on the recorded start date.
        start_date = marker.identity.start_date;
    } else {
        crate::init_guard::refuse_non_empty(&mut tx, force).await?;
        let marker = Marker {
            identity: identity.clone(),
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
        };
        ledger::create_schema(&mut tx, &marker).await?;
    }
    let base_sql = project.base_sql()?;
    let rendered = Rendered {
        clean_sql: base_sql.clone(),
        applied_sql: base_sql,
        points: vec![],
        slips: vec![],
    };
    let source = project.source_of(&project.roadmap.base);
    let title = project.roadmap.base_title();
    let unit = Unit {
        id: BASE_ID,
        week: 0,
        day: "-",
        sim_day: 0,
        sim_date: start_date,
        author: "base",
        title: &title,
        source: &source,
        rendered: &rendered,
        scripted: &project.roadmap.base_findings,
        declared_origin: Origin::Base,
        words: &project.roadmap.words,
        full_audit: opts.full_audit,
        stamp: true,
    };
    // Nested in the init's transaction: a failing base rolls the ledger back with it.
    let outcome = apply::apply(&mut tx, &unit, opts.codes).await?;
    let marker = ledger::marker(&mut tx).await?;
    tx.commit().await?;
    Ok(InitResult::Created(marker, outcome))
}

pub enum InitResult {
    Created(Marker, Outcome),
    AlreadyInitialised(Marker),
}

/// What [`prepare`] did.
pub enum Prepared {
    /// The database was ready (or is not a target: the caller's marker lookup says so).
    Ready,
    /// A ledger without its base got it.
    BaseFinished,
    /// A database without a ledger was initialised.
    Initialised(Marker, Outcome),
}

/// Brings a database to where changes can be applied (README "Operating it"): a ledger left
/// without its base (an older engineer-sim killed during setup) gets it, as the interrupted init
/// would have; a database without a ledger is initialised as `fresh` when that is given (the
/// embedded database, created on demand). Any other database is left as it is.
pub async fn prepare(
    conn: &mut PgConnection,
    project: &Project,
    fresh: Option<&Identity>,
    opts: &Options,
) -> Result<Prepared> {
    if ledger::has_ledger(conn).await? {
        if ledger::is_applied(conn, BASE_ID).await? {
            return Ok(Prepared::Ready);
        }
        let marker = ledger::marker(conn).await?;
        init(conn, project, &marker.identity, false, opts).await?;
        return Ok(Prepared::BaseFinished);
    }
    let Some(identity) = fresh else {
        return Ok(Prepared::Ready);
    };
    Ok(match init(conn, project, identity, false, opts).await? {
        InitResult::Created(marker, outcome) => Prepared::Initialised(marker, outcome),
        InitResult::AlreadyInitialised(_) => Prepared::Ready,
    })
}

/// Renders and applies one roadmap change in the run `identity` (the database's: its marker).
pub async fn apply_change(
    conn: &mut PgConnection,
    project: &Project,
    identity: &Identity,
    change: &Change,
    opts: &Options,
    decide: Decide,
) -> Result<Outcome> {
    apply_change_after(
        conn, project, identity, change, opts, decide, &mut None, true,
    )
    .await
}

/// [`apply_change`], starting from what the run's previous change left (`apply::Left`); `stamp`
/// when the next change will not (apply::Unit).
#[allow(clippy::too_many_arguments)]
async fn apply_change_after(
    conn: &mut PgConnection,
    project: &Project,
    identity: &Identity,
    change: &Change,
    opts: &Options,
    decide: Decide,
    left: &mut Option<apply::Left>,
    stamp: bool,
) -> Result<Outcome> {
    let assigned = project.render(change, identity, opts, decide)?;
    let source = project.source_of(&change.template);
    let unit = Unit {
        id: &change.id,
        week: change.week,
        day: change.day.short(),
        sim_day: change.sim_day(),
        sim_date: calendar::date_of(identity.start_date, change.sim_day()),
        author: &assigned.persona.name,
        title: &change.title,
        source: &source,
        rendered: &assigned.rendered,
        scripted: &change.scripted,
        declared_origin: Origin::Scripted,
        words: &project.roadmap.words,
        full_audit: opts.full_audit,
        stamp,
    };
    apply::apply_after(conn, &unit, opts.codes, left).await
}

/// What one run works with: the project, where its journal goes, its knobs and, on a database
/// with data, its data work.
pub struct Run<'a> {
    pub project: &'a Project,
    pub state: &'a StateDir,
    pub opts: Options,
    pub data: Option<DataRun<'a>>,
}

/// Applies, in order, every change in `due` not yet applied, within `control`, then brings the
/// journal files in line with the ledger: once per run, after its last change, failed or not.
/// A run killed before that leaves them behind the ledger; the next run or tick writes them
/// (README "Performance").
pub async fn apply_due(
    conn: &mut PgConnection,
    run: &Run<'_>,
    due: &[&Change],
    control: Control<'_>,
    report: &mut dyn FnMut(Happened<'_>),
) -> Result<Progress> {
    let applied = apply_pending(conn, run, due, control, report).await;
    let synced =
        crate::journal::sync_files(conn, run.state, run.opts.codes, &run.project.team).await;
    match (applied, synced) {
        (Ok(progress), Ok(synced)) => Ok(Progress {
            open_findings: synced.open,
            ..progress
        }),
        (Ok(_), Err(err)) => Err(err),
        (Err(err), Ok(_)) => Err(err),
        (Err(err), Err(sync_err)) => {
            // The run's own failure is what to report; the files follow on the next command.
            tracing::warn!("could not write the journal files: {sync_err:#}");
            Err(err)
        }
    }
}

async fn apply_pending(
    conn: &mut PgConnection,
    run: &Run<'_>,
    due: &[&Change],
    control: Control<'_>,
    report: &mut dyn FnMut(Happened<'_>),
) -> Result<Progress> {
    let limit = control.limit;
    let identity = ledger::marker(conn).await?.identity;
    // Whether the database has data decides which slip points are offered, not the flags.
    let opts = &Options {
        data: run.data.is_some(),
        ..run.opts
    };
    let applied_ids = ledger::applied_change_ids(conn).await?;
    let last_applied = applied_ids.last().cloned();
    let applied: std::collections::HashSet<String> = applied_ids.into_iter().collect();
    let mut progress = Progress::default();
    if let Some(data) = &run.data {
        data.resume(conn, run.project, &identity, last_applied, report)
            .await?;
    }
    let pending: Vec<&&Change> = due.iter().filter(|c| !applied.contains(&c.id)).collect();
    // The first change of the run looks at the database afresh (drift check included); each
    // next one starts from what the previous one left, unless something was journaled between.
    let mut left = None;
    if let Some(first) = pending.first() {
        // Only runs that have something to do are journaled: a cron tick every minute stays quiet.
        let event = Event::RunStarted {
            seed: identity.seed,
            roadmap: identity.roadmap.clone(),
            first_change: first.id.clone(),
            pending: pending.len(),
            limit,
            rate_scale: opts.rate_scale,
        };
        ledger::record(conn, &event).await?;
    }
    let count = pending.len();
    for (n, change) in pending.into_iter().enumerate() {
        if limit.is_some_and(|l| progress.applied.len() >= l) {
            break;
        }
        if n > 0 {
            if let Some(pause) = control.pause {
                tokio::time::sleep(pause).await;
            }
        }
        if control.stop_requested() {
            progress.stopped = true;
            break;
        }
        if let Some(data) = &run.data {
            // The day's growth comes before the day's changes.
            data.grow(conn, &identity, change.sim_day(), report).await?;
        }
        // The next change starts from this one's look unless it is in another process, or
        // the living database's work between them is journaled.
        let last = n + 1 == count || limit.is_some_and(|l| progress.applied.len() + 1 >= l);
        let result = apply_change_after(
            conn,
            run.project,
            &identity,
            change,
            opts,
            Decide::Persona,
            &mut left,
            last || run.data.is_some(),
        )
        .await;
        if let (Some(data), Ok(outcome)) = (&run.data, &result) {
            if !outcome.already_applied {
                data.measure(conn, &identity, change, outcome).await?;
                data.backfill(conn, &identity, change, report).await?;
            }
        }
        match result {
            Ok(outcome) if outcome.already_applied => continue,
            Ok(outcome) => {
                report(Happened::Applied {
                    change,
                    outcome: &outcome,
                });
                progress.applied.push((change.id.clone(), outcome));
            }
            Err(err) if opts.on_error == OnError::Skip => {
                tracing::warn!("{err:#}");
                progress
                    .failed
                    .push((change.id.clone(), format!("{err:#}")));
            }
            Err(err) => return Err(err),
        }
    }
    let finished = limit.is_none_or(|l| progress.applied.len() < l) && !progress.stopped;
    if let (Some(data), Some(day), true) = (&run.data, control.grow_to, finished) {
        // Growth stops with the roadmap's last day, as the calendar does.
        let day = day.min(run.project.roadmap.last_sim_day());
        data.grow(conn, &identity, day, report).await?;
    }
    Ok(progress)
}

/// The changes due by the end of `week`.
pub fn due_until_week(roadmap: &Roadmap, week: u32) -> Vec<&Change> {
    roadmap.changes_until_week(week)
}

/// The changes due on or before sim day `sim_day`.
pub fn due_by_sim_day(roadmap: &Roadmap, sim_day: u32) -> Vec<&Change> {
    roadmap
        .ordered()
        .into_iter()
        .filter(|c| c.sim_day() <= sim_day)
        .collect()
}
