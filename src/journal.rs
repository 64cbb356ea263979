//! The journal (README "What lands in `state/`"): the event log, the expected-findings files and the weekly
//! reports. All of it is written from the ledger, so it can be rebuilt at any time and always
//! agrees with the database.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;
use sqlx::PgConnection;

use crate::ledger::{self, ChangeRow, FindingRow, Marker};
use crate::mistakes::{code_for, CodeSet};
use crate::state::StateDir;

/// One journal event: `event` names it; `sim_date` and `wall_time` place it in both clocks.
pub fn event(
    name: &str,
    sim_date: Option<chrono::NaiveDate>,
    fields: serde_json::Value,
) -> serde_json::Value {
    let mut map = match fields {
        serde_json::Value::Object(map) => map,
        _ => serde_json::Map::new(),
    };
    map.insert("event".into(), name.into());
    map.insert(
        "wall_time".into(),
        chrono::Utc::now()
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
            .into(),
    );
    if let Some(date) = sim_date {
        map.insert("sim_date".into(), date.to_string().into());
    }
    serde_json::Value::Object(map)
}

/// A finding as the expected-findings file lists it: no wall-clock time, so the same seed and
/// roadmap give byte-identical files.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ExpectedFinding {
    pub code: Option<&'static str>,
    pub kind: String,
    pub object: String,
    pub origin: String,
    pub verification: String,
    pub opened_by: String,
    pub opened_week: i32,
    pub author: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub excuse: Option<String>,
    /// A finding where reasonable tools disagree (README "Scoring your tool": judgement calls).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub judgement: Option<&'static str>,
    /// Only for closed findings (`findings --all`); never in the expected-findings files.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closed_by: Option<String>,
    /// Size of the finding's table now, in MB (`findings` on a database with data). Not in the
    /// expected-findings files: sizes vary a little from build to build, the files must not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table_mb: Option<f64>,
    /// Rows of the finding's table now (the planner's estimate, `reltuples`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table_rows: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExpectedFindings {
    pub roadmap: String,
    pub seed: u64,
    pub codes: &'static str,
    pub through: Option<String>,
    pub counts: std::collections::BTreeMap<String, usize>,
    pub findings: Vec<ExpectedFinding>,
}

pub fn expected_findings(
    marker: &Marker,
    last_change: Option<&ChangeRow>,
    open: &[FindingRow],
    codes: CodeSet,
) -> ExpectedFindings {
    let mut findings: Vec<ExpectedFinding> = open
        .iter()
        .map(|f| ExpectedFinding {
            code: code_for(&f.kind, codes),
            kind: f.kind.clone(),
            object: f.object.clone(),
            origin: f.origin.clone(),
            verification: f.verification.clone(),
            opened_by: f.opened_by.clone(),
            opened_week: f.opened_week,
            author: f.opened_author.clone(),
            excuse: f.excuse.clone(),
            judgement: None,
            closed_by: f.closed_by.clone(),
            table_mb: None,
            table_rows: None,
        })
        .collect();
    // Sorted by (code, kind, object); findings without a code come last.
    findings.sort_by(|a, b| {
        (a.code.is_none(), a.code, &a.kind, &a.object).cmp(&(
            b.code.is_none(),
            b.code,
            &b.kind,
            &b.object,
        ))
    });
    let mut counts = std::collections::BTreeMap::new();
    for f in &findings {
        *counts
            .entry(f.code.unwrap_or(&f.kind).to_string())
            .or_default() += 1;
    }
    ExpectedFindings {
        roadmap: marker.roadmap.clone(),
        seed: marker.seed,
        codes: match codes {
            CodeSet::Roadmap => "roadmap",
            CodeSet::Checkup => "checkup",
        },
        through: last_change.map(|c| c.change_id.clone()),
        counts,
        findings,
    }
}

/// Labels the findings where tools disagree, from the SQL of `history` (the changes applied up
/// to the point the document describes).
pub fn label_judgements(doc: &mut ExpectedFindings, history: &[ChangeRow]) {
    for f in &mut doc.findings {
        f.judgement = crate::score::judgement::of(&f.kind, &f.object, history);
    }
}

/// The kind, with its judgement label when it has one.
fn kind_cell(f: &ExpectedFinding) -> String {
    match f.judgement {
        Some(label) => format!("{} (judgement: {label})", f.kind),
        None => f.kind.clone(),
    }
}

pub fn to_json(doc: &ExpectedFindings) -> String {
    let mut text = serde_json::to_string_pretty(doc).unwrap_or_default();
    text.push('\n');
    text
}

pub fn to_markdown(doc: &ExpectedFindings) -> String {
    let mut md = String::new();
    let _ = writeln!(
        md,
        "# Expected findings: {} (seed {})\n",
        doc.roadmap, doc.seed
    );
    let _ = writeln!(
        md,
        "Through change: {}\n",
        doc.through.as_deref().unwrap_or("(none)")
    );
    let _ = writeln!(md, "{} open findings.\n", doc.findings.len());
    md.push_str("| code | kind | object | origin | opened by | week | author |\n|---|---|---|---|---|---|---|\n");
    for f in &doc.findings {
        let _ = writeln!(
            md,
            "| {} | {} | `{}` | {} | {} | {} | {} |",
            f.code.unwrap_or("-"),
            kind_cell(f),
            f.object,
            f.origin,
            f.opened_by,
            f.opened_week,
            f.author
        );
    }
    md
}

