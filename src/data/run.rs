//! Runs data steps: each step's range of `n` is cut into chunks that several connections write at
//! once (data/chunks.rs), each chunk in its own transaction together with the record that it is
//! done, so a run killed half-way resumes where it stopped and never writes a row twice. This
//! file keeps the phases' bookkeeping and the data connections.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use sqlx::PgConnection;

use super::chunks::{chunk_ranges, progress_bar, Work, CHUNK_ROWS};
use super::queue::{tables_read, Queue};
use super::{Compiled, Scope, Step};

const SCHEMA_SQL: &str = include_str!("schema.sql");
const FUNCTIONS_SQL: &str = include_str!("functions.sql");

/// How the steps run: where, with which seed, over how many connections.
#[derive(Debug, Clone)]
pub struct Runner {
    pub url: String,
    pub seed: u64,
    pub jobs: usize,
    /// Draw a progress bar (on a terminal only).
    pub progress: bool,
    /// A bulk load (the seed): skip the foreign-key triggers, as `pg_restore` does (the
    /// generated rows reference only rows generated before them; a test checks every key), and
    /// run the steps side by side when no step's plan reads a table (data/queue.rs).
    pub bulk: bool,
}

/// A step with the file it came from, for messages, and that file's macros.
pub struct Sourced<'a> {
    pub step: &'a Step,
    pub source: String,
    pub macros: &'a str,
}

/// What a phase wrote.
#[derive(Debug, Default, Clone, Copy)]
pub struct Written {
    /// The phase's rows, those an earlier, killed run wrote included: the same for the same
    /// seed however often the phase was resumed.
    pub rows: u64,
    /// What this run measured of it: the database's growth and the time taken.
    pub bytes: i64,
    pub elapsed: Duration,
}

impl Written {
    pub fn rows_per_s(&self) -> f64 {
        self.rows as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    pub fn mb_per_s(&self) -> f64 {
        self.bytes.max(0) as f64 / 1e6 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Creates the data tables and helper functions (idempotent). On a connection that has the run
/// seed set ([`set_seed`]) the functions take it as a constant (data/functions.sql says why).
pub async fn ensure_schema(conn: &mut PgConnection) -> Result<()> {
    sqlx::raw_sql(SCHEMA_SQL).execute(&mut *conn).await?;
    sqlx::raw_sql(FUNCTIONS_SQL).execute(&mut *conn).await?;
    Ok(())
}

/// Sets the run seed on this connection, for the helper functions.
pub async fn set_seed(conn: &mut PgConnection, seed: u64) -> Result<()> {
    sqlx::query("SELECT set_config('engineer_sim.seed', $1, false)")
        .bind(seed.to_string())
        .execute(conn)
        .await?;
    Ok(())
}

/// Whether the ledger has this (data) table: empty-mode ledgers never get them.
pub async fn has_ledger_table(conn: &mut PgConnection, table: &str) -> Result<bool> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                        WHERE n.nspname = 'engineer_sim' AND c.relname = $1)",
    )
    .bind(table)
    .fetch_one(conn)
    .await?)
}

/// The counters as they stand.
pub async fn counters(conn: &mut PgConnection) -> Result<BTreeMap<String, i64>> {
    let rows: Vec<(String, i64)> = sqlx::query_as("SELECT name, n FROM engineer_sim.data_counters")
        .fetch_all(conn)
        .await?;
    Ok(rows.into_iter().collect())
}

