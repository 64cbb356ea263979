//! Judges the findings that statistics prove (README "Mistake kinds"): an unused index shows no
//! scans in the last workload, a missing query index shows its table seq-scanned by it, a
//! bloated table shows its dead tuples, a dropped used index shows the queries that used it
//! seq-scanning its table. `verify` reports a contradiction as a difference.

use std::collections::BTreeMap;

use crate::data::stats::Stats;
use crate::ledger::FindingRow;
use crate::mistakes::table_bloat::DEAD_SHARE;

/// What the statistics say about one finding.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Proven(String),
    /// Nothing to judge against yet (no workload has run).
    Pending(String),
    Contradicted(String),
}

/// The kinds judged here.
pub fn judged(kind: &str) -> bool {
    matches!(
        kind,
        "unused_index" | "missing_query_index" | "table_bloat" | "dropped_used_index"
    )
}

/// `workload`: the usage of the last workload; `now`: the statistics as they stand.
pub fn judge(finding: &FindingRow, workload: Option<&Stats>, now: &Stats) -> Verdict {
    match finding.kind.as_str() {
        "unused_index" => {
            let Some(usage) = workload else {
                return Verdict::Pending("no workload has run yet".into());
            };
            match usage.indexes.get(&finding.object) {
                Some((_, 0)) => Verdict::Proven("idx_scan stayed 0 during the workload".into()),
                Some((_, scans)) => {
                    Verdict::Contradicted(format!("the workload scanned it {scans} times"))
                }
                None => Verdict::Pending("the index is newer than the last workload".into()),
            }
        }
        "missing_query_index" => {
            let Some(usage) = workload else {
                return Verdict::Pending("no workload has run yet".into());
            };
            let table = table_of(&finding.object);
            match usage.tables.get(table) {
                Some(t) if t.seq_scan > 0 => Verdict::Proven(format!(
                    "{} sequential scans read {} rows of {table} during the workload",
                    t.seq_scan, t.seq_tup_read
                )),
                Some(_) => Verdict::Contradicted(format!(
                    "no query seq-scanned {table} during the workload"
                )),
                None => Verdict::Pending("the table is newer than the last workload".into()),
            }
        }
        "table_bloat" => match now.tables.get(&finding.object) {
            Some(t) if t.dead_share() > DEAD_SHARE => Verdict::Proven(format!(
                "{:.0} % of its tuples are dead ({} of {})",
                t.dead_share() * 100.0,
                t.n_dead_tup,
                t.n_dead_tup + t.n_live_tup
            )),
            Some(t) => Verdict::Pending(format!(
                "{:.0} % dead so far (proven above {:.0} %)",
                t.dead_share() * 100.0,
                DEAD_SHARE * 100.0
            )),
            None => Verdict::Pending("no statistics for the table yet".into()),
        },
        "dropped_used_index" => match workload {
            Some(usage) => dropped(&finding.object, usage),
            None => Verdict::Pending("no workload has run yet".into()),
        },
        _ => Verdict::Pending("not a statistics kind".into()),
    }
}

/// A dropped index is proven used by the last workload's queries, each run alone: those that
/// scanned it in an earlier workload now read its table sequentially; without an earlier
/// workload, some query reads the table sequentially since the drop.
fn dropped(index: &str, usage: &Stats) -> Verdict {
    if usage.indexes.contains_key(index) {
        return Verdict::Pending("no workload has run since the index was dropped".into());
    }
    let Some(table) = usage.index_tables.get(index) else {
        return Verdict::Pending("the ledger's schema history does not show its table".into());
    };
    let seq: Vec<&str> = usage
        .queries
        .iter()
        .filter(|(_, q)| q.seq_tables.contains(table))
        .map(|(name, _)| name.as_str())
        .collect();
    let shown = |names: &[&str]| {
        let mut text = names.iter().take(3).copied().collect::<Vec<_>>().join(", ");
        if names.len() > 3 {
            text.push_str(&format!(" and {} more", names.len() - 3));
        }
        text
    };
    match usage.used_before.get(index) {
        Some(users) => {
            let now_seq: Vec<&str> = seq.iter().copied().filter(|q| users.contains(*q)).collect();
            if now_seq.is_empty() {
                Verdict::Contradicted(format!(
                    "the queries that used it before ({}) do not read {table} sequentially since",
                    shown(&users.iter().map(String::as_str).collect::<Vec<_>>())
                ))
            } else {
                Verdict::Proven(format!(
                    "queries that used it before now read {table} sequentially: {}",
                    shown(&now_seq)
                ))
            }
        }
        None if seq.is_empty() => Verdict::Contradicted(format!(
            "no query of the workload reads {table} sequentially since the drop"
        )),
        None => Verdict::Proven(format!(
            "since the drop these queries read {table} sequentially: {}",
            shown(&seq)
        )),
    }
}

