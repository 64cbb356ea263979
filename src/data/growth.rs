//! When data is written: the base seed once, a change's backfill right after its DDL, and for
//! every sim day the calendar passes, that day's growth from the base and every change applied
//! before the day, followed by the day's maintenance (what autovacuum does in a real day).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Result;
use chrono::NaiveDate;
use sqlx::PgConnection;

use super::run::{self, Runner, Sourced, Written};
use super::{DataFile, Scope};
use crate::calendar;
use crate::error::bad_input;
use crate::roadmap::Roadmap;

/// The id under which the base's data file is kept (the same as the base schema's ledger id).
pub const BASE: &str = "base";

/// Every data file of a roadmap, by change id (`base` for the base schema).
pub struct DataPlan {
    pub files: BTreeMap<String, DataFile>,
    /// The ids in the order their daily steps run: the base, then the roadmap's order.
    pub order: Vec<String>,
    /// Every counter name a step uses, so `counts.<name>` is defined (0) before its first step.
    pub names: BTreeMap<String, i64>,
}

impl DataPlan {
    pub fn load(templates: &Path, roadmap: &Roadmap) -> Result<DataPlan> {
        let mut files = BTreeMap::new();
        let mut order = vec![BASE.to_string()];
        files.insert(
            BASE.to_string(),
            DataFile::load_for(templates, &roadmap.base)?,
        );
        for change in roadmap.ordered() {
            files.insert(
                change.id.clone(),
                DataFile::load_for(templates, &change.template)?,
            );
            order.push(change.id.clone());
        }
        let names = files
            .values()
            .flat_map(|f| f.backfill.iter().chain(&f.daily))
            .map(|s| (s.name.clone(), 0))
            .collect();
        Ok(DataPlan {
            files,
            order,
            names,
        })
    }

    pub fn file(&self, id: &str) -> Option<&DataFile> {
        self.files.get(id)
    }

    /// The queries of the base and of the given applied changes, with where each comes from.
    pub fn queries<'a>(
        &'a self,
        applied: &'a [String],
    ) -> Vec<(&'a str, &'a DataFile, &'a super::Query)> {
        self.order
            .iter()
            .filter(|id| *id == BASE || applied.contains(id))
            .filter_map(|id| self.files.get(id).map(|f| (id.as_str(), f)))
            .flat_map(|(id, f)| f.queries.iter().map(move |q| (id, f, q)))
            .collect()
    }
}

/// The scale this database's data was built at; `None` in empty mode (`--no-data`).
pub async fn data_scale(conn: &mut PgConnection) -> Result<Option<f64>> {
    if !run::has_ledger_table(conn, "data_settings").await? {
        return Ok(None);
    }
    Ok(
        sqlx::query_scalar("SELECT scale FROM engineer_sim.data_settings")
            .fetch_optional(conn)
            .await?,
    )
}

/// Checks a scale given on the command line.
pub fn validate_scale(scale: f64) -> Result<f64> {
    if scale.is_finite() && scale > 0.0 && scale <= 100.0 {
        return Ok(scale);
    }
    Err(bad_input(format!(
        "--scale must be a number above 0 and at most 100 (1 = the data files' full size), got {scale}"
    ))
    .with_hint("the playground is 0.01; 0.1 is about 1 GiB, 1 about 10 GiB")
    .into())
}

/// What the seed wrote, and how long each of its parts took.
#[derive(Debug, Clone, Copy)]
pub struct Seeded {
    /// The whole seed, timed as `pgbench -i` times its load, index builds and vacuum.
    pub written: Written,
    pub load: std::time::Duration,
    /// Building the indexes and keys deferred for the load.
    pub indexes: std::time::Duration,
    /// What autovacuum would do next ([`maintain`]): after a load, which leaves no dead rows,
    /// that is ANALYZE.
    pub maintenance: std::time::Duration,
}

