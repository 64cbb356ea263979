//! Apply one change: one transaction holding the DDL, the audit before and after it, and the
//! ledger rows, so a change is applied exactly once and the ledger never lies (README "How it works").

use std::collections::BTreeMap;

use anyhow::Result;
use chrono::NaiveDate;
use sqlx::{Connection, PgConnection};

use crate::audit::{self, Key};
use crate::error::{Exit, UserError};
use crate::ledger::{self, By, ChangeRow, Event, Origin};
use crate::mistakes::{self, CodeSet, Verification};
use crate::render::{Rendered, Slip};
use crate::roadmap::Declared;
use crate::session::LOCK_TIMEOUT;
use crate::words::Words;

mod delta;
mod fingerprint;
mod look;
mod outside;
mod scope;
mod stamp;
#[cfg(test)]
mod tests;

use delta::{DeclaredMap, Seen};
use look::{audit_after, ensure_no_drift, look, schema_after, snapshot_after, Known};
use scope::{Relations, Scope};
use stamp::{Stamp, Stamped};

/// Everything the apply step needs to know about one unit of work (a change, or the base schema).
pub struct Unit<'a> {
    pub id: &'a str,
    pub week: u32,
    pub day: &'a str,
    pub sim_day: u32,
    pub sim_date: NaiveDate,
    pub author: &'a str,
    pub title: &'a str,
    /// Where the SQL came from, for messages.
    pub source: &'a str,
    pub rendered: &'a Rendered,
    /// Mistakes the roadmap plants in this unit.
    pub scripted: &'a [Declared],
    /// The origin of a declared mistake: scripted for changes, base for the base schema.
    pub declared_origin: Origin,
    /// The detectors' word lists, the roadmap's.
    pub words: &'a Words,
    /// Audit the whole database after the DDL (`--full-audit`), not only what it touched.
    pub full_audit: bool,
    /// Whether the next change, if any, starts in another process (or after something was
    /// journaled): on a large catalog this one then records the catalog's stamp, from which that
    /// change knows without reading the catalog that nothing changed (apply/stamp.rs).
    pub stamp: bool,
}

impl Unit<'_> {
    /// The unit as its journal events name it.
    fn by(&self) -> By {
        By {
            change_id: self.id.to_string(),
            week: self.week,
            author: self.author.to_string(),
            sim_date: self.sim_date,
        }
    }
}

/// How a change that looks afresh found the catalog as the last change recorded it, and so
/// started from that record (apply/look.rs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AsRecorded {
    /// The stamp the last change took still holds (apply/stamp.rs): nothing was read.
    Stamp,
    /// The relation digests and names read now give the recorded fingerprint
    /// (apply/fingerprint.rs).
    Fingerprint,
}

#[derive(Debug, Default)]
pub struct Outcome {
    pub already_applied: bool,
    /// Whether the change looked at the database afresh (drift check, audit, catalog snapshot)
    /// rather than starting from what the run's previous change left.
    pub looked_afresh: bool,
    /// When it looked afresh on a large catalog: whether it found the catalog as the last
    /// change recorded it, and by what.
    pub as_recorded: Option<AsRecorded>,
    /// Who did the change (the assignee).
    pub author: String,
    pub opened: Vec<Key>,
    pub closed: Vec<Key>,
    /// How long the change's transaction held the locks its DDL took: from the DDL's start to
    /// the commit (every lock is held to the commit).
    pub locked: std::time::Duration,
}

/// Applies one unit on its own: the drift check, the audit and the catalog snapshot before it
/// are taken afresh.
pub async fn apply(conn: &mut PgConnection, unit: &Unit<'_>, codes: CodeSet) -> Result<Outcome> {
    apply_after(conn, unit, codes, &mut None).await
}

