//! The app's workload, driven by pgbench (PostgreSQL's standard load engine) with one custom
//! script per query of the features live at the current sim day. Every query runs once first, so
//! which indexes are used never depends on chance; then the weighted mix runs over N clients.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use sqlx::PgConnection;

use super::growth::DataPlan;
use super::stats::Stats;
use super::waits::APP_NAME;
use super::{Compiled, Scope};
use crate::error::{bad_input, environment, Exit, UserError};

/// What to run.
#[derive(Debug, Clone)]
pub struct Mix {
    pub duration: Duration,
    pub clients: u32,
    /// Total transactions per second across clients (`pgbench -R`); unlimited when `None`.
    pub rate: Option<f64>,
    /// pgbench's per-second progress lines on stderr.
    pub progress: bool,
}

/// What pgbench reported.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Report {
    pub queries: usize,
    pub clients: u32,
    pub duration_ms: u128,
    pub transactions: u64,
    pub failed: u64,
    pub tps: f64,
    pub latency_ms: Option<f64>,
    pub latency_stddev_ms: Option<f64>,
}

/// One rendered query, written as a pgbench script.
#[derive(Debug, Clone)]
pub struct Script {
    pub name: String,
    pub weight: u64,
    pub path: PathBuf,
    pub source: String,
}

/// Renders the queries of the base and the applied changes into pgbench scripts under `dir`.
pub fn write_scripts(
    plan: &DataPlan,
    applied: &[String],
    scope: &Scope,
    dir: &Path,
) -> Result<Vec<Script>> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let ctx = scope.context();
    let mut scripts = Vec::new();
    for (n, (id, file, query)) in plan.queries(applied).into_iter().enumerate() {
        let name = format!("{} (query `{}`)", file.path.display(), query.name);
        let sql = Compiled::new(&name, &query.sql, &file.macros)?.render(&name, &ctx)?;
        let path = dir.join(format!("{n:03}_{id}_{}.sql", query.name));
        std::fs::write(&path, &sql).with_context(|| format!("writing {}", path.display()))?;
        scripts.push(Script {
            name: format!("{id}/{}", query.name),
            weight: query.weight.max(1),
            path,
            source: name,
        });
    }
    Ok(scripts)
}

/// pgbench from the server's bin directory, else PATH, else the standard places.
pub fn find_pgbench(bin_dir: Option<&Path>) -> Result<PathBuf> {
    let mut candidates: Vec<PathBuf> = bin_dir.map(|d| d.join("pgbench")).into_iter().collect();
    if let Some(path) = std::env::var_os("PATH") {
        candidates.extend(std::env::split_paths(&path).map(|d| d.join("pgbench")));
    }
    if let Ok(entries) = std::fs::read_dir("/usr/lib/postgresql") {
        let mut dirs: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        dirs.sort();
        candidates.extend(
            dirs.into_iter()
                .rev()
                .map(|d| d.join("bin").join("pgbench")),
        );
    }
    candidates.into_iter().find(|p| p.is_file()).ok_or_else(|| {
        environment("pgbench not found (beside the PostgreSQL server, on PATH, or in /usr/lib/postgresql/*/bin)")
            .with_hint("install PostgreSQL's client tools (Debian: postgresql-client, macOS: brew install postgresql@16)")
            .into()
    })
}

/// What one query did when it ran alone: the indexes it scanned and the tables it read
/// sequentially.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueryUsage {
    pub indexes: BTreeSet<String>,
    pub seq_tables: BTreeSet<String>,
}