/// The seed: the base's backfill at `scale`, on a database where only the base schema is applied.
pub async fn seed(
    conn: &mut PgConnection,
    runner: &Runner,
    plan: &DataPlan,
    scale: f64,
    start_date: NaiveDate,
) -> Result<Seeded> {
    run::set_seed(conn, runner.seed).await?;
    run::ensure_schema(conn).await?;
    sqlx::query(
        "INSERT INTO engineer_sim.data_settings (scale) VALUES ($1) ON CONFLICT (singleton) DO NOTHING",
    )
    .bind(scale)
    .execute(&mut *conn)
    .await?;
    let base = plan.file(BASE).cloned().unwrap_or_default();
    let steps = sourced(&base, &base.backfill);
    let scope = scope(plan, scale, runner.seed, 0, start_date);
    // Timed whole, as `pgbench -i` times its load, index builds and vacuum.
    let started = std::time::Instant::now();
    let size_before = run::database_size(conn).await?;
    let growing: Vec<String> = base
        .tables
        .iter()
        .filter(|(_, class)| **class == super::SizeClass::Grows)
        .map(|(table, _)| table.clone())
        .collect();
    // A resumed seed dropped them already: those its builds did not reach are still recorded,
    // and the ones built stay (dropping them again would rebuild every index after a kill).
    if !phase_started(conn, "seed").await? {
        super::defer::drop_indexes(conn, &growing).await?;
    }
    let bulk = Runner {
        bulk: true,
        ..runner.clone()
    };
    let loaded = run::run_phase(conn, &bulk, "seed", &steps, &scope).await?;
    let built = std::time::Instant::now();
    super::defer::build_indexes(conn, runner).await?;
    let maintained = std::time::Instant::now();
    maintain(conn, runner).await?;
    Ok(Seeded {
        written: Written {
            rows: loaded.rows,
            bytes: run::database_size(conn).await? - size_before,
            elapsed: started.elapsed(),
        },
        load: built - started,
        indexes: maintained - built,
        maintenance: maintained.elapsed(),
    })
}

/// A change's backfill, right after its DDL committed.
pub async fn backfill(
    conn: &mut PgConnection,
    runner: &Runner,
    plan: &DataPlan,
    scale: f64,
    change_id: &str,
    sim_day: u32,
    start_date: NaiveDate,
) -> Result<Written> {
    let Some(file) = plan.file(change_id) else {
        return Ok(Written::default());
    };
    let steps = sourced(file, &file.backfill);
    let scope = scope(plan, scale, runner.seed, sim_day, start_date);
    run::run_phase(
        conn,
        runner,
        &format!("backfill:{change_id}"),
        &steps,
        &scope,
    )
    .await
}

/// Whether `change_id`'s backfill has begun: a step of it is recorded.
pub async fn backfill_started(conn: &mut PgConnection, change_id: &str) -> Result<bool> {
    phase_started(conn, &format!("backfill:{change_id}")).await
}

/// Whether a step of `phase` is recorded.
async fn phase_started(conn: &mut PgConnection, phase: &str) -> Result<bool> {
    Ok(
        sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM engineer_sim.data_steps WHERE phase = $1)",
        )
        .bind(phase)
        .fetch_one(conn)
        .await?,
    )
}

/// Changes whose backfill has a step recorded but not done.
pub async fn unfinished_backfills(conn: &mut PgConnection) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT DISTINCT substr(phase, length('backfill:') + 1) FROM engineer_sim.data_steps
         WHERE NOT done AND phase LIKE 'backfill:%'",
    )
    .fetch_all(conn)
    .await?)
}

/// The last sim day whose growth is done (0: none yet).
pub async fn last_grown_day(conn: &mut PgConnection) -> Result<u32> {
    let day: Option<i32> = sqlx::query_scalar("SELECT max(day) FROM engineer_sim.data_days")
        .fetch_one(conn)
        .await?;
    Ok(day.unwrap_or(0).max(0) as u32)
}

