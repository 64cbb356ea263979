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

/// Writes a file whole, as [`write_atomically`], unless it already holds exactly `text`; returns
/// whether it wrote. A file left as it was keeps its inode and modification time, so a run that
/// changes nothing touches nothing and a reader watching the directory sees only real changes
/// (README "Performance").
pub fn write_if_changed(path: &Path, text: &str) -> anyhow::Result<bool> {
    let same = match std::fs::metadata(path) {
        // The length first: a file of another length differs without being read.
        Ok(meta) if meta.is_file() && meta.len() == text.len() as u64 => {
            std::fs::read(path).is_ok_and(|bytes| bytes == text.as_bytes())
        }
        _ => false,
    };
    if same {
        return Ok(false);
    }
    write_atomically(path, text)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn a_file_holding_the_text_is_left_alone() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("f.md");
        assert!(write_if_changed(&path, "one\n").expect("new file"));
        let inode = std::fs::metadata(&path).expect("meta").ino();
        assert!(!write_if_changed(&path, "one\n").expect("same text"));
        assert_eq!(std::fs::metadata(&path).expect("meta").ino(), inode);
        // Same length, other bytes; then another length.
        assert!(write_if_changed(&path, "two\n").expect("same length"));
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "two\n");
        assert!(write_if_changed(&path, "three\n").expect("longer"));
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "three\n");
    }
}
