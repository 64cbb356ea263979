//! Locating the PostgreSQL server binaries (initdb, pg_ctl, postgres) and telling their version.

use std::ffi::OsStr;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::Result;

use crate::error::environment;

/// Environment variable naming the directory that holds initdb, pg_ctl and postgres.
pub const BINDIR_ENV: &str = "ENGINEER_SIM_PG_BINDIR";

const SERVER_BINARIES: [&str; 3] = ["initdb", "pg_ctl", "postgres"];

/// `postgres (PostgreSQL) 15.18 (Debian ...)` -> `15`; `... 9.6.24` -> `9.6`.
pub(super) fn major_version(version_output: &str) -> Option<String> {
    let rest = version_output.split("(PostgreSQL)").nth(1)?.trim_start();
    let number: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let mut parts = number.split('.').filter(|p| !p.is_empty());
    let first = parts.next()?;
    if first.parse::<u32>().ok()? < 10 {
        Some(format!("{first}.{}", parts.next()?))
    } else {
        Some(first.to_string())
    }
}

/// A place where PostgreSQL may be installed, after PATH and pg_config.
#[derive(Debug, Clone)]
pub(super) enum Place {
    /// `<parent>/<prefix><version>/bin`, newest version first.
    Versioned {
        parent: PathBuf,
        prefix: &'static str,
    },
    Fixed(PathBuf),
}

pub(super) fn standard_places() -> Vec<Place> {
    let versioned = |parent: &str, prefix| Place::Versioned {
        parent: parent.into(),
        prefix,
    };
    vec![
        versioned("/usr/lib/postgresql", ""),
        Place::Fixed("/usr/local/pgsql/bin".into()),
        versioned("/usr", "pgsql-"),
        versioned("/opt/homebrew/opt", "postgresql@"),
        versioned("/usr/local/opt", "postgresql@"),
    ]
}

fn has_server_binaries(dir: &Path) -> bool {
    SERVER_BINARIES
        .iter()
        .all(|name| is_executable(&dir.join(name)))
}

pub(super) fn is_executable(path: &Path) -> bool {
    fs::metadata(path)
        .map(|m| m.is_file() && m.mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// `pg_config --bindir`, with pg_config found in `path_var`.
pub(super) fn pg_config_bindir(path_var: Option<&OsStr>) -> Option<PathBuf> {
    let pg_config = std::env::split_paths(path_var?)
        .map(|dir| dir.join("pg_config"))
        .find(|p| is_executable(p))?;
    let out = Command::new(pg_config)
        .arg("--bindir")
        .stdin(Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let dir = String::from_utf8(out.stdout).ok()?;
    let dir = dir.trim();
    (!dir.is_empty()).then(|| PathBuf::from(dir))
}

/// Version directories under `parent` named `<prefix><version>`, newest first.
fn versioned_dirs(parent: &Path, prefix: &str) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(parent) else {
        return Vec::new();
    };
    let mut found: Vec<(Vec<u32>, PathBuf)> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let key = version_key(name.strip_prefix(prefix)?)?;
            Some((key, e.path().join("bin")))
        })
        .collect();
    found.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    found.into_iter().map(|(_, p)| p).collect()
}

/// `15` -> [15], `9.6` -> [9, 6], `17beta1` -> [17]; `None` unless it starts with a digit.
fn version_key(s: &str) -> Option<Vec<u32>> {
    let mut key = Vec::new();
    for part in s.split('.') {
        let digits: String = part.chars().take_while(|c| c.is_ascii_digit()).collect();
        match digits.parse() {
            Ok(n) => key.push(n),
            Err(_) => break,
        }
        if digits.len() != part.len() {
            break;
        }
    }
    (!key.is_empty()).then_some(key)
}

