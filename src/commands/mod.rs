//! What each subcommand does, on top of the pipeline modules.

pub mod data;
pub mod replay;
pub mod time;

use std::path::{Path, PathBuf};

use anyhow::Result;
use chrono::NaiveDate;
use sqlx::PgConnection;

use crate::cli::{Cli, Command, DbAction, Format, Global, InitArgs};
use crate::error::{bad_input, Exit, UserError};
use crate::journal;
use crate::ledger;
use crate::pg::embedded::{ClusterStatus, EmbeddedCluster};
use crate::pg::Target;
use crate::render::Decide;
use crate::roadmap::DataDirs;
use crate::settings::Settings;
use crate::sim::{self, Options, Project};
use crate::state::StateDir;
use crate::{audit, calendar};

/// The seed used when none is given.
pub const DEFAULT_SEED: u64 = 42;

pub async fn run(cli: Cli) -> Result<()> {
    let ctx = Context::new(&cli.global)?;
    // Bad input never touches a database: whatever writes to one runs the whole check first.
    if cli.command.validates_inputs() {
        crate::check::require_clean(&ctx.data)?;
    }
    // Whatever writes takes the state lock, for the whole command (README "Operating it").
    let _lock = match cli.command.name_if_mutating() {
        Some(name) => Some(ctx.lock_state(name)?),
        None => None,
    };
    match cli.command {
        Command::Db { action } => db(&ctx, action),
        Command::Init(args) => init(&ctx, args).await,
        Command::Run {
            until_week,
            seed,
            on_error,
        } => {
            let opts = Options {
                on_error,
                ..ctx.options(&ctx.load_project()?)?
            };
            run_until(&ctx, until_week, seed, &opts).await
        }
        Command::Tick {
            now,
            max_per_tick,
            pace,
            seed,
        } => {
            time::tick(
                &ctx,
                time::TickArgs {
                    now,
                    max_per_tick,
                    pace,
                    seed,
                },
            )
            .await
        }
        Command::Schedule { cron, count, now } => time::schedule(&ctx, &cron, count, now).await,
        Command::Daemon {
            cron,
            run_now,
            pause_ms,
        } => {
            time::daemon(
                &ctx,
                &cron,
                run_now,
                pause_ms.map(std::time::Duration::from_millis),
            )
            .await
        }
        Command::Settings {
            pace,
            max_per_tick,
            no_cap,
        } => time::settings(&ctx, pace, max_per_tick, no_cap),
        Command::Replay {
            week,
            into: Some(db),
            ..
        } => replay::into_database(&ctx, week, &db).await,
        Command::Replay {
            week,
            into: None,
            seed,
        } => replay::print_week(&ctx, week, seed, ctx.global.assign),
        Command::Diff { from, to } => replay::diff(&ctx, &from, &to).await,
        Command::Journal { week: Some(week) } => replay::week_report(&ctx, week).await,
        Command::Plan { week, seed } => plan(&ctx, week, seed),
        Command::Check => check(&ctx),
        Command::Render {
            change_id,
            seed,
            clean,
            slip,
            all_slips,
            explain,
        } => {
            let decide = match (clean, slip, all_slips) {
                (true, _, _) => Decide::Clean,
                (_, Some(i), _) => Decide::Only(i),
                (_, _, true) => Decide::All,
                _ => Decide::Persona,
            };
            render(&ctx, &change_id, seed, decide, explain)
        }
        Command::Findings {
            format,
            all,
            origin,
            by_week,
        } => findings(&ctx, format, all, origin, by_week).await,
        Command::Score(args) => score(&ctx, &args).await,
        Command::Audit { format } => audit_cmd(&ctx, format).await,
        Command::Verify => verify(&ctx).await,
        Command::Seed => data::seed(&ctx).await,
        Command::Workload {
            duration,
            clients,
            rate,
        } => data::workload(&ctx, duration, clients, rate).await,
        Command::Status => status(&ctx).await,
        Command::Journal { week: None } => {
            let project = ctx.load_project()?;
            ctx.ensure_state_is_for(&ctx.target()?)?;
            let mut conn = ctx.connect_existing().await?;
            journal::sync_files(&mut conn, &ctx.state, ctx.global.codes, &project.team).await?;
            println!(
                "journal files rewritten from the ledger in {}",
                ctx.state.root().display()
            );
            Ok(())
        }
    }
}

