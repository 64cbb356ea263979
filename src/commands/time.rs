//! Time: `tick`, `schedule`, `daemon` and `settings` (README "Time and replay").

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::Result;
use chrono::{Local, NaiveDateTime, TimeZone};
use sqlx::PgConnection;

use std::path::PathBuf;

use super::apply::{print_happened, report_progress};
use super::context::Context;
use super::data::app_scripts;
use crate::calendar;
use crate::data::growth;
use crate::data::waits::WaitWatch;
use crate::data::workload::{self, Live};
use crate::error::bad_input;
use crate::ledger;
use crate::schedule::CronSchedule;
use crate::settings::{Pace, Settings};
use crate::sim::{self, Control, LiveApp, Project, Run};

fn now_local() -> NaiveDateTime {
    Local::now().naive_local()
}

/// What one tick is asked to do.
#[derive(Debug, Clone, Copy, Default)]
pub struct TickArgs {
    pub now: Option<NaiveDateTime>,
    pub max_per_tick: Option<usize>,
    pub pace: Option<Pace>,
    pub seed: Option<u64>,
}

pub async fn tick(ctx: &Context, args: TickArgs) -> Result<()> {
    let project = ctx.load_project()?;
    let mut conn = ctx.connect_initialised(&project, args.seed).await?;
    let progress = tick_once(ctx, &project, &mut conn, args, Control::default(), None).await?;
    report_progress(ctx, &progress)
}

/// Applies what is due now: every change due by the sim day the clock reaches and not yet
/// applied, at most the cap, never one that is not due.
async fn tick_once(
    ctx: &Context,
    project: &Project,
    conn: &mut PgConnection,
    args: TickArgs,
    control: Control<'_>,
    live: Option<(Arc<WaitWatch>, Option<&dyn LiveApp>)>,
) -> Result<sim::Progress> {
    let mut settings = Settings::load(&ctx.state)?;
    let marker = ledger::marker(conn).await?;
    let now = args.now.unwrap_or_else(now_local);
    let pace = args.pace.unwrap_or(settings.pace);
    let sim_day = match pace {
        Pace::Calendar => calendar::sim_day_on(marker.identity.start_date, now.date()),
        Pace::Step => (settings.step_day + 1).min(project.roadmap.last_sim_day()),
    };
    let limit = args.max_per_tick.or(settings.max_per_tick);
    if sim_day == 0 {
        println!(
            "{}: before the start date {}; nothing is due",
            now.date(),
            marker.identity.start_date
        );
    } else {
        let (week, day) = calendar::describe(sim_day);
        println!(
            "{}: sim day {sim_day} (week {week}, {day}), {pace:?} pace",
            now.date()
        );
    }
    let due = sim::due_by_sim_day(&project.roadmap, sim_day);
    let mut data = ctx.data_run(conn, project).await?;
    if let Some(data) = &mut data {
        if let Some((waits, app)) = live {
            data.waits = Some(waits);
            data.app = app;
        }
    }
    let run = Run {
        project,
        state: &ctx.state,
        opts: ctx.options(project)?,
        data,
    };
    let control = Control {
        limit,
        grow_to: Some(sim_day),
        ..control
    };
    let progress = sim::apply_due(conn, &run, &due, control, &mut print_happened).await?;
    if pace == Pace::Step {
        settings.step_day = sim_day;
        settings.save(&ctx.state)?;
    }
    Ok(progress)
}

