//! Accounts and running programs as another one: initdb, pg_ctl and postgres refuse to run as
//! root, so when engineer-sim runs as root they run as an unprivileged account, through
//! `runuser` (or `su`), and the files they use are given to that account.

use std::ffi::OsString;
use std::fs;
use std::io;
use std::io::Write;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use anyhow::{Context, Result};

use super::binaries::is_executable;
use crate::error::environment;

/// The account initdb/postgres run as when engineer-sim runs as root and no data directory exists.
const SERVER_ACCOUNT: &str = "postgres";

#[derive(Debug, Clone)]
pub(super) struct Account {
    pub(super) name: String,
    pub(super) uid: u32,
    pub(super) gid: u32,
}

#[derive(Debug, Clone)]
pub(super) enum Runner {
    Runuser(PathBuf),
    Su(PathBuf),
}

#[derive(Debug, Clone)]
pub(super) struct RunAs {
    pub(super) account: Account,
    pub(super) runner: Runner,
}

/// Who runs the server programs: `None` when engineer-sim runs as an ordinary user (`euid` is
/// not 0) and they run directly. As root, the owner of `data_dir` when it exists, else the
/// `postgres` account. `root` is the cluster's directory, for messages.
pub(super) fn run_as(euid: u32, data_dir: &Path, root: &Path) -> Result<Option<RunAs>> {
    if euid != 0 {
        return Ok(None);
    }
    // A data directory that exists belongs to the account the server must run as (maybe an
    // ordinary user who made it before running engineer-sim with sudo).
    let account = match fs::metadata(data_dir) {
        Ok(meta) if meta.uid() != 0 => account_by_uid(meta.uid())
            .with_context(|| format!("cannot find the account owning {}", data_dir.display()))?,
        Ok(_) => {
            return Err(environment(format!(
                "the embedded cluster's data directory {} is owned by root, and PostgreSQL \
                 will not run as root",
                data_dir.display()
            ))
            .with_hint(format!(
                "give it to an unprivileged account (chown -R postgres: {}) or remove {} \
                 to start over (its data will be lost)",
                data_dir.display(),
                root.display()
            ))
            .into())
        }
        Err(_) => account_by_name(SERVER_ACCOUNT)?.ok_or_else(|| {
            environment(
                "engineer-sim runs as root and there is no `postgres` account to run the \
                 embedded PostgreSQL server as (initdb and postgres refuse to run as root)",
            )
            .with_hint(
                "create an unprivileged account for it (e.g. `useradd --system --user-group \
                 postgres`), run engineer-sim as a normal user, or set DATABASE_URL / \
                 --database-url to use an existing server",
            )
        })?,
    };
    let runner = find_program("runuser", &["/usr/sbin", "/sbin", "/usr/bin", "/bin"])
        .map(Runner::Runuser)
        .or_else(|| find_program("su", &["/bin", "/usr/bin"]).map(Runner::Su))
        .ok_or_else(|| {
            environment(
                "engineer-sim runs as root and found neither `runuser` nor `su` to run the \
                 embedded PostgreSQL server as an unprivileged account",
            )
            .with_hint("run engineer-sim as a normal user")
        })?;
    Ok(Some(RunAs { account, runner }))
}

/// As root: the server account must be able to reach `<root>` (every parent directory
/// searchable). A 0700 home directory is the usual obstacle.
pub(super) fn check_reachable(root: &Path, run_as: Option<&RunAs>) -> Result<()> {
    let Some(run_as) = run_as else { return Ok(()) };
    let can_enter = |dir: &Path| -> Result<bool> {
        let out = run_program(Some(run_as), Path::new("test"), &["-x".into(), dir.into()])?;
        Ok(out.status.success())
    };
    if can_enter(root)? {
        return Ok(());
    }
    let mut blocked = root.to_path_buf();
    for dir in root.ancestors().collect::<Vec<_>>().into_iter().rev() {
        if !can_enter(dir)? {
            blocked = dir.to_path_buf();
            break;
        }
    }
    let mode = fs::metadata(&blocked).map(|m| format!(" (mode {:04o})", m.mode() & 0o7777));
    Err(environment(format!(
        "the `{}` account, which runs the embedded PostgreSQL server because engineer-sim \
         runs as root, cannot enter {}{}, so it cannot reach {}",
        run_as.account.name,
        blocked.display(),
        mode.unwrap_or_default(),
        root.display()
    ))
    .with_hint(format!(
        "make it searchable (chmod o+x {}), keep the state directory somewhere that account \
         can reach, or run engineer-sim as a normal user",
        blocked.display()
    ))
    .into())
}