/// Resolved global settings.
pub struct Context {
    pub(crate) global: Global,
    pub(crate) data: DataDirs,
    pub(crate) state: StateDir,
}

impl Context {
    fn new(global: &Global) -> Result<Context> {
        let root = data_root(global.data_dir.as_deref());
        let state = StateDir::new(
            global
                .state_dir
                .clone()
                .unwrap_or_else(|| root.join("state")),
        );
        Ok(Context {
            global: global.clone(),
            data: DataDirs::under(&root),
            state,
        })
    }

    pub(crate) fn load_project(&self) -> Result<Project> {
        Project::load(&self.data)
    }

    /// Run options from the flags, the environment and the state directory's settings.
    fn options(&self, project: &Project) -> Result<Options> {
        let settings = Settings::load(&self.state)?;
        Ok(Options {
            rate_scale: rate_scale(self.global.error_rate, project)?,
            codes: self.global.codes,
            assign: self.global.assign.unwrap_or(settings.assign),
            // Commands that touch no database show what a database with data would get.
            data: !self.global.no_data,
            ..Options::default()
        })
    }

    /// Serialises commands that share this state directory (two cron ticks at once): the
    /// database's advisory lock protects the ledger, this protects the settings file and the
    /// journal files. Bounded by `--lock-wait`.
    pub(crate) fn lock_state(&self, command: &str) -> Result<crate::lock::StateLock> {
        let wait = self
            .global
            .lock_wait
            .map_or(crate::lock::DEFAULT_WAIT, std::time::Duration::from_secs);
        crate::lock::StateLock::acquire(&self.state, wait, command)
    }

    pub(crate) fn target(&self) -> Result<Target> {
        Target::resolve(self.global.database_url.as_deref(), &self.state)
    }

    /// A connection to a database that must already be a simulation target.
    pub(crate) async fn connect_existing(&self) -> Result<PgConnection> {
        let target = self.target()?;
        let mut conn = target.connect().await?;
        ledger::marker(&mut conn).await?;
        Ok(conn)
    }

    /// A connection to the target; a fresh embedded database is initialised on the way.
    pub(crate) async fn connect_initialised(
        &self,
        project: &Project,
        seed: Option<u64>,
    ) -> Result<PgConnection> {
        let target = self.target()?;
        let created = target.create_embedded_database_if_missing().await?;
        let mut conn = target.connect().await?;
        let has_ledger = ledger::has_ledger(&mut conn).await?;
        if has_ledger && !ledger::is_applied(&mut conn, sim::BASE_ID).await? {
            // A ledger without its base, left by an older engineer-sim killed during setup.
            let marker = ledger::marker(&mut conn).await?;
            let opts = self.options(project)?;
            sim::init(
                &mut conn,
                project,
                marker.seed,
                marker.start_date,
                false,
                &opts,
            )
            .await?;
            println!("applied the base schema a killed setup left out");
        }
        if created || (target.embedded.is_some() && !has_ledger) {
            let seed = seed.unwrap_or(DEFAULT_SEED);
            let start = calendar::next_working_day(today());
            let opts = self.options(project)?;
            sim::init(&mut conn, project, seed, start, false, &opts).await?;
            journal::sync_files(&mut conn, &self.state, opts.codes, &project.team).await?;
            println!(
                "initialised {} (seed {seed}, week 1 Monday = {start})",
                target.redacted_url()
            );
            if let Some(scale) = self.init_scale()? {
                data::seed_now(self, &mut conn, project, &target, scale).await?;
            }
        }
        let marker = ledger::marker(&mut conn).await?;
        ledger::ensure_seed(&marker, seed)?;
        self.ensure_state_is_for(&target)?;
        if Settings::load(&self.state)?.database.is_none() {
            // The settings are written last in setup: without them, setup was killed after the
            // init's commit. Finish it (README "Operating it").
            self.finish_setup(&mut conn, project, &target).await?;
            self.remember(&marker, &target)?;
        }
        Ok(conn)
    }

