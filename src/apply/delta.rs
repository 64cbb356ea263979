//! Which findings a change opens and closes, and how they are written to the ledger: shared by
//! the change's transaction and by the steps it runs outside it ([`super::outside`]).

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Result;
use sqlx::PgConnection;

use crate::audit::Key;
use crate::ledger::{self, By, Event, Origin};
use crate::mistakes::Snapshot;
use crate::mistakes::{self, code_for, CodeSet, Verification};

/// Declared mistakes by key: their origin and excuse.
pub(super) type DeclaredMap = BTreeMap<Key, (Origin, Option<String>)>;

/// What the change left behind, as the audit and the snapshots see it.
pub(super) struct Seen {
    /// Catalog findings present after the change.
    pub audit: BTreeSet<Key>,
    /// Ledger-kind observations between the snapshots before and after the change.
    pub observed: BTreeSet<Key>,
    pub after: Snapshot,
}

pub(super) struct Opening {
    pub key: Key,
    pub origin: Origin,
    pub verification: Verification,
    pub excuse: Option<String>,
}

#[derive(Default)]
pub(super) struct Delta {
    pub open: Vec<Opening>,
    pub close: Vec<Key>,
}

impl Delta {
    /// The keys opened and closed, for the caller's outcome.
    pub fn into_keys(self) -> (Vec<Key>, Vec<Key>) {
        (self.open.into_iter().map(|o| o.key).collect(), self.close)
    }

    /// The open findings once this delta is recorded over `open_before`, as the ledger will
    /// hold them.
    pub fn open_after(
        &self,
        mut open_before: BTreeMap<Key, Verification>,
    ) -> BTreeMap<Key, Verification> {
        for key in &self.close {
            open_before.remove(key);
        }
        for o in &self.open {
            open_before.insert(o.key.clone(), o.verification);
        }
        open_before
    }
}

/// How a kind's findings are proven; a kind the catalog does not know is declared.
fn verification_of(kind: &str) -> Verification {
    mistakes::by_name(kind)
        .map(|k| k.verification())
        .unwrap_or(Verification::Declared)
}

pub(super) fn observe_ledger_kinds(before: &Snapshot, after: &Snapshot) -> BTreeSet<Key> {
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
pub(super) fn findings_delta(
    declared: &DeclaredMap,
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
        let (origin, excuse) = match declared.get(key) {
            Some((origin, excuse)) => (*origin, excuse.clone()),
            None if kind.is_some_and(|k| k.incidental) => (Origin::Incidental, None),
            None => continue,
        };
        delta.open.push(Opening {
            key: key.clone(),
            origin,
            verification: verification_of(&key.kind),
            excuse,
        });
    }
    delta
}

/// Declared mistakes whose slip is a step outside the transaction are looked for after that
/// step ([`super::outside::finish`]), not in the change's transaction.
pub(super) fn split_deferred(
    mut declared: DeclaredMap,
    has_outside_steps: bool,
) -> (DeclaredMap, Vec<(Key, Option<String>)>) {
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

/// The ledger's open findings with how each is verified.
pub(super) async fn open_findings(tx: &mut PgConnection) -> Result<BTreeMap<Key, Verification>> {
    Ok(ledger::findings(tx, false)
        .await?
        .into_iter()
        .map(|f| {
            let verification = verification_of(&f.kind);
            (Key::new(f.kind, f.object), verification)
        })
        .collect())
}

pub(super) fn catalog_only(open: &BTreeMap<Key, Verification>) -> BTreeSet<Key> {
    open.iter()
        .filter(|(_, v)| **v == Verification::Catalog)
        .map(|(k, _)| k.clone())
        .collect()
}

/// Writes the delta to the ledger, closings first, each with its journal event.
pub(super) async fn record(
    tx: &mut PgConnection,
    by: &By,
    delta: &Delta,
    codes: CodeSet,
) -> Result<()> {
    for Key { kind, object } in &delta.close {
        ledger::close_finding(tx, kind, object, &by.change_id).await?;
        let event = Event::FindingClosed {
            by: by.clone(),
            kind: kind.clone(),
            code: code_for(kind, codes),
            object: object.clone(),
        };
        ledger::record(tx, &event).await?;
    }
    for o in &delta.open {
        let Key { kind, object } = &o.key;
        ledger::open_finding(
            tx,
            kind,
            object,
            o.origin,
            o.verification,
            &by.change_id,
            o.excuse.as_deref(),
        )
        .await?;
        let event = Event::FindingOpened {
            by: by.clone(),
            kind: kind.clone(),
            code: code_for(kind, codes),
            object: object.clone(),
            origin: o.origin,
            verification: o.verification,
            excuse: o.excuse.clone(),
        };
        ledger::record(tx, &event).await?;
    }
    Ok(())
}
