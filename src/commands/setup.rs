//! Setting a target up: `db` (the embedded cluster), `init`, and the initialisation that `run`,
//! `tick`, `daemon` and `seed` do on the way, finishing a setup a killed run began.

use anyhow::Result;
use sqlx::PgConnection;

use super::context::Context;
use super::data;
use super::identity::{ensure_seed, refuse_reinit};
use crate::cli::{DbAction, InitArgs};
use crate::journal;
use crate::ledger::{self, BASE_ID};
use crate::pg::embedded::{ClusterStatus, EmbeddedCluster};
use crate::pg::Target;
use crate::settings::Settings;
use crate::sim::{self, InitResult, Prepared, Project};

pub(super) fn db(ctx: &Context, action: DbAction) -> Result<()> {
    let cluster = EmbeddedCluster::new(&ctx.state.pg_dir())?;
    match action {
        DbAction::Start => {
            cluster.ensure_started()?;
            println!(
                "embedded cluster running; data in {}",
                cluster.data_dir().display()
            );
        }
        DbAction::Stop => {
            cluster.stop()?;
            println!("embedded cluster stopped");
        }
        DbAction::Status => match cluster.status()? {
            ClusterStatus::NotInitialized => {
                println!("not created yet (engineer-sim db start creates it)")
            }
            ClusterStatus::Stopped => println!("stopped; data in {}", cluster.data_dir().display()),
            ClusterStatus::Running { pid } => {
                println!(
                    "running (pid {pid}); socket in {}",
                    cluster.socket_dir().display()
                )
            }
        },
        DbAction::Url => println!("{}", cluster.url(&ctx.embedded_database()?)),
    }
    Ok(())
}

pub(super) async fn init(ctx: &Context, args: InitArgs) -> Result<()> {
    let project = ctx.load_project()?;
    let opts = ctx.options(&project)?;
    let target = ctx.target()?;
    ctx.ensure_state_is_for(&target)?;
    target.create_embedded_database_if_missing().await?;
    let mut conn = target.connect().await?;
    let identity = ctx.fresh_identity(&project, args.seed, args.start_date)?;
    match sim::init(&mut conn, &project, &identity, args.force, &opts).await? {
        InitResult::Created(marker, outcome) => {
            let said = format!(
                "initialised {}: base schema applied, seed {}, week 1 Monday = {}, {} of the base",
                target.redacted_url(),
                marker.identity.seed,
                marker.identity.start_date,
                crate::plural::count(outcome.opened.len(), "finding")
            );
            ctx.after_init(&mut conn, &project, &target, &said).await?;
            // Last: settings without a database mean a setup to finish (see connect_initialised).
            ctx.remember(&marker, &target)?;
        }
        InitResult::AlreadyInitialised(marker) => {
            refuse_reinit(&args, &marker, &target)?;
            println!(
                "{} is already initialised (seed {})",
                target.redacted_url(),
                marker.identity.seed
            );
        }
    }
    Ok(())
}

impl Context {
    /// A connection to the target, ready for changes: the embedded database is created and
    /// initialised on demand (with `seed`, else the default), and a setup a killed run began is
    /// finished (README "Operating it").
    pub(crate) async fn connect_initialised(
        &self,
        project: &Project,
        seed: Option<u64>,
    ) -> Result<PgConnection> {
        let target = self.target()?;
        target.create_embedded_database_if_missing().await?;
        let mut conn = target.connect().await?;
        let fresh = match target.embedded {
            Some(_) => Some(self.fresh_identity(project, seed, None)?),
            None => None,
        };
        let opts = self.options(project)?;
        match sim::prepare(&mut conn, project, fresh.as_ref(), &opts).await? {
            Prepared::Ready => {}
            Prepared::BaseFinished => println!("applied the base schema a killed setup left out"),
            Prepared::Initialised(marker, _) => {
                let said = format!(
                    "initialised {} (seed {}, week 1 Monday = {})",
                    target.redacted_url(),
                    marker.identity.seed,
                    marker.identity.start_date
                );
                self.after_init(&mut conn, project, &target, &said).await?;
            }
        }
        let marker = ledger::marker(&mut conn).await?;
        ensure_seed(&marker, seed)?;
        self.ensure_state_is_for(&target)?;
        if Settings::load(&self.state)?.database.is_none() {
            // The settings are written last in setup: without them, setup was killed after the
            // init's commit. Finish it (README "Operating it").
            self.finish_setup(&mut conn, project, &target).await?;
            self.remember(&marker, &target)?;
        }
        Ok(conn)
    }

    /// After a database was initialised: its journal files, what was done (`said`), then the
    /// data seed unless the run is empty.
    async fn after_init(
        &self,
        conn: &mut PgConnection,
        project: &Project,
        target: &Target,
        said: &str,
    ) -> Result<()> {
        journal::sync_files(conn, &self.state, self.global.codes, &project.team).await?;
        println!("{said}");
        if let Some(scale) = self.init_scale()? {
            data::seed_now(self, conn, project, target, scale).await?;
        }
        Ok(())
    }

    /// Finishes a seed a killed setup began (or, on the embedded database, never began), on a
    /// database where only the base is applied.
    async fn finish_setup(
        &self,
        conn: &mut PgConnection,
        project: &Project,
        target: &Target,
    ) -> Result<()> {
        let Some(scale) = self.init_scale()? else {
            return Ok(());
        };
        if ledger::applied_change_ids(conn).await? != [BASE_ID] {
            return Ok(());
        }
        let started = crate::data::growth::data_scale(conn).await?.is_some();
        let seeded = ledger::data_seeded(conn).await?;
        if !seeded && (started || target.embedded.is_some()) {
            println!("finishing the setup a killed run began");
            data::seed_now(self, conn, project, target, scale).await?;
        }
        Ok(())
    }
}