/// Runs every script once (reading on `conn` what each did), then the mix; returns pgbench's
/// figures and each query's usage by script name.
pub async fn run(
    conn: &mut PgConnection,
    pgbench: &Path,
    url: &str,
    scripts: &[Script],
    mix: &Mix,
) -> Result<(Report, BTreeMap<String, QueryUsage>)> {
    let per_query = check_scripts(pgbench, url, scripts, Some(conn)).await?;
    let grouped;
    let scripts = if scripts.len() > MAX_SCRIPTS {
        grouped = group_by_feature(scripts)?;
        &grouped[..]
    } else {
        scripts
    };
    let secs = mix.duration.as_secs_f64().ceil().max(1.0) as u64;
    let mut cmd = mix_command(pgbench, scripts, mix.clients, secs);
    if mix.progress {
        cmd.args(["-P", "1"]);
    }
    if let Some(rate) = mix.rate {
        cmd.args(["-R", &format!("{rate}")]);
    }
    // pgbench wants the database last.
    cmd.arg(url);
    cmd.stderr(if mix.progress {
        Stdio::inherit()
    } else {
        Stdio::piped()
    });
    let started = Instant::now();
    let out = cmd
        .output()
        .await
        .with_context(|| format!("running {}", pgbench.display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(UserError::new(
            Exit::Mismatch,
            format!(
                "pgbench failed: {} {}",
                stdout.lines().last().unwrap_or(""),
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        )
        .into());
    }
    let report = Report {
        queries: scripts.len(),
        clients: mix.clients,
        duration_ms: started.elapsed().as_millis(),
        transactions: number_after(&stdout, "number of transactions actually processed:")
            .unwrap_or(0.0) as u64,
        failed: failed(&stdout),
        tps: number_after(&stdout, "tps =").unwrap_or(0.0),
        latency_ms: number_after(&stdout, "latency average ="),
        latency_stddev_ms: number_after(&stdout, "latency stddev ="),
    };
    Ok((report, per_query))
}

/// Runs every script once on its own: a query that fails is reported with the data file it
/// came from, before any load starts, and which indexes the mix uses never depends on chance.
/// With `usage_conn`, the statistics around each run say what that query did (nothing else runs
/// meanwhile: the mix has not started).
pub async fn check_scripts(
    pgbench: &Path,
    url: &str,
    scripts: &[Script],
    mut usage_conn: Option<&mut PgConnection>,
) -> Result<BTreeMap<String, QueryUsage>> {
    let mut usage = BTreeMap::new();
    if scripts.is_empty() {
        return Err(bad_input(
            "no queries to run: the data files of the applied changes define none",
        )
        .with_hint("queries live in the `queries:` list of each data file (docs/data-files.md)")
        .into());
    }
    // Nothing runs between two scripts: one script's "after" is the next one's "before".
    let mut before = match usage_conn.as_deref_mut() {
        Some(conn) => Some(scans(conn).await?),
        None => None,
    };
    for script in scripts {
        let out = pgbench_command(pgbench)
            .args(["-n", "-t", "1", "-c", "1", "-f"])
            .arg(&script.path)
            .arg(url)
            .output()
            .await
            .with_context(|| format!("running {}", pgbench.display()))?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() || failed(&stdout) > 0 {
            return Err(UserError::new(
                Exit::BadInput,
                format!(
                    "{}: the query failed under pgbench: {}",
                    script.source,
                    String::from_utf8_lossy(&out.stderr).trim()
                ),
            )
            .with_hint(format!("the rendered script is {}", script.path.display()))
            .into());
        }
        if let (Some(conn), Some(was)) = (usage_conn.as_deref_mut(), before.as_ref()) {
            wait_for_clients(conn).await?;
            let now = scans(conn).await?;
            let mut did = QueryUsage::default();
            for (key, count) in &now {
                if *count > was.get(key).copied().unwrap_or(0) {
                    let (access, relation) = key;
                    match access.as_str() {
                        "index" => did.indexes.insert(relation.clone()),
                        _ => did.seq_tables.insert(relation.clone()),
                    };
                }
            }
            usage.insert(script.name.clone(), did);
            before = Some(now);
        }
    }
    Ok(usage)
}

/// The scan counters of every user index and table: ("index", index) -> idx_scan,
/// ("seq", table) -> seq_scan. Lighter than [`Stats::read`]: no sizes.
async fn scans(conn: &mut PgConnection) -> Result<BTreeMap<(String, String), i64>> {
    let rows: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT 'index', format('%s.%s', schemaname, indexrelname), coalesce(idx_scan, 0)
         FROM pg_stat_user_indexes WHERE schemaname <> 'engineer_sim'
         UNION ALL
         SELECT 'seq', format('%s.%s', schemaname, relname), coalesce(seq_scan, 0)
         FROM pg_stat_user_tables WHERE schemaname <> 'engineer_sim'",
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|(a, r, n)| ((a, r), n)).collect())
}

