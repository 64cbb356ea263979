//! What a change sees of the database: before its DDL ([`look`], when it does not start from
//! what the previous change left), and after it ([`audit_after`], [`schema_after`]), kept to
//! what the DDL touched (apply/scope.rs) or, when nothing changed since the last change, taken
//! from the ledger (apply/fingerprint.rs).

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Result;
use sqlx::PgConnection;

use super::scope::{Names, Relations, Scope};
use super::stamp::Stamped;
use super::{delta, fingerprint, AsRecorded, Unit};
use crate::audit::{self, Key};
use crate::error::{Exit, UserError};
use crate::mistakes::{Snapshot, Verification};

/// The database as a change compares it before its DDL.
pub(super) struct Known {
    /// The ledger's open findings and how each is proven.
    pub(super) open: BTreeMap<Key, Verification>,
    /// The audit's findings.
    pub(super) audit: BTreeSet<Key>,
    pub(super) snapshot: Snapshot,
    /// What the scope of the next audit is told from (apply/scope.rs).
    pub(super) relations: Relations,
    /// The schema the drift check compares, by relation.
    pub(super) schema: crate::drift::Tracked,
}

/// Looks at the database afresh: the ledger's open findings, the catalog snapshot, the whole
/// audit and the whole schema for the drift check. On a large catalog that is as the last
/// change recorded it (its stamp holds, apply/stamp.rs, or its fingerprint is the recorded one,
/// apply/fingerprint.rs), the schema, the snapshot and the audit are what the ledger holds, and
/// so are the relation digests after a stamp; how it was found is returned then: the drift
/// checks have nothing to compare.
pub(super) async fn look(
    tx: &mut PgConnection,
    unit: &Unit<'_>,
) -> Result<(Known, Option<AsRecorded>)> {
    let open = delta::open_findings(tx).await?;
    if !unit.full_audit {
        if let Some((relations, schema, catalog)) = stamped(tx, unit).await? {
            let recorded = (relations, schema, catalog);
            return Ok(from_record(unit, open, recorded, AsRecorded::Stamp));
        }
    }
    let relations = Relations::read(tx).await?;
    // A large catalog's schema is patched after each change, which watches these names.
    let names = match patches(&relations) {
        true => Some(crate::drift::names(tx).await?),
        false => None,
    };
    if let (Some(names), false) = (&names, unit.full_audit) {
        let fingerprint = fingerprint::fingerprint(&relations, names, unit.words);
        let recorded = crate::drift::Tracked::recorded_if(tx, &fingerprint, names.clone()).await?;
        if let Some((schema, catalog)) = recorded {
            let recorded = (relations, schema, catalog);
            return Ok(from_record(unit, open, recorded, AsRecorded::Fingerprint));
        }
    }
    let snapshot = Snapshot::take(tx).await?;
    let audit = audit::audit(tx, unit.words).await?;
    let schema = crate::drift::Tracked::read(tx, names).await?;
    let known = Known {
        open,
        audit,
        snapshot,
        relations,
        schema,
    };
    Ok((known, None))
}

/// The look of a catalog that is as the last change recorded it (found so `how`): the recorded
/// relation digests, schema and snapshot, and as the audit the findings the ledger holds open.
fn from_record(
    unit: &Unit<'_>,
    open: BTreeMap<Key, Verification>,
    (relations, schema, snapshot): (Relations, crate::drift::Tracked, Snapshot),
    how: AsRecorded,
) -> (Known, Option<AsRecorded>) {
    let by = match how {
        AsRecorded::Stamp => "its stamp holds",
        AsRecorded::Fingerprint => "its fingerprint",
    };
    tracing::debug!(
        "{}: the catalog is as the last change recorded it ({by}): no whole audit, schema read or snapshot",
        unit.id
    );
    let known = Known {
        audit: delta::catalog_only(&open),
        open,
        snapshot,
        relations,
        schema,
    };
    (known, Some(how))
}

/// What the last change recorded, when the stamp it took still holds: its relation digests,
/// its schema and its catalog snapshot. The fingerprint is still compared, for what the stamp
/// does not cover: the detectors' word lists and engineer-sim's build.
async fn stamped(
    tx: &mut PgConnection,
    unit: &Unit<'_>,
) -> Result<Option<(Relations, crate::drift::Tracked, Snapshot)>> {
    let Some(stamped) = crate::drift::Tracked::recorded_stamp::<Stamped>(tx).await? else {
        return Ok(None);
    };
    if !stamped.stamp.holds(tx).await? {
        return Ok(None);
    }
    let fingerprint = fingerprint::fingerprint(&stamped.relations, &stamped.names, unit.words);
    let recorded = crate::drift::Tracked::recorded_if(tx, &fingerprint, stamped.names).await?;
    Ok(recorded.map(|(schema, catalog)| (stamped.relations, schema, catalog)))
}

