//! Apply one change: one transaction holding the DDL, the audit before and after it, and the
//! ledger rows, so a change is applied exactly once and the ledger never lies (DESIGN section 8).

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Result;
use chrono::NaiveDate;
use serde_json::json;
use sqlx::{Connection, PgConnection};

use crate::audit::{self, Key};
use crate::error::{Exit, UserError};
use crate::ledger::{self, ChangeRow};
use crate::mistakes::{self, code_for, CodeSet};
use crate::render::{Rendered, Slip};
use crate::roadmap::Declared;

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
}

#[derive(Debug, Default)]
pub struct Outcome {
    pub already_applied: bool,
    pub opened: Vec<Key>,
    pub closed: Vec<Key>,
}

/// Per-statement limits: a change must never hang a production-like database.
pub const LOCK_TIMEOUT: &str = "5s";
pub const STATEMENT_TIMEOUT: &str = "5min";

pub async fn apply(conn: &mut PgConnection, unit: &Unit<'_>, codes: CodeSet) -> Result<Outcome> {
    let mut tx = conn.begin().await?;
    sqlx::raw_sql(&format!(
        "SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'; SET LOCAL statement_timeout = '{STATEMENT_TIMEOUT}'"
    ))
    .execute(&mut *tx)
    .await?;
    ledger::lock_for_apply(&mut tx).await?;
    if ledger::is_applied(&mut tx, unit.id).await? {
        return Ok(Outcome {
            already_applied: true,
            ..Outcome::default()
        });
    }
    let started = chrono::Utc::now();
    let open_before = open_catalog_findings(&mut tx).await?;
    let before = audit::audit(&mut tx).await?;
    ensure_no_drift(unit, &before, &open_before)?;

    if let Err(err) = sqlx::raw_sql(&unit.rendered.applied_sql)
        .execute(&mut *tx)
        .await
    {
        drop(tx);
        return Err(record_failure(conn, unit, err).await);
    }

    let after = audit::audit(&mut tx).await?;
    let declared = declared_mistakes(unit);
    if let Err(err) = ensure_declared_are_seen(unit, &declared, &after) {
        drop(tx);
        journal_failure(conn, unit, None, &format!("{err:#}")).await;
        return Err(err);
    }

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

    let mut outcome = Outcome::default();
    for key in after.difference(&open_before) {
        let (origin, excuse) = match declared.get(key) {
            Some((origin, excuse)) => (*origin, excuse.as_deref()),
            None => ("incidental", None),
        };
        open(&mut tx, unit, key, origin, "catalog", excuse, codes).await?;
        outcome.opened.push(key.clone());
    }
    for (key, (origin, excuse)) in &declared {
        if audit::audit_sees(&key.0) || is_open(&mut tx, key).await? {
            continue;
        }
        let verification = mistakes::by_name(&key.0)
            .map(|k| k.verification())
            .map(verification_name);
        open(
            &mut tx,
            unit,
            key,
            origin,
            verification.unwrap_or("declared"),
            excuse.as_deref(),
            codes,
        )
        .await?;
        outcome.opened.push(key.clone());
    }
    for key in open_before.difference(&after) {
        ledger::close_finding(&mut tx, &key.0, &key.1, unit.id).await?;
        ledger::record_event(
            &mut tx,
            &crate::journal::event(
                "finding_closed",
                Some(unit.sim_date),
                json!({ "kind": key.0, "code": code_for(&key.0, codes), "object": key.1,
                        "change_id": unit.id, "week": unit.week, "author": unit.author }),
            ),
        )
        .await?;
        outcome.closed.push(key.clone());
    }
    tx.commit().await?;
    Ok(outcome)
}

fn verification_name(v: mistakes::Verification) -> &'static str {
    match v {
        mistakes::Verification::Catalog => "catalog",
        mistakes::Verification::Ledger => "ledger",
        mistakes::Verification::Declared => "declared",
    }
}

async fn open(
    tx: &mut PgConnection,
    unit: &Unit<'_>,
    key: &Key,
    origin: &str,
    verification: &str,
    excuse: Option<&str>,
    codes: CodeSet,
) -> Result<()> {
    ledger::open_finding(tx, &key.0, &key.1, origin, verification, unit.id, excuse).await?;
    ledger::record_event(
        tx,
        &crate::journal::event(
            "finding_opened",
            Some(unit.sim_date),
            json!({ "kind": key.0, "code": code_for(&key.0, codes), "object": key.1, "origin": origin,
                    "change_id": unit.id, "week": unit.week, "author": unit.author, "excuse": excuse }),
        ),
    )
    .await
}

async fn is_open(tx: &mut PgConnection, key: &Key) -> Result<bool> {
    Ok(ledger::findings(tx, false)
        .await?
        .iter()
        .any(|f| f.kind == key.0 && f.object == key.1))
}

/// The ledger's open findings of the kinds the audit can see.
async fn open_catalog_findings(tx: &mut PgConnection) -> Result<BTreeSet<Key>> {
    Ok(ledger::findings(tx, false)
        .await?
        .into_iter()
        .filter(|f| audit::audit_sees(&f.kind))
        .map(|f| (f.kind, f.object))
        .collect())
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
        declared.insert(
            (kind.clone(), object.clone()),
            ("slip", Some(excuse.clone())),
        );
    }
    for d in unit.scripted {
        declared.insert(
            (d.kind.clone(), d.object.clone()),
            (unit.declared_origin, None),
        );
    }
    declared
}

/// A declared mistake the audit cannot see is a bug in a template or a detector: fail loudly.
fn ensure_declared_are_seen(
    unit: &Unit<'_>,
    declared: &BTreeMap<Key, (&str, Option<String>)>,
    after: &BTreeSet<Key>,
) -> Result<()> {
    let unseen: Vec<String> = declared
        .iter()
        .filter(|(key, _)| audit::audit_sees(&key.0) && !after.contains(*key))
        .map(|((kind, object), (origin, _))| {
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
            .map(|(k, o)| format!("{k} {o}"))
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

/// Journals a change whose SQL failed and returns the error to show: SQLSTATE, message, and
/// where the SQL came from.
async fn record_failure(
    conn: &mut PgConnection,
    unit: &Unit<'_>,
    err: sqlx::Error,
) -> anyhow::Error {
    let (sqlstate, message) = match &err {
        sqlx::Error::Database(db) => (db.code().map(|c| c.to_string()), db.message().to_string()),
        other => (None, other.to_string()),
    };
    journal_failure(conn, unit, sqlstate.as_deref(), &message).await;
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
    .with_hint("`engineer-sim render <change-id>` prints the SQL that was applied; `--on-error skip` goes on past failures")
    .into()
}
