//! The simulation: loads the data (roadmap, personas, templates) and drives the pipeline for
//! `init`, `run` and `tick`.

use anyhow::Result;
use chrono::NaiveDate;
use sqlx::PgConnection;

use crate::apply::{self, Outcome, Unit};
use crate::calendar;
use crate::data::growth::{self, DataPlan};
use crate::data::run::{Runner, Written};
use crate::error::bad_input;
use crate::ledger::{self, Marker};
use crate::mistakes::CodeSet;
use crate::persona::{Persona, Team};
use crate::render::{Decide, Rendered, Renderer};
use crate::roadmap::{Change, DataDirs, Roadmap};
use crate::state::StateDir;

/// The id under which the base schema is recorded in the ledger.
pub const BASE_ID: &str = "base";

/// The data a simulation runs on.
pub struct Project {
    pub data: DataDirs,
    pub roadmap: Roadmap,
    pub team: Team,
    pub renderer: Renderer,
    /// The data files beside the templates: backfills, daily growth, queries.
    pub data_plan: DataPlan,
}

/// Data work for a run on a database that has data: where to write it and at which scale.
pub struct DataRun<'a> {
    pub runner: Runner,
    pub scale: f64,
    pub plan: &'a DataPlan,
}

/// Knobs that apply to every change of a run.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Scales every persona's error rate (`--error-rate` / `ENGINEER_ERROR_RATE`).
    pub rate_scale: f64,
    pub codes: CodeSet,
    pub on_error: OnError,
    pub assign: Assign,
    /// The database has data: the slip points that need data are offered.
    pub data: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            rate_scale: 1.0,
            codes: CodeSet::Roadmap,
            on_error: OnError::Stop,
            assign: Assign::Roadmap,
            data: false,
        }
    }
}

/// Who does a change (README "Time and replay").
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    clap::ValueEnum,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Assign {
    /// The author the roadmap names.
    #[default]
    Roadmap,
    /// A seeded choice weighted by each persona's focus on the change's area.
    Weighted,
}

