//! The run's identity: the roadmap, the seed, the start date and who does each change. Every
//! decision derives from it and the change id (README "Time and replay"); `init` records it in
//! the ledger's marker, and the state directory's settings keep a copy for the commands that touch
//! no database. Which source wins is decided in one place, `commands::identity`.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// The seed used when none is given and the state directory knows no run.
pub const DEFAULT_SEED: u64 = 42;

/// What a run is: everything its slips, assignments and dates follow from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// The roadmap's name (`name:` in its YAML).
    pub roadmap: String,
    pub seed: u64,
    /// The real date of week 1 Monday.
    pub start_date: NaiveDate,
    pub assign: Assign,
}

/// Who does a change (README "Time and replay").
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    clap::ValueEnum,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Assign {
    /// The author the roadmap names.
    #[default]
    Roadmap,
    /// A seeded choice weighted by each persona's focus on the change's area.
    Weighted,
}

impl Assign {
    pub fn as_str(self) -> &'static str {
        match self {
            Assign::Roadmap => "roadmap",
            Assign::Weighted => "weighted",
        }
    }
}

/// A value that names no assignment mode.
#[derive(Debug)]
pub struct UnknownAssign(pub String);

impl std::fmt::Display for UnknownAssign {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "unknown assignment {:?} (roadmap or weighted)", self.0)
    }
}

impl std::error::Error for UnknownAssign {}

impl std::str::FromStr for Assign {
    type Err = UnknownAssign;

    fn from_str(text: &str) -> Result<Assign, UnknownAssign> {
        match text {
            "roadmap" => Ok(Assign::Roadmap),
            "weighted" => Ok(Assign::Weighted),
            _ => Err(UnknownAssign(text.to_string())),
        }
    }
}

/// How the ledger's `marker.assign` column is read.
impl TryFrom<String> for Assign {
    type Error = UnknownAssign;

    fn try_from(text: String) -> Result<Assign, UnknownAssign> {
        text.parse()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assign_reads_back_what_it_writes_and_refuses_anything_else() {
        for assign in [Assign::Roadmap, Assign::Weighted] {
            assert_eq!(assign.as_str().parse::<Assign>().unwrap(), assign);
        }
        for bad in ["", "Weighted", "random"] {
            let err = bad.parse::<Assign>().unwrap_err();
            assert!(err.to_string().contains("roadmap or weighted"), "{err}");
        }
    }
}
