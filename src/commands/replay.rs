//! Reproduction: `replay` a week, `diff` the expected findings between two points, print a
//! week's `journal` report or rewrite the journal files.

use anyhow::Result;

use super::apply::print_happened;
use super::context::Context;
use super::report;
use crate::error::{bad_input, environment};
use crate::identity::Identity;
use crate::journal;
use crate::ledger::{self, ChangeRow, Event, BASE_ID};
use crate::render::Decide;
use crate::roadmap::Change;
use crate::sim::{self, Control, Options, Project, Run};
use crate::state::StateDir;

/// `replay --week N` without `--into`: the week's as-written SQL and its slips, in the run the
/// state directory journals (or `--seed`), touching no database.
pub fn print_week(ctx: &Context, week: u32, seed: Option<u64>) -> Result<()> {
    let project = ctx.load_project()?;
    let identity = ctx.planned_identity(&project, seed)?.identity;
    let opts = ctx.options(&project)?;
    let changes: Vec<_> = project
        .roadmap
        .ordered()
        .into_iter()
        .filter(|c| c.week == week)
        .collect();
    if changes.is_empty() {
        return Err(bad_input(format!("the roadmap has no week {week}"))
            .with_hint(format!(
                "weeks run from 1 to {}",
                project.roadmap.last_week()
            ))
            .into());
    }
    for change in changes {
        let assigned = project.render(change, &identity, &opts, Decide::Persona)?;
        print!(
            "{}",
            report::replay_change(
                change,
                week,
                &assigned.persona.display_name,
                &assigned.rendered
            )
        );
    }
    println!(
        "-- seed {}, {} assignment",
        identity.seed,
        identity.assign.as_str()
    );
    Ok(())
}

/// `replay --week N --into DB`: a fresh database on the same server, built from the base and
/// weeks 1..N with the original run's seed, start date and assignment. Its journal goes to
/// `state/replays/DB/`.
pub async fn into_database(
    ctx: &Context,
    week: u32,
    database: &str,
    allow_changed: bool,
) -> Result<()> {
    if !database
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_')
        || database.is_empty()
    {
        return Err(bad_input(format!(
            "--into {database:?}: use letters, digits and underscores"
        ))
        .into());
    }
    let project = ctx.load_project()?;
    project.roadmap.require_week("--week", week)?;
    let target = ctx.target()?;
    let mut original_conn = target.connect().await?;
    let original = ledger::marker(&mut original_conn).await?;
    // The original's data mode: templates render differently with data (README "Steps outside
    // the transaction"), and the replay must render what the original applied.
    let opts = Options {
        data: crate::data::growth::data_scale(&mut original_conn)
            .await?
            .is_some(),
        ..ctx.options(&project)?
    };
    let due = sim::due_until_week(&project.roadmap, week);
    let changed = changed_since_the_original(
        &project,
        &original.identity,
        &ledger::changes(&mut original_conn).await?,
        &due,
        &opts,
    )?;
    drop(original_conn);
    refuse_or_warn(&changed, allow_changed)?;
    let url = with_database(&target.url, database)?;
    let mut admin = target.connect().await?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(database)
            .fetch_one(&mut admin)
            .await?;
    if exists {
        return Err(environment(format!("database {database} already exists"))
            .with_hint("replay builds a fresh database: choose another name or drop that one")
            .into());
    }
    // Quoted: unquoted, PostgreSQL would fold `MixedCase` into another database, `mixedcase`.
    sqlx::raw_sql(&format!("CREATE DATABASE \"{database}\""))
        .execute(&mut admin)
        .await?;
    let mut conn = crate::pg::connect_bounded(&url).await?;
    sim::init(&mut conn, &project, &original.identity, false, &opts).await?;
    for change in &changed {
        ledger::record(&mut conn, &change.event()).await?;
    }
    let state = StateDir::new(ctx.state.root().join("replays").join(database));
    let run = Run {
        project: &project,
        state: &state,
        opts,
        data: None,
    };
    let progress = sim::apply_due(
        &mut conn,
        &run,
        &due,
        Control::default(),
        &mut print_happened,
    )
    .await?;
    journal::sync_files(&mut conn, &state, ctx.global.codes, &project.team).await?;
    println!(
        "replayed weeks 1..{week} of seed {} into {} ({} changes); journal in {}",
        original.identity.seed,
        crate::pg::redact(&url),
        progress.applied.len(),
        state.root().display()
    );
    println!(
        "point other commands at it with --database-url '{}'",
        crate::pg::redact(&url)
    );
    Ok(())
}

/// A change whose SQL renders differently now than the original run applied it: its template,
/// the roadmap or a persona was edited since.
struct Changed {
    change_id: String,
    original_sha256: String,
    now_sha256: String,
    diff: String,
}

impl Changed {
    /// The `replay_sql_changed` event the replay's journal keeps.
    fn event(&self) -> Event {
        Event::ReplaySqlChanged {
            change_id: self.change_id.clone(),
            original_sql_sha256: self.original_sha256.clone(),
            replayed_sql_sha256: self.now_sha256.clone(),
            diff: self.diff.clone(),
        }
    }
}