    /// Finishes a seed a killed setup began (or, on the embedded database, never began), on a
    /// database where only the base is applied.
    async fn finish_setup(
        &self,
        conn: &mut PgConnection,
        project: &Project,
        target: &Target,
    ) -> Result<()> {
        let Some(scale) = self.init_scale()? else {
            return Ok(());
        };
        if ledger::applied_change_ids(conn).await? != [sim::BASE_ID] {
            return Ok(());
        }
        let started = crate::data::growth::data_scale(conn).await?.is_some();
        let seeded: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM engineer_sim.events WHERE event->>'event' = 'data_seeded')",
        )
        .fetch_one(&mut *conn)
        .await?;
        if !seeded && (started || target.embedded.is_some()) {
            println!("finishing the setup a killed run began");
            data::seed_now(self, conn, project, target, scale).await?;
        }
        Ok(())
    }

    /// Refuses to write one database's journal over another's in the same state directory.
    fn ensure_state_is_for(&self, target: &Target) -> Result<()> {
        let settings = Settings::load(&self.state)?;
        match settings.database {
            Some(journaled) if !crate::pg::same_database(&journaled, &target.redacted_url()) => {
                Err(crate::error::environment(format!(
                    "the state directory {} holds the journal of {journaled}, not of {}",
                    self.state.root().display(),
                    target.redacted_url()
                ))
                .with_hint(
                    "pass --state-dir (or ENGINEER_SIM_STATE) with a directory for this database",
                )
                .into())
            }
            _ => Ok(()),
        }
    }

    /// Keeps the run's identity in the state directory, for commands that touch no database.
    fn remember(&self, marker: &ledger::Marker, target: &Target) -> Result<()> {
        let mut settings = Settings::load(&self.state)?;
        settings.database = Some(target.redacted_url());
        settings.seed = Some(marker.seed);
        settings.start_date = Some(marker.start_date);
        settings.assign = marker.assign;
        settings.step_day = 0;
        settings.save(&self.state)
    }
}

