//! What the commands print: every format a user reads on the terminal (README "Commands"), as
//! text the command prints. One-line confirmations stay beside their command.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::audit::Key;
use crate::data::growth::Seeded;
use crate::data::judge::Verdict;
use crate::data::run::Written;
use crate::journal::{ExpectedFinding, ExpectedFindings};
use crate::mistakes::{code_for, CodeSet};
use crate::render::Rendered;
use crate::roadmap::Change;
use crate::sim::Happened;
use crate::table::render_table;
use crate::verify::Comparison;

/// `findings` as a terminal table; the closed column only when closed findings are listed.
pub fn findings_table(doc: &ExpectedFindings) -> String {
    let closed = doc
        .findings
        .iter()
        .filter(|f| f.closed_by.is_some())
        .count();
    let row = |f: &ExpectedFinding| -> [String; 6] {
        [
            f.code.unwrap_or("-").to_string(),
            f.kind_cell(),
            f.object.clone(),
            f.origin.to_string(),
            f.opened_by.clone(),
            f.opened_week.to_string(),
        ]
    };
    let header = ["CODE", "KIND", "OBJECT", "ORIGIN", "OPENED BY", "WEEK"].map(String::from);
    let mut out = if closed == 0 {
        render_table(&header, &doc.findings.iter().map(row).collect::<Vec<_>>())
    } else {
        // Only `findings --all` lists closed findings; only then is the column worth its width.
        let with_closed = |f: &ExpectedFinding| -> [String; 7] {
            let [a, b, c, d, e, g] = row(f);
            [a, b, c, d, e, g, f.closed_by.clone().unwrap_or_default()]
        };
        let [a, b, c, d, e, g] = header;
        render_table(
            &[a, b, c, d, e, g, "CLOSED BY".into()],
            &doc.findings.iter().map(with_closed).collect::<Vec<_>>(),
        )
    };
    let _ = writeln!(
        out,
        "{} open, {closed} closed",
        crate::plural::count(doc.findings.len() - closed, "finding")
    );
    out
}

/// `audit --format json`.
pub fn audit_json(found: &std::collections::BTreeSet<Key>, codes: CodeSet) -> String {
    let list: Vec<_> = found
        .iter()
        .map(|Key { kind, object }| {
            serde_json::json!({"kind": kind, "code": code_for(kind, codes), "object": object})
        })
        .collect();
    let mut text = serde_json::to_string_pretty(&list).unwrap_or_default();
    text.push('\n');
    text
}

/// `audit --format markdown`.
pub fn audit_markdown(found: &std::collections::BTreeSet<Key>, codes: CodeSet) -> String {
    let mut md = String::from("| code | kind | object |\n|---|---|---|\n");
    for Key { kind, object } in found {
        let _ = writeln!(
            md,
            "| {} | {kind} | `{object}` |",
            code_for(kind, codes).unwrap_or("-")
        );
    }
    md
}

/// `audit`, as a terminal table.
pub fn audit_table(found: &std::collections::BTreeSet<Key>, codes: CodeSet) -> String {
    let rows: Vec<[String; 3]> = found
        .iter()
        .map(|Key { kind, object }| {
            [
                code_for(kind, codes).unwrap_or("-").to_string(),
                kind.clone(),
                object.clone(),
            ]
        })
        .collect();
    let mut out = render_table(&["CODE", "KIND", "OBJECT"].map(String::from), &rows);
    let _ = writeln!(out, "{}", crate::plural::count(found.len(), "finding"));
    out
}

/// `verify`, up to its verdict: what agrees, what the statistics say, and every difference.
pub fn verify(comparison: &Comparison) -> String {
    let mut out = String::new();
    let agree = comparison.agree;
    let _ = writeln!(
        out,
        "{} of the {} open in the ledger {} with the audit{}",
        crate::plural::count(agree, "finding"),
        comparison.compared + comparison.unseen.len(),
        if agree == 1 { "agrees" } else { "agree" },
        not_compared(&comparison.unseen)
    );
    if let Some(statistics) = &comparison.statistics {
        let (mut proven, mut pending, mut contradicted) = (0, 0, 0);
        for (Key { kind, object }, verdict) in &statistics.verdicts {
            match verdict {
                Verdict::Proven(_) => proven += 1,
                Verdict::Pending(why) => {
                    pending += 1;
                    let _ = writeln!(out, "  pending: {kind} {object}: {why}");
                }
                Verdict::Contradicted(why) => {
                    contradicted += 1;
                    let _ = writeln!(
                        out,
                        "  contradicted by the statistics: {kind} {object}: {why}"
                    );
                }
            }
        }
        let _ = writeln!(
            out,
            "{proven} findings proven by the statistics{}, {pending} pending, {contradicted} contradicted",
            statistics
                .workload
                .map(|id| format!(" (workload {id})"))
                .unwrap_or_default()
        );
    }
    if let Some((last, differences)) = &comparison.drift {
        for d in differences {
            let _ = writeln!(out, "  changed outside engineer-sim since {last}: {d}");
        }
    }
    for Key { kind, object } in &comparison.missing {
        let _ = writeln!(out, "  in the database, not in the ledger: {kind} {object}");
    }
    for Key { kind, object } in &comparison.stale {
        let _ = writeln!(out, "  in the ledger, not in the database: {kind} {object}");
    }
    out
}