/// pgbench running the weighted mix over `clients` for `secs`; the caller adds its options,
/// then the URL.
fn mix_command(
    pgbench: &Path,
    scripts: &[Script],
    clients: u32,
    secs: u64,
) -> tokio::process::Command {
    let threads = clients.min(available_cores()).max(1);
    let mut cmd = pgbench_command(pgbench);
    cmd.args(["-n", "-c", &clients.to_string(), "-j", &threads.to_string()])
        .args(["-T", &secs.to_string()]);
    for script in scripts {
        cmd.arg("-f")
            .arg(format!("{}@{}", script.path.display(), script.weight));
    }
    cmd
}

/// The app kept running by `daemon --workload`: pgbench with the live features' mix, until
/// stopped or restarted with a new mix. Its errors go to `pgbench.log` beside its scripts.
pub struct Live {
    child: tokio::process::Child,
    /// The scripts' names (`change/query`): a different list is a different mix.
    pub mix: Vec<String>,
}

/// A year: the daemon's pgbench runs until it is stopped.
const LIVE_SECS: u64 = 365 * 24 * 3600;

impl Live {
    /// Starts the mix; the caller checked the scripts (`check_scripts`).
    pub async fn start(
        pgbench: &Path,
        url: &str,
        scripts: &[Script],
        clients: u32,
        log: &Path,
    ) -> Result<Live> {
        let grouped;
        let run = if scripts.len() > MAX_SCRIPTS {
            grouped = group_by_feature(scripts)?;
            &grouped[..]
        } else {
            scripts
        };
        let log_file =
            std::fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
        let mut cmd = mix_command(pgbench, run, clients, LIVE_SECS);
        // A deadlock with a change (both lock two tables) fails the app's transaction, not the
        // client: it is retried, as an app would.
        cmd.args(["--max-tries", "0"])
            .arg(url)
            .stdout(Stdio::null())
            .stderr(log_file)
            .kill_on_drop(true);
        let child = cmd
            .spawn()
            .with_context(|| format!("running {}", pgbench.display()))?;
        Ok(Live {
            child,
            mix: scripts.iter().map(|s| s.name.clone()).collect(),
        })
    }

