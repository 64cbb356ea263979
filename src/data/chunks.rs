//! The data work that runs over several connections at once: a step's chunks, each in its own
//! transaction with the record that it is done, and independent statements (index builds,
//! maintenance).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use anyhow::{anyhow, Result};
use sqlx::{Connection, Executor, PgConnection};

use super::run::{data_connection, Runner};
use super::{Compiled, Scope};
use crate::error::{Exit, UserError};

/// Rows per chunk: big enough that a chunk's own cost (a transaction, a ledger row) vanishes,
/// small enough that a few connections share a step evenly and a resumed run loses little.
pub(super) const CHUNK_ROWS: u64 = 25_000;

/// The smallest chunk a step is cut into to share it among connections: a chunk costs a
/// transaction and a ledger row (about a millisecond), so at the playground scale a day's steps of
/// a few hundred rows are still shared, and no connection idles while another writes.
const MIN_CHUNK_ROWS: u64 = 250;

/// Chunks a step is cut into at least, when it is big enough, so that two connections share it
/// (bigger steps are cut into many chunks of [`CHUNK_ROWS`] anyway; more, smaller chunks made a
/// playground run a quarter slower, each chunk planning its statement again). The cut depends on
/// the step's rows alone, never on the number of connections: a killed step resumes by its
/// chunks' first rows, so a resumed run must cut it the same way.
const SHARES: u64 = 2;

/// `first..=last` in chunks of about [`CHUNK_ROWS`], at least [`SHARES`] of them when the step
/// is big enough to share.
pub(super) fn chunk_ranges(first: i64, last: i64) -> Vec<(i64, i64)> {
    if last < first {
        return Vec::new();
    }
    let rows = (last - first + 1) as u64;
    let size = CHUNK_ROWS
        .min(rows.div_ceil(SHARES).max(MIN_CHUNK_ROWS))
        .max(1) as i64;
    let mut chunks = Vec::new();
    let mut lo = first;
    while lo <= last {
        let hi = (lo + size - 1).min(last);
        chunks.push((lo, hi));
        lo = hi + 1;
    }
    chunks
}

/// One step of a phase, ready to render any of its chunks.
pub(super) struct Work {
    pub(super) phase: String,
    pub(super) index: usize,
    /// The step's name (its counter).
    pub(super) step_name: String,
    /// The step with the file it came from, for messages.
    pub(super) name: String,
    pub(super) compiled: Compiled,
    pub(super) scope: Scope,
    pub(super) range: (i64, i64),
}

impl Work {
    pub(super) fn sql_for(&self, lo: i64, hi: i64) -> Result<String> {
        let mut ctx = self.scope.context();
        ctx.insert("lo", &lo);
        ctx.insert("hi", &hi);
        ctx.insert("first", &self.range.0);
        ctx.insert("last", &self.range.1);
        ctx.insert("rows", &(self.range.1 - self.range.0 + 1));
        self.compiled.render(&self.name, &ctx)
    }
}

/// Runs independent pieces of work over up to `runner.jobs` data connections at once: each piece
/// is a list of statements run in order on one connection, each committing on its own.
pub async fn run_parallel(runner: &Runner, setup: &str, pieces: Vec<Vec<String>>) -> Result<()> {
    let connections = runner.jobs.max(1).min(pieces.len());
    let queue = Arc::new(Mutex::new(VecDeque::from(pieces)));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..connections {
        let mut conn = data_connection(runner).await?;
        if !setup.is_empty() {
            conn.execute(setup).await?;
        }
        let queue = queue.clone();
        tasks.spawn(async move {
            loop {
                let next = queue.lock().ok().and_then(|mut q| q.pop_front());
                let Some(piece) = next else {
                    return Ok::<(), anyhow::Error>(());
                };
                run_statements(&mut conn, &piece).await?;
            }
        });
    }
    while let Some(joined) = tasks.join_next().await {
        joined.map_err(|err| anyhow!("a data connection's task failed: {err}"))??;
    }
    Ok(())
}