/// The effective uid, from /proc/self/status where there is one, else `id -u`.
pub(super) fn effective_uid() -> Result<u32> {
    if let Ok(status) = fs::read_to_string("/proc/self/status") {
        let euid = status
            .lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .and_then(|ids| ids.split_whitespace().nth(1))
            .and_then(|id| id.parse().ok());
        if let Some(euid) = euid {
            return Ok(euid);
        }
    }
    id_number(&["-u"])?.context("`id -u` did not print a number")
}

/// `id <args>` as a number; `None` when id says no such user.
fn id_number(args: &[&str]) -> Result<Option<u32>> {
    let out = Command::new("id")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .context("cannot run `id`")?;
    if !out.status.success() {
        return Ok(None);
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().parse().ok())
}

fn account_by_name(name: &str) -> Result<Option<Account>> {
    let Some(uid) = id_number(&["-u", name])? else {
        return Ok(None);
    };
    let gid = id_number(&["-g", name])?.with_context(|| format!("`id -g {name}` failed"))?;
    Ok(Some(Account {
        name: name.to_string(),
        uid,
        gid,
    }))
}

fn account_by_uid(uid: u32) -> Result<Account> {
    let out = Command::new("id")
        .args(["-nu", &uid.to_string()])
        .stdin(Stdio::null())
        .output()
        .context("cannot run `id`")?;
    let name = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !out.status.success() || name.is_empty() {
        return Err(environment(format!("no account has uid {uid}")).into());
    }
    let account =
        account_by_name(&name)?.ok_or_else(|| environment(format!("no account named {name}")))?;
    Ok(account)
}

fn find_program(name: &str, extra_dirs: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(extra_dirs.iter().map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|p| is_executable(p))
}

/// The argv that runs `program args` directly, or as the server account when root.
fn command_line(run_as: Option<&RunAs>, program: &Path, args: &[OsString]) -> Vec<OsString> {
    let direct = std::iter::once(program.as_os_str().to_os_string()).chain(args.iter().cloned());
    let Some(run_as) = run_as else {
        return direct.collect();
    };
    match &run_as.runner {
        Runner::Runuser(runuser) => {
            let mut argv: Vec<OsString> = vec![
                runuser.into(),
                "-u".into(),
                run_as.account.name.clone().into(),
                "--".into(),
            ];
            argv.extend(direct);
            argv
        }
        Runner::Su(su) => {
            let script: Vec<u8> = direct
                .map(|arg| shell_quote(arg.as_bytes()))
                .collect::<Vec<_>>()
                .join(&b' ');
            vec![
                su.into(),
                run_as.account.name.clone().into(),
                "-s".into(),
                "/bin/sh".into(),
                "-c".into(),
                OsString::from_vec(script),
            ]
        }
    }
}

fn shell_quote(arg: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(arg.len() + 2);
    out.push(b'\'');
    for &b in arg {
        if b == b'\'' {
            out.extend_from_slice(b"'\\''");
        } else {
            out.push(b);
        }
    }
    out.push(b'\'');
    out
}

/// Runs a program to completion, output captured. Runs in `/`: the server account may not be
/// able to enter the caller's working directory, and initdb fails when it cannot.
pub(super) fn run_program(
    run_as: Option<&RunAs>,
    program: &Path,
    args: &[OsString],
) -> Result<Output> {
    let argv = command_line(run_as, program, args);
    let shown = argv
        .iter()
        .map(|a| a.to_string_lossy())
        .collect::<Vec<_>>()
        .join(" ");
    tracing::debug!("running {shown}");
    Command::new(&argv[0])
        .args(&argv[1..])
        .current_dir("/")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| environment(format!("cannot run {shown}: {e}")).into())
}

