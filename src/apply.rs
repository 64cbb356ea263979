//! Apply one change: one transaction holding the DDL, the audit before and after it, and the
//! ledger rows, so a change is applied exactly once and the ledger never lies (README "How it works").

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Result;
use chrono::NaiveDate;
use serde_json::json;
use sqlx::{Connection, PgConnection};

use crate::audit::{self, Key};
use crate::error::{Exit, UserError};
use crate::ledger::{self, ChangeRow};
use crate::mistakes::Snapshot;
use crate::mistakes::{self, code_for, CodeSet, Verification};
use crate::render::{Rendered, Slip};
use crate::roadmap::Declared;
use crate::words::Words;

mod outside;

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
    /// The origin of a declared mistake: `scripted` for changes, `base` for the base schema.
    pub declared_origin: &'a str,
    /// The detectors' word lists, the roadmap's.
    pub words: &'a Words,
}

impl Unit<'_> {
    fn by(&self) -> By<'_> {
        By {
            id: self.id,
            week: self.week,
            sim_date: self.sim_date,
            author: self.author,
        }
    }
}

/// The change a finding is opened or closed by, as the journal names it.
struct By<'a> {
    id: &'a str,
    week: u32,
    sim_date: NaiveDate,
    author: &'a str,
}

#[derive(Debug, Default)]
pub struct Outcome {
    pub already_applied: bool,
    /// Who did the change (the assignee).
    pub author: String,
    pub opened: Vec<Key>,
    pub closed: Vec<Key>,
}

/// Per-statement limits: a change must never hang a production-like database.
pub const LOCK_TIMEOUT: &str = "5s";
pub const STATEMENT_TIMEOUT: &str = "5min";

pub async fn apply(conn: &mut PgConnection, unit: &Unit<'_>, codes: CodeSet) -> Result<Outcome> {
    // A process killed between a change and its outside steps left them pending: finish them
    // first, so this change's audit starts from a database the ledger describes.
    outside::finish(conn, codes, unit.words).await?;
    let mut tx = conn.begin().await?;
    // Another applier's turn is waited for under the connection's bounded lock wait
    // (crate::pg::LOCK_WAIT), before the change's own, shorter, lock_timeout applies.
    ledger::lock_for_apply(&mut tx).await?;
    // TimeZone is fixed because whether timestamp -> timestamptz rewrites a table depends on it:
    // the journal must not depend on the machine it ran on.
    sqlx::raw_sql(&format!(
        "SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'; SET LOCAL statement_timeout = '{STATEMENT_TIMEOUT}'; \
         SET LOCAL TimeZone = 'UTC'"
    ))
    .execute(&mut *tx)
    .await?;
    if ledger::is_applied(&mut tx, unit.id).await? {
        return Ok(Outcome {
            already_applied: true,
            ..Outcome::default()
        });
    }
    let started = chrono::Utc::now();
    // A table locked by another session makes the audit wait past lock_timeout: the change
    // fails, is rolled back and journaled like a failing DDL statement.
    let (open_before, audit_before) = match audit_before(&mut tx, unit.words).await {
        Ok(before) => before,
        Err(err) => {
            drop(tx);
            return Err(record_failure(conn, unit, err).await);
        }
    };
    let (inside_sql, outside_steps) = unit.rendered.steps();
    let schema_before = match crate::drift::Schema::read(&mut tx).await {
        Ok(schema) => schema,
        Err(err) => {
            drop(tx);
            return Err(record_failure(conn, unit, err).await);
        }
    };
    // The whole schema first: its difference names what was done behind engineer-sim's back.
    crate::drift::ensure_as_recorded(&mut tx, unit.id, &schema_before).await?;
    ensure_no_drift(unit, &audit_before, &catalog_only(&open_before))?;
    let observed = async {
        let before = Snapshot::take(&mut tx).await?;
        sqlx::raw_sql(inside_sql).execute(&mut *tx).await?;
        let after = Snapshot::take(&mut tx).await?;
        let audit = audit::audit(&mut tx, unit.words).await?;
        let schema = crate::drift::Schema::read(&mut tx).await?;
        anyhow::Ok((before, after, audit, schema))
    }
    .await;
    let (snapshot_before, snapshot_after, audit_after, schema_after) = match observed {
        Ok(observed) => observed,
        Err(err) => {
            drop(tx);
            return Err(record_failure(conn, unit, err).await);
        }
    };
    let seen = Seen {
        audit: audit_after,
        observed: observe_ledger_kinds(&snapshot_before, &snapshot_after),
        after: snapshot_after,
    };
    let (declared, deferred) = split_deferred(declared_mistakes(unit), !outside_steps.is_empty());
    if let Err(err) = ensure_declared_are_seen(unit, &declared, &seen) {
        drop(tx);
        journal_failure(conn, unit, None, &format!("{err:#}")).await;
        return Err(err);
    }
    let delta = findings_delta(&declared, &open_before, &seen);

    let seq = ledger::next_seq(&mut tx).await?;
    ledger::insert_change(&mut tx, &change_row(unit, seq), started).await?;
    ledger::record_event(
        &mut tx,
        &crate::journal::event(
            "change_applied",
            Some(unit.sim_date),
            json!({
                "change_id": unit.id, "week": unit.week, "day": unit.day, "author": unit.author,
                "title": unit.title, "sql_sha256": unit.rendered.applied_sha256(),
                "slips": unit.rendered.slips,
            }),
        ),
    )
    .await?;
    let by = unit.by();
    for key in &delta.close {
        close(&mut tx, &by, key, codes).await?;
    }
    for opening in &delta.open {
        open(&mut tx, &by, opening, codes).await?;
    }
    if !outside_steps.is_empty() {
        outside::record_pending(&mut tx, unit, &outside_steps, &deferred).await?;
    }
    schema_after.record(&mut tx, unit.id).await?;
    tx.commit().await?;
    let mut outcome = Outcome {
        already_applied: false,
        author: unit.author.to_string(),
        opened: delta.open.into_iter().map(|o| o.key).collect(),
        closed: delta.close,
    };
    if !outside_steps.is_empty() {
        let (opened, closed) = outside::finish(conn, codes, unit.words).await?;
        outcome.opened.extend(opened);
        outcome.closed.extend(closed);
    }
    Ok(outcome)
}