/// Boxed for the same reason as [`run_chunk`].
fn run_statements<'a>(
    conn: &'a mut PgConnection,
    statements: &'a [String],
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<()>> + Send + 'a>> {
    Box::pin(async move {
        for sql in statements.iter().filter(|s| !s.is_empty()) {
            conn.execute(sql.as_str())
                .await
                .map_err(|err| anyhow!("{err}\n  while running: {sql}"))?;
        }
        Ok(())
    })
}

/// Boxed so that the future's type is erased: sqlx's executor bounds are higher-ranked, which
/// the compiler cannot prove for an unboxed future moved into a spawned task.
pub(super) fn run_chunk<'a>(
    conn: &'a mut PgConnection,
    work: &'a Work,
    lo: i64,
    hi: i64,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<u64>> + Send + 'a>> {
    Box::pin(async move {
        let sql = work.sql_for(lo, hi)?;
        conn.execute("BEGIN").await?;
        let result = conn.execute(sql.as_str()).await;
        let rows = match result {
            Ok(done) => done.rows_affected(),
            Err(err) => {
                conn.execute("ROLLBACK").await?;
                let (state, message) = match &err {
                    sqlx::Error::Database(db) => (
                        db.code().map(|c| c.to_string()).unwrap_or_default(),
                        db.message().to_string(),
                    ),
                    other => (String::new(), other.to_string()),
                };
                return Err(UserError::new(
                Exit::ApplyFailed,
                format!(
                    "{}: rows {lo}..{hi} of phase {} failed and were rolled back: {state} {message}",
                    work.name, work.phase
                ),
            )
            .with_hint("fix the step's SQL (`engineer-sim check` renders it); the next run resumes from here")
            .into());
            }
        };
        sqlx::query(
        "INSERT INTO engineer_sim.data_chunks (phase, step, lo, rows_written) VALUES ($1, $2, $3, $4)",
    )
    .bind(&work.phase)
    .bind(work.index as i32)
    .bind(lo)
    .bind(rows as i64)
    .execute(&mut *conn)
    .await?;
        conn.execute("COMMIT").await?;
        Ok(rows)
    })
}

/// Records step `index` of `phase` done and moves its counter on, in one transaction.
pub(super) async fn finish_step(
    conn: &mut PgConnection,
    phase: &str,
    index: usize,
    name: &str,
    last: i64,
) -> Result<()> {
    let mut tx = conn.begin().await?;
    sqlx::query(
        "UPDATE engineer_sim.data_steps SET done = true, finished_at = clock_timestamp(),
                rows_written = (SELECT coalesce(sum(rows_written), 0) FROM engineer_sim.data_chunks
                                WHERE phase = $1 AND step = $2)
         WHERE phase = $1 AND step = $2",
    )
    .bind(phase)
    .bind(index as i32)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO engineer_sim.data_counters (name, n) VALUES ($1, $2)
         ON CONFLICT (name) DO UPDATE SET n = greatest(data_counters.n, excluded.n)",
    )
    .bind(name)
    .bind(last)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

pub(super) fn progress_bar(show: bool, total: u64, phase: &str) -> indicatif::ProgressBar {
    if !show {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{msg:>12} [{bar:40}] {human_pos}/{human_len} rows  {per_sec}  eta {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.set_message(phase.to_string());
    bar
}

#[cfg(test)]
mod tests {
    use super::chunk_ranges;

    #[test]
    fn chunks_cover_the_range_once() {
        for (first, last) in [(1, 1), (1, 100_000), (7, 60_006), (5, 4), (1, 1000)] {
            let chunks = chunk_ranges(first, last);
            let mut next = first;
            for (lo, hi) in &chunks {
                assert_eq!(*lo, next);
                assert!(hi >= lo);
                next = hi + 1;
            }
            assert_eq!(next, if last < first { first } else { last + 1 });
        }
        assert_eq!(chunk_ranges(1, 100_000).len(), 4);
        assert_eq!(chunk_ranges(1, 1000).len(), 2);
        assert_eq!(chunk_ranges(1, 250).len(), 1);
    }
}
