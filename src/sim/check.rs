//! `check`'s database half, on a scratch database: the base, then every change in order; before each change is
//! applied clean, each of its slip points is applied alone and then all of them together, each
//! in a transaction rolled back after the audit. The apply step fails a change whose declared
//! slip the detectors do not see, so a slip point no detector can see fails here, in `check`,
//! instead of in whichever run's seed happens to pick it (README "Data files").
//!
//! Empty mode: the slip points that need data (README "Mistake kinds", statistics) are not
//! offered there, and are checked by the fast check's rendering only.

use std::path::Path;

use anyhow::Result;
use sqlx::{Connection, PgConnection};

use super::options::Options;
use super::project::Project;
use super::run::{apply_change, init};
use crate::check::{problem, Problem};
use crate::identity::{Assign, Identity};
use crate::render::Decide;
use crate::roadmap::Change;

/// What the database check did, for its summary line.
#[derive(Debug, Default)]
pub struct Tried {
    pub changes: usize,
    pub variants: usize,
}

/// Applies the project to the empty database behind `conn` as described above; the problems
/// name the template and the line of the slip point that failed.
pub async fn check_on_database(
    conn: &mut PgConnection,
    project: &Project,
) -> Result<(Vec<Problem>, Tried)> {
    let opts = Options {
        data: false,
        ..Options::default()
    };
    // Any run would do: every slip point is forced in turn, whatever the seed decides.
    let identity = Identity {
        roadmap: project.roadmap.name.clone(),
        seed: 0,
        start_date: crate::calendar::next_working_day(chrono::NaiveDate::default()),
        assign: Assign::Roadmap,
    };
    let mut problems = Vec::new();
    let mut tried = Tried::default();
    let base = project.data.templates.join(&project.roadmap.base);
    if let Err(err) = init(conn, project, &identity, false, &opts).await {
        problems.push(problem(
            &base,
            1,
            format!("the base does not apply: {}", one_line(&err)),
            "fix the base schema (or its base_findings in the roadmap) so that it applies to an empty database",
        ));
        return Ok((problems, tried));
    }
    for change in project.roadmap.ordered() {
        let clean = project
            .render(change, &identity, &opts, Decide::Clean)?
            .rendered;
        let mut variants: Vec<(Decide, String)> = clean
            .points
            .iter()
            .enumerate()
            .map(|(i, p)| {
                (
                    Decide::Only(i),
                    format!("slip point {i} ({} on {}) alone", p.kind, p.object),
                )
            })
            .collect();
        if clean.points.len() > 1 {
            variants.push((Decide::All, "all its slip points together".into()));
        }
        let template = project.data.templates.join(&change.template);
        let mut failed_alone = false;
        for (decide, what) in variants {
            if decide == Decide::All && failed_alone {
                continue; // together they fail for the reason already reported
            }
            tried.variants += 1;
            let mut tx = conn.begin().await?;
            let result = apply_change(&mut tx, project, &identity, change, &opts, decide).await;
            tx.rollback().await?;
            if let Err(err) = result {
                failed_alone |= matches!(decide, Decide::Only(_));
                let line = match decide {
                    Decide::Only(i) => slip_point_line(&template, &clean.points[i].object),
                    _ => 1,
                };
                problems.push(variant_problem(&template, line, change, &what, &err));
            }
        }
        tried.changes += 1;
        if let Err(err) = apply_change(conn, project, &identity, change, &opts, Decide::Clean).await
        {
            problems.push(variant_problem(
                &template,
                1,
                change,
                "the careful version",
                &err,
            ));
            // Every later change builds on this one.
            break;
        }
    }
    Ok((problems, tried))
}

fn variant_problem(
    template: &Path,
    line: usize,
    change: &Change,
    what: &str,
    err: &anyhow::Error,
) -> Problem {
    // The apply step's own message says what the audit missed, and its hint what to do.
    let user = err
        .chain()
        .find_map(|c| c.downcast_ref::<crate::error::UserError>());
    let message = user.map_or_else(|| one_line(err), |u| u.message.clone());
    let hint = user.and_then(|u| u.hint.clone()).unwrap_or_else(|| {
        "a slip point must apply on the schema the roadmap builds and leave a defect its kind's \
         detector sees (README \"Mistake kinds\"); fix the slip point's SQL or object, or pick the \
         kind that describes it"
            .into()
    });
    problem(
        template,
        line,
        format!("change {}, {what}: {message}", change.id),
        hint,
    )
}

/// The first line of the template naming the slip point's object.
fn slip_point_line(template: &Path, object: &str) -> usize {
    let text = std::fs::read_to_string(template).unwrap_or_default();
    text.lines()
        .position(|l| l.contains(&format!("\"{object}\"")))
        .map_or(1, |i| i + 1)
}

fn one_line(err: &anyhow::Error) -> String {
    format!("{err:#}")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// A database of its own for the check, created on the server behind `server_url` and dropped
/// afterwards.
pub struct ScratchDatabase {
    pub url: String,
    name: String,
    server_url: String,
}

impl ScratchDatabase {
    pub async fn create(server_url: &str) -> Result<ScratchDatabase> {
        let name = format!("engineer_sim_check_{}", std::process::id());
        let mut admin = crate::pg::connect_bounded(server_url).await?;
        sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut admin)
            .await?;
        sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await?;
        let mut url = url::Url::parse(server_url)?;
        url.set_path(&format!("/{name}"));
        Ok(ScratchDatabase {
            url: url.to_string(),
            name,
            server_url: server_url.to_string(),
        })
    }

    pub async fn drop_now(self) -> Result<()> {
        let mut admin = crate::pg::connect_bounded(&self.server_url).await?;
        sqlx::raw_sql(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ))
        .execute(&mut admin)
        .await?;
        Ok(())
    }
}