/// Declared mistakes by key: their origin and excuse.
type DeclaredMap<'a> = BTreeMap<Key, (&'a str, Option<String>)>;

/// Declared mistakes whose slip is a step outside the transaction are looked for after that
/// step ([`outside::finish`]), not in the change's transaction.
fn split_deferred(
    mut declared: DeclaredMap<'_>,
    has_outside_steps: bool,
) -> (DeclaredMap<'_>, Vec<(Key, Option<String>)>) {
    if !has_outside_steps {
        return (declared, Vec::new());
    }
    let deferred_keys: Vec<Key> = declared
        .keys()
        .filter(|key| mistakes::by_name(&key.kind).is_some_and(|k| k.outside_transaction()))
        .cloned()
        .collect();
    let deferred = deferred_keys
        .into_iter()
        .filter_map(|key| declared.remove(&key).map(|(_, excuse)| (key, excuse)))
        .collect();
    (declared, deferred)
}

/// What the change left behind, as the audit and the snapshots see it.
struct Seen {
    /// Catalog findings present after the change.
    audit: BTreeSet<Key>,
    /// Ledger-kind observations between the snapshots before and after the change.
    observed: BTreeSet<Key>,
    after: Snapshot,
}

struct Opening {
    key: Key,
    origin: String,
    verification: &'static str,
    excuse: Option<String>,
}

#[derive(Default)]
struct Delta {
    open: Vec<Opening>,
    close: Vec<Key>,
}

fn observe_ledger_kinds(before: &Snapshot, after: &Snapshot) -> BTreeSet<Key> {
    mistakes::all()
        .iter()
        .filter(|k| k.verification() == Verification::Ledger)
        .flat_map(|k| {
            k.observe(before, after)
                .into_iter()
                .map(|o| Key::new(k.name, o))
        })
        .collect()
}

/// Which findings the change opens and closes.
fn findings_delta(
    declared: &BTreeMap<Key, (&str, Option<String>)>,
    open_before: &BTreeMap<Key, Verification>,
    seen: &Seen,
) -> Delta {
    let mut delta = Delta::default();
    for (key, verification) in open_before {
        let closed = match verification {
            Verification::Catalog => !seen.audit.contains(key),
            _ => mistakes::by_name(&key.kind)
                .is_some_and(|k| k.closed_after(&key.object, &seen.after)),
        };
        if closed {
            delta.close.push(key.clone());
        }
    }
    let candidates = seen
        .audit
        .iter()
        .chain(&seen.observed)
        .chain(declared.keys());
    let mut opened = BTreeSet::new();
    for key in candidates {
        if open_before.contains_key(key) || !opened.insert(key.clone()) {
            continue;
        }
        let kind = mistakes::by_name(&key.kind);
        let verification = kind
            .map(|k| k.verification())
            .unwrap_or(Verification::Declared);
        let (origin, excuse) = match declared.get(key) {
            Some((origin, excuse)) => (origin.to_string(), excuse.clone()),
            None if kind.is_some_and(|k| k.incidental) => ("incidental".to_string(), None),
            None => continue,
        };
        delta.open.push(Opening {
            key: key.clone(),
            origin,
            verification: verification_name(verification),
            excuse,
        });
    }
    delta
}