    /// Whether pgbench still runs (a client that hit an error other than a deadlock ends it).
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// pgbench accepts at most 128 scripts.
const MAX_SCRIPTS: usize = 128;

/// One script per feature (its queries in sequence, weighted by their sum) when there are more
/// queries than pgbench takes scripts.
fn group_by_feature(scripts: &[Script]) -> Result<Vec<Script>> {
    let mut groups: Vec<Script> = Vec::new();
    for script in scripts {
        let feature = script.name.split('/').next().unwrap_or("").to_string();
        let text = std::fs::read_to_string(&script.path)?;
        match groups.last_mut() {
            Some(g) if g.name == feature => {
                let mut all = std::fs::read_to_string(&g.path)?;
                all.push('\n');
                all.push_str(&text);
                std::fs::write(&g.path, all)?;
                g.weight += script.weight;
            }
            _ => {
                let path = script.path.with_file_name(format!("group_{feature}.sql"));
                std::fs::write(&path, &text)?;
                groups.push(Script {
                    name: feature,
                    weight: script.weight,
                    path,
                    source: script.source.clone(),
                });
            }
        }
    }
    Ok(groups)
}

/// The app's session settings. `random_page_cost` 1.1 is the usual production setting on SSD
/// storage (the default 4 models spinning disks): with it the planner uses an index on a small
/// table as a tuned server would, and which indexes the workload uses does not depend on the
/// target server's own setting (README "A living database").
const APP_SESSION: &str = "-c TimeZone=UTC -c random_page_cost=1.1";

/// pgbench with the workload's session settings; the caller adds the options, then the URL.
fn pgbench_command(pgbench: &Path) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(pgbench);
    cmd.env("PGOPTIONS", APP_SESSION)
        .env("PGAPPNAME", APP_NAME)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

fn available_cores() -> u32 {
    std::thread::available_parallelism()
        .map(|n| n.get() as u32)
        .unwrap_or(2)
}

fn failed(stdout: &str) -> u64 {
    number_after(stdout, "number of failed transactions:").unwrap_or(0.0) as u64
}

/// The first number after `label` on the line that has it (`tps = 123.4 (...)`, `x: 5/5`).
fn number_after(text: &str, label: &str) -> Option<f64> {
    let line = text.lines().find(|l| l.trim_start().starts_with(label))?;
    let rest = line.trim_start()[label.len()..].trim_start();
    let number: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    number.parse().ok()
}

/// Waits until the workload's connections are gone: a backend flushes its statistics as it
/// exits, and pgbench does not wait for that.
pub async fn wait_for_clients(conn: &mut PgConnection) -> Result<()> {
    for _ in 0..400 {
        let left: i64 =
            sqlx::query_scalar("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1")
                .bind(APP_NAME)
                .fetch_one(&mut *conn)
                .await?;
        if left == 0 {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Ok(())
}

/// Records a workload run and the statistics it is judged against.
pub async fn record(
    conn: &mut PgConnection,
    sim_day: u32,
    report: &Report,
    usage: &Stats,
    per_query: &BTreeMap<String, QueryUsage>,
) -> Result<i32> {
    let id: i32 = sqlx::query_scalar(
        "INSERT INTO engineer_sim.workloads
           (sim_day, clients, duration_ms, transactions, tps, latency_ms, queries)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(sim_day as i32)
    .bind(report.clients as i32)
    .bind(report.duration_ms as i64)
    .bind(report.transactions as i64)
    .bind(report.tps)
    .bind(report.latency_ms)
    .bind(report.queries as i32)
    .fetch_one(&mut *conn)
    .await?;
    for (index, (table, scans)) in &usage.indexes {
        sqlx::query(
            "INSERT INTO engineer_sim.index_usage (workload_id, index_name, table_name, idx_scan)
             VALUES ($1, $2, $3, $4)",
        )
        .bind(id)
        .bind(index)
        .bind(table)
        .bind(scans)
        .execute(&mut *conn)
        .await?;
    }
    for (table, t) in &usage.tables {
        sqlx::query(
            "INSERT INTO engineer_sim.table_usage
               (workload_id, table_name, seq_scan, seq_tup_read, idx_scan, n_live_tup, n_dead_tup, total_bytes)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(id)
        .bind(table)
        .bind(t.seq_scan)
        .bind(t.seq_tup_read)
        .bind(t.idx_scan)
        .bind(t.n_live_tup)
        .bind(t.n_dead_tup)
        .bind(t.total_bytes)
        .execute(&mut *conn)
        .await?;
    }
    for (query, did) in per_query {
        let accesses = did
            .indexes
            .iter()
            .map(|i| (i, "index"))
            .chain(did.seq_tables.iter().map(|t| (t, "seq")));
        for (relation, access) in accesses {
            sqlx::query(
                "INSERT INTO engineer_sim.query_usage (workload_id, query, relation, access)
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(id)
            .bind(query)
            .bind(relation)
            .bind(access)
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::number_after;

    #[test]
    fn reads_pgbench_figures() {
        let out = "number of transactions actually processed: 1234/1234\n\
                   number of failed transactions: 0 (0.000%)\n\
                   latency average = 1.617 ms\n\
                   tps = 618.123456 (without initial connection time)\n";
        assert_eq!(
            number_after(out, "number of transactions actually processed:"),
            Some(1234.0)
        );
        assert_eq!(number_after(out, "latency average ="), Some(1.617));
        assert_eq!(number_after(out, "tps ="), Some(618.123456));
        assert_eq!(number_after(out, "latency stddev ="), None);
    }
}
