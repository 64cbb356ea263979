//! `seed` and `workload`, and the data settings every run resolves (README "A living database").

use std::io::IsTerminal;

use anyhow::Result;
use sqlx::PgConnection;

use super::context::Context;
use super::report;
use crate::data::growth;
use crate::data::run::Runner;
use crate::data::stats::Stats;
use crate::data::workload::{self, Mix};
use crate::data::{Scope, DEFAULT_SCALE};
use crate::error::bad_input;
use crate::ledger::{self, Event};
use crate::pg::Target;
use crate::sim::{self, DataRun, Project};

impl Context {
    /// The scale a fresh database gets: `--scale`, else the playground; `None` with `--no-data`.
    pub(crate) fn init_scale(&self) -> Result<Option<f64>> {
        if self.global.no_data {
            if let Some(scale) = self.global.scale {
                return Err(bad_input(format!(
                    "--scale {scale} and --no-data contradict each other"
                ))
                .with_hint("give one of them (or unset ENGINEER_SIM_SCALE / ENGINEER_SIM_NO_DATA)")
                .into());
            }
            return Ok(None);
        }
        Ok(Some(growth::validate_scale(
            self.global.scale.unwrap_or(DEFAULT_SCALE),
        )?))
    }

    fn runner(&self, target: &Target, seed: u64) -> Runner {
        let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
        Runner {
            url: target.url.clone(),
            seed,
            jobs: self.global.jobs.unwrap_or(cpus).clamp(1, 64),
            progress: std::io::stderr().is_terminal() && !self.global.quiet,
            bulk: false,
        }
    }

    /// Data work for a run on this database: `None` when it has no data (empty mode).
    pub(crate) async fn data_run<'a>(
        &self,
        conn: &mut PgConnection,
        project: &'a Project,
    ) -> Result<Option<DataRun<'a>>> {
        let Some(scale) = growth::data_scale(conn).await? else {
            return Ok(None);
        };
        let marker = ledger::marker(conn).await?;
        Ok(Some(DataRun {
            runner: self.runner(&self.target()?, marker.identity.seed),
            scale,
            plan: project.data_plan()?,
            waits: None,
            app: None,
        }))
    }
}

/// Seeds a database that holds the base schema and nothing else yet.
pub(crate) async fn seed_now(
    ctx: &Context,
    conn: &mut PgConnection,
    project: &Project,
    target: &Target,
    scale: f64,
) -> Result<()> {
    let marker = ledger::marker(conn).await?;
    let runner = ctx.runner(target, marker.identity.seed);
    println!(
        "seeding at scale {scale} over {} connections (1 = the base's data file at full size)",
        runner.jobs
    );
    let seeded = growth::seed(
        conn,
        &runner,
        project.data_plan()?,
        scale,
        marker.identity.start_date,
    )
    .await?;
    let event = Event::DataSeeded(sim::data_written(None, Some(0), &seeded.written));
    ledger::record(conn, &event).await?;
    println!("seeded: {}", report::seeded_text(&seeded));
    Ok(())
}

/// `engineer-sim seed`: initialises a fresh database (which seeds it), or seeds one initialised
/// with `--no-data` before any change was applied.
pub async fn seed(ctx: &Context) -> Result<()> {
    let project = ctx.load_project()?;
    let scale = growth::validate_scale(ctx.global.scale.unwrap_or(DEFAULT_SCALE))?;
    let target = ctx.target()?;
    let fresh = {
        target.create_embedded_database_if_missing().await?;
        let mut conn = target.connect().await?;
        !ledger::has_ledger(&mut conn).await?
    };
    if fresh {
        // A fresh database: initialising it seeds it at --scale.
        ctx.connect_initialised(&project, None).await?;
        return Ok(());
    }
    let mut conn = ctx.connect_existing().await?;
    if let Some(existing) = growth::data_scale(&mut conn).await? {
        if (existing - scale).abs() < f64::EPSILON {
            println!("already seeded at scale {existing}");
            return Ok(());
        }
        return Err(bad_input(format!(
            "this database was seeded at scale {existing}, not {scale}"
        ))
        .with_hint("drop --scale, or start from a fresh database (--state-dir or --database-url)")
        .into());
    }
    let applied = ledger::applied_change_ids(&mut conn).await?;
    if applied.iter().any(|id| id != ledger::BASE_ID) {
        return Err(bad_input(format!(
            "this database has {} roadmap changes applied and no data: the seed fills the base schema, before the first change",
            applied.len().saturating_sub(1)
        ))
        .with_hint("seed a fresh database (`engineer-sim init --scale S`, or `run` without --no-data), then run the roadmap")
        .into());
    }
    seed_now(ctx, &mut conn, &project, &target, scale).await
}

