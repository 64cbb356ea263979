//! The state directory: runtime files (embedded cluster, journal, migrations, settings).

use std::path::{Path, PathBuf};

/// Where runtime files land; `--state-dir` / `ENGINEER_SIM_STATE` moves all of it.
#[derive(Debug, Clone)]
pub struct StateDir {
    root: PathBuf,
}

impl StateDir {
    pub fn new(root: impl Into<PathBuf>) -> StateDir {
        StateDir { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn pg_dir(&self) -> PathBuf {
        self.root.join("pg")
    }

    pub fn journal(&self) -> PathBuf {
        self.root.join("journal.jsonl")
    }

    pub fn expected_findings_json(&self) -> PathBuf {
        self.root.join("expected-findings.json")
    }

    pub fn expected_findings_md(&self) -> PathBuf {
        self.root.join("expected-findings.md")
    }

    pub fn reports_dir(&self) -> PathBuf {
        self.root.join("reports")
    }

    pub fn migrations_dir(&self) -> PathBuf {
        self.root.join("migrations")
    }

    pub fn create(&self) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.root)
    }
}
