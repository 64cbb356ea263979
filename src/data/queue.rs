//! The chunks of a phase's steps, shared by the data connections. Each connection takes the
//! next chunk until none are left, and the connection that commits a step's last chunk records
//! the step done.
//!
//! Steps run one after another, in file order: a step may read the rows of the steps before it.
//! A bulk load's steps read no table (the seed: README "A living database"), so there they run
//! side by side: a connection takes a chunk of the step the fewest connections are writing. Two
//! connections then seldom insert into the same table, where they would queue for the lock that
//! extends it, and none idles while another finishes a step. A seed step whose plan reads a
//! table ([`tables_read`]) puts the seed back in file order, so a data file that breaks the rule
//! still gets the rows it asks for.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use anyhow::{anyhow, Result};
use sqlx::PgConnection;
use tokio::sync::Notify;

use super::chunks::{finish_step, run_chunk, Work};

/// The tables `sql` reads besides the one it writes, as its plan says: every scan node that
/// names a relation (a join, a subquery, a CTE over a table), not the insert's own target.
pub(super) async fn tables_read(conn: &mut PgConnection, sql: &str) -> Result<Vec<String>> {
    let statement = sql.trim_end().trim_end_matches(';');
    let plan: serde_json::Value =
        sqlx::query_scalar(&format!("EXPLAIN (FORMAT JSON, COSTS OFF) {statement}"))
            .fetch_one(conn)
            .await?;
    let mut read = Vec::new();
    collect_scans(&plan, &mut read);
    read.sort();
    read.dedup();
    Ok(read)
}

fn collect_scans(node: &serde_json::Value, read: &mut Vec<String>) {
    match node {
        serde_json::Value::Array(items) => items.iter().for_each(|i| collect_scans(i, read)),
        serde_json::Value::Object(fields) => {
            let writes = fields.get("Node Type").and_then(|t| t.as_str()) == Some("ModifyTable");
            if let (false, Some(name)) = (writes, fields.get("Relation Name")) {
                read.push(name.as_str().unwrap_or_default().to_string());
            }
            fields.values().for_each(|v| collect_scans(v, read));
        }
        _ => {}
    }
}

/// What a connection does next.
enum Take {
    Chunk(usize, i64, i64),
    /// Every chunk of the step is committed (some by an earlier, interrupted run): record it.
    Finish(usize),
    /// The next step waits for the current one's last chunks.
    Wait,
    Done,
}

#[derive(Default)]
struct StepState {
    pending: VecDeque<(i64, i64)>,
    writing: usize,
    /// A connection is recording the step done, or has.
    finishing: bool,
    finished: bool,
}

struct State {
    steps: Vec<StepState>,
    failed: bool,
}

pub(super) struct Queue {
    works: Vec<Work>,
    side_by_side: bool,
    state: Mutex<State>,
    changed: Notify,
}

impl Queue {
    /// `works` with the chunks each has left, in file order.
    pub(super) fn new(works: Vec<(Work, VecDeque<(i64, i64)>)>, side_by_side: bool) -> Self {
        let (works, steps): (Vec<Work>, Vec<StepState>) = works
            .into_iter()
            .map(|(work, pending)| {
                let state = StepState {
                    pending,
                    ..StepState::default()
                };
                (work, state)
            })
            .unzip();
        Queue {
            works,
            side_by_side,
            state: Mutex::new(State {
                steps,
                failed: false,
            }),
            changed: Notify::new(),
        }
    }

    pub(super) fn chunks(&self) -> usize {
        self.lock().steps.iter().map(|s| s.pending.len()).sum()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A connection's task never panics while holding the lock; recover the state if one did.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn take(&self) -> Take {
        let mut state = self.lock();
        if state.failed {
            return Take::Done;
        }
        let open: Vec<usize> = (0..state.steps.len())
            .filter(|&i| !state.steps[i].finished)
            .collect();
        let Some(&first) = open.first() else {
            return Take::Done;
        };
        let eligible: &[usize] = if self.side_by_side { &open } else { &open[..1] };
        if let Some(&i) = eligible.iter().find(|&&i| {
            let s = &state.steps[i];
            s.pending.is_empty() && s.writing == 0 && !s.finishing
        }) {
            state.steps[i].finishing = true;
            return Take::Finish(i);
        }
        let pick = eligible
            .iter()
            .copied()
            .filter(|&i| !state.steps[i].pending.is_empty())
            .min_by_key(|&i| (state.steps[i].writing, i));
        match pick {
            Some(i) => {
                let step = &mut state.steps[i];
                let Some((lo, hi)) = step.pending.pop_front() else {
                    return Take::Wait;
                };
                step.writing += 1;
                Take::Chunk(i, lo, hi)
            }
            // Side by side, what is left is being written by the other connections.
            None if self.side_by_side => Take::Done,
            None if state.steps[first].finishing || state.steps[first].writing > 0 => Take::Wait,
            None => Take::Done,
        }
    }

    /// A chunk of step `i` committed; whether it was the step's last.
    fn committed(&self, i: usize) -> bool {
        let mut state = self.lock();
        let step = &mut state.steps[i];
        step.writing -= 1;
        if step.pending.is_empty() && step.writing == 0 && !step.finishing {
            step.finishing = true;
            return true;
        }
        false
    }

    fn finished(&self, i: usize) {
        self.lock().steps[i].finished = true;
        self.changed.notify_waiters();
    }

    fn fail(&self) {
        self.lock().failed = true;
        self.changed.notify_waiters();
    }