/// A plain-text table for the terminal.
pub fn to_table(doc: &ExpectedFindings) -> String {
    let closed = doc
        .findings
        .iter()
        .filter(|f| f.closed_by.is_some())
        .count();
    let row = |f: &ExpectedFinding| -> [String; 6] {
        [
            f.code.unwrap_or("-").to_string(),
            kind_cell(f),
            f.object.clone(),
            f.origin.clone(),
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

pub fn render_table<const N: usize>(header: &[String; N], rows: &[[String; N]]) -> String {
    let mut widths: [usize; N] = std::array::from_fn(|i| header[i].len());
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(header).chain(rows.iter()) {
        let cells: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        let _ = writeln!(out, "{}", cells.join("  ").trim_end());
    }
    out
}

/// The week's Markdown report: per change, who did it, what slipped and why it passed review,
/// and the clean / as-written diff.
pub fn week_report(
    week: i32,
    changes: &[ChangeRow],
    findings: &[FindingRow],
    codes: CodeSet,
) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# Week {week}\n");
    for change in changes.iter().filter(|c| c.week == week) {
        let _ = writeln!(
            md,
            "## {} ({}, {}): {}\n",
            change.change_id, change.day, change.author, change.title
        );
        let _ = writeln!(
            md,
            "Sim date {}; applied SQL sha256 `{}`.\n",
            change.sim_date,
            &change.sql_sha256[..12]
        );
        let slips = change.slips.as_array().cloned().unwrap_or_default();
        if slips.is_empty() {
            md.push_str("No slips.\n\n");
        } else {
            md.push_str("Slips:\n\n");
            for slip in &slips {
                let _ = writeln!(
                    md,
                    "- {} on `{}`: \"{}\"",
                    slip["kind"].as_str().unwrap_or("?"),
                    slip["object"].as_str().unwrap_or("?"),
                    slip["excuse"].as_str().unwrap_or("")
                );
            }
            md.push('\n');
        }
        let opened: Vec<&FindingRow> = findings
            .iter()
            .filter(|f| f.opened_by == change.change_id)
            .collect();
        let closed: Vec<&FindingRow> = findings
            .iter()
            .filter(|f| f.closed_by.as_deref() == Some(&change.change_id))
            .collect();
        for (label, list) in [("Opened", &opened), ("Closed", &closed)] {
            if list.is_empty() {
                continue;
            }
            let _ = writeln!(md, "{label}:\n");
            for f in list.iter() {
                let _ = writeln!(
                    md,
                    "- {}{} `{}` ({})",
                    code_for(&f.kind, codes)
                        .map(|c| format!("{c} "))
                        .unwrap_or_default(),
                    f.kind,
                    f.object,
                    f.origin
                );
            }
            md.push('\n');
        }
        let diff = if change.clean_sql == change.applied_sql {
            String::new()
        } else {
            similar::TextDiff::from_lines(&change.clean_sql, &change.applied_sql)
                .unified_diff()
                .context_radius(2)
                .header("clean", "as-written")
                .to_string()
        };
        if !diff.is_empty() {
            let _ = writeln!(md, "```diff\n{}```\n", diff);
        }
    }
    md
}

/// Writes every journal file from the ledger: `journal.jsonl`, `expected-findings.json` and `.md`,
/// `reports/week-NN.md`, `migrations/*.sql`.
pub async fn sync_files(
    conn: &mut PgConnection,
    state: &StateDir,
    codes: CodeSet,
    team: &crate::persona::Team,
) -> Result<()> {
    let marker = ledger::marker(conn).await?;
    let changes = ledger::changes(conn).await?;
    let all = ledger::findings(conn, true).await?;
    let open: Vec<FindingRow> = all
        .iter()
        .filter(|f| f.closed_by.is_none())
        .cloned()
        .collect();
    let events = ledger::events(conn).await?;

    state.create()?;
    let mut jsonl = String::new();
    for event in &events {
        jsonl.push_str(&serde_json::to_string(event)?);
        jsonl.push('\n');
    }
    write_atomically(&state.journal(), &jsonl)?;

    let mut doc = expected_findings(&marker, changes.last(), &open, codes);
    label_judgements(&mut doc, &changes);
    write_atomically(&state.expected_findings_json(), &to_json(&doc))?;
    write_atomically(&state.expected_findings_md(), &to_markdown(&doc))?;

    crate::migrations::write_all(&state.migrations_dir(), &changes, team)?;

    let weeks: std::collections::BTreeSet<i32> =
        changes.iter().map(|c| c.week).filter(|w| *w > 0).collect();
    std::fs::create_dir_all(state.reports_dir())?;
    for week in weeks {
        let path = state.reports_dir().join(format!("week-{week:02}.md"));
        write_atomically(&path, &week_report(week, &changes, &all, codes))?;
    }
    Ok(())
}

/// Readers (a reviewer's `git diff`, a tool tailing the file) never see a half-written file.
pub fn write_atomically(path: &Path, text: &str) -> Result<()> {
    let tmp = path.with_extension("tmp-write");
    std::fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}