/// Runs `steps` as phase `phase`, skipping what an earlier, interrupted run finished: in file
/// order, or side by side for a bulk load (data/queue.rs says why).
pub async fn run_phase(
    conn: &mut PgConnection,
    runner: &Runner,
    phase: &str,
    steps: &[Sourced<'_>],
    scope: &Scope,
) -> Result<Written> {
    if steps.is_empty() {
        return Ok(Written::default());
    }
    let started = Instant::now();
    let size_before = database_size(conn).await?;
    let total: u64 = steps.iter().map(|s| s.step.scaled_rows(scope.scale)).sum();
    let bar = progress_bar(runner.progress && total > CHUNK_ROWS, total, phase);
    // Each step's counters are those the steps before it leave, whether or not they ran yet.
    let mut counts = known_counts(conn, &scope.counts).await?;
    let mut works = Vec::new();
    for (index, sourced) in steps.iter().enumerate() {
        let step = sourced.step;
        let counter = counts.get(&step.name).copied().unwrap_or(0);
        let Some(range) = step_range(conn, phase, index, sourced, scope.scale, counter).await?
        else {
            bar.inc(step.scaled_rows(scope.scale));
            continue;
        };
        let mut scope = scope.clone();
        scope.counts = counts.clone();
        let counter = counts.entry(step.name.clone()).or_insert(0);
        *counter = (*counter).max(range.1);
        let name = format!("{} (step `{}`)", sourced.source, step.name);
        let compiled = Compiled::new(&name, &step.sql, sourced.macros)?;
        let done = done_chunks(conn, phase, index).await?;
        let chunks: VecDeque<(i64, i64)> = chunk_ranges(range.0, range.1)
            .into_iter()
            .filter(|(lo, _)| !done.contains(lo))
            .collect();
        let left: i64 = chunks.iter().map(|(lo, hi)| hi - lo + 1).sum();
        bar.inc((range.1 - range.0 + 1 - left) as u64);
        let work = Work {
            phase: phase.to_string(),
            index,
            step_name: step.name.clone(),
            name,
            compiled,
            scope,
            range,
        };
        works.push((work, chunks));
    }
    let side_by_side = runner.bulk && reads_no_table(conn, &works).await?;
    let queue = Arc::new(Queue::new(works, side_by_side));
    let mut pool = Vec::new();
    while pool.len() < runner.jobs.min(queue.chunks()).max(1) {
        pool.push(data_connection(runner).await?);
    }
    let (pool, written) = queue.run(pool, &bar).await;
    for mut worker in pool {
        let _ = flush_stats(&mut worker).await;
    }
    written?;
    bar.finish_and_clear();
    Ok(Written {
        rows: phase_rows(conn, phase).await?,
        bytes: database_size(conn).await? - size_before,
        elapsed: started.elapsed(),
    })
}

/// The rows every chunk of `phase` wrote, whichever run wrote them.
async fn phase_rows(conn: &mut PgConnection, phase: &str) -> Result<u64> {
    let rows: i64 = sqlx::query_scalar(
        "SELECT coalesce(sum(rows_written), 0)::bigint FROM engineer_sim.data_chunks WHERE phase = $1",
    )
    .bind(phase)
    .fetch_one(conn)
    .await?;
    Ok(rows.max(0) as u64)
}

/// Whether no step of a bulk load reads a table, so that they may run side by side.
async fn reads_no_table(
    conn: &mut PgConnection,
    works: &[(Work, VecDeque<(i64, i64)>)],
) -> Result<bool> {
    for (work, chunks) in works {
        let Some(&(lo, hi)) = chunks.front() else {
            continue;
        };
        // A step the server cannot plan fails when it runs, with its own message (the file, the
        // step, its rows); until then it counts as reading.
        let read = match tables_read(conn, &work.sql_for(lo, hi)?).await {
            Ok(read) => read,
            Err(err) => vec![format!("(its plan failed: {err})")],
        };
        if !read.is_empty() {
            tracing::info!(
                "{} reads {}: the steps run in file order",
                work.name,
                read.join(", ")
            );
            return Ok(false);
        }
    }
    Ok(true)
}

/// The step's range of `n`: recorded when the step starts, so a resumed run reuses it. `None`
/// when the step is done already.
async fn step_range(
    conn: &mut PgConnection,
    phase: &str,
    index: usize,
    sourced: &Sourced<'_>,
    scale: f64,
    counter: i64,
) -> Result<Option<(i64, i64)>> {
    let recorded: Option<(i64, i64, bool)> = sqlx::query_as(
        "SELECT first_n, last_n, done FROM engineer_sim.data_steps WHERE phase = $1 AND step = $2",
    )
    .bind(phase)
    .bind(index as i32)
    .fetch_optional(&mut *conn)
    .await?;
    match recorded {
        Some((_, _, true)) => return Ok(None),
        Some((first, last, false)) => return Ok(Some((first, last))),
        None => {}
    }
    let step = sourced.step;
    let first = counter + 1;
    let last = first + step.scaled_rows(scale) as i64 - 1;
    sqlx::query(
        "INSERT INTO engineer_sim.data_steps (phase, step, name, source, first_n, last_n)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(phase)
    .bind(index as i32)
    .bind(&step.name)
    .bind(&sourced.source)
    .bind(first)
    .bind(last)
    .execute(&mut *conn)
    .await?;
    Ok(Some((first, last)))
}

/// Every counter, and 0 for the names the templates may use that nothing has advanced yet.
async fn known_counts(
    conn: &mut PgConnection,
    names: &BTreeMap<String, i64>,
) -> Result<BTreeMap<String, i64>> {
    let mut counts: BTreeMap<String, i64> = names.keys().map(|k| (k.clone(), 0)).collect();
    counts.extend(counters(conn).await?);
    Ok(counts)
}

async fn done_chunks(
    conn: &mut PgConnection,
    phase: &str,
    index: usize,
) -> Result<std::collections::HashSet<i64>> {
    let done: Vec<i64> = sqlx::query_scalar(
        "SELECT lo FROM engineer_sim.data_chunks WHERE phase = $1 AND step = $2",
    )
    .bind(phase)
    .bind(index as i32)
    .fetch_all(conn)
    .await?;
    Ok(done.into_iter().collect())
}

/// A connection for data work: the run seed for the helper functions, UTC, no timeout, and
/// asynchronous commit (a chunk and its ledger row are lost or kept together), no JIT (it can
/// cost seconds compiling a step that writes a hundred rows) and lz4 TOAST compression.
pub async fn data_connection(runner: &Runner) -> Result<PgConnection> {
    let mut conn = crate::pg::connect(&runner.url).await?;
    sqlx::raw_sql(&format!(
        "SET engineer_sim.seed = '{}'; SET TimeZone = 'UTC'; SET statement_timeout = 0; \
         SET synchronous_commit = off; SET jit = off",
        runner.seed
    ))
    .execute(&mut conn)
    .await?;
    // lz4 compresses the long texts several times faster than the default pglz (the seed spent
    // about a third of its time compressing comment bodies); servers built without it keep pglz.
    if let Err(err) = sqlx::raw_sql("SET default_toast_compression = lz4")
        .execute(&mut conn)
        .await
    {
        tracing::debug!("TOAST compression stays pglz: {err}");
    }
    if runner.bulk {
        // Needs a superuser (the embedded cluster's account is one); without, the triggers run.
        if let Err(err) = sqlx::raw_sql("SET session_replication_role = replica")
            .execute(&mut conn)
            .await
        {
            tracing::debug!("bulk load with foreign-key triggers: {err}");
        }
    }
    Ok(conn)
}

/// Statistics reach the views asynchronously; a data connection flushes its own before the
/// statistics are read (PostgreSQL 15+; older servers flush within a second anyway).
pub async fn flush_stats(conn: &mut PgConnection) -> Result<()> {
    let version: i32 = sqlx::query_scalar("SELECT current_setting('server_version_num')::int")
        .fetch_one(&mut *conn)
        .await?;
    if version >= 150000 {
        sqlx::query("SELECT pg_stat_force_next_flush()")
            .execute(&mut *conn)
            .await?;
        // The flush happens when the backend goes idle, so before it answers the next query.
        sqlx::query("SELECT 1").execute(&mut *conn).await?;
    }
    Ok(())
}

pub(crate) async fn database_size(conn: &mut PgConnection) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT pg_database_size(current_database())")
            .fetch_one(conn)
            .await?,
    )
}