async fn close(tx: &mut PgConnection, unit: &By<'_>, key: &Key, codes: CodeSet) -> Result<()> {
    ledger::close_finding(tx, &key.kind, &key.object, unit.id).await?;
    ledger::record_event(
        tx,
        &crate::journal::event(
            "finding_closed",
            Some(unit.sim_date),
            json!({ "kind": key.kind, "code": code_for(&key.kind, codes), "object": key.object,
                    "change_id": unit.id, "week": unit.week, "author": unit.author }),
        ),
    )
    .await
}

fn verification_name(v: Verification) -> &'static str {
    v.as_str()
}

async fn open(tx: &mut PgConnection, unit: &By<'_>, o: &Opening, codes: CodeSet) -> Result<()> {
    let Key { kind, object } = &o.key;
    ledger::open_finding(
        tx,
        kind,
        object,
        &o.origin,
        o.verification,
        unit.id,
        o.excuse.as_deref(),
    )
    .await?;
    ledger::record_event(
        tx,
        &crate::journal::event(
            "finding_opened",
            Some(unit.sim_date),
            json!({ "kind": kind, "code": code_for(kind, codes), "object": object, "origin": o.origin,
                    "verification": o.verification, "change_id": unit.id, "week": unit.week,
                    "author": unit.author, "excuse": o.excuse }),
        ),
    )
    .await
}

/// The ledger's open findings with how each is verified.
async fn open_findings(tx: &mut PgConnection) -> Result<BTreeMap<Key, Verification>> {
    Ok(ledger::findings(tx, false)
        .await?
        .into_iter()
        .map(|f| {
            let verification = mistakes::by_name(&f.kind)
                .map(|k| k.verification())
                .unwrap_or(Verification::Declared);
            (Key::new(f.kind, f.object), verification)
        })
        .collect())
}

fn catalog_only(open: &BTreeMap<Key, Verification>) -> BTreeSet<Key> {
    open.iter()
        .filter(|(_, v)| **v == Verification::Catalog)
        .map(|(k, _)| k.clone())
        .collect()
}

/// Scripted mistakes and slips of this unit, with their origin and excuse. A slip on an object
/// the roadmap also scripts counts as scripted: it would be there anyway.
fn declared_mistakes<'a>(unit: &'a Unit<'_>) -> BTreeMap<Key, (&'a str, Option<String>)> {
    let mut declared = BTreeMap::new();
    for Slip {
        kind,
        object,
        excuse,
    } in &unit.rendered.slips
    {
        declared.insert(Key::new(kind, object), ("slip", Some(excuse.clone())));
    }
    for d in unit.scripted {
        declared.insert(Key::new(&d.kind, &d.object), (unit.declared_origin, None));
    }
    declared
}

/// A declared mistake the audit or the apply step could see but does not is a bug in a template
/// or a detector: fail loudly, naming both.
fn ensure_declared_are_seen(
    unit: &Unit<'_>,
    declared: &BTreeMap<Key, (&str, Option<String>)>,
    seen: &Seen,
) -> Result<()> {
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

/// The database must still be as the ledger says, or findings would be attributed wrongly.
fn ensure_no_drift(unit: &Unit<'_>, before: &BTreeSet<Key>, open: &BTreeSet<Key>) -> Result<()> {
    if before == open {
        return Ok(());
    }
    let show = |set: BTreeSet<&Key>| {
        set.iter()
            .map(|key| format!("{} {}", key.kind, key.object))
            .collect::<Vec<_>>()
            .join(", ")
    };
    Err(UserError::new(
        Exit::Mismatch,
        format!(
            "before applying {}: the database differs from the ledger (present but not journaled: [{}]; journaled but gone: [{}])",
            unit.id,
            show(before.difference(open).collect()),
            show(open.difference(before).collect()),
        ),
    )
    .with_hint("someone changed the schema outside engineer-sim; `engineer-sim verify` shows the difference")
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
        slips: serde_json::to_value(&unit.rendered.slips).unwrap_or_default(),
    }
}

/// Journals a failed change in its own transaction (the change's was rolled back).
async fn journal_failure(
    conn: &mut PgConnection,
    unit: &Unit<'_>,
    sqlstate: Option<&str>,
    message: &str,
) {
    let event = crate::journal::event(
        "change_failed",
        Some(unit.sim_date),
        json!({ "change_id": unit.id, "week": unit.week, "author": unit.author,
                "sqlstate": sqlstate, "message": message }),
    );
    if let Err(log_err) = ledger::record_event(conn, &event).await {
        tracing::warn!("could not journal the failure of {}: {log_err}", unit.id);
    }
}

/// The ledger's open findings and the audit, before the change's DDL.
async fn audit_before(
    tx: &mut PgConnection,
    words: &Words,
) -> Result<(BTreeMap<Key, Verification>, BTreeSet<Key>)> {
    Ok((open_findings(tx).await?, audit::audit(tx, words).await?))
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
