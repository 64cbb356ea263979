//! The audit: every catalog detector run on the live database (the `engineer_sim` schema and the
//! system schemas are ignored). The apply step runs it before and after each change; `audit` and
//! `verify` run it on demand.

use std::collections::BTreeSet;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;

use crate::mistakes::{self, Verification};
use crate::words::Words;

/// A defect: its kind and the object it concerns, named the README way ("What lands in
/// `state/`"). Ordered by kind, then object; stored as the pair `[kind, object]`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(from = "(String, String)", into = "(String, String)")]
pub struct Key {
    pub kind: String,
    pub object: String,
}

impl Key {
    pub fn new(kind: impl Into<String>, object: impl Into<String>) -> Key {
        Key {
            kind: kind.into(),
            object: object.into(),
        }
    }
}

impl From<(String, String)> for Key {
    fn from((kind, object): (String, String)) -> Key {
        Key { kind, object }
    }
}

impl From<Key> for (String, String) {
    fn from(key: Key) -> (String, String) {
        (key.kind, key.object)
    }
}

/// Every catalog-verifiable defect present now, sorted. `words` are the run's word lists.
pub async fn audit(conn: &mut PgConnection, words: &Words) -> Result<BTreeSet<Key>> {
    let mut found = BTreeSet::new();
    for kind in mistakes::all() {
        let Some(query) = kind.detection_query(words) else {
            continue;
        };
        let objects = crate::pg::query_objects(conn, &query)
            .await
            .with_context(|| format!("detecting {}", kind.name))?;
        found.extend(
            objects
                .into_iter()
                .map(|object| Key::new(kind.name, object)),
        );
    }
    Ok(found)
}

/// Whether the audit can see findings of this kind (catalog detection exists).
pub fn audit_sees(kind: &str) -> bool {
    mistakes::by_name(kind).is_some_and(|k| k.verification() == Verification::Catalog)
}