pub(super) fn command_output(out: &Output) -> String {
    let mut text = String::from_utf8_lossy(&out.stdout).trim_end().to_string();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !stderr.trim().is_empty() {
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(stderr.trim_end());
    }
    if text.is_empty() {
        text = format!("({})", out.status);
    }
    text
}

/// Creates `dir` (if missing) with `mode`, owned by the server account when running as root.
pub(super) fn create_owned_dir(dir: &Path, mode: u32, run_as: Option<&RunAs>) -> Result<()> {
    match fs::DirBuilder::new().mode(mode).create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && dir.is_dir() => {}
        Err(e) => return Err(e).with_context(|| format!("cannot create {}", dir.display())),
    }
    fs::set_permissions(dir, fs::Permissions::from_mode(mode))
        .with_context(|| format!("cannot set the mode of {}", dir.display()))?;
    if let Some(run_as) = run_as {
        chown_if_needed(dir, &run_as.account)?;
    }
    Ok(())
}

pub(super) fn chown_if_needed(path: &Path, account: &Account) -> Result<()> {
    let meta =
        fs::symlink_metadata(path).with_context(|| format!("cannot inspect {}", path.display()))?;
    if meta.uid() != account.uid || meta.gid() != account.gid {
        std::os::unix::fs::chown(path, Some(account.uid), Some(account.gid)).with_context(
            || {
                format!(
                    "cannot give {} to the `{}` account",
                    path.display(),
                    account.name
                )
            },
        )?;
    }
    Ok(())
}

pub(super) fn write_if_changed(path: &Path, content: &str, run_as: Option<&RunAs>) -> Result<()> {
    if fs::read_to_string(path).ok().as_deref() != Some(content) {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(path)
            .with_context(|| format!("cannot write {}", path.display()))?;
        file.write_all(content.as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if let Some(run_as) = run_as {
        chown_if_needed(path, &run_as.account)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_as_another_account() {
        let account = Account {
            name: "postgres".into(),
            uid: 101,
            gid: 104,
        };
        let program = Path::new("/usr/lib/postgresql/15/bin/pg_ctl");
        let args: Vec<OsString> = vec!["-D".into(), "/it's here".into(), "start".into()];
        assert_eq!(
            command_line(None, program, &args),
            [
                "/usr/lib/postgresql/15/bin/pg_ctl",
                "-D",
                "/it's here",
                "start"
            ]
        );
        let runuser = RunAs {
            account: account.clone(),
            runner: Runner::Runuser("/sbin/runuser".into()),
        };
        assert_eq!(
            command_line(Some(&runuser), program, &args),
            [
                "/sbin/runuser",
                "-u",
                "postgres",
                "--",
                "/usr/lib/postgresql/15/bin/pg_ctl",
                "-D",
                "/it's here",
                "start"
            ]
        );
        let su = RunAs {
            account,
            runner: Runner::Su("/bin/su".into()),
        };
        assert_eq!(
            command_line(Some(&su), program, &args),
            [
                "/bin/su",
                "postgres",
                "-s",
                "/bin/sh",
                "-c",
                "'/usr/lib/postgresql/15/bin/pg_ctl' '-D' '/it'\\''s here' 'start'"
            ]
        );
    }

    #[test]
    fn su_script_survives_the_shell() {
        // The quoted script, run by a real shell, sees the original arguments.
        let args: Vec<OsString> = vec![
            "%s|".into(),
            "a b".into(),
            "it's".into(),
            "$HOME".into(),
            "`x`".into(),
        ];
        let su = RunAs {
            account: Account {
                name: "x".into(),
                uid: 1,
                gid: 1,
            },
            runner: Runner::Su("/bin/su".into()),
        };
        let argv = command_line(Some(&su), Path::new("printf"), &args);
        let script = argv.last().unwrap();
        let out = Command::new("/bin/sh")
            .arg("-c")
            .arg(script)
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "a b|it's|$HOME|`x`|");
    }
}