/// `--data-dir`, else the current directory when it holds a roadmap, else the source tree.
fn data_root(given: Option<&Path>) -> PathBuf {
    if let Some(dir) = given {
        return dir.to_path_buf();
    }
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    if cwd.join("roadmap").join("taskpilot.yaml").is_file() {
        return cwd;
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn today() -> NaiveDate {
    chrono::Local::now().date_naive()
}

/// `--error-rate R` scales the personas so that their mean rate is R.
fn rate_scale(error_rate: Option<f64>, project: &Project) -> Result<f64> {
    let Some(rate) = error_rate else {
        return Ok(1.0);
    };
    if !(0.0..=1.0).contains(&rate) {
        return Err(bad_input(format!(
            "--error-rate / ENGINEER_ERROR_RATE must be between 0 and 1, got {rate}"
        ))
        .into());
    }
    let rates: Vec<f64> = project
        .team
        .personas
        .values()
        .map(|p| p.error_rate)
        .collect();
    let mean = rates.iter().sum::<f64>() / rates.len().max(1) as f64;
    Ok(if mean > 0.0 { rate / mean } else { 1.0 })
}

fn db(ctx: &Context, action: DbAction) -> Result<()> {
    let cluster = EmbeddedCluster::new(&ctx.state.pg_dir())?;
    match action {
        DbAction::Start => {
            cluster.ensure_started()?;
            println!(
                "embedded cluster running; data in {}",
                cluster.data_dir().display()
            );
        }
        DbAction::Stop => {
            cluster.stop()?;
            println!("embedded cluster stopped");
        }
        DbAction::Status => match cluster.status()? {
            ClusterStatus::NotInitialized => {
                println!("not created yet (engineer-sim db start creates it)")
            }
            ClusterStatus::Stopped => println!("stopped; data in {}", cluster.data_dir().display()),
            ClusterStatus::Running { pid } => {
                println!(
                    "running (pid {pid}); socket in {}",
                    cluster.socket_dir().display()
                )
            }
        },
        DbAction::Url => println!("{}", cluster.url(crate::pg::EMBEDDED_DATABASE)),
    }
    Ok(())
}

async fn init(ctx: &Context, args: InitArgs) -> Result<()> {
    let project = ctx.load_project()?;
    let opts = ctx.options(&project)?;
    let target = ctx.target()?;
    ctx.ensure_state_is_for(&target)?;
    target.create_embedded_database_if_missing().await?;
    let mut conn = target.connect().await?;
    let start = calendar::next_working_day(args.start_date.unwrap_or_else(today));
    calendar::ensure_usable_start(start)?;
    match sim::init(&mut conn, &project, args.seed, start, args.force, &opts).await? {
        sim::InitResult::Created(marker, outcome) => {
            journal::sync_files(&mut conn, &ctx.state, opts.codes, &project.team).await?;
            println!(
                "initialised {}: base schema applied, seed {}, week 1 Monday = {}, {} base findings",
                target.redacted_url(),
                marker.seed,
                marker.start_date,
                outcome.opened.len()
            );
            if let Some(scale) = ctx.init_scale()? {
                data::seed_now(ctx, &mut conn, &project, &target, scale).await?;
            }
            // Last: settings without a database mean a setup to finish (see connect_initialised).
            ctx.remember(&marker, &target)?;
        }
        sim::InitResult::AlreadyInitialised(marker) => {
            println!(
                "{} is already initialised (seed {})",
                target.redacted_url(),
                marker.seed
            );
        }
    }
    Ok(())
}

async fn run_until(ctx: &Context, week: u32, seed: Option<u64>, opts: &Options) -> Result<()> {
    let project = ctx.load_project()?;
    let mut conn = ctx.connect_initialised(&project, seed).await?;
    let due = sim::due_until_week(&project.roadmap, week);
    let data = ctx.data_run(&mut conn, &project).await?;
    let progress = sim::apply_due(
        &mut conn,
        &project,
        &ctx.state,
        &due,
        sim::Control {
            grow_to: Some(week * 5),
            ..sim::Control::default()
        },
        opts,
        data.as_ref(),
    )
    .await?;
    report_progress(ctx, &project, &mut conn, &progress).await
}

pub(crate) async fn report_progress(
    ctx: &Context,
    project: &Project,
    conn: &mut PgConnection,
    progress: &sim::Progress,
) -> Result<()> {
    for (id, err) in &progress.failed {
        println!("FAILED {id}: {err}");
    }
    if progress.applied.is_empty() && progress.failed.is_empty() {
        println!("nothing new to apply");
    }
    journal::sync_files(conn, &ctx.state, ctx.global.codes, &project.team).await?;
    let open = ledger::findings(conn, false).await?;
    println!(
        "{} findings open; journal in {}",
        open.len(),
        ctx.state.root().display()
    );
    if !progress.failed.is_empty() {
        return Err(UserError::new(
            Exit::ApplyFailed,
            format!("{} changes failed", progress.failed.len()),
        )
        .into());
    }
    Ok(())
}

fn plan(ctx: &Context, week: Option<u32>, seed: u64) -> Result<()> {
    let project = ctx.load_project()?;
    if let Some(week) = week.filter(|w| !project.roadmap.changes.iter().any(|c| c.week == *w)) {
        return Err(bad_input(format!(
            "plan --week {week}: the roadmap has no week {week}"
        ))
        .with_hint(format!(
            "weeks run from 1 to {}",
            project.roadmap.last_week()
        ))
        .into());
    }
    let opts = ctx.options(&project)?;
    for change in project
        .roadmap
        .ordered()
        .into_iter()
        .filter(|c| week.is_none_or(|w| c.week == w))
    {
        let rendered = project.render(change, seed, &opts, Decide::Persona)?;
        println!(
            "{}  week {} {}  {}  {}",
            change.id,
            change.week,
            change.day.short(),
            change.author,
            change.title
        );
        for d in &change.scripted {
            println!("    scripted  {} {}", d.kind, d.object);
        }
        for point in &rendered.points {
            let slipped = rendered
                .slips
                .iter()
                .any(|s| s.kind == point.kind && s.object == point.object);
            println!(
                "    {}  {} {}",
                if slipped { "SLIPS   " } else { "slip pt " },
                point.kind,
                point.object
            );
        }
    }
    Ok(())
}

fn render(ctx: &Context, change_id: &str, seed: u64, decide: Decide, explain: bool) -> Result<()> {
    let project = ctx.load_project()?;
    let opts = ctx.options(&project)?;
    let change = project.roadmap.require_change(change_id)?;
    let rendered = project.render(change, seed, &opts, decide)?;
    if let Decide::Only(i) = decide {
        if i >= rendered.points.len() {
            return Err(bad_input(format!(
                "--slip {i}: change {change_id} has {} slip points (0..{})",
                rendered.points.len(),
                rendered.points.len().saturating_sub(1)
            ))
            .into());
        }
    }
    print!("{}", rendered.applied_sql);
    if explain {
        for slip in &rendered.slips {
            eprintln!(
                "slip: {} on {} (\"{}\")",
                slip.kind, slip.object, slip.excuse
            );
        }
        eprint!("{}", rendered.diff());
    }
    Ok(())
}

async fn findings(
    ctx: &Context,
    format: Format,
    all: bool,
    origin: Option<String>,
    by_week: bool,
) -> Result<()> {
    let mut conn = ctx.connect_existing().await?;
    let marker = ledger::marker(&mut conn).await?;
    let changes = ledger::changes(&mut conn).await?;
    let rows: Vec<_> = ledger::findings(&mut conn, all)
        .await?
        .into_iter()
        .filter(|f| origin.as_deref().is_none_or(|o| f.origin == o))
        .collect();
    let mut doc = journal::expected_findings(&marker, changes.last(), &rows, ctx.global.codes);
    journal::label_judgements(&mut doc, &changes);
    if crate::data::growth::data_scale(&mut conn).await?.is_some() {
        let tables = crate::data::stats::object_tables(
            &mut conn,
            doc.findings.iter().map(|f| f.object.as_str()),
        )
        .await?;
        for f in &mut doc.findings {
            if let Some((_, bytes, rows)) = tables.get(&f.object) {
                f.table_mb = Some((*bytes as f64 / 1e5).round() / 10.0);
                f.table_rows = Some(*rows);
            }
        }
    }
    if by_week {
        doc.findings.sort_by_key(|f| f.opened_week);
    }
    match format {
        Format::Json => print!("{}", journal::to_json(&doc)),
        Format::Markdown => print!("{}", journal::to_markdown(&doc)),
        Format::Table => print!("{}", journal::to_table(&doc)),
    }
    Ok(())
}

async fn audit_cmd(ctx: &Context, format: Format) -> Result<()> {
    let words = ctx.data.load_roadmap()?.words;
    let mut conn = ctx.target()?.connect().await?;
    let found = audit::audit(&mut conn, &words).await?;
    match format {
        Format::Json => {
            let list: Vec<_> = found
                .iter()
                .map(|key| serde_json::json!({"kind": key.kind, "code": crate::mistakes::code_for(&key.kind, ctx.global.codes), "object": key.object}))
                .collect();
            println!("{}", serde_json::to_string_pretty(&list)?);
        }
        Format::Markdown => {
            println!("| code | kind | object |\n|---|---|---|");
            for audit::Key { kind, object } in &found {
                println!(
                    "| {} | {kind} | `{object}` |",
                    crate::mistakes::code_for(kind, ctx.global.codes).unwrap_or("-")
                );
            }
        }
        Format::Table => {
            let rows: Vec<[String; 3]> = found
                .iter()
                .map(|key| {
                    [
                        crate::mistakes::code_for(&key.kind, ctx.global.codes)
                            .unwrap_or("-")
                            .to_string(),
                        key.kind.clone(),
                        key.object.clone(),
                    ]
                })
                .collect();
            print!(
                "{}",
                journal::render_table(&["CODE", "KIND", "OBJECT"].map(String::from), &rows)
            );
            println!("{} findings", found.len());
        }
    }
    Ok(())
}

async fn verify(ctx: &Context) -> Result<()> {
    let words = ctx.data.load_roadmap()?.words;
    let mut conn = ctx.connect_existing().await?;
    let found = audit::audit(&mut conn, &words).await?;
    let journaled: std::collections::BTreeSet<audit::Key> = ledger::findings(&mut conn, false)
        .await?
        .into_iter()
        .filter(|f| audit::audit_sees(&f.kind))
        .map(|f| audit::Key::new(f.kind, f.object))
        .collect();
    let agree = found.intersection(&journaled).count();
    let missing: Vec<_> = found.difference(&journaled).collect();
    let stale: Vec<_> = journaled.difference(&found).collect();
    println!("{agree} findings agree between the ledger and the audit");
    let contradicted = verify_statistics(&mut conn).await?;
    // The whole schema against the ledger's record after the last change (README "Operating it").
    let drifted = match crate::drift::Schema::last_recorded(&mut conn).await? {
        Some((last, recorded)) => {
            let differences = crate::drift::Schema::read(&mut conn)
                .await?
                .differences(&recorded);
            for d in &differences {
                println!("  changed outside engineer-sim since {last}: {d}");
            }
            differences.len()
        }
        None => 0,
    };
    for key in &missing {
        println!(
            "  in the database, not in the ledger: {} {}",
            key.kind, key.object
        );
    }
    for key in &stale {
        println!(
            "  in the ledger, not in the database: {} {}",
            key.kind, key.object
        );
    }
    if missing.is_empty() && stale.is_empty() && contradicted == 0 && drifted == 0 {
        println!("verify: OK");
        Ok(())
    } else {
        Err(UserError::new(
            Exit::Mismatch,
            format!(
                "verify: {} differences",
                missing.len() + stale.len() + contradicted + drifted
            ),
        )
        .into())
    }
}

/// On a database with data, judges the statistics kinds; returns how many the statistics
/// contradict.
async fn verify_statistics(conn: &mut PgConnection) -> Result<usize> {
    use crate::data::judge::{self, Verdict};
    if crate::data::growth::data_scale(conn).await?.is_none() {
        return Ok(0);
    }
    let open = ledger::findings(conn, false).await?;
    let workload = crate::data::stats::last_workload(conn).await?;
    let now = crate::data::stats::Stats::read(conn).await?;
    let verdicts = judge::judge_all(&open, workload.as_ref().map(|(_, s)| s), &now);
    let (mut proven, mut pending, mut contradicted) = (0, 0, 0);
    for ((kind, object), verdict) in &verdicts {
        match verdict {
            Verdict::Proven(_) => proven += 1,
            Verdict::Pending(why) => {
                pending += 1;
                println!("  pending: {kind} {object}: {why}");
            }
            Verdict::Contradicted(why) => {
                contradicted += 1;
                println!("  contradicted by the statistics: {kind} {object}: {why}");
            }
        }
    }
    println!(
        "{proven} findings proven by the statistics{}, {pending} pending, {contradicted} contradicted",
        workload
            .map(|(id, _)| format!(" (workload {id})"))
            .unwrap_or_default()
    );
    Ok(contradicted)
}

async fn status(ctx: &Context) -> Result<()> {
    let project = ctx.load_project()?;
    let target = ctx.target()?;
    let mut conn = target.connect().await?;
    let marker = ledger::marker(&mut conn).await?;
    let applied = ledger::applied_change_ids(&mut conn).await?;
    let open = ledger::findings(&mut conn, false).await?;
    let settings = Settings::load(&ctx.state)?;
    let clock = match settings.pace {
        crate::settings::Pace::Calendar => {
            format!(
                "sim day {} today (calendar pace)",
                calendar::sim_day_on(marker.start_date, today())
            )
        }
        crate::settings::Pace::Step => format!(
            "sim day {} reached by the last tick (step pace)",
            settings.step_day
        ),
    };
    println!("target:      {}", target.redacted_url());
    println!(
        "roadmap:     {} ({} changes)",
        marker.roadmap,
        project.roadmap.changes.len()
    );
    println!("seed:        {}", marker.seed);
    println!("start date:  {} (week 1 Monday)", marker.start_date);
    println!("clock:       {clock}");
    println!("assignment:  {}", marker.assign.as_str());
    println!(
        "applied:     {} changes (besides the base)",
        applied.iter().filter(|id| *id != sim::BASE_ID).count()
    );
    if let Some(next) = project
        .roadmap
        .ordered()
        .into_iter()
        .find(|c| !applied.contains(&c.id))
    {
        println!(
            "next:        {} (week {} {}, {})",
            next.id,
            next.week,
            next.day.short(),
            next.author
        );
    } else {
        println!("next:        nothing: the roadmap is done");
    }
    println!("findings:    {} open", open.len());
    println!("state dir:   {}", ctx.state.root().display());
    Ok(())
}

async fn score(ctx: &Context, args: &crate::cli::ScoreArgs) -> Result<()> {
    use crate::cli::{Against, ReportFormat, ScoreFormat};
    let (report, report_format, against, min_table_mb) = (
        args.report.as_path(),
        args.report_format,
        args.against,
        args.min_table_mb,
    );
    use crate::score;
    let project = ctx.load_project()?;
    let mut conn = ctx.connect_existing().await?;
    let changes = ledger::changes(&mut conn).await?;
    let findings = ledger::findings(&mut conn, true).await?;
    let against = against.unwrap_or(match report_format {
        ReportFormat::FindingsJson => Against::Open,
        _ => Against::All,
    });
    let mut truth = score::truth(&findings, against == Against::All);
    let files = score::change_by_file(&changes, &project.team);
    let parsed = match report_format {
        ReportFormat::SquawkJson => score::squawk::read(report, &files)?,
        ReportFormat::EugeneJson => score::eugene::read(report, &files)?,
        ReportFormat::Sarif => score::sarif::read(report, &files)?,
        ReportFormat::Lines => score::generic::read(report, &files)?,
        ReportFormat::FindingsJson => {
            let mut resolver = score::objects::Resolver::from_truth(&truth);
            resolver.add_catalog(&mut conn).await?;
            score::findings_json::read(report, ctx.global.codes, &truth, &resolver)?
        }
    };
    let mut parsed = parsed;
    if let Some(min_mb) = min_table_mb {
        // Only findings on tables of at least that size, on both sides: a fair comparison with a
        // tool that skips small tables.
        let tables = crate::data::stats::object_tables(
            &mut conn,
            truth
                .iter()
                .chain(&parsed.found)
                .map(|key| key.object.as_str()),
        )
        .await?;
        let big = |object: &str| {
            tables
                .get(object)
                .is_some_and(|(_, bytes, _)| *bytes as f64 >= min_mb * 1e6)
        };
        let before = truth.len();
        truth.retain(|key| big(&key.object));
        parsed.found.retain(|key| big(&key.object));
        println!(
            "--min-table-mb {min_mb}: scoring {} of {before} findings (those on tables of at least {min_mb} MB)",
            truth.len()
        );
    }
    let judged = score::judgements(&truth, &changes);
    let result = score::score(&truth, &parsed, ctx.global.codes, &judged, args.strict);
    let failures = score::render::below(&result, &args.fail_under)?;
    match args.format {
        ScoreFormat::Json => println!("{}", serde_json::to_string_pretty(&result)?),
        ScoreFormat::Table => print!("{}", score::render::table(&result)),
        ScoreFormat::Markdown => print!("{}", score::render::markdown(&result, &failures)),
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(UserError::new(
            Exit::Mismatch,
            format!("score below --fail-under:\n  {}", failures.join("\n  ")),
        )
        .into())
    }
}

fn check(ctx: &Context) -> Result<()> {
    let problems = crate::check::check(&ctx.data);
    for p in &problems {
        eprintln!("{p}");
    }
    if problems.is_empty() {
        println!(
            "check: OK ({}, {}, {})",
            ctx.data.roadmap.display(),
            ctx.data.personas.display(),
            ctx.data.templates.display()
        );
        Ok(())
    } else {
        Err(UserError::new(
            Exit::BadInput,
            format!("check: {} problems", problems.len()),
        )
        .into())
    }
}
