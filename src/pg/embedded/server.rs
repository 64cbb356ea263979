//! Making the cluster (initdb) and starting its server, with the settings file and the socket
//! directory they need.

use std::ffi::OsString;
use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use super::accounts::{chown_if_needed, create_owned_dir, run_program, write_if_changed, RunAs};
use super::binaries::{major_version, BINDIR_ENV};
use super::paths::PORT;
use super::process::{parse_pid_file, proc_stat_state, Postmaster};
use super::{command_output, EmbeddedCluster, PG_CTL_TIMEOUT_SECS, SUPERUSER};
use crate::error::environment;

/// The settings file engineer-sim rewrites before every start, included from postgresql.conf.
const CONF_INCLUDE: &str = "engineer-sim.conf";

impl EmbeddedCluster {
    pub(super) fn initdb(&self, run_as: Option<&RunAs>) -> Result<()> {
        let data = self.data_dir();
        tracing::info!(
            "creating embedded cluster at {} (PostgreSQL from {})",
            self.root.display(),
            self.bin_dir.display()
        );
        // initdb into a scratch directory renamed into place once complete, so an interrupted
        // initdb never leaves a `data` directory that looks initialized.
        let scratch = self.initdb_dir();
        if fs::symlink_metadata(&scratch).is_ok() {
            fs::remove_dir_all(&scratch)
                .with_context(|| format!("cannot remove the leftover {}", scratch.display()))?;
        }
        create_owned_dir(&scratch, 0o700, run_as)?;
        let args: Vec<OsString> = vec![
            "-D".into(),
            scratch.clone().into(),
            "-U".into(),
            SUPERUSER.into(),
            "--auth=trust".into(),
            "-E".into(),
            "UTF8".into(),
            "--locale=C".into(),
        ];
        let out = self.run(run_as, "initdb", &args)?;
        if !out.status.success() {
            let _ = fs::remove_dir_all(&scratch);
            return Err(environment(format!(
                "initdb failed to create the embedded cluster in {}:\n{}",
                self.root.display(),
                command_output(&out)
            ))
            .into());
        }
        let conf = scratch.join("postgresql.conf");
        let mut file = fs::OpenOptions::new()
            .append(true)
            .open(&conf)
            .with_context(|| format!("cannot open {}", conf.display()))?;
        write!(
            file,
            "\n# Added by engineer-sim. {CONF_INCLUDE} is rewritten before every start (it holds \
             the socket directory, which follows the cluster's location); settings below this \
             line override it.\ninclude = '{CONF_INCLUDE}'\n"
        )
        .with_context(|| format!("cannot write {}", conf.display()))?;
        drop(file);
        fs::rename(&scratch, &data).with_context(|| {
            format!("cannot rename {} to {}", scratch.display(), data.display())
        })?;
        Ok(())
    }

    pub(super) fn start(&self, run_as: Option<&RunAs>) -> Result<()> {
        let data = self.data_dir();
        let major = self.check_version()?;
        self.prepare_socket_dir(run_as)?;
        let log = self.log_file();
        if fs::symlink_metadata(&log).is_err() {
            fs::OpenOptions::new()
                .append(true)
                .create(true)
                .mode(0o600)
                .open(&log)
                .with_context(|| format!("cannot create {}", log.display()))?;
        }
        if let Some(run_as) = run_as {
            chown_if_needed(&log, &run_as.account)?;
        }
        write_if_changed(&data.join(CONF_INCLUDE), &self.conf_include(), run_as)?;

        self.remove_zombie_lock_files()?;

        tracing::info!(
            "starting embedded PostgreSQL {major} at {} (socket in {})",
            data.display(),
            self.socket_dir.display()
        );
        let timeout = PG_CTL_TIMEOUT_SECS.to_string();
        let args: Vec<OsString> = vec![
            "-D".into(),
            data.clone().into(),
            "-l".into(),
            log.into(),
            "-w".into(),
            "-t".into(),
            timeout.into(),
            "start".into(),
        ];
        let mut out = self.run(run_as, "pg_ctl", &args)?;
        // After a postmaster crash (kill -9, OOM killer) its backends take a moment to notice
        // and exit; until then the new postmaster refuses to start. Give them a few seconds.
        let deadline = Instant::now() + Duration::from_secs(10);
        while !out.status.success()
            && Instant::now() < deadline
            && self
                .log_tail(4)
                .contains("pre-existing shared memory block")
        {
            std::thread::sleep(Duration::from_millis(500));
            out = self.run(run_as, "pg_ctl", &args)?;
        }
        if out.status.success() {
            return Ok(());
        }
        // Someone else may have started it meanwhile, outside our lock (e.g. by hand).
        if let Postmaster::Alive { ready, .. } = self.postmaster()? {
            return if ready {
                Ok(())
            } else {
                self.wait_until_ready()
            };
        }
        let tail = self.log_tail_section();
        let mut err = environment(format!(
            "could not start the embedded PostgreSQL server in {}:\n{}{}",
            data.display(),
            command_output(&out),
            tail
        ));
        if tail.contains("pg_stat_statements") {
            err = err.with_hint(
                "the server lacks the pg_stat_statements module: install the PostgreSQL contrib \
                 package (e.g. postgresql-contrib)",
            );
        } else if tail.contains("lock file") && tail.contains("already exists") {
            err = err.with_hint(format!(
                "if no PostgreSQL server is running on {}, remove the lock file named above",
                data.display()
            ));
        }
        Err(err.into())
    }

