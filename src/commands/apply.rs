//! `run --until-week N`, and what every command that applies changes prints after it.

use anyhow::Result;

use super::context::Context;
use super::report;
use crate::error::{Exit, UserError};
use crate::sim::{self, Control, Happened, OnError, Options, Progress, Run};

pub(super) async fn run_until(
    ctx: &Context,
    week: u32,
    seed: Option<u64>,
    on_error: OnError,
) -> Result<()> {
    let project = ctx.load_project()?;
    project.roadmap.require_week("--until-week", week)?;
    let opts = Options {
        on_error,
        ..ctx.options(&project)?
    };
    let mut conn = ctx.connect_initialised(&project, seed).await?;
    let due = sim::due_until_week(&project.roadmap, week);
    let run = Run {
        project: &project,
        state: &ctx.state,
        opts,
        data: ctx.data_run(&mut conn, &project).await?,
    };
    let control = Control {
        grow_to: Some(week * 5),
        ..Control::default()
    };
    let progress = sim::apply_due(&mut conn, &run, &due, control, &mut print_happened).await?;
    report_progress(ctx, &progress)
}

/// Prints what a run did as it happens.
pub(crate) fn print_happened(what: Happened<'_>) {
    println!("{}", report::happened(&what));
}

/// After a run (which brought the journal files up to date): what failed, how many findings are
/// open; exit 4 when a change failed.
pub(crate) fn report_progress(ctx: &Context, progress: &Progress) -> Result<()> {
    for (id, err) in &progress.failed {
        println!("FAILED {id}: {err}");
    }
    if progress.applied.is_empty() && progress.failed.is_empty() {
        println!("nothing new to apply");
    }
    println!(
        "{} open; journal in {}",
        crate::plural::count(progress.open_findings, "finding"),
        ctx.state.root().display()
    );
    if !progress.failed.is_empty() {
        return Err(UserError::new(
            Exit::ApplyFailed,
            format!(
                "{} failed",
                crate::plural::count(progress.failed.len(), "change")
            ),
        )
        .into());
    }
    Ok(())
}
