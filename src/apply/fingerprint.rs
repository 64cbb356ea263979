//! The catalog's fingerprint, recorded with each change on a large catalog (README
//! "Performance"): when the next process finds the same fingerprint before its first change,
//! nothing the drift check, the audit or the catalog snapshot reads has changed since that
//! change, so it neither reads the whole schema, audits the whole database nor takes the whole
//! snapshot; it starts from what the ledger recorded (crate::drift::Tracked::recorded_if).
//!
//! It covers, hashed together: every relation's digest (apply/scope.rs: the catalog rows its
//! findings, its objects in the drift check's schema and its snapshot entries are read from,
//! relfilenode included), the names the
//! definitions' text depends on (crate::drift NAMES), the word lists the detectors use, and the
//! build of engineer-sim (another build may detect differently). A relation dropped and created
//! again under the same name has another oid, so another fingerprint: the slow look, which finds
//! no drift, and the fingerprint again from the next change on.

use sha2::{Digest, Sha256};

use super::scope::Relations;
use crate::words::Words;

pub(super) fn fingerprint(relations: &Relations, names: &str, words: &Words) -> String {
    let mut hash = Sha256::new();
    hash.update(format!(
        "engineer-sim catalog 1\n{}\n",
        crate::build::identity()
    ));
    hash.update(serde_json::to_string(words).unwrap_or_default());
    hash.update(format!("\n{names}\n"));
    for (oid, digest) in relations.digests() {
        hash.update(format!("{oid} {digest}\n"));
    }
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}