/// Renders the base and each due change the original applied as the replay will, and compares
/// the SQL's sha256 with the one in the original's ledger.
fn changed_since_the_original(
    project: &Project,
    original: &Identity,
    applied: &[ChangeRow],
    due: &[&Change],
    opts: &Options,
) -> Result<Vec<Changed>> {
    let mut now: Vec<(String, String)> = vec![(BASE_ID.to_string(), project.base_sql()?)];
    for change in due {
        let assigned = project.render(change, original, opts, Decide::Persona)?;
        now.push((change.id.clone(), assigned.rendered.applied_sql));
    }
    Ok(now
        .into_iter()
        .filter_map(|(id, sql)| {
            let row = applied.iter().find(|r| r.change_id == id)?;
            let now_sha256 = crate::render::sha256_hex(&sql);
            (now_sha256 != row.sql_sha256).then(|| Changed {
                diff: similar::TextDiff::from_lines(&row.applied_sql, &sql)
                    .unified_diff()
                    .header("original", "now")
                    .to_string(),
                change_id: id,
                original_sha256: row.sql_sha256.clone(),
                now_sha256,
            })
        })
        .collect())
}

/// A replay promises the original's SQL: a difference stops it (exit 2) unless
/// `--allow-changed`, which warns and journals each difference.
fn refuse_or_warn(changed: &[Changed], allow_changed: bool) -> Result<()> {
    if changed.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = changed
        .iter()
        .map(|c| {
            format!(
                "{} (sha256 {} in the ledger, {} now)",
                c.change_id,
                &c.original_sha256[..c.original_sha256.len().min(12)],
                &c.now_sha256[..12]
            )
        })
        .collect();
    if allow_changed {
        for line in &list {
            eprintln!("warning: replaying {line}: its SQL changed since the original run; journaled as replay_sql_changed");
        }
        return Ok(());
    }
    Err(bad_input(format!(
        "replay: the SQL of {} renders differently than the original run applied it: {}; nothing was created",
        crate::plural::count(changed.len(), "change"),
        list.join(", ")
    ))
    .with_hint(
        "put the templates, roadmap and personas back as they were for an exact replay, or pass \
         --allow-changed to replay what they render now (each difference is journaled)",
    )
    .into())
}

/// The same server and credentials, another database.
fn with_database(url: &str, database: &str) -> Result<String> {
    let mut parsed = url::Url::parse(url).map_err(|err| {
        bad_input(format!(
            "cannot parse the database URL {}: {err}",
            crate::pg::redact(url)
        ))
    })?;
    parsed.set_path(&format!("/{database}"));
    Ok(parsed.to_string())
}

/// `diff --from A --to B`: a unified diff of the expected findings; each side is `week:N` (from
/// the ledger) or a path to an expected-findings file.
pub async fn diff(ctx: &Context, from: &str, to: &str) -> Result<()> {
    let needs_ledger = [from, to].iter().any(|s| s.starts_with("week:"));
    let ledger_data = if needs_ledger {
        let mut conn = ctx.connect_existing().await?;
        Some((
            ledger::marker(&mut conn).await?,
            ledger::changes(&mut conn).await?,
            ledger::findings(&mut conn, true).await?,
        ))
    } else {
        None
    };
    let side = |spec: &str| -> Result<String> {
        match (spec.strip_prefix("week:"), &ledger_data) {
            (Some(n), Some((marker, changes, findings))) => {
                let week: i32 = n
                    .parse()
                    .map_err(|_| bad_input(format!("{spec:?}: expected week:N with N a number")))?;
                Ok(journal::expected::to_json(&journal::expected::at_week(
                    marker,
                    changes,
                    findings,
                    week,
                    ctx.global.codes,
                )))
            }
            _ => std::fs::read_to_string(spec).map_err(|err| {
                bad_input(format!("cannot read {spec}: {err}"))
                    .with_hint("give week:N or the path of an expected-findings.json file")
                    .into()
            }),
        }
    };
    let (old, new) = (side(from)?, side(to)?);
    let diff = similar::TextDiff::from_lines(&old, &new)
        .unified_diff()
        .context_radius(3)
        .header(from, to)
        .to_string();
    if diff.is_empty() {
        println!("no difference between {from} and {to}");
        return Ok(());
    }
    print!("{diff}");
    // Like diff(1): the sides differ, exit 1.
    Err(crate::error::UserError::new(
        crate::error::Exit::Mismatch,
        format!("{from} and {to} differ"),
    )
    .into())
}

/// `journal --week N`: the week's report from the ledger.
pub async fn week_report(ctx: &Context, week: u32) -> Result<()> {
    let mut conn = ctx.connect_existing().await?;
    let changes = ledger::changes(&mut conn).await?;
    if !changes.iter().any(|c| c.week == week as i32) {
        return Err(bad_input(format!(
            "no change of week {week} has been applied to this database"
        ))
        .with_hint("`engineer-sim status` shows how far the run is")
        .into());
    }
    let findings = ledger::findings(&mut conn, true).await?;
    print!(
        "{}",
        journal::week_report(week as i32, &changes, &findings, ctx.global.codes)
    );
    Ok(())
}

/// `journal` without `--week`: every journal file rewritten from the ledger.
pub async fn rewrite_journal(ctx: &Context) -> Result<()> {
    let project = ctx.load_project()?;
    ctx.ensure_state_is_for(&ctx.target()?)?;
    let mut conn = ctx.connect_existing().await?;
    journal::sync_files(&mut conn, &ctx.state, ctx.global.codes, &project.team).await?;
    println!(
        "journal files rewritten from the ledger in {}",
        ctx.state.root().display()
    );
    Ok(())
}