/// Whether a catalog of `relations` is large enough for a change's schema to be patched (and
/// the fingerprint and stamp to be recorded).
pub(super) fn patches(relations: &Relations) -> bool {
    relations.len() >= PATCH_SCHEMA_FROM
}

/// From how many relations a change's schema is patched rather than read whole: below it, the
/// whole read (3.5 ms with the TaskPilot roadmap's ~50 tables) costs no more than watching the
/// names the text depends on and reading the touched relations again (2 + 3 ms); at 2,000 extra
/// tables the whole read is 89 ms and the patch 6 ms.
const PATCH_SCHEMA_FROM: usize = 200;

/// The schema after the change's DDL, which the next change's drift check compares with: on a
/// large catalog, the schema before it with the objects of the relations the DDL touched (and
/// their neighbours) read again; else, and with `--full-audit`, the whole schema.
pub(super) async fn schema_after(
    tx: &mut PgConnection,
    unit: &Unit<'_>,
    before: &Known,
    relations_after: &Relations,
    scope: &Scope,
) -> Result<crate::drift::Tracked> {
    if unit.full_audit || !patches(relations_after) {
        return crate::drift::Tracked::read(tx, None).await;
    }
    before.schema.patched(tx, &scope.touched).await
}

/// The catalog snapshot after the change's DDL: the one before it with the entries of the
/// relations the DDL touched (and their neighbours) read again; whole with `--full-audit` or
/// when a relation's name holds a `.` or `(`, which would hide whose an entry is.
pub(super) async fn snapshot_after(
    tx: &mut PgConnection,
    unit: &Unit<'_>,
    before: &Known,
    relations_after: &Relations,
    scope: &Scope,
) -> Result<Snapshot> {
    if unit.full_audit || !before.relations.plain() || !relations_after.plain() {
        return Snapshot::take(tx).await;
    }
    let was_named = before.relations.names_of(&scope.touched);
    before
        .snapshot
        .patched(tx, &scope.touched, &was_named)
        .await
}

/// The audit after the change's DDL: the audit before it, with the findings of the relations the
/// DDL touched (and their neighbours) audited again; the whole database with `--full-audit` or
/// when a finding cannot be placed on a relation by its name (apply/scope.rs).
pub(super) async fn audit_after(
    tx: &mut PgConnection,
    unit: &Unit<'_>,
    before: &Known,
    snapshot_after: &Snapshot,
    relations_after: &Relations,
    scope: &Scope,
) -> Result<BTreeSet<Key>> {
    let names = Names::around(
        [&before.relations, relations_after],
        [&before.snapshot, snapshot_after],
    );
    let (false, Some(names)) = (unit.full_audit, names) else {
        tracing::debug!("{}: the whole audit", unit.id);
        return audit::audit(tx, unit.words).await;
    };
    tracing::debug!(
        "{}: auditing {} of {} relations",
        unit.id,
        scope.oids.len(),
        relations_after.len()
    );
    let scoped = match scope.oids.is_empty() {
        true => BTreeSet::new(),
        false => audit::audit_in(tx, unit.words, Some(&scope.oids)).await?,
    };
    match scope.merge(&before.audit, scoped, &names) {
        Some(audit) => Ok(audit),
        None => {
            tracing::debug!(
                "{}: a finding names no known relation: the whole audit",
                unit.id
            );
            audit::audit(tx, unit.words).await
        }
    }
}

/// The database must still be as the ledger says, or findings would be attributed wrongly.
pub(super) fn ensure_no_drift(
    unit: &Unit<'_>,
    before: &BTreeSet<Key>,
    open: &BTreeSet<Key>,
) -> Result<()> {
    if before == open {
        return Ok(());
    }
    // A database full of the user's own tables can differ by hundreds of findings: name a few.
    let show = |set: BTreeSet<&Key>| {
        let named: Vec<String> = set
            .iter()
            .map(|key| format!("{} {}", key.kind, key.object))
            .collect();
        crate::drift::first_few(&named, ", ")
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
