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
use crate::error::{Exit, UserError};
use crate::identity::{Identity, DEFAULT_SEED};
use crate::ledger::Marker;
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
        crate::calendar::ensure_usable_start(start_date)?;
        Ok(Identity {
            roadmap: project.roadmap.name.clone(),
            seed: seed.unwrap_or(DEFAULT_SEED),
            start_date,
            assign: self.global.assign.unwrap_or_default(),
        })
    }

    /// The identity of a run a command shows without a database.
    pub(crate) fn planned_identity(
        &self,
        project: &Project,
        seed: Option<u64>,
    ) -> Result<Identity> {
        let settings = Settings::load(&self.state)?;
        Ok(Identity {
            roadmap: project.roadmap.name.clone(),
            seed: seed.or(settings.seed).unwrap_or(DEFAULT_SEED),
            start_date: settings
                .start_date
                .unwrap_or_else(|| crate::calendar::next_working_day(today())),
            assign: self.global.assign.unwrap_or(settings.assign),
        })
    }
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
