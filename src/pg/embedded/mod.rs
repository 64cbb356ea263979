//! The embedded PostgreSQL cluster (README "Quick start").
//!
//! When no `--database-url` / `DATABASE_URL` is given, engineer-sim runs a private cluster under
//! `<state_dir>/pg`, made with the PostgreSQL server installed on the machine:
//!
//! ```text
//! <root>/data                 PGDATA (initdb'd into <root>/data.initdb, then renamed: never half made)
//! <root>/run                  unix socket directory (or /tmp/engineer-sim-<hash>, see `socket_dir_for`)
//! <root>/server.log           server log (pg_ctl -l)
//! <root>/.engineer-sim.lock   serializes initdb/start/stop between processes
//! ```
//!
//! The server listens on its unix socket only (`listen_addresses = ''`), trusts local connections
//! (only the owner of the socket directory, and root, can reach it), loads `pg_stat_statements`,
//! and is left running after the command that started it exits.
//!
//! initdb, pg_ctl and postgres refuse to run as root. When engineer-sim runs as root, they run as
//! an unprivileged account instead: the owner of the data directory when it exists, otherwise
//! the `postgres` account, through `runuser` (or `su` where runuser is missing).
//!
//! All functions here block (they run processes and wait for the server); call them from
//! `tokio::task::spawn_blocking` or before entering async code.
//!
//! This file holds the cluster's face (status, start, stop, its URL) and the lock that makes
//! processes take turns. The parts: `server` makes the cluster (initdb) and starts its server;
//! `process` reads the pid file and tells whether the postmaster is alive; `binaries` finds the
//! PostgreSQL server to run; `accounts` runs it as an unprivileged account when engineer-sim
//! runs as root; `paths` places the root and the socket directory.

mod accounts;
mod binaries;
mod paths;
mod process;
mod server;

use std::ffi::OsString;
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::error::environment;
use accounts::{command_output, effective_uid, run_program, RunAs};
pub use binaries::BINDIR_ENV;
use binaries::{locate_bindir, pg_config_bindir, standard_places};
use paths::{create_dir_all_mode, normalize_root, socket_dir_for, url_encode, PORT};
use process::{parse_pid_file, postmaster_alive, Postmaster};

/// The bootstrap superuser (`initdb -U postgres`): the same name whoever runs engineer-sim.
pub const SUPERUSER: &str = "postgres";
/// Seconds `pg_ctl -w` waits for the server to start or stop.
const PG_CTL_TIMEOUT_SECS: u32 = 60;
/// How long to wait for another process that holds the cluster lock (it may be running initdb
/// and a start, each bounded by the timeouts above).
const LOCK_TIMEOUT: Duration = Duration::from_secs(180);
const LOG_TAIL_LINES: usize = 20;

/// The private PostgreSQL cluster under one directory. Cheap to create: nothing runs until
/// [`EmbeddedCluster::ensure_started`], [`EmbeddedCluster::stop`] or [`EmbeddedCluster::status`].
#[derive(Debug, Clone)]
pub struct EmbeddedCluster {
    root: PathBuf,
    bin_dir: PathBuf,
    socket_dir: PathBuf,
    euid: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClusterStatus {
    /// No data directory yet (`ensure_started` runs initdb).
    NotInitialized,
    Stopped,
    /// The postmaster is alive (it may still be starting up or shutting down).
    Running {
        pid: u32,
    },
}

impl EmbeddedCluster {
    /// Locates server binaries: `$ENGINEER_SIM_PG_BINDIR` if set, then PATH (initdb, pg_ctl and
    /// postgres must all be in one directory), then `pg_config --bindir`, then
    /// `/usr/lib/postgresql/*/bin` newest version first, then `/usr/local/pgsql/bin`, then the
    /// PGDG RPM (`/usr/pgsql-*/bin`) and Homebrew (`<prefix>/opt/postgresql@*/bin`) locations.
    ///
    /// Fails with an environment error (exit 3) when no server is installed. Runs no server
    /// process and creates nothing on disk.
    pub fn new(root: &Path) -> Result<Self> {
        let root = normalize_root(root)
            .with_context(|| format!("cannot resolve the cluster directory {}", root.display()))?;
        let env_bindir = std::env::var_os(BINDIR_ENV).filter(|v| !v.is_empty());
        let path_var = std::env::var_os("PATH");
        let bin_dir = locate_bindir(
            env_bindir.as_deref(),
            path_var.as_deref(),
            pg_config_bindir,
            &standard_places(),
        )?;
        Ok(EmbeddedCluster {
            socket_dir: socket_dir_for(&root),
            root,
            bin_dir,
            euid: effective_uid()?,
        })
    }

