//! The command line (clap): one subcommand per user task; each says what it does in `--help`,
//! with an example where one helps. The options shared by several commands are in [`options`].

pub mod args;
pub mod options;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

pub use args::{
    parse_duration, parse_threshold, Against, DbAction, Format, InitArgs, ReportFormat, ScoreArgs,
    ScoreFormat,
};
pub use options::{
    AuditArgs, DataModeArgs, DbArgs, FreshArgs, Global, GlobalArgs, LockArgs, WriteArgs,
};

use crate::ledger::Origin;
use crate::settings::Pace;
use crate::sim::OnError;

#[derive(Parser, Debug)]
#[command(
    name = "engineer-sim",
    version,
    about = "Three simulated engineers carry out a roadmap of schema changes on a PostgreSQL \
             database, slip the way people do, and journal every defect as ground truth for \
             database health tools.",
    after_help = "Examples:\n  engineer-sim run --until-week 12      # the whole roadmap on the embedded database\n  \
                  engineer-sim findings --format json    # the ground truth\n  \
                  engineer-sim verify                    # the ledger against a fresh audit\n\n\
                  Exit codes: 0 success, 1 a check disagreed, 2 bad input, 3 environment, \
                  4 a change failed (README \"Commands\")."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Manage the embedded PostgreSQL cluster under the state directory.
    Db {
        #[command(subcommand)]
        action: DbAction,
    },
    /// Create the target database (embedded: named by the roadmap), the ledger and the base
    /// schema.
    #[command(
        after_help = "Examples:\n  engineer-sim init --seed 7 --start-date 2026-01-05\n  \
                            engineer-sim init --database-url postgres://me@localhost/sim_test"
    )]
    Init(InitArgs),
    /// Apply the roadmap in order up to the end of week N (initialising the embedded database if needed).
    #[command(after_help = "Example:\n  engineer-sim run --until-week 4 --seed 7 --no-data")]
    Run {
        /// Last week to apply (1 to the roadmap's last week), e.g. --until-week 4.
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
        until_week: u32,
        /// Run seed; only for a fresh database (the ledger keeps the seed of `init`).
        #[arg(long)]
        seed: Option<u64>,
        /// What to do when a change fails: stop (default) or skip it and go on.
        #[arg(long, value_enum, default_value_t = OnError::Stop)]
        on_error: OnError,
        #[command(flatten)]
        write: WriteArgs,
    },
    /// Apply what the simulation clock says is due.
    ///
    /// Every due change not yet applied (catching up after missed runs), at most --max-per-tick, never one that is not due. Under the
    /// calendar pace a sim day is a real working day since the start date; under the step pace
    /// each tick is the next working day. Running it again the same day applies nothing new.
    #[command(after_help = "Example (crontab, weekdays at 09:00):\n  \
                            0 9 * * 1-5  cd /srv/sim && ./target/release/engineer-sim tick -q")]
    Tick {
        /// Pretend it is this date (YYYY-MM-DD) or time (YYYY-MM-DDTHH:MM).
        #[arg(long, value_parser = crate::calendar::parse_now)]
        now: Option<chrono::NaiveDateTime>,
        /// Apply at most this many changes in one tick [default: the settings' cap, else none].
        #[arg(long, env = "ENGINEER_CHANGES_PER_DAY", hide_env_values = true)]
        max_per_tick: Option<usize>,
        /// Use this pace for this tick only [default: the settings' pace].
        #[arg(long, value_enum)]
        pace: Option<Pace>,
        /// Run seed, for a fresh database.
        #[arg(long)]
        seed: Option<u64>,
        #[command(flatten)]
        write: WriteArgs,
    },
    /// List the next tick times of a cron expression and the sim day each reaches.
    #[command(after_help = "Example:\n  engineer-sim schedule --cron \"0 9 * * 1-5\" --count 3")]
    Schedule {
        /// Standard 5-field crontab expression, e.g. "0 9 * * 1-5".
        #[arg(long)]
        cron: String,
        /// How many tick times to list.
        #[arg(long, default_value_t = 5)]
        count: usize,
        /// Count from this date (YYYY-MM-DD) or time (YYYY-MM-DDTHH:MM) instead of now.
        #[arg(long, value_parser = crate::calendar::parse_now)]
        now: Option<chrono::NaiveDateTime>,
    },
    /// Run ticks in-process on a cron schedule; SIGTERM or Ctrl-C stops it between changes.
    #[command(after_help = "Example:\n  engineer-sim daemon --cron \"0 9 * * 1-5\" --run-now")]
    Daemon {
        /// Standard 5-field crontab expression, e.g. "0 9 * * 1-5".
        #[arg(long)]
        cron: String,
        /// Tick once at start, before waiting for the schedule.
        #[arg(long)]
        run_now: bool,
        /// Wait this many milliseconds between two changes of a tick (spreads a catch-up out).
        #[arg(long)]
        pause_ms: Option<u64>,
        /// Keep N pgbench clients running the app's queries between and during changes (a
        /// database with data only); the journal records the app queries each change blocked.
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=256))]
        workload: Option<u32>,
        #[command(flatten)]
        write: WriteArgs,
    },
    /// Show the settings kept in the state directory; change the ones given.
    #[command(after_help = "Example:\n  engineer-sim settings --pace step --max-per-tick 2")]
    Settings {
        /// How sim days map to real time from now on.
        #[arg(long, value_enum)]
        pace: Option<Pace>,
        /// Cap on changes per tick.
        #[arg(long, conflicts_with = "no_cap")]
        max_per_tick: Option<usize>,
        /// Remove the cap on changes per tick.
        #[arg(long)]
        no_cap: bool,
    },
    /// Reproduce week N exactly.
    ///
    /// Prints its as-written SQL and slips (touching nothing), or with --into builds a fresh
    /// database holding the base and weeks 1..N of the original run.
    #[command(after_help = "Examples:\n  engineer-sim replay --week 4\n  \
                            engineer-sim replay --week 4 --into sim_w4")]
    Replay {
        /// The week to reproduce (1 to the roadmap's last week), e.g. --week 4.
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
        week: u32,
        /// Name of a new database to build on the target's server (letters, digits, underscores).
        #[arg(long)]
        into: Option<String>,
        /// Seed to print under [default: the original run's, from the state directory].
        #[arg(long, conflicts_with = "into")]
        seed: Option<u64>,
        /// With --into: replay even when a change's SQL renders differently now than the
        /// original run applied it (a template was edited); each difference is warned about and
        /// journaled as a `replay_sql_changed` event. Without it such a replay is refused (exit 2).
        #[arg(long, requires = "into")]
        allow_changed: bool,
        #[command(flatten)]
        db: DbArgs,
        #[command(flatten)]
        mode: DataModeArgs,
        #[command(flatten)]
        lock: LockArgs,
    },
    /// Unified diff of the expected findings between two points: week:N (from the ledger) or
    /// expected-findings.json files.
    #[command(
        after_help = "Examples:\n  engineer-sim diff --from week:5 --to week:6\n  \
                            engineer-sim diff --from old/expected-findings.json --to state/expected-findings.json"
    )]
    Diff {
        /// The old side: week:N (the expected findings at the end of week N, from the ledger)
        /// or the path of an expected-findings.json file.
        #[arg(long)]
        from: String,
        /// The new side, in the same forms as --from.
        #[arg(long)]
        to: String,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Validate the roadmap, personas and templates, then apply every slip point to a scratch
    /// database.
    ///
    /// Reports each problem with file, line and what to do; exit code 2 when there are problems.
    /// First the files: every template rendered clean, with each slip point alone and with all of
    /// them, with and without data. Then, unless --no-db, a scratch database gets the base and
    /// every change in order, each slip point applied alone and all of a change's together (in
    /// empty mode, rolled back after the audit): a slip point that does not apply, or that no
    /// detector sees, is a problem at its line. The scratch database is created in the embedded
    /// cluster under the state directory (or on the server of --database-url) and dropped after.
    #[command(
        after_help = "Examples:\n  engineer-sim check\n  engineer-sim check --no-db    # the files only, in a second"
    )]
    Check {
        /// Check the files only, touching no database (what run, tick and init check first).
        #[arg(long)]
        no_db: bool,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Show the roadmap's changes: author, title, slip points and which slip under the seed.
    /// Touches no database.
    #[command(after_help = "Example:\n  engineer-sim plan --week 2 --seed 7")]
    Plan {
        /// Only this week, e.g. --week 2.
        #[arg(long)]
        week: Option<u32>,
        /// Show the slips under this seed [default: the run's, from the state directory, else 42].
        #[arg(long)]
        seed: Option<u64>,
        #[command(flatten)]
        mode: DataModeArgs,
    },
    /// Print a change's SQL as the persona writes it under the seed (or clean). Touches no database.
    #[command(
        after_help = "Examples:\n  engineer-sim render w01-thu-time-reports --explain\n  \
                            engineer-sim render w01-thu-time-reports --slip 0"
    )]
    Render {
        /// The change's id, as `plan` lists it.
        change_id: String,
        /// Render under this seed [default: the run's, from the state directory, else 42].
        #[arg(long)]
        seed: Option<u64>,
        /// The careful version, with no slips.
        #[arg(long, conflicts_with_all = ["slip", "all_slips"])]
        clean: bool,
        /// Force only the slip point at this position (0-based, as `plan` lists them) to slip.
        #[arg(long, conflicts_with = "all_slips")]
        slip: Option<usize>,
        /// Force every slip point to slip.
        #[arg(long)]
        all_slips: bool,
        /// Also print the slips and the clean / as-written diff (to stderr).
        #[arg(long)]
        explain: bool,
        #[command(flatten)]
        mode: DataModeArgs,
    },
    /// List the findings the ledger holds open (all, with --all).
    #[command(after_help = "Examples:\n  engineer-sim findings --origin slip\n  \
                            engineer-sim findings --format json > truth.json")]
    Findings {
        /// table (aligned columns), json (the expected-findings document, with table sizes on a
        /// database with data) or markdown.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// Include closed findings.
        #[arg(long)]
        all: bool,
        /// Only findings of this origin.
        #[arg(long, value_enum)]
        origin: Option<Origin>,
        /// Order by the week that opened each finding.
        #[arg(long)]
        by_week: bool,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Run every catalog detector on the live database and list what it finds.
    Audit {
        /// table (aligned columns), json (a list of {kind, code, object}) or markdown.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Compare the ledger's open findings with a fresh audit; exit 1 on any difference.
    Verify {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Score a detector's report against the journal: per kind and code, true/false positives,
    /// misses, precision and recall.
    #[command(
        after_help = "Example:\n  squawk --reporter json state/migrations/*.sql > squawk.json\n  \
                            engineer-sim score --report squawk.json --report-format squawk-json"
    )]
    Score(ScoreArgs),
    /// Show the target, the seed, the sim day and what has been applied.
    Status {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Fill the base schema with data at --scale (default 0.01), over several connections.
    ///
    /// On a fresh database it initialises first. Refuses a database that already has changes
    /// applied or data at another scale.
    #[command(after_help = "Example:\n  engineer-sim seed --scale 0.1 --jobs 4")]
    Seed {
        #[command(flatten)]
        db: DbArgs,
        #[command(flatten)]
        fresh: FreshArgs,
        #[command(flatten)]
        lock: LockArgs,
    },
    /// Run the app's read/write mix of the features live now with pgbench and record the
    /// statistics the statistics-verified findings are judged against.
    #[command(after_help = "Example:\n  engineer-sim workload --duration 30s --clients 4")]
    Workload {
        /// How long the weighted mix runs, e.g. 30s, 2m (every query also runs once first).
        #[arg(long, default_value = "10s", value_parser = parse_duration)]
        duration: std::time::Duration,
        /// Concurrent clients.
        #[arg(long, default_value_t = 4)]
        clients: u32,
        /// Limit to this many transactions per second in total (pgbench -R).
        #[arg(long)]
        rate: Option<f64>,
        #[command(flatten)]
        db: DbArgs,
        #[command(flatten)]
        lock: LockArgs,
    },
    /// Print week N's report, or rewrite the journal files.
    ///
    /// With --week: who did what, what slipped and why it passed review, the clean / as-written
    /// diff. Without: rewrite every journal file from the ledger.
    #[command(after_help = "Example:\n  engineer-sim journal --week 1")]
    Journal {
        /// The week whose report to print, e.g. --week 1 (it must have been applied).
        #[arg(long)]
        week: Option<u32>,
        #[command(flatten)]
        db: DbArgs,
        #[command(flatten)]
        lock: LockArgs,
    },
    /// Write a data directory for a schema of your own: the schema as the base, the personas,
    /// a roadmap with one example change.
    ///
    /// The base comes from a database (pg_dump --schema-only, without owners, privileges,
    /// comments and the engineer_sim ledger) or from a SQL file. The personas are copied from the
    /// data directory (default: the shipped ones). Nothing is written over: the directory must be
    /// new or empty. README "Bring your own schema" goes on from there.
    #[command(
        after_help = "Examples:\n  engineer-sim new-roadmap shop --from-database postgres://me@localhost/shop\n  \
                            engineer-sim new-roadmap shop --from-sql schema.sql --dir ~/sim/shop\n  \
                            engineer-sim --data-dir shop check"
    )]
    NewRoadmap {
        /// The roadmap's name, which names the embedded database too (lower-case letters,
        /// digits and `_`), e.g. shop.
        name: String,
        /// Take the base schema from this database, e.g. postgres://me@localhost/shop.
        #[arg(
            long,
            value_name = "URL",
            required_unless_present = "from_sql",
            conflicts_with = "from_sql"
        )]
        from_database: Option<String>,
        /// Take the base schema from this SQL file (what `psql -f` would run on an empty database).
        #[arg(long, value_name = "FILE")]
        from_sql: Option<PathBuf>,
        /// Write the data directory here [default: ./NAME].
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// Print a shell completion script.
    #[command(
        after_help = "Examples:\n  engineer-sim completions bash > ~/.local/share/bash-completion/completions/engineer-sim\n  \
                            engineer-sim completions zsh > ~/.zfunc/_engineer-sim"
    )]
    Completions {
        /// The shell to complete in.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), or write one page per command into a directory.
    #[command(after_help = "Examples:\n  engineer-sim man | man -l -\n  \
                            engineer-sim man --out-dir ~/.local/share/man/man1")]
    Man {
        /// Write engineer-sim.1 and engineer-sim-<command>.1 here instead of printing.
        #[arg(long, value_name = "DIR")]
        out_dir: Option<PathBuf>,
    },
}

