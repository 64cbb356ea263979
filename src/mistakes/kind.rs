//! What a mistake kind is: the one value each kind file describes itself with, and how a
//! finding of it is proven and closed.

use anyhow::Result;

use super::query::Query;
use super::slip::{Slip, SlipArgs};
use super::snapshot::Snapshot;
use crate::words::Words;

/// One kind of mistake, described once in its file as `pub const KIND`.
pub struct MistakeKind {
    /// The kind's name, as used in persona weights, the roadmap, templates and the journal; also
    /// its file's name.
    pub name: &'static str,
    /// Code in the roadmap's findings table (H002, B001, ...), if it has one.
    pub roadmap_code: Option<&'static str>,
    /// Code in the postgres_ai checkup report, if it has one.
    pub checkup_code: Option<&'static str>,
    /// How a finding of this kind is proven, and when an open one closes.
    pub proof: Proof,
    /// What its slip point renders, careful and slipped.
    pub slip: Slip,
    /// Whether the slip point is offered only on a database with data (its mistake can only be
    /// proven there). In empty mode it renders clean and is not offered, so empty mode's
    /// decisions and SQL stay what they were.
    pub needs_data: bool,
    /// Whether an observation nobody declared is journaled as an incidental finding. False for
    /// kinds whose observation alone does not prove the mistake (a dropped index was "used" only
    /// if the roadmap or a slip says so).
    pub incidental: bool,
}

impl MistakeKind {
    /// What most kinds leave as it is: no codes, offered on an empty database too, undeclared
    /// observations journaled. A kind always gives its own `name`, `proof` and `slip`.
    pub const USUAL: MistakeKind = MistakeKind {
        name: "",
        roadmap_code: None,
        checkup_code: None,
        proof: Proof::Declared,
        slip: Slip::Omitted,
        needs_data: false,
        incidental: true,
    };
}

/// How a finding is proven.
pub enum Proof {
    /// A query on pg_catalog; the audit runs it before and after every change, and a finding
    /// closes when the query no longer returns it.
    Catalog(Query),
    /// The apply step compares the catalog snapshots taken just before and just after the
    /// change's DDL: `observe` names the objects this change shows the mistake on. `closed_after`
    /// says whether an open finding is gone after a later change ([`never_closes`] for a fact of
    /// the migration history, which a linter reads).
    Ledger {
        observe: fn(&Snapshot, &Snapshot) -> Vec<String>,
        closed_after: fn(&str, &Snapshot) -> bool,
    },
    /// Needs a workload to prove; the journal records the declaration. The finding closes when
    /// its object no longer exists.
    Declared,
    /// Proven by the statistics of a database with data (the last workload, dead tuples); pending
    /// until they exist. `closed_after` as for `Ledger`.
    Statistics {
        closed_after: fn(&str, &Snapshot) -> bool,
    },
}

/// How the presence of a finding of a kind is proven, as the journal names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verification {
    Catalog,
    Ledger,
    Declared,
    Statistics,
    /// A ledger kind on a database with data, once the apply step measured what it cost (the
    /// table's rows and bytes, how long the lock was held, the app queries that waited): set on
    /// the finding after the change commits, never a kind's own proof.
    Measured,
}

impl Verification {
    pub fn as_str(self) -> &'static str {
        match self {
            Verification::Catalog => "catalog",
            Verification::Ledger => "ledger",
            Verification::Declared => "declared",
            Verification::Statistics => "statistics",
            Verification::Measured => "measured",
        }
    }
}

/// `closed_after` of a finding that never closes.
pub fn never_closes(_object: &str, _after: &Snapshot) -> bool {
    false
}

/// `closed_after` of a finding that closes when its object is gone.
pub fn closes_when_gone(object: &str, after: &Snapshot) -> bool {
    !after.has_object(object)
}

impl MistakeKind {
    pub fn verification(&self) -> Verification {
        match self.proof {
            Proof::Catalog(_) => Verification::Catalog,
            Proof::Ledger { .. } => Verification::Ledger,
            Proof::Declared => Verification::Declared,
            Proof::Statistics { .. } => Verification::Statistics,
        }
    }

    /// The text the slip point emits: the careful version when `slipped` is false, the mistake
    /// when it is true.
    pub fn render(&self, args: &SlipArgs, slipped: bool) -> Result<String> {
        self.slip.render(args, slipped)
    }

    /// Whether the slip renders a step run outside the change's transaction: its finding is
    /// looked for after that step, not in the change's transaction.
    pub fn outside_transaction(&self) -> bool {
        matches!(self.slip, Slip::OutsideTransaction)
    }

    /// For catalog kinds: the detection query as it runs, its placeholders filled in.
    pub fn detection_query(&self, words: &Words) -> Option<String> {
        self.detection_query_in(words, false)
    }

    /// [`MistakeKind::detection_query`]; `scoped`: kept to the relations whose oids are bound as
    /// `$1`.
    pub fn detection_query_in(&self, words: &Words, scoped: bool) -> Option<String> {
        match &self.proof {
            Proof::Catalog(query) => Some(query.sql_in(words, scoped)),
            _ => None,
        }
    }

    /// For ledger kinds: the objects this change shows the mistake on.
    pub fn observe(&self, before: &Snapshot, after: &Snapshot) -> Vec<String> {
        match self.proof {
            Proof::Ledger { observe, .. } => observe(before, after),
            _ => Vec::new(),
        }
    }

    /// For kinds the audit does not query: whether an open finding on `object` is gone after a
    /// change.
    pub fn closed_after(&self, object: &str, after: &Snapshot) -> bool {
        match self.proof {
            Proof::Catalog(_) => false,
            Proof::Ledger { closed_after, .. } | Proof::Statistics { closed_after } => {
                closed_after(object, after)
            }
            Proof::Declared => closes_when_gone(object, after),
        }
    }
}