/// `schema.table` of `schema.table(col)` or `schema.table.col`.
fn table_of(object: &str) -> &str {
    if let Some((table, _)) = object.split_once('(') {
        return table;
    }
    match object.rsplit_once('.') {
        Some((table, _)) if table.contains('.') => table,
        _ => object,
    }
}

/// Judges every open finding of a judged kind.
pub fn judge_all<'a>(
    findings: &'a [FindingRow],
    workload: Option<&Stats>,
    now: &Stats,
) -> BTreeMap<(&'a str, &'a str), Verdict> {
    findings
        .iter()
        .filter(|f| judged(&f.kind))
        .map(|f| {
            (
                (f.kind.as_str(), f.object.as_str()),
                judge(f, workload, now),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::stats::TableUsage;

    fn finding(kind: &str, object: &str) -> FindingRow {
        FindingRow {
            kind: kind.into(),
            object: object.into(),
            origin: crate::ledger::Origin::Slip,
            verification: crate::mistakes::Verification::Statistics,
            opened_by: "c".into(),
            opened_week: 1,
            opened_author: "sam".into(),
            closed_by: None,
            closed_week: None,
            excuse: None,
        }
    }

    #[test]
    fn verdicts_follow_the_statistics() {
        let mut usage = Stats::default();
        usage
            .indexes
            .insert("public.idx_a".into(), ("public.t".into(), 0));
        usage
            .indexes
            .insert("public.idx_b".into(), ("public.t".into(), 7));
        usage.tables.insert(
            "public.t".into(),
            TableUsage {
                seq_scan: 3,
                n_live_tup: 70,
                n_dead_tup: 30,
                ..TableUsage::default()
            },
        );
        let now = usage.clone();
        assert!(matches!(
            judge(&finding("unused_index", "public.idx_a"), Some(&usage), &now),
            Verdict::Proven(_)
        ));
        assert!(matches!(
            judge(&finding("unused_index", "public.idx_b"), Some(&usage), &now),
            Verdict::Contradicted(_)
        ));
        assert!(matches!(
            judge(&finding("unused_index", "public.idx_a"), None, &now),
            Verdict::Pending(_)
        ));
        assert!(matches!(
            judge(
                &finding("missing_query_index", "public.t(c)"),
                Some(&usage),
                &now
            ),
            Verdict::Proven(_)
        ));
        assert!(matches!(
            judge(&finding("table_bloat", "public.t"), None, &now),
            Verdict::Proven(_)
        ));
        // A dropped index: its queries seq-scan the table after the drop.
        let mut after = usage.clone();
        after
            .index_tables
            .insert("public.idx_gone".into(), "public.t".into());
        let dropped = finding("dropped_used_index", "public.idx_gone");
        assert!(matches!(
            judge(&dropped, Some(&after), &now),
            Verdict::Contradicted(_)
        ));
        after.queries.insert(
            "c/by_c".into(),
            crate::data::workload::QueryUsage {
                seq_tables: ["public.t".to_string()].into(),
                ..Default::default()
            },
        );
        assert!(matches!(
            judge(&dropped, Some(&after), &now),
            Verdict::Proven(_)
        ));
        after
            .used_before
            .insert("public.idx_gone".into(), ["c/other".to_string()].into());
        assert!(matches!(
            judge(&dropped, Some(&after), &now),
            Verdict::Contradicted(_)
        ));
        after
            .used_before
            .insert("public.idx_gone".into(), ["c/by_c".to_string()].into());
        assert!(matches!(
            judge(&dropped, Some(&after), &now),
            Verdict::Proven(_)
        ));
        // Still there during the last workload: nothing to judge yet.
        assert!(matches!(
            judge(
                &finding("dropped_used_index", "public.idx_a"),
                Some(&after),
                &now
            ),
            Verdict::Pending(_)
        ));
        assert_eq!(table_of("public.t.c"), "public.t");
        assert_eq!(table_of("public.t(a,b)"), "public.t");
        assert_eq!(table_of("public.t"), "public.t");
    }
}