/// What verify's catalog comparison leaves out: the open findings of kinds no catalog query can
/// see, by how they are verified (README "Mistake kinds"), e.g. "; the other 20 are of kinds no
/// catalog query can see, not compared with the audit: 16 ledger (blocking_index_build x12,
/// ...), 4 declared (unused_index x4)".
fn not_compared(unseen: &[crate::ledger::FindingRow]) -> String {
    if unseen.is_empty() {
        return String::new();
    }
    let mut by_verification: BTreeMap<&str, BTreeMap<&str, usize>> = BTreeMap::new();
    for f in unseen {
        *by_verification
            .entry(f.verification.as_str())
            .or_default()
            .entry(f.kind.as_str())
            .or_default() += 1;
    }
    let groups: Vec<String> = by_verification
        .iter()
        .map(|(verification, kinds)| {
            let listed: Vec<String> = kinds.iter().map(|(k, n)| format!("{k} x{n}")).collect();
            format!(
                "{} {verification} ({})",
                kinds.values().sum::<usize>(),
                listed.join(", ")
            )
        })
        .collect();
    format!(
        "; the other {} {} of kinds no catalog query can see, not compared with the audit: {}",
        unseen.len(),
        if unseen.len() == 1 { "is" } else { "are" },
        groups.join(", ")
    )
}

/// One change in `plan`: who, what the roadmap plants, and each slip point, marked when it slips.
pub fn plan_change(change: &Change, rendered: &Rendered) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}  week {} {}  {}  {}",
        change.id,
        change.week,
        change.day.short(),
        change.author,
        change.title
    );
    for d in &change.scripted {
        let _ = writeln!(out, "    scripted  {} {}", d.kind, d.object);
    }
    for point in &rendered.points {
        let slipped = rendered
            .slips
            .iter()
            .any(|s| s.kind == point.kind && s.object == point.object);
        let _ = writeln!(
            out,
            "    {}  {} {}",
            if slipped { "SLIPS   " } else { "slip pt " },
            point.kind,
            point.object
        );
    }
    out
}

/// `check`'s verdict when nothing is wrong: the files it read, and with the database half what
/// it applied, e.g. "; on a scratch database: 41 changes, every slip point alone and each
/// change's together (164 variants)".
pub fn check_ok(
    data: &crate::roadmap::DataDirs,
    applied: Option<&crate::sim::check::Tried>,
) -> String {
    let on_database = applied.map_or_else(String::new, |tried| {
        format!(
            "; on a scratch database: {}, every slip point alone and each change's together ({})",
            crate::plural::count(tried.changes, "change"),
            crate::plural::count(tried.variants, "variant")
        )
    });
    format!(
        "check: OK ({}, {}, {}){on_database}",
        data.roadmap.display(),
        data.personas.display(),
        data.templates.display()
    )
}

/// `plan`'s first line: the run whose decisions it shows, and where its seed came from.
pub fn plan_header(identity: &crate::identity::Identity, seed_from: &str) -> String {
    format!(
        "# seed {} ({seed_from}), {} assignment\n",
        identity.seed,
        identity.assign.as_str()
    )
}

/// `render --explain` (on stderr): the seed and where it came from, the slips, then the clean /
/// as-written diff.
pub fn explain(seed: u64, seed_from: &str, rendered: &Rendered) -> String {
    let mut out = format!("seed {seed} ({seed_from})\n");
    for slip in &rendered.slips {
        let _ = writeln!(
            out,
            "slip: {} on {} (\"{}\")",
            slip.kind, slip.object, slip.excuse
        );
    }
    out.push_str(&rendered.diff());
    out
}

