//! How far a run may go, and what it tells its caller as it goes and when it is done.

use chrono::NaiveDate;

use crate::apply::Outcome;
use crate::data::run::Written;
use crate::roadmap::Change;

/// What a run did.
#[derive(Debug, Default)]
pub struct Progress {
    pub applied: Vec<(String, Outcome)>,
    pub failed: Vec<(String, String)>,
    /// A stop was requested and honoured between two changes.
    pub stopped: bool,
    /// Findings open in the ledger once the run was over.
    pub open_findings: usize,
}

/// What a run tells its caller as it happens, so a long catch-up shows progress and a stopped
/// daemon has said exactly what it applied.
pub enum Happened<'a> {
    Applied {
        change: &'a Change,
        outcome: &'a Outcome,
    },
    Backfilled {
        change: &'a Change,
        written: &'a Written,
    },
    Grew {
        day: u32,
        date: NaiveDate,
        written: &'a Written,
    },
}

/// How far one run may go: a cap on changes, a stop request checked between changes (never in
/// the middle of one), and a pause between changes.
#[derive(Default, Clone, Copy)]
pub struct Control<'a> {
    pub limit: Option<usize>,
    /// With data: grow the database through this sim day once every due change is applied
    /// (a run to the end of week N grows through its Friday, a tick through today).
    pub grow_to: Option<u32>,
    pub stop: Option<&'a std::sync::atomic::AtomicBool>,
    pub pause: Option<std::time::Duration>,
}

impl Control<'_> {
    pub(super) fn stop_requested(&self) -> bool {
        self.stop
            .is_some_and(|s| s.load(std::sync::atomic::Ordering::SeqCst))
    }
}
