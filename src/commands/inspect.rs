//! The commands that read the ledger and the database and change nothing: `findings`, `audit`,
//! `verify`, `status` and `score`.

use anyhow::Result;

use super::context::{today, Context};
use super::report;
use crate::cli::{Against, Format, ReportFormat, ScoreArgs, ScoreFormat};
use crate::error::{Exit, UserError};
use crate::journal;
use crate::ledger::{self, Origin, BASE_ID};
use crate::settings::{Pace, Settings};
use crate::{audit, calendar, score};

pub(super) async fn findings(
    ctx: &Context,
    format: Format,
    all: bool,
    origin: Option<Origin>,
    by_week: bool,
) -> Result<()> {
    let mut conn = ctx.connect_existing().await?;
    let marker = ledger::marker(&mut conn).await?;
    let changes = ledger::changes(&mut conn).await?;
    let rows: Vec<_> = ledger::findings(&mut conn, all)
        .await?
        .into_iter()
        .filter(|f| origin.is_none_or(|o| f.origin == o))
        .collect();
    let mut doc = journal::expected_findings(&marker, &changes, &rows, ctx.global.codes);
    if crate::data::growth::data_scale(&mut conn).await?.is_some() {
        let tables = crate::data::stats::object_tables(
            &mut conn,
            doc.findings.iter().map(|f| f.object.as_str()),
        )
        .await?;
        for f in &mut doc.findings {
            if let Some((_, bytes, rows)) = tables.get(&f.object) {
                f.table_mb = Some((*bytes as f64 / 1e5).round() / 10.0);
                f.table_rows = Some(*rows);
            }
        }
    }
    if by_week {
        doc.findings.sort_by_key(|f| f.opened_week);
    }
    match format {
        Format::Json => print!("{}", journal::expected::to_json(&doc)),
        Format::Markdown => print!("{}", journal::expected::to_markdown(&doc)),
        Format::Table => print!("{}", report::findings_table(&doc)),
    }
    Ok(())
}

pub(super) async fn audit(ctx: &Context, format: Format) -> Result<()> {
    let words = ctx.data.load_roadmap()?.words;
    let mut conn = ctx.target()?.connect().await?;
    let found = audit::audit(&mut conn, &words).await?;
    let codes = ctx.global.codes;
    print!(
        "{}",
        match format {
            Format::Json => report::audit_json(&found, codes),
            Format::Markdown => report::audit_markdown(&found, codes),
            Format::Table => report::audit_table(&found, codes),
        }
    );
    Ok(())
}

pub(super) async fn verify(ctx: &Context) -> Result<()> {
    let words = ctx.data.load_roadmap()?.words;
    let mut conn = ctx.connect_existing().await?;
    let comparison = crate::verify::compare(&mut conn, &words).await?;
    print!("{}", report::verify(&comparison));
    match comparison.differences() {
        0 => {
            println!("verify: OK");
            Ok(())
        }
        n => Err(UserError::new(
            Exit::Mismatch,
            format!("verify: {}", crate::plural::count(n, "difference")),
        )
        .into()),
    }
}

pub(super) async fn status(ctx: &Context) -> Result<()> {
    let project = ctx.load_project()?;
    let target = ctx.target()?;
    let mut conn = target.connect().await?;
    let marker = ledger::marker(&mut conn).await?;
    let applied = ledger::applied_change_ids(&mut conn).await?;
    let open = ledger::findings(&mut conn, false).await?;
    let settings = Settings::load(&ctx.state)?;
    let clock = match settings.pace {
        Pace::Calendar => format!(
            "sim day {} today (calendar pace)",
            calendar::sim_day_on(marker.identity.start_date, today())
        ),
        Pace::Step => format!(
            "sim day {} reached by the last tick (step pace)",
            settings.step_day
        ),
    };
    // `run` does not wait for the clock: say how far the applied changes reach, and when the
    // roadmap is done say that instead of a clock that has barely started.
    let reached = project
        .roadmap
        .changes
        .iter()
        .filter(|c| applied.contains(&c.id))
        .map(|c| c.sim_day())
        .max();
    let done = project
        .roadmap
        .changes
        .iter()
        .all(|c| applied.contains(&c.id));
    let status = report::Status {
        target: target.redacted_url(),
        identity: &marker.identity,
        roadmap_changes: project.roadmap.changes.len(),
        clock: report::clock(clock, reached, done),
        applied: applied.iter().filter(|id| *id != BASE_ID).count(),
        next: project
            .roadmap
            .ordered()
            .into_iter()
            .find(|c| !applied.contains(&c.id)),
        open: open.len(),
        state_dir: ctx.state.root(),
    };
    print!("{}", report::status(&status));
    Ok(())
}

/// `score`: see README "Scoring your tool".
pub(super) async fn score(ctx: &Context, args: &ScoreArgs) -> Result<()> {
    let report = args.report.as_path();
    let project = ctx.load_project()?;
    let mut conn = ctx.connect_existing().await?;
    let changes = ledger::changes(&mut conn).await?;
    let findings = ledger::findings(&mut conn, true).await?;
    let against = args.against.unwrap_or(match args.report_format {
        ReportFormat::FindingsJson => Against::Open,
        _ => Against::All,
    });
    let mut truth = score::truth(&findings, against == Against::All);
    let files = score::change_by_file(&changes, &project.team);
    let mut parsed = match args.report_format {
        ReportFormat::SquawkJson => score::squawk::read(report, &files)?,
        ReportFormat::EugeneJson => score::eugene::read(report, &files)?,
        ReportFormat::Sarif => score::sarif::read(report, &files)?,
        ReportFormat::Lines => score::generic::read(report, &files)?,
        ReportFormat::FindingsJson => {
            let mut resolver = score::objects::Resolver::from_truth(&truth);
            resolver.add_catalog(&mut conn).await?;
            score::findings_json::read(report, ctx.global.codes, &truth, &resolver)?
        }
    };
    if let Some(min_mb) = args.min_table_mb {
        // Only findings on tables of at least that size, on both sides: a fair comparison with a
        // tool that skips small tables.
        let tables = crate::data::stats::object_tables(
            &mut conn,
            truth
                .iter()
                .chain(&parsed.found)
                .map(|key| key.object.as_str()),
        )
        .await?;
        let big = |object: &str| {
            tables
                .get(object)
                .is_some_and(|(_, bytes, _)| *bytes as f64 >= min_mb * 1e6)
        };
        let before = truth.len();
        truth.retain(|key| big(&key.object));
        parsed.found.retain(|key| big(&key.object));
        println!(
            "--min-table-mb {min_mb}: scoring {} of {before} findings (those on tables of at least {min_mb} MB)",
            truth.len()
        );
    }
    let judged = score::judgements(&truth, &changes);
    let result = score::score(&truth, &parsed, ctx.global.codes, &judged, args.strict);
    let failures = score::render::below(&result, &args.fail_under)?;
    match args.format {
        ScoreFormat::Json => println!("{}", serde_json::to_string_pretty(&result)?),
        ScoreFormat::Table => print!("{}", score::render::table(&result)),
        ScoreFormat::Markdown => print!("{}", score::render::markdown(&result, &failures)),
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(UserError::new(
            Exit::Mismatch,
            format!("score below --fail-under:\n  {}", failures.join("\n  ")),
        )
        .into())
    }
}
