//! Settings that persist in the state directory (`state/settings.json`), so that a bare
//! `engineer-sim tick` from cron does the right thing, and `replay` can print a week without
//! touching a database.

use anyhow::{Context, Result};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::identity::Assign;
use crate::state::StateDir;

/// How sim days map to real time (README "Time and replay").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Pace {
    /// A sim day is a real working day since the start date.
    #[default]
    Calendar,
    /// Each tick is the next working day, whatever the date (accelerated runs).
    Step,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Settings {
    pub pace: Pace,
    /// Changes applied at most per tick; none means no cap.
    pub max_per_tick: Option<usize>,
    /// Under the step pace: the sim day the last tick reached.
    pub step_day: u32,
    /// Copied from the ledger at `init`, for commands that touch no database.
    pub seed: Option<u64>,
    pub start_date: Option<NaiveDate>,
    pub assign: Assign,
    /// The database this state directory journals (password-free URL), so that a command pointed
    /// at another database does not overwrite this run's journal.
    pub database: Option<String>,
}

impl Settings {
    pub fn path(state: &StateDir) -> std::path::PathBuf {
        state.root().join("settings.json")
    }

    /// The saved settings, or the defaults when there are none yet.
    pub fn load(state: &StateDir) -> Result<Settings> {
        let path = Self::path(state);
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text).map_err(|err| {
                crate::error::bad_input(format!(
                    "{}:{}: invalid settings: {err}",
                    path.display(),
                    err.line()
                ))
                .with_hint("fix or delete the file; `engineer-sim init` writes it")
                .into()
            }),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(Settings::default()),
            Err(err) => Err(err).with_context(|| format!("reading {}", path.display())),
        }
    }

    pub fn save(&self, state: &StateDir) -> Result<()> {
        state.create()?;
        let mut text = serde_json::to_string_pretty(self)?;
        text.push('\n');
        crate::state::write_atomically(&Self::path(state), &text)
    }
}
