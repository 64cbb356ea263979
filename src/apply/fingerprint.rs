//! The catalog's fingerprint, recorded with each change on a large catalog (README
//! "Performance"): when the next process finds the same fingerprint before its first change,
//! nothing the drift check or the audit reads has changed since that change, so it neither reads
//! the whole schema nor audits the whole database; it starts from what the ledger recorded.
//!
//! It covers, hashed together: every relation's digest (apply/scope.rs: the catalog rows its
//! findings and its objects in the drift check's schema are read from), the names the
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