/// `engineer-sim workload`: the app's mix for the features live now, then the statistics.
pub async fn workload(
    ctx: &Context,
    duration: std::time::Duration,
    clients: u32,
    rate: Option<f64>,
) -> Result<()> {
    let project = ctx.load_project()?;
    if clients == 0 || rate.is_some_and(|r| !(r.is_finite() && r > 0.0)) {
        return Err(bad_input("--clients must be at least 1 and --rate above 0").into());
    }
    let target = ctx.target()?;
    let mut conn = ctx.connect_existing().await?;
    let live = app_scripts(ctx, &project, &mut conn, "workload").await?;
    let (scripts, day, applied) = (live.scripts, live.day, live.features);
    let pgbench = workload::find_pgbench(target.embedded.as_ref().map(|c| c.bin_dir()))?;
    println!(
        "workload: {} queries of {} features at sim day {day}, {clients} clients for {:.0?}{}",
        scripts.len(),
        applied,
        duration,
        rate.map(|r| format!(", at most {r} tps"))
            .unwrap_or_default()
    );
    let before = Stats::read(&mut conn).await?;
    let mix = Mix {
        duration,
        clients,
        rate,
        progress: std::io::stderr().is_terminal() && !ctx.global.quiet,
    };
    let (report, per_query) =
        workload::run(&mut conn, &pgbench, &target.url, &scripts, &mix).await?;
    workload::wait_for_clients(&mut conn).await?;
    let usage = Stats::read(&mut conn).await?.since(&before);
    // A database seeded by an older engineer-sim gets the data tables of now first.
    crate::data::run::ensure_schema(&mut conn).await?;
    let id = workload::record(&mut conn, day, &report, &usage, &per_query).await?;
    let event = Event::WorkloadRun {
        workload_id: id,
        sim_day: day,
        report: serde_json::to_value(&report)?,
    };
    ledger::record(&mut conn, &event).await?;
    println!(
        "workload: {} transactions, {:.1} queries/s, latency {} ms avg{}, {} failed",
        report.transactions,
        report.tps,
        report
            .latency_ms
            .map_or("-".to_string(), |l| format!("{l:.2}")),
        report
            .latency_stddev_ms
            .map_or(String::new(), |s| format!(" (stddev {s:.2})")),
        report.failed
    );
    let read: Vec<&String> = usage
        .tables
        .iter()
        .filter(|(_, t)| t.read())
        .map(|(name, _)| name)
        .collect();
    let on_read: Vec<(&String, i64)> = usage
        .indexes
        .iter()
        .filter(|(_, (table, _))| read.contains(&table))
        .map(|(index, (_, scans))| (index, *scans))
        .collect();
    let used = on_read.iter().filter(|(_, s)| *s > 0).count();
    println!(
        "statistics: {} tables read, {used} of {} indexes on them scanned (workload {id}; `verify` judges the statistics kinds against it)",
        read.len(),
        on_read.len()
    );
    Ok(())
}

/// The queries of the features live now, written as pgbench scripts.
pub(crate) struct AppScripts {
    pub scripts: Vec<workload::Script>,
    /// The sim day the database is at.
    pub day: u32,
    /// How many changes (the base included) are applied.
    pub features: usize,
}

/// Renders the app's queries for the changes applied so far into `state/<dir>`; refuses a
/// database without data.
pub(crate) async fn app_scripts(
    ctx: &Context,
    project: &Project,
    conn: &mut PgConnection,
    dir: &str,
) -> Result<AppScripts> {
    let Some(scale) = growth::data_scale(conn).await? else {
        return Err(bad_input("this database has no data (it was initialised with --no-data)")
            .with_hint("a workload needs data: `engineer-sim seed` before the first change, or a fresh database")
            .into());
    };
    let marker = ledger::marker(conn).await?;
    let changes = ledger::changes(conn).await?;
    let applied: Vec<String> = changes.iter().map(|c| c.change_id.clone()).collect();
    let day = growth::last_grown_day(conn).await?.max(
        changes
            .iter()
            .map(|c| c.sim_day.max(0) as u32)
            .max()
            .unwrap_or(0),
    );
    let scope = Scope {
        scale,
        seed: marker.identity.seed,
        day,
        date: crate::calendar::date_of(marker.identity.start_date, day.max(1)),
        start_date: marker.identity.start_date,
        counts: {
            let mut counts = project.data_plan()?.names.clone();
            counts.extend(crate::data::run::counters(conn).await?);
            counts
        },
    };
    let dir = ctx.state.root().join(dir);
    let scripts = workload::write_scripts(project.data_plan()?, &applied, &scope, &dir)?;
    Ok(AppScripts {
        scripts,
        day,
        features: applied.len(),
    })
}