impl Command {
    /// The option groups this command takes, resolved with the global ones.
    pub fn resolve(&self, global: &GlobalArgs) -> Global {
        let (db, fresh, mode, lock) = match self {
            Command::Init(InitArgs { write, .. })
            | Command::Run { write, .. }
            | Command::Tick { write, .. }
            | Command::Daemon { write, .. } => (
                Some(&write.db),
                Some(&write.fresh),
                Some(&write.mode),
                Some(&write.lock),
            ),
            Command::Replay { db, mode, lock, .. } => (Some(db), None, Some(mode), Some(lock)),
            Command::Seed { db, fresh, lock } => (Some(db), Some(fresh), None, Some(lock)),
            Command::Workload { db, lock, .. } | Command::Journal { db, lock, .. } => {
                (Some(db), None, None, Some(lock))
            }
            Command::Diff { db, .. }
            | Command::Findings { db, .. }
            | Command::Audit { db, .. }
            | Command::Verify { db }
            | Command::Status { db }
            | Command::Check { db, .. } => (Some(db), None, None, None),
            Command::Score(a) => (Some(&a.db), None, None, None),
            Command::Plan { mode, .. } | Command::Render { mode, .. } => {
                (None, None, Some(mode), None)
            }
            Command::Db { .. }
            | Command::Schedule { .. }
            | Command::Settings { .. }
            | Command::NewRoadmap { .. }
            | Command::Completions { .. }
            | Command::Man { .. } => (None, None, None, None),
        };
        let mut resolved = Global::resolve(global, db, fresh, mode, lock);
        if let Command::Init(InitArgs { write, .. })
        | Command::Run { write, .. }
        | Command::Tick { write, .. }
        | Command::Daemon { write, .. } = self
        {
            resolved.full_audit = write.audit.full_audit;
        }
        resolved
    }

    /// Commands that write to a database run the whole `check` first (README "Operating it").
    pub fn validates_inputs(&self) -> bool {
        matches!(
            self,
            Command::Init(_)
                | Command::Run { .. }
                | Command::Tick { .. }
                | Command::Daemon { .. }
                | Command::Seed { .. }
                | Command::Replay { into: Some(_), .. }
        )
    }

    /// The name of a command that writes to a database or the state directory's journal: those
    /// hold the state lock. The daemon takes it per tick instead.
    pub fn name_if_mutating(&self) -> Option<&'static str> {
        Some(match self {
            Command::Init(_) => "init",
            Command::Run { .. } => "run",
            Command::Tick { .. } => "tick",
            Command::Seed { .. } => "seed",
            Command::Workload { .. } => "workload",
            Command::Replay { into: Some(_), .. } => "replay",
            Command::Journal { week: None, .. } => "journal",
            _ => return None,
        })
    }
}
