//! Where the cluster's files go: its root, resolved once, the socket directory, and how both
//! are spelled in a URL.

use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

/// The port in the socket file name. The socket directory is private, so it never clashes with
/// another server on the machine.
pub(super) const PORT: u16 = 5432;

/// `sockaddr_un.sun_path` is 104 bytes on macOS/BSD and 108 on Linux, NUL included; PostgreSQL
/// refuses a socket path that does not fit. Keep to the smaller one.
const SUN_PATH_LEN: usize = 104;

/// An absolute path for `root` with symlinks resolved in the part that exists, so every process
/// derives the same socket directory from it whatever its working directory.
pub(super) fn normalize_root(root: &Path) -> io::Result<PathBuf> {
    let abs = std::path::absolute(root)?;
    let mut existing = abs.as_path();
    let mut rest = Vec::new();
    loop {
        if let Ok(canonical) = existing.canonicalize() {
            let mut out = canonical;
            for part in rest.iter().rev() {
                out.push(part);
            }
            return Ok(out);
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                existing = parent;
            }
            _ => return Ok(abs),
        }
    }
}

/// `<root>/run`, unless the socket file `<root>/run/.s.PGSQL.5432` would not fit in
/// `sockaddr_un.sun_path` (104 bytes with its NUL on macOS, 108 on Linux): PostgreSQL cannot
/// create a socket with a longer path, and deep state directories (CI workspaces, temp dirs on
/// macOS) easily exceed it. Then the socket goes in `/tmp/engineer-sim-<hash of root>`, the same
/// directory for the same root in every process. That directory must be created private
/// (0700, owned by the server account), since anyone can create names in /tmp.
pub(super) fn socket_dir_for(root: &Path) -> PathBuf {
    let preferred = root.join("run");
    if socket_path_fits(&preferred) {
        return preferred;
    }
    PathBuf::from(format!(
        "/tmp/engineer-sim-{:016x}",
        fnv1a64(root.as_os_str().as_bytes())
    ))
}

fn socket_path_fits(socket_dir: &Path) -> bool {
    let socket = socket_dir.join(format!(".s.PGSQL.{PORT}"));
    socket.as_os_str().len() < SUN_PATH_LEN
}

/// FNV-1a: a stable hash (std's `DefaultHasher` is not guaranteed stable across Rust releases,
/// and the socket directory must not move when engineer-sim is rebuilt).
fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Percent-encodes for a URL path segment or query value. `/` may stay as is in a query value.
pub(super) fn url_encode(bytes: &[u8], keep_slash: bool) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) || (keep_slash && b == b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub(super) fn create_dir_all_mode(dir: &Path, mode: u32) -> io::Result<()> {
    fs::DirBuilder::new().recursive(true).mode(mode).create(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_dir_stays_in_root_when_it_fits() {
        let root = Path::new("/home/me/project/state/pg");
        assert_eq!(socket_dir_for(root), root.join("run"));
    }

    #[test]
    fn socket_dir_falls_back_to_tmp_when_too_long() {
        // "<root>/run/.s.PGSQL.5432" is root + 18 bytes; it must stay under 104.
        let fits = PathBuf::from(format!("/{}", "a".repeat(103 - 18 - 1)));
        assert_eq!(fits.join("run/.s.PGSQL.5432").as_os_str().len(), 103);
        assert_eq!(socket_dir_for(&fits), fits.join("run"));

        let too_long = PathBuf::from(format!("/{}", "a".repeat(104 - 18 - 1)));
        assert_eq!(too_long.join("run/.s.PGSQL.5432").as_os_str().len(), 104);
        let dir = socket_dir_for(&too_long);
        assert!(dir.starts_with("/tmp"), "{}", dir.display());
        assert!(socket_path_fits(&dir));
        // Stable for the same root, different for another.
        assert_eq!(dir, socket_dir_for(&too_long));
        let other = PathBuf::from(format!("/{}", "b".repeat(200)));
        assert_ne!(dir, socket_dir_for(&other));
        assert_eq!(
            dir,
            PathBuf::from(format!(
                "/tmp/engineer-sim-{:016x}",
                fnv1a64(too_long.as_os_str().as_bytes())
            ))
        );
    }

    #[test]
    fn fnv_is_the_reference_function() {
        assert_eq!(fnv1a64(b""), 0xcbf29ce484222325);
        assert_eq!(fnv1a64(b"a"), 0xaf63dc4c8601ec8c);
    }

    #[test]
    fn normalized_roots_are_absolute_and_resolve_existing_symlinks() {
        let t = tempfile::tempdir().unwrap();
        let real = t.path().join("real");
        fs::create_dir(&real).unwrap();
        let link = t.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let canonical_real = real.canonicalize().unwrap();
        assert_eq!(
            normalize_root(&link.join("state/pg")).unwrap(),
            canonical_real.join("state/pg")
        );
        assert!(normalize_root(Path::new("relative/pg"))
            .unwrap()
            .is_absolute());
    }
}
