//! The command line (clap): one subcommand per user task; each says what it does in `--help`.

use std::path::PathBuf;

use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::mistakes::CodeSet;
use crate::sim::OnError;

#[derive(Parser, Debug)]
#[command(
    name = "engineer-sim",
    version,
    about = "Three simulated engineers evolve the TaskPilot PostgreSQL schema along a 12-week roadmap, \
             slip the way people do, and journal every defect as ground truth for database health tools."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug, Clone)]
pub struct Global {
    /// PostgreSQL URL of the target database; without it the embedded cluster under the state
    /// directory is used (and started on demand).
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,
    /// Where runtime files go: embedded cluster, journal, migrations [default: <data dir>/state]
    #[arg(long, env = "ENGINEER_SIM_STATE", global = true)]
    pub state_dir: Option<PathBuf>,
    /// The directory holding roadmap/, personas/ and templates/ [default: the current directory
    /// if it has roadmap/taskpilot.yaml, else the directory engineer-sim was built from]
    #[arg(long, env = "ENGINEER_SIM_DATA", global = true)]
    pub data_dir: Option<PathBuf>,
    /// Which finding codes to show: the roadmap's table or the postgres_ai checkup's.
    #[arg(long, value_enum, default_value_t = CodeSet::Roadmap, global = true)]
    pub codes: CodeSet,
    /// Scale every persona's error rate so that their average is this (0..1); the personas'
    /// own rates are used when unset.
    #[arg(long, env = "ENGINEER_ERROR_RATE", global = true)]
    pub error_rate: Option<f64>,
    /// More log output (-v info, -vv debug).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Manage the embedded PostgreSQL cluster under the state directory.
    Db {
        #[command(subcommand)]
        action: DbAction,
    },
    /// Create the target database (embedded: `taskpilot`), the ledger and the base schema.
    Init(InitArgs),
    /// Apply the roadmap in order up to the end of week N (initialising the embedded database if needed).
    Run {
        /// Last week to apply (1..12).
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=12))]
        until_week: u32,
        /// Run seed; only for a fresh database (the ledger keeps the seed of `init`).
        #[arg(long)]
        seed: Option<u64>,
        /// What to do when a change fails: stop (default) or skip it and go on.
        #[arg(long, value_enum, default_value_t = OnError::Stop)]
        on_error: OnError,
    },
    /// Apply what the simulation clock says is due: one sim day per real working day since the
    /// start date `init` recorded. Running it again the same day applies nothing new.
    Tick {
        /// Pretend today is this date (YYYY-MM-DD).
        #[arg(long)]
        now: Option<NaiveDate>,
        /// Apply at most this many changes in one tick.
        #[arg(long, env = "ENGINEER_CHANGES_PER_DAY")]
        max_per_tick: Option<usize>,
        /// Run seed, for a fresh database.
        #[arg(long)]
        seed: Option<u64>,
    },
    /// Validate the roadmap, personas and templates; report each problem with file and line.
    /// Exit code 2 when there are problems. Touches no database.
    Check,
    /// Show the roadmap's changes: author, title, slip points and which slip under the seed.
    /// Touches no database.
    Plan {
        /// Only this week.
        #[arg(long)]
        week: Option<u32>,
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
    /// Print a change's SQL as the persona writes it under the seed (or clean). Touches no database.
    Render {
        change_id: String,
        #[arg(long, default_value_t = 42)]
        seed: u64,
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
    },
    /// List the findings the ledger holds open (all, with --all).
    Findings {
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// Include closed findings.
        #[arg(long)]
        all: bool,
        /// Only findings of this origin (base, scripted, slip, incidental).
        #[arg(long)]
        origin: Option<String>,
        /// Order by the week that opened each finding.
        #[arg(long)]
        by_week: bool,
    },
    /// Run every catalog detector on the live database and list what it finds.
    Audit {
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Compare the ledger's open findings with a fresh audit; exit 1 on any difference.
    Verify,
    /// Score a detector's report against the journal: per kind and code, true/false positives,
    /// misses, precision and recall.
    Score {
        /// The detector's output file.
        #[arg(long)]
        report: PathBuf,
        /// squawk-json: `squawk --reporter json state/migrations/*.sql`; findings-json: a JSON
        /// list of {"kind" or "code", "object"}.
        #[arg(long, value_enum)]
        report_format: ReportFormat,
        #[arg(long, value_enum, default_value_t = ScoreFormat::Table)]
        format: ScoreFormat,
        /// Score against the findings open now, or every finding ever opened [default: all for
        /// squawk-json (a linter reads the history), open for findings-json].
        #[arg(long, value_enum)]
        against: Option<Against>,
    },
    /// Show the target, the seed, the sim day and what has been applied.
    Status,
    /// Rewrite the journal files (journal.jsonl, expected-findings.*, reports/) from the ledger.
    Journal,
}

#[derive(Args, Debug)]
pub struct InitArgs {
    /// Run seed: every slip decision derives from it and the change id.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// The real date of week 1 Monday (default: today, or the next working day).
    #[arg(long)]
    pub start_date: Option<NaiveDate>,
    /// Initialise even though the database already has tables.
    #[arg(long)]
    pub force: bool,
}

#[derive(Subcommand, Debug)]
pub enum DbAction {
    /// Create (initdb) and start the embedded cluster if needed.
    Start,
    /// Stop the embedded cluster.
    Stop,
    /// Say whether the embedded cluster exists and runs.
    Status,
    /// Print the connection URL of the embedded `taskpilot` database.
    Url,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
    Markdown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    SquawkJson,
    FindingsJson,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScoreFormat {
    Table,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Against {
    Open,
    All,
}
