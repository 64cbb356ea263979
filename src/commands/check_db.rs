//! `check`'s database half: where its scratch database lives and what it reports.

use anyhow::Result;

use super::Context;
use crate::check::database::{check_on_database, ScratchDatabase, Tried};
use crate::check::Problem;
use crate::pg::embedded::EmbeddedCluster;

/// Applies the project to a fresh scratch database on the server of `--database-url`, else in
/// the embedded cluster under the state directory (started on demand), and drops it after.
pub(super) async fn on_scratch_database(ctx: &Context) -> Result<(Vec<Problem>, Tried)> {
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

/// "; every slip point applied to a scratch database: 41 changes, 212 variants".
pub(super) fn summary(tried: Tried) -> String {
    format!(
        "; on a scratch database: {}, every slip point alone and each change's together ({})",
        crate::plural::count(tried.changes, "change"),
        crate::plural::count(tried.variants, "variant")
    )
}
