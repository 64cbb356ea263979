//! Journal events, typed: what happened, written to `engineer_sim.events` in the transaction of
//! the work it describes. `journal.jsonl` is that table, one event a line (README "What lands in
//! `state/`"); each event is stored as JSON with `event` naming it and `wall_time` added when it
//! is recorded.

use chrono::NaiveDate;
use serde::Serialize;

use super::rows::Origin;
use crate::mistakes::Verification;
use crate::render::Slip;

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A run or tick began that has changes to apply (only then: a cron tick every minute stays
    /// quiet).
    RunStarted {
        seed: u64,
        roadmap: String,
        first_change: String,
        pending: usize,
        limit: Option<usize>,
        rate_scale: f64,
    },
    /// A change (or the base schema) was applied.
    ChangeApplied {
        #[serde(flatten)]
        by: By,
        day: String,
        title: String,
        sql_sha256: String,
        slips: Vec<Slip>,
    },
    /// A change failed and was rolled back.
    ChangeFailed {
        #[serde(flatten)]
        by: By,
        sqlstate: Option<String>,
        message: String,
    },
    FindingOpened {
        #[serde(flatten)]
        by: By,
        kind: String,
        code: Option<&'static str>,
        object: String,
        origin: Origin,
        verification: Verification,
        excuse: Option<String>,
    },
    FindingClosed {
        #[serde(flatten)]
        by: By,
        kind: String,
        code: Option<&'static str>,
        object: String,
    },
    /// A step a change runs outside its transaction ran; a failure is an outcome, with its
    /// SQLSTATE (a failed concurrent build leaves an invalid index).
    OutsideStepRan {
        #[serde(flatten)]
        by: By,
        step: i32,
        sql: String,
        sqlstate: Option<String>,
        message: Option<String>,
    },
    /// The base schema was filled with data (only databases with data have the data events, so
    /// empty mode's journal is what it always was).
    DataSeeded(DataWritten),
    /// A change's feature data was written after the change.
    ChangeBackfilled(DataWritten),
    /// A sim day's growth was written.
    DayGrown(DataWritten),
    /// `workload` ran the app's mix; `report` is pgbench's summary.
    WorkloadRun {
        workload_id: i32,
        sim_day: u32,
        report: serde_json::Value,
    },
    /// On a database with data: what a blocking change cost, measured right after it committed
    /// (README "Reading the measurements"). `bytes` is what the statement read or wrote: the
    /// table's heap for a blocking index build or a NOT NULL scan, the rewritten table with its
    /// indexes for a rewrite. The app's waits are the change's (`app_waited`), `null` without a
    /// workload running.
    FindingMeasured {
        #[serde(flatten)]
        by: By,
        kind: String,
        object: String,
        table: String,
        rows: i64,
        bytes: i64,
        lock_ms: u64,
        app_queries_waited: Option<u64>,
        app_wait_ms: Option<u64>,
    },
    /// With `daemon --workload`: the app queries that waited on a change's locks while it ran,
    /// sampled from `pg_stat_activity` (README "Reading the measurements").
    AppWaited {
        #[serde(flatten)]
        by: By,
        /// Distinct app queries seen waiting on the change's transaction.
        queries: u64,
        /// Their waits added up, and the longest, in milliseconds.
        total_wait_ms: u64,
        max_wait_ms: u64,
        /// How long the change held its locks (DDL to commit).
        lock_ms: u64,
        /// Sampling interval; each wait is accurate to within it.
        sample_ms: u64,
    },
    /// `replay --into --allow-changed` replayed a change whose SQL renders differently now than
    /// the original run applied it (in the replay's journal, before its changes).
    ReplaySqlChanged {
        change_id: String,
        original_sql_sha256: String,
        replayed_sql_sha256: String,
        /// The unified diff, original to now.
        diff: String,
    },
}

/// The change an event belongs to, as the journal names it.
#[derive(Debug, Clone, Serialize)]
pub struct By {
    pub change_id: String,
    pub week: u32,
    pub author: String,
    pub sim_date: NaiveDate,
}

/// Data written: which change's or which day's, and how much.
#[derive(Debug, Clone, Serialize)]
pub struct DataWritten {
    pub change_id: Option<String>,
    pub sim_day: Option<u32>,
    pub rows: u64,
    pub bytes: i64,
    pub ms: u64,
}

impl Event {
    /// The JSON stored for the event: its fields, `event` and the wall-clock time now.
    pub(super) fn to_stored(&self) -> serde_json::Value {
        let mut value = serde_json::to_value(self).unwrap_or_default();
        if let serde_json::Value::Object(map) = &mut value {
            map.insert(
                "wall_time".into(),
                chrono::Utc::now()
                    .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
                    .into(),
            );
        }
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn by() -> By {
        By {
            change_id: "w01-mon-x".into(),
            week: 1,
            author: "alex".into(),
            sim_date: NaiveDate::from_ymd_opt(2026, 1, 5).unwrap_or_default(),
        }
    }

    /// The stored shape is the journal's format: every field present (null when empty), the
    /// change's fields flattened, `event` in snake case.
    #[test]
    fn events_store_the_journal_fields() {
        let opened = Event::FindingOpened {
            by: by(),
            kind: "nullable_fk".into(),
            code: Some("B001"),
            object: "public.t.a_id".into(),
            origin: Origin::Slip,
            verification: Verification::Catalog,
            excuse: None,
        }
        .to_stored();
        let mut keys: Vec<&String> = opened.as_object().unwrap().keys().collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "author",
                "change_id",
                "code",
                "event",
                "excuse",
                "kind",
                "object",
                "origin",
                "sim_date",
                "verification",
                "wall_time",
                "week"
            ]
        );
        assert_eq!(opened["event"], "finding_opened");
        assert_eq!(opened["sim_date"], "2026-01-05");
        assert_eq!(opened["origin"], "slip");
        assert_eq!(opened["verification"], "catalog");
        assert!(opened["excuse"].is_null());

        let grown = Event::DayGrown(DataWritten {
            change_id: None,
            sim_day: Some(3),
            rows: 10,
            bytes: 2048,
            ms: 5,
        })
        .to_stored();
        assert_eq!(grown["event"], "day_grown");
        assert!(grown["change_id"].is_null());
        assert_eq!(grown["sim_day"], 3);
    }
}