    /// The directory this cluster lives in (absolute).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The directory holding initdb, pg_ctl and postgres.
    pub fn bin_dir(&self) -> &Path {
        &self.bin_dir
    }

    pub fn data_dir(&self) -> PathBuf {
        self.root.join("data")
    }

    pub fn socket_dir(&self) -> PathBuf {
        self.socket_dir.clone()
    }

    pub fn log_file(&self) -> PathBuf {
        self.root.join("server.log")
    }

    fn lock_file(&self) -> PathBuf {
        self.root.join(".engineer-sim.lock")
    }

    fn initdb_dir(&self) -> PathBuf {
        self.root.join("data.initdb")
    }

    /// A sqlx connection URL for database `dbname` as the superuser over the unix socket, e.g.
    /// `postgres://postgres@localhost/shop?host=/abs/root/run&port=5432`. sqlx takes a
    /// `host` query parameter that starts with `/` as the socket directory; the `localhost` in
    /// the authority is never used. No password: the cluster trusts local connections.
    pub fn url(&self, dbname: &str) -> String {
        format!(
            "postgres://{SUPERUSER}@localhost/{}?host={}&port={PORT}",
            url_encode(dbname.as_bytes(), false),
            url_encode(self.socket_dir.as_os_str().as_bytes(), true),
        )
    }

    /// What the cluster is doing, from `data/postmaster.pid` (the postmaster's pid must be alive).
    pub fn status(&self) -> Result<ClusterStatus> {
        Ok(match self.postmaster()? {
            Postmaster::NoDataDir => ClusterStatus::NotInitialized,
            Postmaster::Stopped => ClusterStatus::Stopped,
            Postmaster::Alive { pid, .. } => ClusterStatus::Running { pid },
        })
    }

    /// Runs initdb if the data directory does not exist yet, then starts the server unless it is
    /// running, and returns once it accepts connections. Idempotent, and safe when several
    /// processes (or threads) call it at once: they take turns on a lock file in the root.
    pub fn ensure_started(&self) -> Result<()> {
        // Fast path, run on every tick: nothing to spawn, nothing to lock.
        if let Postmaster::Alive { ready: true, .. } = self.postmaster()? {
            return Ok(());
        }

        let run_as = self.run_as()?;
        create_dir_all_mode(&self.root, 0o755)
            .with_context(|| format!("cannot create {}", self.root.display()))?;
        let _lock = self.lock()?;

        match self.postmaster()? {
            Postmaster::Alive { .. } => return self.wait_until_ready(),
            Postmaster::NoDataDir => {
                accounts::check_reachable(&self.root, run_as.as_ref())?;
                self.initdb(run_as.as_ref())?;
            }
            Postmaster::Stopped => accounts::check_reachable(&self.root, run_as.as_ref())?,
        }
        self.start(run_as.as_ref())
    }

    /// Stops the server (fast shutdown: open sessions are disconnected). No error when it is not
    /// running or was never initialized.
    pub fn stop(&self) -> Result<()> {
        if !matches!(self.postmaster()?, Postmaster::Alive { .. }) {
            return Ok(());
        }
        let run_as = self.run_as()?;
        let _lock = self.lock()?;
        if !matches!(self.postmaster()?, Postmaster::Alive { .. }) {
            return Ok(());
        }
        tracing::info!(
            "stopping embedded PostgreSQL at {}",
            self.data_dir().display()
        );
        let timeout = PG_CTL_TIMEOUT_SECS.to_string();
        let args: Vec<OsString> = vec![
            "-D".into(),
            self.data_dir().into(),
            "-m".into(),
            "fast".into(),
            "-w".into(),
            "-t".into(),
            timeout.into(),
            "stop".into(),
        ];
        let out = self.run(run_as.as_ref(), "pg_ctl", &args)?;
        if out.status.success() || !matches!(self.postmaster()?, Postmaster::Alive { .. }) {
            return Ok(());
        }
        Err(environment(format!(
            "could not stop the embedded PostgreSQL server in {}:\n{}{}",
            self.data_dir().display(),
            command_output(&out),
            self.log_tail_section(),
        ))
        .into())
    }

