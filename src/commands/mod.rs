//! What each subcommand does, on top of the pipeline modules: resolve the inputs (the context
//! and the run's identity), call the pipeline, print through `report`, and map the result to an
//! exit code (README "Commands").

mod apply;
mod check;
mod context;
pub mod data;
mod identity;
mod inspect;
pub mod manual;
pub mod new_roadmap;
mod offline;
pub mod replay;
mod report;
mod setup;
pub mod time;

use anyhow::Result;

use crate::cli::{Cli, Command};
use crate::render::Decide;

pub use context::Context;

pub async fn run(cli: Cli) -> Result<()> {
    let ctx = Context::new(&cli.command.resolve(&cli.global));
    // Bad input never touches a database: whatever writes to one runs the whole check first,
    // unless these exact inputs passed it before (check/cache.rs).
    if cli.command.validates_inputs() {
        crate::check::require_clean_cached(&ctx.data, &ctx.state)?;
    }
    // Whatever writes takes the state lock, for the whole command (README "Operating it").
    let _lock = match cli.command.name_if_mutating() {
        Some(name) => Some(ctx.lock_state(name)?),
        None => None,
    };
    match cli.command {
        Command::Db { action } => setup::db(&ctx, action),
        Command::Init(args) => setup::init(&ctx, args).await,
        Command::Run {
            until_week,
            seed,
            on_error,
            ..
        } => apply::run_until(&ctx, until_week, seed, on_error).await,
        Command::Tick {
            now,
            max_per_tick,
            pace,
            seed,
            ..
        } => {
            let args = time::TickArgs {
                now,
                max_per_tick,
                pace,
                seed,
            };
            time::tick(&ctx, args).await
        }
        Command::Schedule { cron, count, now } => time::schedule(&ctx, &cron, count, now).await,
        Command::Daemon {
            cron,
            run_now,
            pause_ms,
            workload,
            ..
        } => {
            let pause = pause_ms.map(std::time::Duration::from_millis);
            time::daemon(&ctx, &cron, run_now, pause, workload).await
        }
        Command::Settings {
            pace,
            max_per_tick,
            no_cap,
        } => time::settings(&ctx, pace, max_per_tick, no_cap),
        Command::Replay {
            week,
            into: Some(db),
            allow_changed,
            ..
        } => replay::into_database(&ctx, week, &db, allow_changed).await,
        Command::Replay {
            week,
            into: None,
            seed,
            ..
        } => replay::print_week(&ctx, week, seed),
        Command::Diff { from, to, .. } => replay::diff(&ctx, &from, &to).await,
        Command::Journal {
            week: Some(week), ..
        } => replay::week_report(&ctx, week).await,
        Command::Journal { week: None, .. } => replay::rewrite_journal(&ctx).await,
        Command::Plan { week, seed, .. } => offline::plan(&ctx, week, seed),
        Command::Check { no_db, .. } => check::check(&ctx, no_db).await,
        Command::Render {
            change_id,
            seed,
            clean,
            slip,
            all_slips,
            explain,
            ..
        } => {
            let decide = match (clean, slip, all_slips) {
                (true, _, _) => Decide::Clean,
                (_, Some(i), _) => Decide::Only(i),
                (_, _, true) => Decide::All,
                _ => Decide::Persona,
            };
            offline::render(&ctx, &change_id, seed, decide, explain)
        }
        Command::Findings {
            format,
            all,
            origin,
            by_week,
            ..
        } => inspect::findings(&ctx, format, all, origin, by_week).await,
        Command::Score(args) => inspect::score(&ctx, &args).await,
        Command::Audit { format, .. } => inspect::audit(&ctx, format).await,
        Command::Verify { .. } => inspect::verify(&ctx).await,
        Command::Status { .. } => inspect::status(&ctx).await,
        Command::Seed { .. } => data::seed(&ctx).await,
        Command::Workload {
            duration,
            clients,
            rate,
            ..
        } => data::workload(&ctx, duration, clients, rate).await,
        Command::NewRoadmap {
            name,
            from_database,
            from_sql,
            dir,
        } => {
            let source = match (&from_database, &from_sql) {
                (Some(url), _) => new_roadmap::Source::Database(url),
                (None, Some(file)) => new_roadmap::Source::SqlFile(file),
                (None, None) => unreachable!("clap requires --from-database or --from-sql"),
            };
            new_roadmap::new_roadmap(&ctx, &name, source, dir.as_deref())
        }
        Command::Completions { shell } => manual::completions(shell),
        Command::Man { out_dir } => manual::man(out_dir.as_deref()),
    }
}