/// Writes sim day `day`'s growth (the steps an earlier, killed run did not finish) and the
/// day's maintenance. `applied` gives each applied change's sim day: a change's daily writes start
/// the day after it. The day counts as grown once [`mark_grown`] says so.
pub async fn grow_day(
    conn: &mut PgConnection,
    runner: &Runner,
    plan: &DataPlan,
    scale: f64,
    day: u32,
    applied: &BTreeMap<String, u32>,
    start_date: NaiveDate,
) -> Result<Written> {
    let live: Vec<&DataFile> = plan
        .order
        .iter()
        .filter(|id| *id == BASE || applied.get(*id).is_some_and(|on| *on < day))
        .filter_map(|id| plan.files.get(id))
        .collect();
    let steps: Vec<Sourced> = live.iter().flat_map(|f| sourced(f, &f.daily)).collect();
    let scope = scope(plan, scale, runner.seed, day, start_date);
    let written = run::run_phase(conn, runner, &format!("day:{day}"), &steps, &scope).await?;
    maintain(conn, runner).await?;
    Ok(written)
}

/// Records sim day `day` as grown, in the caller's transaction (which journals it too).
pub async fn mark_grown(conn: &mut PgConnection, day: u32, rows: u64) -> Result<()> {
    sqlx::query(
        "INSERT INTO engineer_sim.data_days (day, rows_written) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    )
    .bind(day as i32)
    .bind(rows as i64)
    .execute(conn)
    .await?;
    Ok(())
}

fn sourced<'a>(file: &'a DataFile, steps: &'a [super::Step]) -> Vec<Sourced<'a>> {
    steps
        .iter()
        .map(|step| Sourced {
            step,
            source: file.path.display().to_string(),
            macros: &file.macros,
        })
        .collect()
}

fn scope(plan: &DataPlan, scale: f64, seed: u64, day: u32, start_date: NaiveDate) -> Scope {
    let date = if day == 0 {
        start_date.pred_opt().unwrap_or(start_date)
    } else {
        calendar::date_of(start_date, day)
    };
    Scope {
        scale,
        seed,
        day,
        date,
        start_date,
        counts: plan.names.clone(),
    }
}

/// What autovacuum would have done over a real day, which a compressed sim day does not give it
/// time for: VACUUM the tables past its dead-tuple threshold and ANALYZE those past its analyze
/// threshold (PostgreSQL's default formulas), skipping the tables whose autovacuum a change turned
/// off. That is what makes a table whose autovacuum is off bloat while the others do not.
pub async fn maintain(conn: &mut PgConnection, runner: &Runner) -> Result<()> {
    let due: Vec<(String, bool)> = sqlx::query_as(
        "SELECT format('%I.%I', s.schemaname, s.relname),
                s.n_dead_tup > 50 + 0.2 * greatest(c.reltuples, 0)
         FROM pg_stat_user_tables s
         JOIN pg_class c ON c.oid = s.relid
         WHERE s.schemaname <> 'engineer_sim'
           AND NOT EXISTS (SELECT 1 FROM unnest(c.reloptions) o
                           WHERE o ~* '^autovacuum_enabled=(false|off|no|0)$')
           AND (s.n_dead_tup > 50 + 0.2 * greatest(c.reltuples, 0)
                OR s.n_mod_since_analyze > 50 + 0.1 * greatest(c.reltuples, 0))
         ORDER BY 1",
    )
    .fetch_all(&mut *conn)
    .await?;
    // One table per connection at a time: the tables are independent, and a day's VACUUM of the
    // issues table alone can take as long as the rest together.
    let pieces = due
        .into_iter()
        .map(|(table, vacuum)| {
            vec![if vacuum {
                format!("VACUUM (ANALYZE) {table}")
            } else {
                format!("ANALYZE {table}")
            }]
        })
        .collect();
    super::chunks::run_parallel(runner, "", pieces).await?;
    Ok(())
}