/// The search behind [`EmbeddedCluster::new`], with its inputs passed in so it can be tested.
pub(super) fn locate_bindir(
    env_bindir: Option<&OsStr>,
    path_var: Option<&OsStr>,
    pg_config: impl FnOnce(Option<&OsStr>) -> Option<PathBuf>,
    places: &[Place],
) -> Result<PathBuf> {
    if let Some(dir) = env_bindir {
        let dir = PathBuf::from(dir);
        if has_server_binaries(&dir) {
            return Ok(dir);
        }
        // Set on purpose: do not silently fall back to some other installation.
        return Err(environment(format!(
            "{BINDIR_ENV} is {}, which does not hold initdb, pg_ctl and postgres",
            dir.display()
        ))
        .with_hint(format!(
            "point {BINDIR_ENV} at a PostgreSQL bin directory (see `pg_config --bindir`), or unset it"
        ))
        .into());
    }
    if let Some(path) = path_var {
        if let Some(dir) = std::env::split_paths(path).find(|d| has_server_binaries(d)) {
            return Ok(dir);
        }
    }
    if let Some(dir) = pg_config(path_var).filter(|d| has_server_binaries(d)) {
        return Ok(dir);
    }
    for place in places {
        let candidates = match place {
            Place::Versioned { parent, prefix } => versioned_dirs(parent, prefix),
            Place::Fixed(dir) => vec![dir.clone()],
        };
        if let Some(dir) = candidates.into_iter().find(|d| has_server_binaries(d)) {
            return Ok(dir);
        }
    }
    let searched: Vec<String> = places
        .iter()
        .map(|p| match p {
            Place::Versioned { parent, prefix } => {
                format!("{}/{prefix}*/bin", parent.display())
            }
            Place::Fixed(dir) => dir.display().to_string(),
        })
        .collect();
    Err(environment(format!(
        "no PostgreSQL server found to run the embedded database (looked for initdb, pg_ctl and \
         postgres in ${BINDIR_ENV}, PATH, `pg_config --bindir`, {})",
        searched.join(", ")
    ))
    .with_hint(format!(
        "install PostgreSQL (Debian/Ubuntu: `apt install postgresql`; macOS: `brew install \
         postgresql@16`), set {BINDIR_ENV} to its bin directory, or set DATABASE_URL / \
         --database-url to use an existing server"
    ))
    .into())
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn fake_bindir(dir: &Path, names: &[&str]) {
        fs::create_dir_all(dir).unwrap();
        for name in names {
            let p = dir.join(name);
            fs::write(&p, "#!/bin/sh\n").unwrap();
            fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
        }
    }

    fn no_pg_config(_: Option<&OsStr>) -> Option<PathBuf> {
        None
    }

    #[test]
    fn env_bindir_wins_and_must_be_complete() {
        let t = tempfile::tempdir().unwrap();
        let env = t.path().join("env");
        let on_path = t.path().join("path");
        fake_bindir(&env, &SERVER_BINARIES);
        fake_bindir(&on_path, &SERVER_BINARIES);
        let path = std::env::join_paths([&on_path]).unwrap();
        let found = locate_bindir(Some(env.as_os_str()), Some(&path), no_pg_config, &[]).unwrap();
        assert_eq!(found, env);

        let partial = t.path().join("partial");
        fake_bindir(&partial, &["initdb", "pg_ctl"]);
        let err =
            locate_bindir(Some(partial.as_os_str()), Some(&path), no_pg_config, &[]).unwrap_err();
        assert_eq!(crate::error::exit_code_of(&err), 3);
        assert!(err.to_string().contains(BINDIR_ENV), "{err}");
    }

    #[test]
    fn path_needs_all_three_in_one_directory() {
        let t = tempfile::tempdir().unwrap();
        let a = t.path().join("a");
        let b = t.path().join("b");
        let c = t.path().join("c");
        fake_bindir(&a, &["initdb", "pg_ctl"]); // incomplete
        fake_bindir(&b, &["postgres"]); // incomplete
        fake_bindir(&c, &SERVER_BINARIES);
        let path = std::env::join_paths([&a, &b, &c]).unwrap();
        let found = locate_bindir(None, Some(&path), |_| panic!("pg_config not needed"), &[]);
        assert_eq!(found.unwrap(), c);
    }

    #[test]
    fn non_executable_files_do_not_count() {
        let t = tempfile::tempdir().unwrap();
        let a = t.path().join("a");
        fake_bindir(&a, &SERVER_BINARIES);
        fs::set_permissions(a.join("postgres"), fs::Permissions::from_mode(0o644)).unwrap();
        let path = std::env::join_paths([&a]).unwrap();
        assert!(locate_bindir(None, Some(&path), no_pg_config, &[]).is_err());
    }

    #[test]
    fn pg_config_comes_after_path_and_before_installed_places() {
        let t = tempfile::tempdir().unwrap();
        let from_pg_config = t.path().join("pgc");
        fake_bindir(&from_pg_config, &SERVER_BINARIES);
        let lib = t.path().join("lib");
        fake_bindir(&lib.join("16/bin"), &SERVER_BINARIES);
        let places = [Place::Versioned {
            parent: lib.clone(),
            prefix: "",
        }];
        let empty = t.path().join("empty");
        fs::create_dir_all(&empty).unwrap();
        let path = std::env::join_paths([&empty]).unwrap();

        let mut asked_with = None;
        let found = locate_bindir(
            None,
            Some(&path),
            |p| {
                asked_with = p.map(|p| p.to_os_string());
                Some(from_pg_config.clone())
            },
            &places,
        )
        .unwrap();
        assert_eq!(found, from_pg_config);
        assert_eq!(asked_with.as_deref(), Some(path.as_os_str()));

        // A pg_config whose bindir lacks the server falls through to the installed places.
        let client_only = t.path().join("client");
        fake_bindir(&client_only, &["pg_config"]);
        let found =
            locate_bindir(None, Some(&path), |_| Some(client_only.clone()), &places).unwrap();
        assert_eq!(found, lib.join("16/bin"));
    }

    #[test]
    fn installed_versions_newest_first_then_fixed_places_in_order() {
        let t = tempfile::tempdir().unwrap();
        let lib = t.path().join("usr/lib/postgresql");
        for v in ["9.6", "10", "16", "13"] {
            fake_bindir(&lib.join(v).join("bin"), &SERVER_BINARIES);
        }
        // Not a version, or without the server: skipped.
        fake_bindir(&lib.join("common/bin"), &SERVER_BINARIES);
        fake_bindir(&lib.join("17/bin"), &["pg_ctl"]);
        let local = t.path().join("usr/local/pgsql/bin");
        fake_bindir(&local, &SERVER_BINARIES);
        let places = [
            Place::Versioned {
                parent: lib.clone(),
                prefix: "",
            },
            Place::Fixed(local.clone()),
        ];
        assert_eq!(
            versioned_dirs(&lib, ""),
            ["17", "16", "13", "10", "9.6"].map(|v| lib.join(v).join("bin"))
        );
        assert_eq!(
            locate_bindir(None, None, no_pg_config, &places).unwrap(),
            lib.join("16/bin")
        );

        // The fixed place is used only when no versioned directory has the server.
        fs::remove_dir_all(&lib).unwrap();
        assert_eq!(
            locate_bindir(None, None, no_pg_config, &places).unwrap(),
            local
        );
    }

    #[test]
    fn homebrew_style_prefix() {
        let t = tempfile::tempdir().unwrap();
        let opt = t.path().join("opt");
        fake_bindir(&opt.join("postgresql@14/bin"), &SERVER_BINARIES);
        fake_bindir(&opt.join("postgresql@16/bin"), &SERVER_BINARIES);
        fake_bindir(&opt.join("openssl@3/bin"), &SERVER_BINARIES);
        let places = [Place::Versioned {
            parent: opt.clone(),
            prefix: "postgresql@",
        }];
        assert_eq!(
            locate_bindir(None, None, no_pg_config, &places).unwrap(),
            opt.join("postgresql@16/bin")
        );
    }

    #[test]
    fn nothing_found_is_an_environment_error_with_install_hint() {
        let t = tempfile::tempdir().unwrap();
        let places = [Place::Fixed(t.path().join("nope"))];
        let err = locate_bindir(None, None, no_pg_config, &places).unwrap_err();
        assert_eq!(crate::error::exit_code_of(&err), 3);
        let text = err.to_string();
        assert!(text.contains("apt install postgresql"), "{text}");
        assert!(text.contains("brew install postgresql@16"), "{text}");
        assert!(text.contains("DATABASE_URL"), "{text}");
    }

    #[test]
    fn version_keys() {
        assert_eq!(version_key("15"), Some(vec![15]));
        assert_eq!(version_key("9.6"), Some(vec![9, 6]));
        assert_eq!(version_key("17beta1"), Some(vec![17]));
        assert_eq!(version_key("common"), None);
        assert!(version_key("10") > version_key("9.6"));
    }

    #[test]
    fn major_versions() {
        let deb = "postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)\n";
        assert_eq!(major_version(deb).as_deref(), Some("15"));
        assert_eq!(
            major_version("postgres (PostgreSQL) 9.6.24").as_deref(),
            Some("9.6")
        );
        assert_eq!(
            major_version("postgres (PostgreSQL) 17beta1").as_deref(),
            Some("17")
        );
        assert_eq!(major_version("something else"), None);
    }
}