/// `schedule`: the next tick times of a cron expression and the sim day each reaches.
pub async fn schedule(
    ctx: &Context,
    cron: &str,
    count: usize,
    now: Option<NaiveDateTime>,
) -> Result<()> {
    let schedule = CronSchedule::parse(cron)?;
    let settings = Settings::load(&ctx.state)?;
    let last_sim_day = ctx.data.load_roadmap()?.last_sim_day();
    let now = now.unwrap_or_else(now_local);
    let local_now = Local
        .from_local_datetime(&now)
        .earliest()
        .unwrap_or_else(Local::now);
    let start = settings
        .start_date
        .unwrap_or_else(|| calendar::next_working_day(now.date()));
    println!(
        "cron \"{cron}\", {:?} pace, week 1 Monday = {start}",
        settings.pace
    );
    for (i, at) in schedule.upcoming(&local_now, count).into_iter().enumerate() {
        let sim_day = match settings.pace {
            Pace::Calendar => calendar::sim_day_on(start, at.date_naive()),
            Pace::Step => (settings.step_day + 1 + i as u32).min(last_sim_day),
        };
        let reaches = if sim_day == 0 {
            "before the start".to_string()
        } else {
            let (week, day) = calendar::describe(sim_day);
            format!("sim day {sim_day} (week {week}, {day})")
        };
        println!("{}  {reaches}", at.format("%a %Y-%m-%d %H:%M"));
    }
    Ok(())
}

/// `daemon`: ticks in-process on a cron schedule until SIGTERM or Ctrl-C, which it honours
/// between changes, never in the middle of one. With `workload`, that many pgbench clients run
/// the app's queries all along (README "The app under changes").
pub async fn daemon(
    ctx: &Context,
    cron: &str,
    run_now: bool,
    pause: Option<std::time::Duration>,
    workload: Option<u32>,
) -> Result<()> {
    let schedule = CronSchedule::parse(cron)?;
    let project = ctx.load_project()?;
    let app = match workload {
        Some(clients) => Some(App::prepare(ctx, &project, clients).await?),
        None => None,
    };
    let result =
        tick_on_schedule(ctx, &project, &schedule, cron, run_now, pause, app.as_ref()).await;
    if let Some(app) = app {
        app.stop().await;
    }
    result
}

async fn tick_on_schedule(
    ctx: &Context,
    project: &Project,
    schedule: &CronSchedule,
    cron: &str,
    run_now: bool,
    pause: Option<std::time::Duration>,
    app: Option<&App<'_>>,
) -> Result<()> {
    let stop = Arc::new(AtomicBool::new(false));
    let wake = Arc::new(tokio::sync::Notify::new());
    listen_for_stop(stop.clone(), wake.clone())?;
    println!("daemon: ticking on \"{cron}\" (SIGTERM or Ctrl-C stops it between changes)");
    let mut first = run_now;
    while !stop.load(Ordering::SeqCst) {
        if !first {
            let now = Local::now();
            let Some(next) = schedule.upcoming(&now, 1).into_iter().next() else {
                break;
            };
            println!("daemon: next tick at {}", next.format("%Y-%m-%d %H:%M"));
            let wait = (next - now).to_std().unwrap_or_default();
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = wake.notified() => break,
            }
        }
        first = false;
        let control = Control {
            stop: Some(&stop),
            pause,
            ..Control::default()
        };
        if let Some(app) = app {
            app.keep_running().await?;
        }
        let waits = match app {
            Some(_) => Some(Arc::new(WaitWatch::start(&ctx.target()?.url).await?)),
            None => None,
        };
        let ticked = daemon_tick(ctx, project, control, waits.clone(), app).await;
        if let Some(watch) = waits.and_then(Arc::into_inner) {
            watch.stop().await;
        }
        if let Err(err) = ticked {
            // One failed tick must not end the daemon; the failure is in the journal.
            eprintln!("daemon: tick failed: {err:#}");
        }
    }
    println!("daemon: stopped cleanly");
    Ok(())
}

async fn daemon_tick(
    ctx: &Context,
    project: &Project,
    control: Control<'_>,
    waits: Option<Arc<WaitWatch>>,
    app: Option<&App<'_>>,
) -> Result<()> {
    let _lock = ctx.lock_state("daemon")?;
    let mut conn = ctx.connect_initialised(project, None).await?;
    let app = app.map(|a| a as &dyn LiveApp);
    let live = waits.map(|w| (w, app));
    let progress = tick_once(ctx, project, &mut conn, TickArgs::default(), control, live).await?;
    if progress.stopped {
        println!("daemon: stop requested; stopping between changes");
    }
    report_progress(ctx, &progress)
}

