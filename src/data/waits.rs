//! The app queries that wait on a change's locks, while `daemon --workload` keeps the app running
//! (README "Reading the measurements").
//!
//! A second connection samples `pg_stat_activity` every [`SAMPLE_EVERY`]: each workload backend
//! waiting on a lock, the query it runs (its `query_start`) and the backends blocking it
//! (`pg_blocking_pids`, which also names a lock request queued ahead of it). A wait is one
//! (backend, query start) pair; it lasted from its query's start to the last sample that saw it,
//! so each wait is accurate to within one interval (a lower bound). Sampling is used rather than
//! pgbench's per-transaction log because the log only has latencies: a slow transaction there
//! cannot be told apart from one waiting on the change, while the sample names the blocker.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Result;
use sqlx::Connection as _;

/// How often the waits are sampled.
pub const SAMPLE_EVERY: Duration = Duration::from_millis(10);

/// The workload's backends, as pgbench names them (`PGAPPNAME`).
pub const APP_NAME: &str = "engineer-sim-workload";

/// What the app waited for, on one blocker.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AppWaits {
    pub queries: u64,
    pub total_ms: u64,
    pub max_ms: u64,
}

/// One waiting query as the samples saw it.
#[derive(Debug, Clone, Default)]
struct Waiting {
    blockers: BTreeSet<i32>,
    /// Microseconds since the epoch, server clock.
    query_start: i64,
    last_seen: i64,
}

type Seen = Arc<Mutex<BTreeMap<(i32, i64), Waiting>>>;

/// The sampler, running on its own connection until [`WaitWatch::stop`].
pub struct WaitWatch {
    seen: Seen,
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

const SAMPLE_SQL: &str = "
SELECT w.pid, (extract(epoch FROM w.query_start) * 1e6)::bigint, b.pid,
       (extract(epoch FROM clock_timestamp()) * 1e6)::bigint
FROM (SELECT pid, query_start FROM pg_stat_activity
      WHERE application_name = $1 AND wait_event_type = 'Lock' AND query_start IS NOT NULL) w
CROSS JOIN LATERAL unnest(pg_blocking_pids(w.pid)) AS b(pid)";

impl WaitWatch {
    pub async fn start(url: &str) -> Result<WaitWatch> {
        let mut conn = sqlx::PgConnection::connect(url).await?;
        let seen: Seen = Arc::default();
        let (stop, mut stopped) = tokio::sync::watch::channel(false);
        let into = seen.clone();
        let task = tokio::spawn(async move {
            let mut every = tokio::time::interval(SAMPLE_EVERY);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = every.tick() => {}
                    _ = stopped.changed() => break,
                }
                let rows: Vec<(i32, i64, i32, i64)> = match sqlx::query_as(SAMPLE_SQL)
                    .bind(APP_NAME)
                    .fetch_all(&mut conn)
                    .await
                {
                    Ok(rows) => rows,
                    Err(err) => {
                        tracing::warn!("sampling the app's lock waits stopped: {err}");
                        break;
                    }
                };
                let Ok(mut seen) = into.lock() else { break };
                for (pid, query_start, blocker, now) in rows {
                    let wait = seen.entry((pid, query_start)).or_default();
                    wait.query_start = query_start;
                    wait.last_seen = now;
                    wait.blockers.insert(blocker);
                }
            }
            let _ = conn.close().await;
        });
        Ok(WaitWatch { seen, stop, task })
    }

    /// The waits `blocker` (a change's backend) caused, once its transaction ended; they are
    /// forgotten. Waits for a couple of samples first, so the last ones before the commit are in.
    pub async fn take(&self, blocker: i32) -> AppWaits {
        tokio::time::sleep(SAMPLE_EVERY * 3).await;
        let Ok(mut seen) = self.seen.lock() else {
            return AppWaits::default();
        };
        let mut waits = AppWaits::default();
        seen.retain(|_, wait| {
            if !wait.blockers.contains(&blocker) {
                return true;
            }
            let ms = ((wait.last_seen - wait.query_start).max(0) / 1000) as u64;
            waits.queries += 1;
            waits.total_ms += ms;
            waits.max_ms = waits.max_ms.max(ms);
            false
        });
        waits
    }

    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pg::scratch::ScratchDb;
    use sqlx::postgres::PgConnectOptions;

    /// A query of the app's that waits on another session's lock is seen, attributed to that
    /// session, and counted once.
    #[tokio::test]
    async fn a_query_blocked_by_a_lock_is_counted_against_its_blocker() {
        let db = ScratchDb::create("waits").await.unwrap();
        let mut ddl = sqlx::PgConnection::connect(&db.url).await.unwrap();
        sqlx::raw_sql("CREATE TABLE t (a int); INSERT INTO t VALUES (1)")
            .execute(&mut ddl)
            .await
            .unwrap();
        let blocker: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
            .fetch_one(&mut ddl)
            .await
            .unwrap();
        let watch = WaitWatch::start(&db.url).await.unwrap();
        sqlx::raw_sql("BEGIN; LOCK TABLE t IN ACCESS EXCLUSIVE MODE")
            .execute(&mut ddl)
            .await
            .unwrap();
        let app_opts: PgConnectOptions = db.url.parse().unwrap();
        let app_opts = app_opts.application_name(APP_NAME);
        let app = tokio::spawn(async move {
            let mut app = sqlx::PgConnection::connect_with(&app_opts).await.unwrap();
            sqlx::query_scalar::<_, i64>("SELECT count(*) FROM t")
                .fetch_one(&mut app)
                .await
                .unwrap()
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        sqlx::raw_sql("COMMIT").execute(&mut ddl).await.unwrap();
        assert_eq!(app.await.unwrap(), 1);
        let waits = watch.take(blocker).await;
        assert_eq!(waits.queries, 1, "{waits:?}");
        assert!(
            waits.max_ms > 0 && waits.total_ms == waits.max_ms,
            "{waits:?}"
        );
        assert_eq!(watch.take(blocker).await, AppWaits::default());
        watch.stop().await;
        drop(ddl);
        db.drop_now().await.unwrap();
    }
}