    /// A postmaster that was killed and not yet reaped (as happens under a container init that
    /// does not reap orphans) is a zombie: `kill(pid, 0)` still succeeds, so postgres takes its
    /// lock files (postmaster.pid, the socket's .lock) for a live server's and refuses to start.
    /// They are stale; remove them. (A leftover backend still attached to the old shared memory
    /// is caught by postgres itself.)
    fn remove_zombie_lock_files(&self) -> Result<()> {
        let lock_files = [
            self.data_dir().join("postmaster.pid"),
            self.socket_dir.join(format!(".s.PGSQL.{PORT}.lock")),
        ];
        for lock_file in lock_files {
            let Ok(text) = fs::read_to_string(&lock_file) else {
                continue;
            };
            let Some(pid) = parse_pid_file(&text) else {
                continue;
            };
            let stat = fs::read_to_string(format!("/proc/{}/stat", pid.pid)).unwrap_or_default();
            if proc_stat_state(&stat) != Some('Z') {
                continue;
            }
            tracing::info!(
                "removing {} left by a dead postmaster (pid {})",
                lock_file.display(),
                pid.pid
            );
            match fs::remove_file(&lock_file) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => {
                    return Err(e).with_context(|| format!("cannot remove {}", lock_file.display()))
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn conf_include(&self) -> String {
        format!(
            "# Written by engineer-sim before every start of this cluster; edits are overwritten.\n\
             listen_addresses = ''\n\
             unix_socket_directories = {}\n\
             port = {PORT}\n\
             shared_preload_libraries = 'pg_stat_statements'\n",
            conf_quote(&self.socket_dir.to_string_lossy())
        )
    }

    /// The data directory's major version must match the server binaries'. Returns it.
    fn check_version(&self) -> Result<String> {
        let pg_version = self.data_dir().join("PG_VERSION");
        let data_major = fs::read_to_string(&pg_version)
            .with_context(|| format!("cannot read {}", pg_version.display()))?
            .trim()
            .to_string();
        let out = run_program(None, &self.bin_dir.join("postgres"), &["--version".into()])?;
        let text = String::from_utf8_lossy(&out.stdout);
        let Some(bin_major) = major_version(&text) else {
            // Unusual output: let the server itself complain if it cannot read the data.
            return Ok(data_major);
        };
        if bin_major != data_major {
            return Err(environment(format!(
                "the embedded cluster in {} was made by PostgreSQL {data_major}, but the server \
                 found in {} is PostgreSQL {bin_major}",
                self.root.display(),
                self.bin_dir.display()
            ))
            .with_hint(format!(
                "set {BINDIR_ENV} to the bin directory of PostgreSQL {data_major}, or remove {} \
                 to start over (its data will be lost)",
                self.root.display()
            ))
            .into());
        }
        Ok(data_major)
    }

    fn prepare_socket_dir(&self, run_as: Option<&RunAs>) -> Result<()> {
        let dir = &self.socket_dir;
        if dir.starts_with(&self.root) {
            create_owned_dir(dir, 0o700, run_as)?;
            return Ok(());
        }
        // The fallback under /tmp: anyone could have made it first. Use it only if it is a real
        // directory owned by the server account and closed to others.
        let owner = run_as.map(|r| r.account.uid).unwrap_or(self.euid);
        match fs::symlink_metadata(dir) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => create_owned_dir(dir, 0o700, run_as),
            Err(e) => Err(e).with_context(|| format!("cannot inspect {}", dir.display())),
            Ok(meta) if meta.is_dir() && meta.uid() == owner && meta.mode() & 0o077 == 0 => Ok(()),
            Ok(meta) => Err(environment(format!(
                "{} (the embedded cluster's socket directory) exists but is not a private \
                 directory of uid {owner} (it is {} owned by uid {} with mode {:04o})",
                dir.display(),
                if meta.is_dir() {
                    "a directory"
                } else {
                    "not a directory"
                },
                meta.uid(),
                meta.mode() & 0o7777
            ))
            .with_hint(format!("remove {} and try again", dir.display()))
            .into()),
        }
    }
}

/// A postgresql.conf string literal.
fn conf_quote(value: &str) -> String {
    format!("'{}'", value.replace('\\', "\\\\").replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conf_quoting() {
        assert_eq!(conf_quote("/tmp/a'b\\c"), "'/tmp/a''b\\\\c'");
    }
}
