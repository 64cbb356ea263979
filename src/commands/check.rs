//! `check`: the data files validated without a database, then (unless `--no-db`) the base and
//! every slip point applied to a scratch database that is dropped after (README "Commands").

use anyhow::Result;

use super::context::Context;
use super::report;
use crate::check::Problem;
use crate::error::{Exit, UserError};
use crate::pg::embedded::EmbeddedCluster;
use crate::sim::check::{check_on_database, ScratchDatabase, Tried};

pub(super) async fn check(ctx: &Context, no_db: bool) -> Result<()> {
    let mut problems = crate::check::check(&ctx.data);
    let mut applied = None;
    if problems.is_empty() && !no_db {
        let (found, tried) = on_scratch_database(ctx).await?;
        problems.extend(found);
        applied = Some(tried);
    }
    for p in &problems {
        eprintln!("{p}");
    }
    if problems.is_empty() {
        println!("{}", report::check_ok(&ctx.data, applied.as_ref()));
        Ok(())
    } else {
        Err(UserError::new(
            Exit::BadInput,
            format!("check: {}", crate::plural::count(problems.len(), "problem")),
        )
        .into())
    }
}

/// Applies the project to a fresh scratch database on the server of `--database-url`, else in
/// the embedded cluster under the state directory (started on demand), and drops it after.
async fn on_scratch_database(ctx: &Context) -> Result<(Vec<Problem>, Tried)> {
    let project = ctx.load_project()?;
    let server = match ctx
        .global
        .database_url
        .as_deref()
        .filter(|u| !u.trim().is_empty())
    {
        Some(url) => url.to_string(),
        None => {
            let cluster = EmbeddedCluster::new(&ctx.state.pg_dir())?;
            cluster.ensure_started()?;
            cluster.url("postgres")
        }
    };
    let scratch = ScratchDatabase::create(&server).await?;
    let result = async {
        let mut conn = crate::pg::connect_bounded(&scratch.url).await?;
        check_on_database(&mut conn, &project).await
    }
    .await;
    scratch.drop_now().await?;
    result
}