/// One change in `replay --week N`: who did it, its slips and its as-written SQL.
pub fn replay_change(change: &Change, week: u32, who: &str, rendered: &Rendered) -> String {
    let mut out = format!(
        "-- {} ({} {}, {}): {}\n",
        change.id,
        change.day.name(),
        week,
        who,
        change.title
    );
    for slip in &rendered.slips {
        let _ = writeln!(
            out,
            "-- slip: {} on {} (\"{}\")",
            slip.kind, slip.object, slip.excuse
        );
    }
    let _ = writeln!(out, "{}", rendered.applied_sql);
    out
}

/// A line for what a run did, as it happens.
pub fn happened(what: &Happened<'_>) -> String {
    match what {
        Happened::Applied { change, outcome } => format!(
            "applied {} ({}): {} opened, {} closed",
            change.id,
            outcome.author,
            crate::plural::count(outcome.opened.len(), "finding"),
            outcome.closed.len()
        ),
        Happened::Backfilled { change, written } => {
            format!("backfilled {}: {}", change.id, written_text(written))
        }
        Happened::Grew { day, date, written } => {
            let (week, weekday) = crate::calendar::describe(*day);
            format!(
                "grew sim day {day} (week {week} {weekday}, {date}): {}",
                written_text(written)
            )
        }
    }
}

/// The seed's closing line, its speed and, on a line of its own, where its time went:
/// "12345 rows, 3.4 MB in 1.2 s (10288 rows/s, 2.8 MB/s)\n  load 0.9 s, ...".
pub fn seeded_text(seeded: &Seeded) -> String {
    let written = &seeded.written;
    format!(
        "{} ({:.0} rows/s, {:.1} MB/s)\n  load {:.1} s, deferred index and key builds {:.1} s, ANALYZE {:.1} s",
        written_text(written),
        written.rows_per_s(),
        written.mb_per_s(),
        seeded.load.as_secs_f64(),
        seeded.indexes.as_secs_f64(),
        seeded.maintenance.as_secs_f64()
    )
}

/// "12,345 rows, 3.4 MB in 1.2 s".
pub fn written_text(written: &Written) -> String {
    format!(
        "{} rows, {:.1} MB in {:.1} s",
        written.rows,
        written.bytes.max(0) as f64 / 1e6,
        written.elapsed.as_secs_f64()
    )
}

/// `status`'s clock line: where the sim clock stands, and how far the applied changes reach
/// (sim day `reached`); once the roadmap is `done`, that first.
pub fn clock(clock: String, reached: Option<u32>, done: bool) -> String {
    let Some(day) = reached else {
        return clock;
    };
    let (week, weekday) = crate::calendar::describe(day);
    let through = format!("applied through sim day {day} (week {week}, {weekday})");
    if done {
        format!("the roadmap is done, {through} (the clock: {clock})")
    } else {
        format!("{clock}; {through}")
    }
}

/// What `status` shows.
pub struct Status<'a> {
    pub target: String,
    pub identity: &'a crate::identity::Identity,
    pub roadmap_changes: usize,
    /// Where the sim clock stands, and by which pace.
    pub clock: String,
    /// Changes applied besides the base.
    pub applied: usize,
    pub next: Option<&'a Change>,
    pub open: usize,
    pub state_dir: &'a std::path::Path,
}

pub fn status(s: &Status<'_>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "target:      {}", s.target);
    let _ = writeln!(
        out,
        "roadmap:     {} ({})",
        s.identity.roadmap,
        crate::plural::count(s.roadmap_changes, "change")
    );
    let _ = writeln!(out, "seed:        {}", s.identity.seed);
    let _ = writeln!(
        out,
        "start date:  {} (week 1 Monday)",
        s.identity.start_date
    );
    let _ = writeln!(out, "clock:       {}", s.clock);
    let _ = writeln!(out, "assignment:  {}", s.identity.assign.as_str());
    let _ = writeln!(
        out,
        "applied:     {} (besides the base)",
        crate::plural::count(s.applied, "change")
    );
    match s.next {
        Some(next) => {
            let _ = writeln!(
                out,
                "next:        {} (week {} {}, {})",
                next.id,
                next.week,
                next.day.short(),
                next.author
            );
        }
        None => out.push_str("next:        nothing: the roadmap is done\n"),
    }
    let _ = writeln!(out, "findings:    {} open", s.open);
    let _ = writeln!(out, "state dir:   {}", s.state_dir.display());
    out
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn the_seed_line_gives_its_speed_and_where_its_time_went() {
        let seeded = Seeded {
            written: Written {
                rows: 67_337,
                bytes: 77_600_000,
                elapsed: Duration::from_millis(900),
            },
            load: Duration::from_millis(580),
            indexes: Duration::from_millis(130),
            maintenance: Duration::from_millis(190),
        };
        insta::assert_snapshot!(seeded_text(&seeded));
    }
}
