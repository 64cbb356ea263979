//! The command line (clap): one subcommand per user task; each says what it does in `--help`.

use std::path::PathBuf;

use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::identity::Assign;
use crate::mistakes::CodeSet;
use crate::settings::Pace;
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
    /// Who does each change: the roadmap's author, or a seeded choice by each persona's focus.
    /// Fixed when a database is initialised (the ledger keeps it); plan, render and replay use
    /// it too [default: the state directory's setting, else roadmap].
    #[arg(long, value_enum, global = true)]
    pub assign: Option<Assign>,
    /// Data scale for a fresh database (1 = the TaskPilot README's ~10 GiB and its daily growth;
    /// 0.1 about 1 GiB) [default: 0.01, the playground].
    #[arg(long, env = "ENGINEER_SIM_SCALE", global = true)]
    pub scale: Option<f64>,
    /// Keep a fresh database empty: schema, mistakes and journal only, no data, growth or workload.
    #[arg(
        long,
        env = "ENGINEER_SIM_NO_DATA",
        global = true,
        conflicts_with = "scale"
    )]
    pub no_data: bool,
    /// Connections that write data at once [default: the number of CPUs].
    #[arg(long, env = "ENGINEER_SIM_JOBS", global = true)]
    pub jobs: Option<usize>,
    /// Seconds a command waits for another one working in the same state directory before it
    /// gives up with exit 3 [default: 600].
    #[arg(long, env = "ENGINEER_SIM_LOCK_WAIT", global = true)]
    pub lock_wait: Option<u64>,
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
    /// Apply what the simulation clock says is due.
    ///
    /// Every due change not yet applied (catching up after missed runs), at most --max-per-tick, never one that is not due. Under the
    /// calendar pace a sim day is a real working day since the start date; under the step pace
    /// each tick is the next working day. Running it again the same day applies nothing new.
    Tick {
        /// Pretend it is this date (YYYY-MM-DD) or time (YYYY-MM-DDTHH:MM).
        #[arg(long, value_parser = crate::calendar::parse_now)]
        now: Option<chrono::NaiveDateTime>,
        /// Apply at most this many changes in one tick [default: the settings' cap, else none].
        #[arg(long, env = "ENGINEER_CHANGES_PER_DAY")]
        max_per_tick: Option<usize>,
        /// Use this pace for this tick only [default: the settings' pace].
        #[arg(long, value_enum)]
        pace: Option<Pace>,
        /// Run seed, for a fresh database.
        #[arg(long)]
        seed: Option<u64>,
    },
    /// List the next tick times of a cron expression and the sim day each reaches.
    Schedule {
        /// Standard 5-field crontab expression, e.g. "0 9 * * 1-5".
        #[arg(long)]
        cron: String,
        #[arg(long, default_value_t = 5)]
        count: usize,
        /// Count from this date (YYYY-MM-DD) or time (YYYY-MM-DDTHH:MM) instead of now.
        #[arg(long, value_parser = crate::calendar::parse_now)]
        now: Option<chrono::NaiveDateTime>,
    },
    /// Run ticks in-process on a cron schedule; SIGTERM or Ctrl-C stops it between changes.
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
    },
    /// Show the settings kept in the state directory; change the ones given.
    Settings {
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
    Replay {
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=12))]
        week: u32,
        /// Name of a new database to build on the target's server.
        #[arg(long)]
        into: Option<String>,
        /// Seed to print under [default: the original run's, from the state directory].
        #[arg(long, conflicts_with = "into")]
        seed: Option<u64>,
    },
    /// Unified diff of the expected findings between two points: week:N (from the ledger) or
    /// expected-findings.json files.
    Diff {
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
    },
    /// Validate the roadmap, personas and templates.
    ///
    /// Reports each problem with file, line and what to do; exit code 2 when there are problems.
    /// Touches no database.
    Check,
    /// Show the roadmap's changes: author, title, slip points and which slip under the seed.
    /// Touches no database.
    Plan {
        /// Only this week.
        #[arg(long)]
        week: Option<u32>,
        /// Run seed [default: the state directory's run, else 42].
        #[arg(long)]
        seed: Option<u64>,
    },
    /// Print a change's SQL as the persona writes it under the seed (or clean). Touches no database.
    Render {
        change_id: String,
        /// Run seed [default: the state directory's run, else 42].
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
    Score(ScoreArgs),
    /// Show the target, the seed, the sim day and what has been applied.
    Status,
    /// Fill the base schema with data at --scale (default 0.01), over several connections.
    ///
    /// On a fresh database it initialises first. Refuses a database that already has changes
    /// applied or data at another scale.
    Seed,
    /// Run the app's read/write mix of the features live now with pgbench and record the
    /// statistics the statistics-verified findings are judged against.
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
    },
    /// Print week N's report, or rewrite the journal files.
    ///
    /// With --week: who did what, what slipped and why it passed review, the clean / as-written
    /// diff. Without: rewrite every journal file from the ledger.
    Journal {
        #[arg(long)]
        week: Option<u32>,
    },
}

