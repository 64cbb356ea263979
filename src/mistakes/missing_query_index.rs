//! `missing_query_index`: a new column the feature queries, left without an index.
//!
//! The engineer adds a column or table whose rows the app looks up by a column (time entries by
//! date, history by time) and forgets the index that lookup needs: every such query reads the
//! whole table. On an empty table nobody notices; with data the workload's queries seq-scan it.
//!
//! Slip: `{{ missing_query_index(object="public.t(col)", sql="CREATE INDEX idx_t_col ON t(col);") }}`;
//! clean renders the index, the slip leaves it out. Offered only on a database with data
//! (`needs_data`): in empty mode the slip point renders clean, as it always did.
//!
//! Verification: statistics. The finding is declared by the slip and proven by the last workload:
//! its table was read by sequential scans (`seq_scan` grew during the workload) while no index
//! leads with the column. Until a workload has run it is pending. Not journaled incidentally:
//! which columns the app filters on is the workload's knowledge, not the catalog's. The finding
//! closes when an index leading with the column exists.

use super::kind::{MistakeKind, Proof};
use super::slip::Slip;
use super::snapshot::Snapshot;

pub const KIND: MistakeKind = MistakeKind {
    name: "missing_query_index",
    proof: Proof::Statistics { closed_after },
    slip: Slip::Omitted,
    needs_data: true,
    incidental: false,
    ..MistakeKind::USUAL
};

/// Closes when an index leading with the column exists, or the column is gone.
fn closed_after(object: &str, after: &Snapshot) -> bool {
    after.leading.contains(object) || !after.has_object(object)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closes_when_an_index_leads_with_the_column() {
        let mut after = Snapshot::default();
        after.tables.insert(
            "public.t".into(),
            crate::mistakes::TableId {
                oid: 1,
                relfilenode: 1,
            },
        );
        after.columns.insert("public.t.c".into(), false);
        assert!(!KIND.closed_after("public.t(c)", &after));
        after.leading.insert("public.t(c)".into());
        assert!(KIND.closed_after("public.t(c)", &after));
    }
}
