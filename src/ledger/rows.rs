//! The ledger's rows as Rust reads them (the tables are in `schema.sql`).

use chrono::NaiveDate;
use serde::Serialize;

use crate::identity::{Assign, Identity};
use crate::mistakes::Verification;
use crate::render::Slip;

/// What `init` records: the run's identity, and the engineer-sim that wrote the ledger.
#[derive(Debug, Clone, PartialEq)]
pub struct Marker {
    pub identity: Identity,
    pub tool_version: String,
}

/// `engineer_sim.marker` as stored. The seed is a `u64` kept bit for bit in a `bigint`.
#[derive(sqlx::FromRow)]
pub(super) struct MarkerRow {
    roadmap: String,
    seed: i64,
    start_date: NaiveDate,
    #[sqlx(try_from = "String")]
    assign: Assign,
    tool_version: String,
}

impl From<MarkerRow> for Marker {
    fn from(row: MarkerRow) -> Marker {
        Marker {
            identity: Identity {
                roadmap: row.roadmap,
                seed: row.seed as u64,
                start_date: row.start_date,
                assign: row.assign,
            },
            tool_version: row.tool_version,
        }
    }
}

/// Where a finding comes from (README "What lands in `state/`"). `findings --origin` takes the
/// same words, checked by the parser.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// The base schema plants it (the roadmap's `base_findings`).
    Base,
    /// The roadmap plants it in a change (`scripted:`).
    Scripted,
    /// The persona slipped at a slip point.
    Slip,
    /// Nobody declared it: the audit found it after a change.
    Incidental,
}

impl Origin {
    pub const ALL: [Origin; 4] = [
        Origin::Base,
        Origin::Scripted,
        Origin::Slip,
        Origin::Incidental,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Base => "base",
            Origin::Scripted => "scripted",
            Origin::Slip => "slip",
            Origin::Incidental => "incidental",
        }
    }
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A word that names no origin or verification.
#[derive(Debug)]
pub struct UnknownName {
    what: &'static str,
    name: String,
    known: String,
}

impl std::fmt::Display for UnknownName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "unknown {} {:?} (one of {})",
            self.what, self.name, self.known
        )
    }
}

impl std::error::Error for UnknownName {}

impl std::str::FromStr for Origin {
    type Err = UnknownName;

    fn from_str(text: &str) -> Result<Origin, UnknownName> {
        Origin::ALL
            .into_iter()
            .find(|o| o.as_str() == text)
            .ok_or_else(|| UnknownName {
                what: "origin",
                name: text.to_string(),
                known: Origin::ALL.map(Origin::as_str).join(", "),
            })
    }
}

/// How the `origin` column is read.
impl TryFrom<String> for Origin {
    type Error = UnknownName;

    fn try_from(text: String) -> Result<Origin, UnknownName> {
        text.parse()
    }
}

/// How the `verification` column is read.
impl TryFrom<String> for Verification {
    type Error = UnknownName;

    fn try_from(text: String) -> Result<Verification, UnknownName> {
        let all = [
            Verification::Catalog,
            Verification::Ledger,
            Verification::Declared,
            Verification::Statistics,
            Verification::Measured,
        ];
        all.into_iter()
            .find(|v| v.as_str() == text)
            .ok_or_else(|| UnknownName {
                what: "verification",
                name: text,
                known: all.map(Verification::as_str).join(", "),
            })
    }
}

/// A finding as the ledger holds it, with the week and author of the change that opened it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct FindingRow {
    pub kind: String,
    pub object: String,
    #[sqlx(try_from = "String")]
    pub origin: Origin,
    #[sqlx(try_from = "String")]
    pub verification: Verification,
    pub opened_by: String,
    pub opened_week: i32,
    pub opened_author: String,
    pub closed_by: Option<String>,
    pub closed_week: Option<i32>,
    pub excuse: Option<String>,
}

/// An applied change as the ledger holds it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ChangeRow {
    pub change_id: String,
    pub seq: i32,
    pub week: i32,
    pub day: String,
    pub sim_day: i32,
    pub sim_date: NaiveDate,
    pub author: String,
    pub title: String,
    pub sql_sha256: String,
    pub applied_sql: String,
    pub clean_sql: String,
    #[sqlx(json)]
    pub slips: Vec<Slip>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_and_verifications_read_back_what_is_written() {
        for origin in Origin::ALL {
            assert_eq!(origin.as_str().parse::<Origin>().unwrap(), origin);
        }
        let err = "scripted ".parse::<Origin>().unwrap_err().to_string();
        assert_eq!(
            err,
            "unknown origin \"scripted \" (one of base, scripted, slip, incidental)"
        );
        for v in ["catalog", "ledger", "declared", "statistics", "measured"] {
            assert_eq!(Verification::try_from(v.to_string()).unwrap().as_str(), v);
        }
        assert!(Verification::try_from("Catalog".to_string()).is_err());
    }
}