    fn postmaster(&self) -> Result<Postmaster> {
        let data = self.data_dir();
        if !data.join("PG_VERSION").is_file() {
            return Ok(Postmaster::NoDataDir);
        }
        let pid_file = data.join("postmaster.pid");
        let text = match fs::read_to_string(&pid_file) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Postmaster::Stopped),
            Err(e) => {
                return Err(e).with_context(|| format!("cannot read {}", pid_file.display()));
            }
        };
        // An empty or half-written file means a postmaster is creating it right now, or died
        // while doing so; treat it as not running (a start attempt sorts out which).
        let Some(pid) = parse_pid_file(&text) else {
            return Ok(Postmaster::Stopped);
        };
        if !postmaster_alive(pid.pid) {
            return Ok(Postmaster::Stopped);
        }
        Ok(Postmaster::Alive {
            pid: pid.pid,
            ready: pid.ready,
        })
    }

    /// Waits for a postmaster that is alive to accept connections (another process started it).
    fn wait_until_ready(&self) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(PG_CTL_TIMEOUT_SECS.into());
        loop {
            match self.postmaster()? {
                Postmaster::Alive { ready: true, .. } => return Ok(()),
                Postmaster::Alive { .. } if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(100))
                }
                Postmaster::Alive { pid, .. } => {
                    return Err(environment(format!(
                        "the embedded PostgreSQL server (pid {pid}) in {} did not become ready \
                         within {PG_CTL_TIMEOUT_SECS}s{}",
                        self.data_dir().display(),
                        self.log_tail_section()
                    ))
                    .into())
                }
                // It went away (was shutting down): start it again, we hold the lock.
                Postmaster::Stopped | Postmaster::NoDataDir => {
                    return self.start(self.run_as()?.as_ref())
                }
            }
        }
    }

    fn lock(&self) -> Result<fs::File> {
        let path = self.lock_file();
        let file = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o644)
            .open(&path)
            .or_else(|_| fs::File::open(&path))
            .with_context(|| format!("cannot open the lock file {}", path.display()))?;
        let deadline = Instant::now() + LOCK_TIMEOUT;
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(file),
                Err(fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50))
                }
                Err(fs::TryLockError::WouldBlock) => {
                    return Err(environment(format!(
                        "another engineer-sim process has held {} for over {}s",
                        path.display(),
                        LOCK_TIMEOUT.as_secs()
                    ))
                    .into())
                }
                Err(fs::TryLockError::Error(e)) => {
                    return Err(e).with_context(|| format!("cannot lock {}", path.display()))
                }
            }
        }
    }

    /// Who runs the server programs (see [`accounts::run_as`]).
    fn run_as(&self) -> Result<Option<RunAs>> {
        accounts::run_as(self.euid, &self.data_dir(), &self.root)
    }

    fn run(&self, run_as: Option<&RunAs>, program: &str, args: &[OsString]) -> Result<Output> {
        run_program(run_as, &self.bin_dir.join(program), args)
    }

    /// The last `n` lines of the server log ("" when there is none).
    fn log_tail(&self, n: usize) -> String {
        let bytes = fs::read(self.log_file()).unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes);
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    fn log_tail_section(&self) -> String {
        let log = self.log_file();
        match self.log_tail(LOG_TAIL_LINES) {
            tail if tail.trim().is_empty() => format!("\n({} is empty or missing)", log.display()),
            tail => format!("\nlast lines of {}:\n{tail}", log.display()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_encodes_socket_dir_and_database() {
        let cluster = EmbeddedCluster {
            root: "/s/pg".into(),
            bin_dir: "/usr/bin".into(),
            socket_dir: "/s p/pg+x/run".into(),
            euid: 1000,
        };
        assert_eq!(
            cluster.url("task pilot"),
            "postgres://postgres@localhost/task%20pilot?host=/s%20p/pg%2Bx/run&port=5432"
        );
    }
}