impl Assign {
    pub fn as_str(self) -> &'static str {
        match self {
            Assign::Roadmap => "roadmap",
            Assign::Weighted => "weighted",
        }
    }

    pub fn parse(text: &str) -> Assign {
        if text == "weighted" {
            Assign::Weighted
        } else {
            Assign::Roadmap
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum OnError {
    #[default]
    Stop,
    Skip,
}

impl Project {
    pub fn load(data: &DataDirs) -> Result<Project> {
        let roadmap = data.load_roadmap()?;
        let team = Team::load(&data.personas)?;
        let renderer = Renderer::new(&data.templates)?;
        let data_plan = DataPlan::load(&data.templates, &roadmap)?;
        Ok(Project {
            data: data.clone(),
            roadmap,
            team,
            renderer,
            data_plan,
        })
    }

    /// The persona who does `change` under `seed`: the roadmap's author, or with weighted
    /// assignment a choice by each persona's focus on the change's area, seeded by the run seed
    /// and the change id only (like every other decision).
    pub fn assignee(&self, change: &Change, seed: u64, assign: Assign) -> Result<&Persona> {
        if assign == Assign::Roadmap {
            return self.persona_for(change);
        }
        let area = change.focus.as_deref().unwrap_or("core");
        let personas: Vec<&Persona> = self.team.personas.values().collect();
        let weights: Vec<f64> = personas
            .iter()
            .map(|p| p.focus.get(area).copied().unwrap_or(0.0).max(0.0))
            .collect();
        let mut rng = crate::render::change_rng(seed, &format!("{}#assign", change.id));
        Ok(personas[crate::persona::weighted_index(&weights, &mut rng)])
    }

    pub fn persona_for(&self, change: &Change) -> Result<&Persona> {
        self.team.get(&change.author).ok_or_else(|| {
            bad_input(format!(
                "{}: unknown author `{}` for change {}",
                self.roadmap.place_of(&change.id, Some("author:")),
                change.author,
                change.id
            ))
            .with_hint(format!(
                "authors are the persona files in {}: {}",
                self.data.personas.display(),
                self.team
                    .personas
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
            .into()
        })
    }

    pub fn render(
        &self,
        change: &Change,
        seed: u64,
        opts: &Options,
        decide: Decide,
    ) -> Result<Rendered> {
        let persona = self.assignee(change, seed, opts.assign)?;
        if !self.renderer.has_template(&change.template) {
            return Err(bad_input(format!(
                "{}: change {} names template `{}`, which is not under {}",
                self.roadmap.place_of(&change.id, Some("template:")),
                change.id,
                change.template,
                self.data.templates.display()
            ))
            .with_hint("create the template or fix the path (relative to templates/)")
            .into());
        }
        self.renderer
            .render_change(change, persona, seed, opts.rate_scale, decide, opts.data)
    }

    fn base_sql(&self) -> Result<String> {
        let path = self.data.templates.join(&self.roadmap.base);
        std::fs::read_to_string(&path).map_err(|err| {
            bad_input(format!(
                "{}: cannot read the base schema {}: {err}",
                self.roadmap.path.display(),
                path.display()
            ))
            .into()
        })
    }
}

/// Creates the ledger, its marker and the base schema in one transaction: killed or failed
/// half-way, the database is left as it was (README "Operating it"). Refuses the system databases
/// and a database that holds anything unless `force`.
pub async fn init(
    conn: &mut PgConnection,
    project: &Project,
    seed: u64,
    start_date: NaiveDate,
    force: bool,
    opts: &Options,
) -> Result<InitResult> {
    crate::init_guard::refuse_system_database(conn, force).await?;
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    // Two inits at once: the second waits, then finds the first one's ledger.
    ledger::lock_for_apply(&mut tx).await?;
    let mut start_date = start_date;
    if ledger::has_ledger(&mut tx).await? {
        let marker = ledger::marker(&mut tx).await?;
        if ledger::is_applied(&mut tx, BASE_ID).await? {
            return Ok(InitResult::AlreadyInitialised(marker));
        }
        // A ledger without its base (left by an older engineer-sim killed during setup): the
        // base is applied now, as the interrupted init would have, on the recorded start date.
        start_date = marker.start_date;
    } else {
        crate::init_guard::refuse_non_empty(&mut tx, force).await?;
        let marker = Marker {
            roadmap: project.roadmap.name.clone(),
            seed,
            start_date,
            assign: opts.assign,
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
    let source = project
        .data
        .templates
        .join(&project.roadmap.base)
        .display()
        .to_string();
    let unit = Unit {
        id: BASE_ID,
        week: 0,
        day: "-",
        sim_day: 0,
        sim_date: start_date,
        author: "base",
        title: "TaskPilot base schema",
        source: &source,
        rendered: &rendered,
        scripted: &project.roadmap.base_findings,
        declared_origin: "base",
        words: &project.roadmap.words,
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

/// Renders and applies one roadmap change under the run's seed.
pub async fn apply_change(
    conn: &mut PgConnection,
    project: &Project,
    marker: &Marker,
    change: &Change,
    opts: &Options,
    decide: Decide,
) -> Result<Outcome> {
    // The ledger's assignment mode wins: a database keeps the mode it was initialised with.
    let opts = &Options {
        assign: marker.assign,
        ..*opts
    };
    let author = project
        .assignee(change, marker.seed, opts.assign)?
        .name
        .clone();
    let rendered = project.render(change, marker.seed, opts, decide)?;
    let source = project
        .data
        .templates
        .join(&change.template)
        .display()
        .to_string();
    let unit = Unit {
        id: &change.id,
        week: change.week,
        day: change.day.short(),
        sim_day: change.sim_day(),
        sim_date: calendar::date_of(marker.start_date, change.sim_day()),
        author: &author,
        title: &change.title,
        source: &source,
        rendered: &rendered,
        scripted: &change.scripted,
        declared_origin: "scripted",
        words: &project.roadmap.words,
    };
    apply::apply(conn, &unit, opts.codes).await
}

/// What a run or tick did.
#[derive(Debug, Default)]
pub struct Progress {
    pub applied: Vec<(String, Outcome)>,
    pub failed: Vec<(String, String)>,
    /// A stop was requested and honoured between two changes.
    pub stopped: bool,
}

/// How far one run may go: a cap on changes, a stop request checked between changes (never in
/// the middle of one), and a pause between changes.
#[derive(Default, Clone, Copy)]
pub struct Control<'a> {
    pub limit: Option<usize>,
    /// With data: grow the database through this sim day once every due change is applied
    /// (a run to the end of week N grows through its Friday, a tick through today).
    pub grow_to: Option<u32>,
    pub stop: Option<&'a std::sync::atomic::AtomicBool>,
    pub pause: Option<std::time::Duration>,
}

impl Control<'_> {
    fn stop_requested(&self) -> bool {
        self.stop
            .is_some_and(|s| s.load(std::sync::atomic::Ordering::SeqCst))
    }
}

/// Applies, in order, every change in `due` not yet applied, within `control`.
pub async fn apply_due(
    conn: &mut PgConnection,
    project: &Project,
    state: &StateDir,
    due: &[&Change],
    control: Control<'_>,
    opts: &Options,
    data: Option<&DataRun<'_>>,
) -> Result<Progress> {
    let limit = control.limit;
    let marker = ledger::marker(conn).await?;
    // Whether the database has data decides which slip points are offered, not the flags.
    let opts = &Options {
        data: data.is_some(),
        ..*opts
    };
    let applied: std::collections::HashSet<String> = ledger::applied_change_ids(conn)
        .await?
        .into_iter()
        .collect();
    let mut progress = Progress::default();
    if let Some(data) = data {
        resume_backfills(conn, project, data, &marker).await?;
    }
    let pending: Vec<&&Change> = due.iter().filter(|c| !applied.contains(&c.id)).collect();
    if let Some(first) = pending.first() {
        // Only runs that have something to do are journaled: a cron tick every minute stays quiet.
        let event = crate::journal::event(
            "run_started",
            None,
            serde_json::json!({ "seed": marker.seed, "roadmap": marker.roadmap, "first_change": first.id,
                                "pending": pending.len(), "limit": limit, "rate_scale": opts.rate_scale }),
        );
        ledger::record_event(conn, &event).await?;
    }
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
        if let Some(data) = data {
            // The day's growth comes before the day's changes.
            grow(conn, data, &marker, change.sim_day()).await?;
        }
        let result = apply_change(conn, project, &marker, change, opts, Decide::Persona).await;
        if let (Some(data), Ok(outcome)) = (data, &result) {
            if !outcome.already_applied {
                let written = growth::backfill(
                    conn,
                    &data.runner,
                    data.plan,
                    data.scale,
                    &change.id,
                    change.sim_day(),
                    marker.start_date,
                )
                .await?;
                if written.rows > 0 {
                    println!("backfilled {}: {}", change.id, describe(&written));
                    record_data_event(conn, "change_backfilled", Some(&change.id), None, &written)
                        .await?;
                }
            }
        }
        // The journal files follow the ledger after every change, failed or not.
        crate::journal::sync_files(conn, state, opts.codes, &project.team).await?;
        match result {
            Ok(outcome) if outcome.already_applied => continue,
            Ok(outcome) => {
                // Printed as it happens, so a long catch-up shows progress and a stopped daemon
                // has said exactly what it applied.
                println!(
                    "applied {} ({}): {} findings opened, {} closed",
                    change.id,
                    outcome.author,
                    outcome.opened.len(),
                    outcome.closed.len()
                );
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
    if let (Some(data), Some(day), true) = (data, control.grow_to, finished) {
        grow(conn, data, &marker, day).await?;
    }
    Ok(progress)
}

/// Finishes a backfill that a killed or failed run left behind: one a step of which is recorded
/// but not done, or the last applied change's when none of its steps was recorded yet (a run
/// killed between the change's commit and its backfill). Finished steps are skipped.
async fn resume_backfills(
    conn: &mut PgConnection,
    project: &Project,
    data: &DataRun<'_>,
    marker: &Marker,
) -> Result<()> {
    let mut ids = growth::unfinished_backfills(conn).await?;
    if let Some(last) = ledger::applied_change_ids(conn).await?.pop() {
        ids.push(last);
    }
    for change in project.roadmap.ordered() {
        if ids.contains(&change.id) {
            growth::backfill(
                conn,
                &data.runner,
                data.plan,
                data.scale,
                &change.id,
                change.sim_day(),
                marker.start_date,
            )
            .await?;
        }
    }
    Ok(())
}

/// Writes the growth of every sim day not grown yet, through `day`.
async fn grow(
    conn: &mut PgConnection,
    data: &DataRun<'_>,
    marker: &Marker,
    day: u32,
) -> Result<()> {
    let applied: std::collections::BTreeMap<String, u32> = ledger::changes(conn)
        .await?
        .into_iter()
        .map(|c| (c.change_id, c.sim_day.max(0) as u32))
        .collect();
    let mut grown = Vec::new();
    growth::grow_through(
        conn,
        &data.runner,
        data.plan,
        data.scale,
        day,
        &applied,
        marker.start_date,
        |d, written| {
            let (week, weekday) = calendar::describe(d);
            println!(
                "grew sim day {d} (week {week} {weekday}, {}): {}",
                calendar::date_of(marker.start_date, d),
                describe(written)
            );
            grown.push((d, *written));
        },
    )
    .await?;
    for (d, written) in grown {
        record_data_event(conn, "day_grown", None, Some(d), &written).await?;
    }
    Ok(())
}

/// "12,345 rows, 3.4 MB in 1.2 s".
pub fn describe(written: &Written) -> String {
    format!(
        "{} rows, {:.1} MB in {:.1} s",
        written.rows,
        written.bytes.max(0) as f64 / 1e6,
        written.elapsed.as_secs_f64()
    )
}

/// Journals data work; only databases with data have these events, so empty mode's journal is
/// what it always was.
pub async fn record_data_event(
    conn: &mut PgConnection,
    name: &str,
    change_id: Option<&str>,
    day: Option<u32>,
    written: &Written,
) -> Result<()> {
    let event = crate::journal::event(
        name,
        None,
        serde_json::json!({ "change_id": change_id, "sim_day": day, "rows": written.rows,
                            "bytes": written.bytes, "ms": written.elapsed.as_millis() as u64 }),
    );
    ledger::record_event(conn, &event).await
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
