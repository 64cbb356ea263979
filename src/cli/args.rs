//! The arguments of single commands (`init`, `score`, `db`) and the values options take, with
//! their parsers.

use std::path::PathBuf;

use chrono::NaiveDate;
use clap::{Args, Subcommand, ValueEnum};

use super::{DbArgs, WriteArgs};

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
    /// table (aligned columns), json or markdown (with the misses and false alarms listed).
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
    #[command(flatten)]
    pub db: DbArgs,
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
    /// The real date of week 1 Monday, e.g. --start-date 2026-01-05 [default: today, or the
    /// next working day].
    #[arg(long)]
    pub start_date: Option<NaiveDate>,
    /// Initialise even though the database already holds tables of its own (or is `postgres`).
    /// It never re-initialises a database engineer-sim already initialised.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub write: WriteArgs,
}

#[derive(Subcommand, Debug)]
pub enum DbAction {
    /// Create (initdb) and start the embedded cluster if needed.
    Start,
    /// Stop the embedded cluster.
    Stop,
    /// Say whether the embedded cluster exists and runs.
    Status,
    /// Print the connection URL of the embedded database (named by the roadmap).
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
