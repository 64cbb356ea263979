//! Which run a command works on (README "Time and replay"), decided here and nowhere else:
//!
//! - a database with a ledger: its marker. A `--seed` that differs is refused; the assignment
//!   and start date are the marker's.
//! - a database about to be initialised: `--seed`, `--assign`, `--start-date`, else the
//!   defaults (seed 42, the roadmap's authors, the next working day).
//! - no database (`plan`, `render`, `replay` without `--into`): the flags, else the state
//!   directory's copy of the run it journals, else the defaults.

use anyhow::Result;
use chrono::NaiveDate;

use super::context::{today, Context};
use crate::cli::InitArgs;
use crate::error::{bad_input, Exit, UserError};
use crate::identity::{Identity, DEFAULT_SEED};
use crate::ledger::Marker;
use crate::pg::Target;
use crate::settings::Settings;
use crate::sim::Project;

impl Context {
    /// The identity a database without a ledger is initialised with.
    pub(crate) fn fresh_identity(
        &self,
        project: &Project,
        seed: Option<u64>,
        start_date: Option<NaiveDate>,
    ) -> Result<Identity> {
        let start_date = crate::calendar::next_working_day(start_date.unwrap_or_else(today));
        crate::calendar::ensure_usable_start(start_date, project.roadmap.last_sim_day())?;
        Ok(Identity {
            roadmap: project.roadmap.name.clone(),
            seed: seed.unwrap_or(DEFAULT_SEED),
            start_date,
            assign: self.global.assign.unwrap_or_default(),
        })
    }

    /// The identity of a run a command shows without a database.
    pub(crate) fn planned_identity(&self, project: &Project, seed: Option<u64>) -> Result<Planned> {
        let settings = Settings::load(&self.state)?;
        let (seed, seed_from) = match (seed, settings.seed) {
            (Some(seed), _) => (seed, "given".to_string()),
            (None, Some(seed)) => (
                seed,
                format!("the run's, from {}", Settings::path(&self.state).display()),
            ),
            (None, None) => (
                DEFAULT_SEED,
                "the default; no run in the state directory".to_string(),
            ),
        };
        Ok(Planned {
            identity: Identity {
                roadmap: project.roadmap.name.clone(),
                seed,
                start_date: settings
                    .start_date
                    .unwrap_or_else(|| crate::calendar::next_working_day(today())),
                assign: self.global.assign.unwrap_or(settings.assign),
            },
            seed_from,
        })
    }
}

/// The run a command without a database shows, and where its seed came from, for the reader
/// (`plan` prints it first, `render --explain` on stderr).
pub(crate) struct Planned {
    pub identity: Identity,
    /// "given", "the run's, from <state>/settings.json" or "the default; ...".
    pub seed_from: String,
}

/// Refuses to run against a ledger written with another seed than asked for.
pub(crate) fn ensure_seed(marker: &Marker, asked: Option<u64>) -> Result<()> {
    match asked {
        Some(seed) if seed != marker.identity.seed => Err(UserError::new(
            Exit::BadInput,
            format!(
                "this database was initialised with seed {}, not {seed}",
                marker.identity.seed
            ),
        )
        .with_hint("drop --seed, or start from a fresh state directory (--state-dir) or database")
        .into()),
        _ => Ok(()),
    }
}

/// `init` never re-initialises: asked for another seed or start date, or with `--force`, on a
/// database engineer-sim already initialised, it refuses rather than say "already initialised"
/// and leave the user believing the new settings took.
pub(crate) fn refuse_reinit(args: &InitArgs, marker: &Marker, target: &Target) -> Result<()> {
    let recorded = &marker.identity;
    let mut asked = Vec::new();
    if let Some(seed) = args.seed.filter(|s| *s != recorded.seed) {
        asked.push(format!("--seed {seed}"));
    }
    if let Some(date) = args.start_date.filter(|d| *d != recorded.start_date) {
        asked.push(format!("--start-date {date}"));
    }
    if args.force {
        asked.push("--force".into());
    }
    if asked.is_empty() {
        return Ok(());
    }
    Err(bad_input(format!(
        "init {}: {} is already initialised (seed {}, week 1 Monday = {}) and init never \
         re-initialises a database; nothing was changed",
        asked.join(" "),
        target.redacted_url(),
        recorded.seed,
        recorded.start_date
    ))
    .with_hint(
        "to start over, initialise a fresh database: another --database-url, or for the embedded \
         one another --state-dir (or `engineer-sim db stop` and remove the state directory)",
    )
    .into())
}