/// The app `daemon --workload` keeps running: pgbench with the mix of the features live now.
struct App<'c> {
    ctx: &'c Context,
    project: &'c Project,
    clients: u32,
    pgbench: PathBuf,
    live: tokio::sync::Mutex<Option<Live>>,
}

impl<'c> App<'c> {
    /// Refuses a database without data and a machine without pgbench, before the first tick.
    async fn prepare(ctx: &'c Context, project: &'c Project, clients: u32) -> Result<App<'c>> {
        let target = ctx.target()?;
        let mut conn = ctx.connect_initialised(project, None).await?;
        if growth::data_scale(&mut conn).await?.is_none() {
            return Err(bad_input(
                "daemon --workload needs a database with data; this one was initialised with --no-data",
            )
            .with_hint("drop --workload, or start a fresh database without --no-data (`engineer-sim seed` before the first change)")
            .into());
        }
        let pgbench = workload::find_pgbench(target.embedded.as_ref().map(|c| c.bin_dir()))?;
        Ok(App {
            ctx,
            project,
            clients,
            pgbench,
            live: tokio::sync::Mutex::new(None),
        })
    }

    /// Starts the mix of the features live now, or restarts it when the applied changes brought
    /// queries (or pgbench ended). Only the queries new to the mix are checked first.
    async fn keep_running(&self) -> Result<()> {
        let mut conn = self.ctx.connect_existing().await?;
        let app = app_scripts(self.ctx, self.project, &mut conn, LIVE_DIR).await?;
        let mix: Vec<String> = app.scripts.iter().map(|s| s.name.clone()).collect();
        let mut live = self.live.lock().await;
        let mut running: Vec<String> = Vec::new();
        if let Some(l) = live.as_mut() {
            if l.running() {
                running = l.mix.clone();
            }
        }
        if running == mix {
            return Ok(());
        }
        let url = self.ctx.target()?.url;
        let new: Vec<workload::Script> = app
            .scripts
            .iter()
            .filter(|s| !running.contains(&s.name))
            .cloned()
            .collect();
        if !new.is_empty() || mix.is_empty() {
            workload::check_scripts(&self.pgbench, &url, &new, None).await?;
        }
        if let Some(old) = live.take() {
            old.stop().await;
            workload::wait_for_clients(&mut conn).await?;
        }
        let log = self.ctx.state.root().join(LIVE_DIR).join("pgbench.log");
        *live = Some(Live::start(&self.pgbench, &url, &app.scripts, self.clients, &log).await?);
        println!(
            "daemon: app workload: {} clients running {} queries of sim day {}",
            self.clients,
            mix.len(),
            app.day
        );
        Ok(())
    }

    async fn stop(self) {
        if let Some(live) = self.live.into_inner() {
            live.stop().await;
        }
    }
}

impl LiveApp for App<'_> {
    fn changed(&self) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<()>> + '_>> {
        Box::pin(self.keep_running())
    }
}

/// Where the daemon's workload scripts and pgbench's log go, under the state directory.
const LIVE_DIR: &str = "workload-live";

fn listen_for_stop(stop: Arc<AtomicBool>, wake: Arc<tokio::sync::Notify>) -> Result<()> {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::spawn(async move {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate.recv() => {}
        }
        stop.store(true, Ordering::SeqCst);
        // notify_one keeps a permit when nobody waits yet, so a stop during a tick still ends
        // the next wait at once.
        wake.notify_one();
    });
    Ok(())
}

/// `settings`: shows the persisted settings, changing those given.
pub fn settings(
    ctx: &Context,
    pace: Option<Pace>,
    max_per_tick: Option<usize>,
    no_cap: bool,
) -> Result<()> {
    let mut settings = Settings::load(&ctx.state)?;
    if let Some(pace) = pace {
        settings.pace = pace;
    }
    if let Some(max) = max_per_tick {
        settings.max_per_tick = Some(max);
    }
    if no_cap {
        settings.max_per_tick = None;
    }
    if pace.is_some() || max_per_tick.is_some() || no_cap {
        settings.save(&ctx.state)?;
    }
    print!("{}", serde_json::to_string_pretty(&settings)?);
    println!();
    Ok(())
}
