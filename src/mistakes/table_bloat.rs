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

use anyhow::Result;

use super::{added_when_slipped, MistakeKind, SlipArgs, Verification};

/// The dead-tuple share above which a table counts as bloated (autovacuum's own trigger is 20 %
/// of the table plus 50 rows, after which it cleans up: a healthy table stays under it).
pub const DEAD_SHARE: f64 = 0.2;

pub struct TableBloat;

impl MistakeKind for TableBloat {
    fn name(&self) -> &'static str {
        "table_bloat"
    }

    fn roadmap_code(&self) -> Option<&'static str> {
        None
    }

    fn checkup_code(&self) -> Option<&'static str> {
        Some("F004")
    }

    fn verification(&self) -> Verification {
        Verification::Statistics
    }

    fn needs_data(&self) -> bool {
        true
    }

    fn render(&self, args: &SlipArgs, slipped: bool) -> Result<String> {
        added_when_slipped(args, slipped)
    }

    fn incidental_possible(&self) -> bool {
        false
    }

    fn closed_after(&self, object: &str, after: &super::Snapshot) -> bool {
        !after.has_object(object)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mistakes::testing::render_both;

    #[test]
    fn slip_turns_autovacuum_off() {
        let sql = "ALTER TABLE t SET (autovacuum_enabled = false);";
        let (clean, slipped) = render_both(&TableBloat, &[("object", "public.t"), ("sql", sql)]);
        assert_eq!((clean.as_str(), slipped.as_str()), ("", sql));
    }
}
