//! The audit: every catalog detector run on the live database (the `engineer_sim` schema and the
//! system schemas are ignored). The apply step runs it before and after each change; `audit` and
//! `verify` run it on demand.

use std::collections::BTreeSet;

use anyhow::Result;
use sqlx::PgConnection;

use crate::mistakes::{self, Verification};

/// A defect present in the database: (kind, object).
pub type Key = (String, String);

/// Every catalog-verifiable defect present now, sorted.
pub async fn audit(conn: &mut PgConnection) -> Result<BTreeSet<Key>> {
    let mut found = BTreeSet::new();
    for kind in mistakes::all() {
        let Some(query) = kind.detection_query() else {
            continue;
        };
        for object in crate::pg::query_objects(conn, query).await? {
            found.insert((kind.name().to_string(), object));
        }
    }
    Ok(found)
}

/// Whether the audit can see findings of this kind (catalog detection exists).
pub fn audit_sees(kind: &str) -> bool {
    mistakes::by_name(kind)
        .is_some_and(|k| k.verification() == Verification::Catalog && k.detection_query().is_some())
}
