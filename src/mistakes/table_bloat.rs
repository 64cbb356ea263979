//! `table_bloat` (checkup F004): an update-heavy table whose dead tuples pile up because a change
//! turned its autovacuum off.
//!
//! Slip: `{{ table_bloat(object="public.t", sql="ALTER TABLE t SET (autovacuum_enabled = false);") }}`;
//! clean renders nothing, the slip adds the statement ("so the backfill runs faster"; nobody
//! turns it back on). Offered only on a database with data (`needs_data`).
//!
//! Verification: statistics (measured). Each sim day engineer-sim does what autovacuum would have
//! done over a real day, on every table whose autovacuum is on; this one is skipped, so the day's
//! updates leave their dead tuples. The finding is proven when the table's dead-tuple share
//! (`n_dead_tup / (n_live_tup + n_dead_tup)` in pg_stat_user_tables) passes [`DEAD_SHARE`];
//! pending before. It closes when the table is gone.

use super::kind::{closes_when_gone, MistakeKind, Proof};
use super::slip::Slip;

/// The dead-tuple share above which a table counts as bloated (autovacuum's own trigger is 20 %
/// of the table plus 50 rows, after which it cleans up: a healthy table stays under it).
pub const DEAD_SHARE: f64 = 0.2;

pub const KIND: MistakeKind = MistakeKind {
    name: "table_bloat",
    checkup_code: Some("F004"),
    proof: Proof::Statistics {
        closed_after: closes_when_gone,
    },
    slip: Slip::Added,
    needs_data: true,
    incidental: false,
    ..MistakeKind::USUAL
};