/// Applies one unit starting from what the process's previous change `left`, when the ledger
/// shows that nothing was journaled since; else as [`apply`]. Leaves this change's in its place
/// (none when it failed or ran steps outside its transaction).
pub async fn apply_after(
    conn: &mut PgConnection,
    unit: &Unit<'_>,
    codes: CodeSet,
    left: &mut Option<Left>,
) -> Result<Outcome> {
    let previous = left.take();
    // A process killed between a change and its outside steps left them pending: finish them
    // first, so this change's audit starts from a database the ledger describes.
    outside::finish(conn, codes, unit.words).await?;
    let mut tx = conn.begin().await?;
    // Another applier's turn is waited for under the connection's bounded lock wait
    // (crate::pg::LOCK_WAIT), before the change's own, shorter, lock_timeout applies.
    ledger::lock_for_apply(&mut tx).await?;
    sqlx::raw_sql(&crate::session::in_transaction())
        .execute(&mut *tx)
        .await?;
    if ledger::is_applied(&mut tx, unit.id).await? {
        return Ok(Outcome {
            already_applied: true,
            ..Outcome::default()
        });
    }
    let started = chrono::Utc::now();
    let previous = match previous {
        Some(left) if left.events == ledger::events_mark(&mut tx).await? => Some(left.known),
        _ => None,
    };
    let looked_afresh = previous.is_none();
    let mut as_recorded = None;
    let before = match previous {
        Some(known) => known,
        None => {
            // A table locked by another session makes the audit wait past lock_timeout: the
            // change fails, is rolled back and journaled like a failing DDL statement.
            let (known, recorded) = match look(&mut tx, unit).await {
                Ok(looked) => looked,
                Err(err) => {
                    drop(tx);
                    return Err(record_failure(conn, unit, err).await);
                }
            };
            as_recorded = recorded;
            if as_recorded.is_none() {
                // The whole schema first: its difference names what was done behind
                // engineer-sim's back.
                crate::drift::ensure_as_recorded(&mut tx, unit.id, &known.schema.schema).await?;
                ensure_no_drift(unit, &known.audit, &delta::catalog_only(&known.open))?;
            }
            known
        }
    };
    let (inside_sql, outside_steps) = unit.rendered.steps();
    let ddl_started = std::time::Instant::now();
    let observed = async {
        sqlx::raw_sql(inside_sql).execute(&mut *tx).await?;
        // Before anything it is recorded with.
        let stamp = Stamp::take_for(&mut tx, unit, &before.relations).await?;
        let relations = Relations::read(&mut tx).await?;
        // What the DDL touched: what the snapshot, the audit and the schema after it read again.
        let scope = Scope::between(&before.relations, &relations);
        let after = snapshot_after(&mut tx, unit, &before, &relations, &scope).await?;
        let audit = audit_after(&mut tx, unit, &before, &after, &relations, &scope).await?;
        let schema = schema_after(&mut tx, unit, &before, &relations, &scope).await?;
        anyhow::Ok((after, relations, audit, schema, stamp))
    }
    .await;
    let (snapshot_after, relations_after, audit_after, schema_after, stamp) = match observed {
        Ok(observed) => observed,
        Err(err) => {
            drop(tx);
            return Err(record_failure(conn, unit, err).await);
        }
    };
    let seen = Seen {
        audit: audit_after,
        observed: delta::observe_ledger_kinds(&before.snapshot, &snapshot_after),
        after: snapshot_after,
    };
    let (declared, deferred) =
        delta::split_deferred(declared_mistakes(unit), !outside_steps.is_empty());
    if let Err(err) = ensure_declared_are_seen(unit, &declared, &seen) {
        drop(tx);
        journal_failure(conn, unit, None, &format!("{err:#}")).await;
        return Err(err);
    }
    let delta = delta::findings_delta(&declared, &before.open, &seen);

    let seq = ledger::next_seq(&mut tx).await?;
    ledger::insert_change(&mut tx, &change_row(unit, seq), started).await?;
    let by = unit.by();
    let applied = Event::ChangeApplied {
        by: by.clone(),
        day: unit.day.to_string(),
        title: unit.title.to_string(),
        sql_sha256: unit.rendered.applied_sha256(),
        slips: unit.rendered.slips.clone(),
    };
    ledger::record(&mut tx, &applied).await?;
    delta::record(&mut tx, &by, &delta, codes).await?;
    if !outside_steps.is_empty() {
        outside::record_pending(&mut tx, &by, &outside_steps, &deferred).await?;
    }
    // On a large catalog, the fingerprint lets the next process's first change skip its whole
    // audit, schema read and catalog snapshot when nothing changed in between
    // (apply/fingerprint.rs).
    let fingerprint = schema_after
        .names()
        .map(|names| fingerprint::fingerprint(&relations_after, names, unit.words));
    let stamped = Stamped::of(stamp, &relations_after, schema_after.names());
    let fingerprinted = fingerprint
        .as_deref()
        .map(|f| (f, &seen.after, stamped.as_ref()));
    schema_after.record(&mut tx, unit.id, fingerprinted).await?;
    let events = ledger::events_mark(&mut tx).await?;
    tx.commit().await?;
    let locked = ddl_started.elapsed();
    if outside_steps.is_empty() {
        *left = Some(Left {
            events,
            known: Known {
                open: delta.open_after(before.open),
                audit: seen.audit,
                snapshot: seen.after,
                relations: relations_after,
                schema: schema_after,
            },
        });
    }
    let (opened, closed) = delta.into_keys();
    let mut outcome = Outcome {
        already_applied: false,
        looked_afresh,
        as_recorded,
        author: unit.author.to_string(),
        opened,
        closed,
        locked,
    };
    if !outside_steps.is_empty() {
        let (opened, closed) = outside::finish(conn, codes, unit.words).await?;
        outcome.opened.extend(opened);
        outcome.closed.extend(closed);
    }
    Ok(outcome)
}