    /// One connection's share: chunks until none are left. Returns the rows it wrote.
    async fn work(&self, conn: &mut PgConnection, bar: &indicatif::ProgressBar) -> Result<u64> {
        let mut written = 0;
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let finish = match self.take() {
                Take::Done => return Ok(written),
                Take::Wait => {
                    changed.await;
                    continue;
                }
                Take::Finish(i) => i,
                Take::Chunk(i, lo, hi) => {
                    let work = &self.works[i];
                    let rows = run_chunk(conn, work, lo, hi).await?;
                    written += rows;
                    bar.inc((hi - lo + 1) as u64);
                    if !self.committed(i) {
                        continue;
                    }
                    i
                }
            };
            let work = &self.works[finish];
            finish_step(conn, &work.phase, work.index, &work.step_name, work.range.1).await?;
            self.finished(finish);
        }
    }

    /// Runs every chunk over `pool`; the connections come back with the rows written.
    pub(super) async fn run(
        self: Arc<Self>,
        pool: Vec<PgConnection>,
        bar: &indicatif::ProgressBar,
    ) -> (Vec<PgConnection>, Result<u64>) {
        let mut tasks = tokio::task::JoinSet::new();
        for mut conn in pool {
            let queue = self.clone();
            let bar = bar.clone();
            tasks.spawn(async move {
                let result = queue.work(&mut conn, &bar).await;
                if result.is_err() {
                    // Let the other connections stop at their next chunk.
                    queue.fail();
                }
                (conn, result)
            });
        }
        let mut returned = Vec::new();
        let mut total = Ok(0u64);
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok((conn, result)) => {
                    returned.push(conn);
                    match (result, &mut total) {
                        (Ok(rows), Ok(sum)) => *sum += rows,
                        (Err(err), Ok(_)) => total = Err(err),
                        _ => {}
                    }
                }
                Err(join_err) => {
                    total = Err(anyhow!("a data connection's task failed: {join_err}"))
                }
            }
        }
        (returned, total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Compiled, Scope};

    fn queue(chunks: &[usize], side_by_side: bool) -> Queue {
        let date = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
        let works = chunks
            .iter()
            .enumerate()
            .map(|(index, &n)| {
                let work = Work {
                    phase: "test".into(),
                    index,
                    step_name: format!("s{index}"),
                    name: format!("s{index}"),
                    compiled: Compiled::new("s", "SELECT 1", "").unwrap(),
                    scope: Scope {
                        scale: 1.0,
                        seed: 1,
                        day: 0,
                        date,
                        start_date: date,
                        counts: Default::default(),
                    },
                    range: (1, n as i64),
                };
                (work, (1..=n as i64).map(|lo| (lo, lo)).collect())
            })
            .collect();
        Queue::new(works, side_by_side)
    }

    fn step_of(take: Take) -> Option<usize> {
        match take {
            Take::Chunk(i, ..) => Some(i),
            _ => None,
        }
    }

    #[test]
    fn in_file_order_a_step_waits_for_the_last_chunk_before_it() {
        let q = queue(&[2, 1], false);
        assert_eq!(step_of(q.take()), Some(0));
        assert_eq!(step_of(q.take()), Some(0));
        assert!(matches!(q.take(), Take::Wait), "step 1 waits for step 0");
        assert!(!q.committed(0));
        assert!(q.committed(0), "the second commit is step 0's last");
        assert!(matches!(q.take(), Take::Wait), "step 0 is being recorded");
        q.finished(0);
        assert_eq!(step_of(q.take()), Some(1));
        assert!(matches!(q.take(), Take::Wait));
        assert!(q.committed(1));
        q.finished(1);
        assert!(matches!(q.take(), Take::Done));
    }

    #[test]
    fn side_by_side_connections_take_different_steps() {
        let q = queue(&[3, 3], true);
        assert_eq!(step_of(q.take()), Some(0));
        assert_eq!(step_of(q.take()), Some(1), "the step nobody writes");
        assert!(!q.committed(1));
        assert_eq!(step_of(q.take()), Some(1), "step 0 is still being written");
    }

    #[test]
    fn a_step_finished_by_an_earlier_run_is_recorded_first() {
        let q = queue(&[0, 1], false);
        assert!(matches!(q.take(), Take::Finish(0)));
        assert!(matches!(q.take(), Take::Wait));
        q.finished(0);
        assert_eq!(step_of(q.take()), Some(1));
    }

    /// The plan tells a seed step that reads a table, however it does: a join, a CTE, the
    /// conflict check aside (an arbiter index is no read of another table).
    #[tokio::test]
    async fn the_plan_names_the_tables_a_step_reads() {
        let (db, mut conn) = crate::pg::scratch::ScratchDb::with_sql(
            "queue_reads",
            "CREATE TABLE t (id int PRIMARY KEY); CREATE TABLE u (id int PRIMARY KEY)",
        )
        .await
        .expect("scratch with two tables");
        for (sql, want) in [
            (
                "INSERT INTO t SELECT n FROM generate_series(1, 10) AS n;",
                vec![],
            ),
            (
                "INSERT INTO t SELECT n FROM generate_series(1, 10) AS n ON CONFLICT DO NOTHING",
                vec![],
            ),
            ("INSERT INTO t SELECT id + 100 FROM u", vec!["u"]),
            (
                "WITH x AS (SELECT n FROM generate_series(1, 3) AS n OFFSET 0)
                 INSERT INTO t SELECT x.n FROM x JOIN u ON u.id = x.n",
                vec!["u"],
            ),
        ] {
            let read = tables_read(&mut conn, sql).await.expect("explain");
            assert_eq!(read, want, "{sql}");
        }
        drop(conn);
        db.drop_now().await.expect("drop");
    }

    #[test]
    fn a_failure_stops_every_connection() {
        let q = queue(&[2, 2], true);
        assert_eq!(step_of(q.take()), Some(0));
        q.fail();
        assert!(matches!(q.take(), Take::Done));
    }
}
