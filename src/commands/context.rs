//! What every command starts from: the global flags resolved once, the data and state
//! directories, the target database, and the state lock.

use std::path::{Path, PathBuf};

use anyhow::Result;
use chrono::NaiveDate;
use sqlx::PgConnection;

use crate::cli::Global;
use crate::error::bad_input;
use crate::ledger::{self, Marker};
use crate::pg::Target;
use crate::roadmap::DataDirs;
use crate::settings::Settings;
use crate::sim::{Options, Project};
use crate::state::StateDir;

/// Resolved global settings.
pub struct Context {
    pub(crate) global: Global,
    pub(crate) data: DataDirs,
    pub(crate) state: StateDir,
}

impl Context {
    pub(crate) fn new(global: &Global) -> Context {
        let root = data_root(global.data_dir.as_deref());
        let state = StateDir::new(
            global
                .state_dir
                .clone()
                .unwrap_or_else(|| root.join("state")),
        );
        // Which directories a command picked is the first question when it reads the wrong ones.
        tracing::debug!(
            "data directory {}, state directory {}",
            root.display(),
            state.root().display()
        );
        Context {
            global: global.clone(),
            data: DataDirs::with_roadmap(&root, global.roadmap.as_deref()),
            state,
        }
    }

    pub(crate) fn load_project(&self) -> Result<Project> {
        Project::load(&self.data)
    }

    /// Run options from the flags and the environment.
    pub(crate) fn options(&self, project: &Project) -> Result<Options> {
        Ok(Options {
            rate_scale: rate_scale(self.global.error_rate, project)?,
            codes: self.global.codes,
            // Commands that touch no database show what a database with data would get.
            data: !self.global.no_data,
            full_audit: self.global.full_audit,
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
        let given = self
            .global
            .database_url
            .as_deref()
            .filter(|u| !u.trim().is_empty());
        // The embedded database is named by the roadmap; a given URL needs no roadmap.
        let embedded = match given {
            Some(_) => String::new(),
            None => self.embedded_database()?,
        };
        Target::resolve(given, &self.state, &embedded)
    }

    /// The embedded database's name: the roadmap's `database`, else its `name`.
    pub(crate) fn embedded_database(&self) -> Result<String> {
        Ok(self.data.load_roadmap()?.database_name().to_string())
    }

    /// A connection to a database that must already be a simulation target.
    pub(crate) async fn connect_existing(&self) -> Result<PgConnection> {
        let target = self.target()?;
        let mut conn = target.connect().await?;
        ledger::marker(&mut conn).await?;
        Ok(conn)
    }

    /// Refuses to write one database's journal over another's in the same state directory.
    pub(crate) fn ensure_state_is_for(&self, target: &Target) -> Result<()> {
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
    pub(crate) fn remember(&self, marker: &Marker, target: &Target) -> Result<()> {
        let mut settings = Settings::load(&self.state)?;
        settings.database = Some(target.redacted_url());
        settings.seed = Some(marker.identity.seed);
        settings.start_date = Some(marker.identity.start_date);
        settings.assign = marker.identity.assign;
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
    if DataDirs::is_data_dir(&cwd) {
        return cwd;
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub(crate) fn today() -> NaiveDate {
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