/// What a change left, as its own transaction saw it just before committing: the next change of
/// the same run starts from it instead of reading the ledger's findings, auditing and taking a
/// catalog snapshot again (README "Performance"). It holds while the ledger's events are as they
/// were then; anything journaled since (another process's change, steps outside a transaction,
/// the living database's growth) makes the next change look afresh, drift check included.
pub struct Left {
    /// [`ledger::events_mark`] with the change's own events in it.
    events: (i64, i64),
    known: Known,
}

/// Scripted mistakes and slips of this unit, with their origin and excuse. A slip on an object
/// the roadmap also scripts counts as scripted: it would be there anyway.
fn declared_mistakes(unit: &Unit<'_>) -> DeclaredMap {
    let mut declared = BTreeMap::new();
    for Slip {
        kind,
        object,
        excuse,
    } in &unit.rendered.slips
    {
        declared.insert(Key::new(kind, object), (Origin::Slip, Some(excuse.clone())));
    }
    for d in unit.scripted {
        declared.insert(Key::new(&d.kind, &d.object), (unit.declared_origin, None));
    }
    declared
}

/// A declared mistake the audit or the apply step could see but does not is a bug in a template
/// or a detector: fail loudly, naming both.
fn ensure_declared_are_seen(unit: &Unit<'_>, declared: &DeclaredMap, seen: &Seen) -> Result<()> {
    let unseen: Vec<String> = declared
        .iter()
        .filter(
            |(key, _)| match mistakes::by_name(&key.kind).map(|k| k.verification()) {
                Some(Verification::Catalog) => {
                    audit::audit_sees(&key.kind) && !seen.audit.contains(*key)
                }
                Some(Verification::Ledger) => !seen.observed.contains(*key),
                _ => false,
            },
        )
        .map(|(Key { kind, object }, (origin, _))| {
            format!("{origin} {kind} on {object} (detector src/mistakes/{kind}.rs)")
        })
        .collect();
    if unseen.is_empty() {
        return Ok(());
    }
    Err(UserError::new(
        Exit::ApplyFailed,
        format!(
            "change {} ({}): declared mistakes the audit does not see after applying: {}; the change was rolled back",
            unit.id,
            unit.source,
            unseen.join("; ")
        ),
    )
    .with_hint("the template's slip point or the roadmap's `scripted` entry names an object the detector cannot find, or the detector misses it: fix whichever is wrong")
    .into())
}

fn change_row(unit: &Unit<'_>, seq: i32) -> ChangeRow {
    ChangeRow {
        change_id: unit.id.to_string(),
        seq,
        week: unit.week as i32,
        day: unit.day.to_string(),
        sim_day: unit.sim_day as i32,
        sim_date: unit.sim_date,
        author: unit.author.to_string(),
        title: unit.title.to_string(),
        sql_sha256: unit.rendered.applied_sha256(),
        applied_sql: unit.rendered.applied_sql.clone(),
        clean_sql: unit.rendered.clean_sql.clone(),
        slips: unit.rendered.slips.clone(),
    }
}

/// Journals a failed change in its own transaction (the change's was rolled back).
async fn journal_failure(
    conn: &mut PgConnection,
    unit: &Unit<'_>,
    sqlstate: Option<&str>,
    message: &str,
) {
    let event = Event::ChangeFailed {
        by: unit.by(),
        sqlstate: sqlstate.map(str::to_string),
        message: message.to_string(),
    };
    if let Err(log_err) = ledger::record(conn, &event).await {
        tracing::warn!("could not journal the failure of {}: {log_err}", unit.id);
    }
}

/// Journals a change that failed inside its transaction (its SQL, or the audit around it) and
/// returns the error to show: SQLSTATE, message, and where the SQL came from. A lost server
/// cannot be journaled: that is the environment's error (exit 3).
async fn record_failure(
    conn: &mut PgConnection,
    unit: &Unit<'_>,
    err: anyhow::Error,
) -> anyhow::Error {
    if crate::error::trouble_of(&err) == Some(crate::error::Trouble::Gone) {
        return err.context(format!("change {} was not applied", unit.id));
    }
    let (sqlstate, message) = match err.chain().find_map(|c| c.downcast_ref::<sqlx::Error>()) {
        Some(sqlx::Error::Database(db)) => {
            (db.code().map(|c| c.to_string()), db.message().to_string())
        }
        _ => (None, format!("{err:#}")),
    };
    journal_failure(conn, unit, sqlstate.as_deref(), &message).await;
    let hint = if sqlstate.as_deref() == Some("55P03") {
        format!("another session holds a lock on a table this change needs (lock_timeout {LOCK_TIMEOUT}); run again once it is released")
    } else {
        "`engineer-sim render <change-id>` prints the SQL that was applied; `--on-error skip` goes on past failures".to_string()
    };
    UserError::new(
        Exit::ApplyFailed,
        format!(
            "change {} ({}) failed and was rolled back: {} {}",
            unit.id,
            unit.source,
            sqlstate.as_deref().unwrap_or(""),
            message
        ),
    )
    .with_hint(hint)
    .into()
}
