//! The commands that touch no database: `plan` and `render`. They show the run the
//! state directory journals, unless `--seed` / `--assign` say otherwise (see `identity`).

use anyhow::Result;

use super::context::Context;
use super::report;
use crate::error::bad_input;
use crate::render::Decide;

pub(super) fn plan(ctx: &Context, week: Option<u32>, seed: Option<u64>) -> Result<()> {
    let project = ctx.load_project()?;
    if let Some(week) = week.filter(|w| !project.roadmap.changes.iter().any(|c| c.week == *w)) {
        return Err(bad_input(format!(
            "plan --week {week}: the roadmap has no week {week}"
        ))
        .with_hint(format!(
            "weeks run from 1 to {}",
            project.roadmap.last_week()
        ))
        .into());
    }
    let opts = ctx.options(&project)?;
    let planned = ctx.planned_identity(&project, seed)?;
    print!(
        "{}",
        report::plan_header(&planned.identity, &planned.seed_from)
    );
    let identity = planned.identity;
    for change in project
        .roadmap
        .ordered()
        .into_iter()
        .filter(|c| week.is_none_or(|w| c.week == w))
    {
        let assigned = project.render(change, &identity, &opts, Decide::Persona)?;
        print!("{}", report::plan_change(change, &assigned.rendered));
    }
    Ok(())
}

pub(super) fn render(
    ctx: &Context,
    change_id: &str,
    seed: Option<u64>,
    decide: Decide,
    explain: bool,
) -> Result<()> {
    let project = ctx.load_project()?;
    let opts = ctx.options(&project)?;
    let change = project.roadmap.require_change(change_id)?;
    let planned = ctx.planned_identity(&project, seed)?;
    let rendered = project
        .render(change, &planned.identity, &opts, decide)?
        .rendered;
    if let Decide::Only(i) = decide {
        if i >= rendered.points.len() {
            return Err(bad_input(format!(
                "--slip {i}: change {change_id} has {} slip points (0..{})",
                rendered.points.len(),
                rendered.points.len().saturating_sub(1)
            ))
            .into());
        }
    }
    print!("{}", rendered.applied_sql);
    if explain {
        eprint!(
            "{}",
            report::explain(planned.identity.seed, &planned.seed_from, &rendered)
        );
    }
    Ok(())
}