/// `score`: see README "Scoring your tool".
#[derive(Args, Debug)]
pub struct ScoreArgs {
    /// The detector's output file.
    #[arg(long)]
    pub report: PathBuf,
    /// squawk-json: `squawk --reporter json state/migrations/*.sql`; eugene-json: `eugene
    /// lint --format json --accept-failures state/migrations/`; sarif: SARIF 2.1.0; lines:
    /// `file:line: rule message`; findings-json: {"kind" or "code", "object"} entries.
    #[arg(long, value_enum)]
    pub report_format: ReportFormat,
    #[arg(long, value_enum, default_value_t = ScoreFormat::Table)]
    pub format: ScoreFormat,
    /// Score against the findings open now, or every finding ever opened [default: all for
    /// the linter formats (a linter reads the history), open for findings-json].
    #[arg(long, value_enum)]
    pub against: Option<Against>,
    /// Score only findings on tables of at least this many MB (on both sides), to compare
    /// fairly with a tool that skips small tables, e.g. --min-table-mb 10.
    #[arg(long)]
    pub min_table_mb: Option<f64>,
    /// Count the judgement calls too (findings where reasonable tools disagree, shown apart
    /// and left out of the counts by default).
    #[arg(long)]
    pub strict: bool,
    /// Exit 1 when the kind's (or code's) recall or precision is below R, e.g.
    /// `--fail-under blocking_index_build=0.9 --fail-under L004=100%`. Repeatable.
    #[arg(long, value_name = "KIND=R", value_parser = parse_threshold)]
    pub fail_under: Vec<(String, f64)>,
}

/// `KIND=R`: a kind or code and a ratio (`0.9`) or a percentage (`90%`).
pub fn parse_threshold(text: &str) -> Result<(String, f64), String> {
    let (name, value) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?}: expected KIND=R, e.g. blocking_index_build=0.9"))?;
    let ratio = match value.trim().strip_suffix('%') {
        Some(pct) => pct.trim().parse::<f64>().map(|v| v / 100.0),
        None => value.trim().parse::<f64>(),
    }
    .map_err(|_| format!("{text:?}: {value:?} is not a ratio (0.9) or a percentage (90%)"))?;
    if !(0.0..=1.0).contains(&ratio) || name.trim().is_empty() {
        return Err(format!(
            "{text:?}: expected KIND=R with R between 0 and 1 (or 0% and 100%)"
        ));
    }
    Ok((name.trim().to_string(), ratio))
}

#[derive(Args, Debug)]
pub struct InitArgs {
    /// Run seed: every slip decision derives from it and the change id [default: 42].
    #[arg(long)]
    pub seed: Option<u64>,
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
    EugeneJson,
    Sarif,
    /// `file:line: rule message` (also `file:line:col:` and `file:line:col: warning:`).
    Lines,
    FindingsJson,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScoreFormat {
    Table,
    Json,
    Markdown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Against {
    Open,
    All,
}

/// `30s`, `2m`, `1h`, `500ms` or plain seconds.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !(c.is_ascii_digit() || c == '.')) {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration such as 30s, 2m or 1h"))?;
    let seconds = match unit {
        "ms" => value / 1000.0,
        "s" | "" => value,
        "m" | "min" => value * 60.0,
        "h" => value * 3600.0,
        _ => {
            return Err(format!(
                "{text:?}: unknown unit {unit:?} (use ms, s, m or h)"
            ))
        }
    };
    if !(seconds.is_finite() && seconds > 0.0 && seconds < 86_400.0 * 7.0) {
        return Err(format!(
            "{text:?}: give a duration above zero and under a week"
        ));
    }
    Ok(std::time::Duration::from_secs_f64(seconds))
}

impl Command {
    /// Commands that write to a database run the whole `check` first (README "Operating it").
    pub fn validates_inputs(&self) -> bool {
        matches!(
            self,
            Command::Init(_)
                | Command::Run { .. }
                | Command::Tick { .. }
                | Command::Daemon { .. }
                | Command::Seed
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
            Command::Seed => "seed",
            Command::Workload { .. } => "workload",
            Command::Replay { into: Some(_), .. } => "replay",
            Command::Journal { week: None } => "journal",
            _ => return None,
        })
    }
}
