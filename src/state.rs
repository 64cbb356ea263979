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

    /// Creates the directory and proves that it and its journal folders take new files, before
    /// anything is applied: a journal that cannot be written would leave the database ahead of it
    /// (README "Operating it").
    pub fn ensure_writable(&self) -> anyhow::Result<()> {
        let cannot = |dir: &Path, err: std::io::Error| -> anyhow::Error {
            crate::error::environment(format!(
                "the state directory {} cannot be written: {err}; nothing was applied",
                dir.display()
            ))
            .with_hint("fix its permissions or pass another --state-dir / ENGINEER_SIM_STATE")
            .into()
        };
        self.create().map_err(|err| cannot(&self.root, err))?;
        for dir in [self.root.clone(), self.migrations_dir(), self.reports_dir()] {
            if dir != self.root && !dir.exists() {
                continue;
            }
            let probe = dir.join(format!(".write-test-{}", std::process::id()));
            std::fs::write(&probe, b"").map_err(|err| cannot(&dir, err))?;
            let _ = std::fs::remove_file(&probe);
        }
        Ok(())
    }
}

/// Writes a file whole or not at all: readers (a reviewer's `git diff`, a tool tailing the file)
/// never see a half-written one.
pub fn write_atomically(path: &Path, text: &str) -> anyhow::Result<()> {
    use anyhow::Context as _;
    let tmp = path.with_extension("tmp-write");
    std::fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}
