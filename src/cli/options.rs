//! The options shared by several commands, in groups: the global ones every command takes, and
//! the database, fresh-database and lock options that only the commands using a database show
//! (`plan --help` lists no `--database-url`). [`Global`] is all of them resolved, as the commands
//! read them.

use std::path::PathBuf;

use clap::Args;

use crate::identity::Assign;
use crate::mistakes::CodeSet;

/// Options every command takes.
#[derive(Args, Debug, Clone, Default)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// Where runtime files go: embedded cluster, journal, migrations, settings [default: <data
    /// dir>/state].
    #[arg(
        long,
        env = "ENGINEER_SIM_STATE",
        global = true,
        hide_env_values = true
    )]
    pub state_dir: Option<PathBuf>,
    /// The directory holding roadmap/, personas/ and templates/ [default: the current directory
    /// if it has a roadmap/*.yaml, else the directory engineer-sim was built from].
    #[arg(long, env = "ENGINEER_SIM_DATA", global = true, hide_env_values = true)]
    pub data_dir: Option<PathBuf>,
    /// The roadmap file, when the data directory holds several (or it lives elsewhere), e.g.
    /// --roadmap roadmap/shop.yaml [default: the one roadmap/*.yaml of the data directory].
    #[arg(
        long,
        value_name = "FILE",
        env = "ENGINEER_SIM_ROADMAP",
        global = true,
        hide_env_values = true
    )]
    pub roadmap: Option<PathBuf>,
    /// Which finding codes to show: the roadmap's table or the postgres_ai checkup's.
    #[arg(long, value_enum, default_value_t = CodeSet::Roadmap, global = true)]
    pub codes: CodeSet,
    /// Scale every persona's error rate so that their average is this (0..1), e.g. --error-rate
    /// 0.5; the personas' own rates are used when unset.
    #[arg(
        long,
        env = "ENGINEER_ERROR_RATE",
        global = true,
        hide_env_values = true
    )]
    pub error_rate: Option<f64>,
    /// Who does each change: the roadmap's author, or a seeded choice by each persona's focus.
    /// Fixed when a database is initialised (the ledger keeps it); plan, render and replay use
    /// it too [default: the state directory's setting, else roadmap].
    #[arg(long, value_enum, global = true)]
    pub assign: Option<Assign>,
    /// More log output on stderr (-v info, -vv debug); RUST_LOG or ENGINEER_SIM_LOG (an
    /// EnvFilter, e.g. `engineer_sim=debug,sqlx=info`) take precedence.
    #[arg(short, long, action = clap::ArgAction::Count, global = true, conflicts_with = "quiet")]
    pub verbose: u8,
    /// Print nothing but errors: stdout is discarded, the log shows errors only and no progress
    /// bar is drawn; the exit code says how it went (like `grep -q`).
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

/// The database a command works on.
#[derive(Args, Debug, Clone, Default)]
#[command(next_help_heading = "Database options")]
pub struct DbArgs {
    /// PostgreSQL URL of the target database, e.g. postgres://me@localhost/shop; without it the
    /// embedded cluster under the state directory is used (and started on demand).
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
}

/// What a fresh database gets when this command initialises it.
#[derive(Args, Debug, Clone, Default)]
#[command(next_help_heading = "Data options")]
pub struct FreshArgs {
    /// Data scale for a fresh database (1 = the base's data file at full size, ~10 GiB for the
    /// shipped roadmap; 0.1 about a tenth), e.g. --scale 0.1 [default: 0.01, the playground].
    #[arg(long, env = "ENGINEER_SIM_SCALE", hide_env_values = true)]
    pub scale: Option<f64>,
    /// Connections that write data at once, e.g. --jobs 4 [default: the number of CPUs].
    #[arg(long, env = "ENGINEER_SIM_JOBS", hide_env_values = true)]
    pub jobs: Option<usize>,
}

/// Empty mode: on commands that create a database, and on those that show what one would get.
#[derive(Args, Debug, Clone, Default)]
#[command(next_help_heading = "Data options")]
pub struct DataModeArgs {
    /// Empty mode: schema, mistakes and journal only, no data, growth or workload (a fresh
    /// database stays empty; plan, render and replay show the decisions of an empty database).
    #[arg(long, env = "ENGINEER_SIM_NO_DATA", hide_env_values = true)]
    pub no_data: bool,
}

/// How long a command that writes waits for another one in the same state directory.
#[derive(Args, Debug, Clone, Default)]
#[command(next_help_heading = "Database options")]
pub struct LockArgs {
    /// Seconds to wait for another engineer-sim working in the same state directory before
    /// giving up with exit 3, e.g. --lock-wait 30 [default: 600].
    #[arg(long, env = "ENGINEER_SIM_LOCK_WAIT", hide_env_values = true)]
    pub lock_wait: Option<u64>,
}

/// How each change is audited, on the commands that apply changes.
#[derive(Args, Debug, Clone, Default)]
#[command(next_help_heading = "Database options")]
pub struct AuditArgs {
    /// Audit the whole database after every change, not only the tables the change touched and
    /// their foreign-key neighbours (slower on a large schema; the findings are the same).
    #[arg(long, env = "ENGINEER_SIM_FULL_AUDIT", hide_env_values = true)]
    pub full_audit: bool,
}

/// The commands that apply changes (init, run, tick, daemon) take every group.
#[derive(Args, Debug, Clone, Default)]
pub struct WriteArgs {
    #[command(flatten)]
    pub db: DbArgs,
    #[command(flatten)]
    pub fresh: FreshArgs,
    #[command(flatten)]
    pub mode: DataModeArgs,
    #[command(flatten)]
    pub lock: LockArgs,
    #[command(flatten)]
    pub audit: AuditArgs,
}

/// Every option resolved, as the commands read them (a command without a group gets its
/// defaults).
#[derive(Debug, Clone, Default)]
pub struct Global {
    pub database_url: Option<String>,
    pub state_dir: Option<PathBuf>,
    pub data_dir: Option<PathBuf>,
    pub roadmap: Option<PathBuf>,
    pub codes: CodeSet,
    pub error_rate: Option<f64>,
    pub assign: Option<Assign>,
    pub scale: Option<f64>,
    pub no_data: bool,
    pub jobs: Option<usize>,
    pub lock_wait: Option<u64>,
    pub full_audit: bool,
    pub verbose: u8,
    pub quiet: bool,
}

impl Global {
    pub fn resolve(
        global: &GlobalArgs,
        db: Option<&DbArgs>,
        fresh: Option<&FreshArgs>,
        mode: Option<&DataModeArgs>,
        lock: Option<&LockArgs>,
    ) -> Global {
        let db = db.cloned().unwrap_or_default();
        let fresh = fresh.cloned().unwrap_or_default();
        let lock = lock.cloned().unwrap_or_default();
        Global {
            database_url: db.database_url,
            state_dir: global.state_dir.clone(),
            data_dir: global.data_dir.clone(),
            roadmap: global.roadmap.clone(),
            codes: global.codes,
            error_rate: global.error_rate,
            assign: global.assign,
            scale: fresh.scale,
            no_data: mode.is_some_and(|m| m.no_data),
            jobs: fresh.jobs,
            lock_wait: lock.lock_wait,
            full_audit: false,
            verbose: global.verbose,
            quiet: global.quiet,
        }
    }
}
