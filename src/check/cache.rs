//! The input check, remembered: every command that writes to a database runs the whole `check`
//! first, and compiling every template under every slip combination costs far more than a tick
//! with nothing due (README "Performance"). When the check found the inputs clean, the state
//! directory keeps the sha256 of every file it read; a later command whose files hash the same
//! (the same content, whatever their times) skips the check. Any file changed, added or removed
//! means the whole check again, so bad input is refused exactly as without the cache.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::roadmap::DataDirs;
use crate::state::StateDir;

/// The file in the state directory. Not a journal file: deleting it only costs one full check.
pub const FILE: &str = "inputs-checked.sha256";

/// The first line of the file: what it says about the inputs listed below it.
const HEADER: &str = "# engineer-sim: these inputs passed the check";

/// [`super::require_clean`], skipped when the state directory says these exact inputs passed it.
pub fn require_clean_cached(data: &DataDirs, state: &StateDir) -> anyhow::Result<()> {
    let Some(fingerprint) = fingerprint(data) else {
        return super::require_clean(data);
    };
    let path = state.root().join(FILE);
    if std::fs::read_to_string(&path).is_ok_and(|kept| kept == fingerprint) {
        tracing::debug!("inputs unchanged since {} was written", path.display());
        return Ok(());
    }
    super::require_clean(data)?;
    remember(state, &path, &fingerprint);
    Ok(())
}

/// Writes the fingerprint for the next command; a failure only costs that command a full check.
/// A state directory that does not exist yet is left to the command to create.
fn remember(state: &StateDir, path: &Path, fingerprint: &str) {
    if !state.root().is_dir() {
        return;
    }
    // Two commands may get here at once (the state lock is taken after the check): each writes
    // its own temporary file, and the rename leaves one whole file.
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    let written = std::fs::write(&tmp, fingerprint).and_then(|()| std::fs::rename(&tmp, path));
    if let Err(err) = written {
        let _ = std::fs::remove_file(&tmp);
        tracing::debug!("could not keep {}: {err}", path.display());
    }
}

/// What the check's verdict depends on, as the file's text: the tool itself (another build may
/// check differently), the directories chosen, and each input file's sha256. `None` when the
/// roadmap could not be chosen: the check reports that, every time.
fn fingerprint(data: &DataDirs) -> Option<String> {
    let roadmap = data.roadmap_file().ok()?;
    let mut files = vec![roadmap.to_path_buf()];
    files.extend(files_under(&data.personas));
    files.extend(files_under(&data.templates));
    let mut text = format!(
        "{HEADER}\n# tool {}\n# roadmap {}\n# personas {}\n# templates {}\n",
        crate::build::identity(),
        roadmap.display(),
        data.personas.display(),
        data.templates.display()
    );
    for file in files {
        // A file that cannot be read is for the check to report.
        let bytes = std::fs::read(&file).ok()?;
        let sha: String = Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        text.push_str(&format!("{sha}  {}\n", file.display()));
    }
    Some(text)
}

/// Every regular file under `dir`, sorted (the check reads some of them; any of them changing
/// means checking again).
pub(super) fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    fn copy(from: &Path, to: &Path) {
        for file in files_under(from) {
            let target = to.join(file.strip_prefix(from).expect("under"));
            std::fs::create_dir_all(target.parent().expect("parent")).expect("mkdir");
            std::fs::copy(&file, &target).expect("copy");
        }
    }

    #[test]
    fn any_edit_addition_or_removal_changes_the_fingerprint() {
        let root = tempfile::tempdir().expect("temp dir");
        let shipped = Path::new(env!("CARGO_MANIFEST_DIR"));
        for dir in ["roadmap", "personas", "templates"] {
            copy(&shipped.join(dir), &root.path().join(dir));
        }
        let data = DataDirs::under(root.path());
        let first = fingerprint(&data).expect("a roadmap");
        assert_eq!(fingerprint(&data).as_ref(), Some(&first), "deterministic");

        // Touched, same content: the same fingerprint.
        let sam = root.path().join("personas/sam.yaml");
        let text = std::fs::read_to_string(&sam).expect("read");
        std::fs::write(&sam, &text).expect("rewrite");
        assert_eq!(fingerprint(&data).as_ref(), Some(&first));

        let edited = text.replacen("error_rate:", "error_rate: ", 1);
        std::fs::write(&sam, &edited).expect("edit");
        assert_ne!(fingerprint(&data).as_ref(), Some(&first), "an edit");
        std::fs::write(&sam, &text).expect("restore");
        assert_eq!(fingerprint(&data).as_ref(), Some(&first));

        let added = root
            .path()
            .join("templates/taskpilot/week01/extra.sql.tera");
        std::fs::write(&added, "SELECT 1;").expect("add");
        assert_ne!(fingerprint(&data).as_ref(), Some(&first), "an addition");
        std::fs::remove_file(&added).expect("remove");

        let data_file = root.path().join("templates/taskpilot/base.data.yaml");
        std::fs::rename(&data_file, root.path().join("base.data.yaml")).expect("move");
        assert_ne!(fingerprint(&data).as_ref(), Some(&first), "a removal");
    }

    #[test]
    fn a_clean_check_is_remembered_and_a_changed_input_checked_again() {
        let root = tempfile::tempdir().expect("temp dir");
        let shipped = Path::new(env!("CARGO_MANIFEST_DIR"));
        for dir in ["roadmap", "personas", "templates"] {
            copy(&shipped.join(dir), &root.path().join(dir));
        }
        let data = DataDirs::under(root.path());
        let state = StateDir::new(root.path().join("state"));
        // No state directory: nothing is written, nothing created.
        require_clean_cached(&data, &state).expect("clean");
        assert!(!state.root().exists());

        state.create().expect("state dir");
        require_clean_cached(&data, &state).expect("clean");
        let kept = std::fs::read_to_string(state.root().join(FILE)).expect("kept");
        assert_eq!(Some(kept), fingerprint(&data));

        // A bad persona after the fingerprint was kept: refused as the plain check refuses it.
        let sam = root.path().join("personas/sam.yaml");
        let text = std::fs::read_to_string(&sam).expect("read");
        std::fs::write(&sam, text.replacen("error_rate: 0.25", "error_rate: -1", 1)).expect("edit");
        let cached = require_clean_cached(&data, &state).expect_err("bad input");
        let plain = super::super::require_clean(&data).expect_err("bad input");
        assert_eq!(format!("{cached:#}"), format!("{plain:#}"));
        assert!(format!("{cached:#}").contains("sam.yaml"), "{cached:#}");
    }
}
