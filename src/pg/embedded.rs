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

use std::ffi::{OsStr, OsString};
use std::fs;
use std::io::{self, Write};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::error::environment;

/// The port in the socket file name. The socket directory is private, so it never clashes with
/// another server on the machine.
pub const PORT: u16 = 5432;
/// The bootstrap superuser (`initdb -U postgres`): the same name whoever runs engineer-sim.
pub const SUPERUSER: &str = "postgres";
/// The account initdb/postgres run as when engineer-sim runs as root and no data directory exists.
const SERVER_ACCOUNT: &str = "postgres";
/// Environment variable naming the directory that holds initdb, pg_ctl and postgres.
pub const BINDIR_ENV: &str = "ENGINEER_SIM_PG_BINDIR";
/// `sockaddr_un.sun_path` is 104 bytes on macOS/BSD and 108 on Linux, NUL included; PostgreSQL
/// refuses a socket path that does not fit. Keep to the smaller one.
const SUN_PATH_LEN: usize = 104;
/// Seconds `pg_ctl -w` waits for the server to start or stop.
const PG_CTL_TIMEOUT_SECS: u32 = 60;
/// How long to wait for another process that holds the cluster lock (it may be running initdb
/// and a start, each bounded by the timeouts above).
const LOCK_TIMEOUT: Duration = Duration::from_secs(180);
/// The settings file engineer-sim rewrites before every start, included from postgresql.conf.
const CONF_INCLUDE: &str = "engineer-sim.conf";
const LOG_TAIL_LINES: usize = 20;

const SERVER_BINARIES: [&str; 3] = ["initdb", "pg_ctl", "postgres"];

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
                self.check_reachable(run_as.as_ref())?;
                self.initdb(run_as.as_ref())?;
            }
            Postmaster::Stopped => self.check_reachable(run_as.as_ref())?,
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

    // ----- internals -----

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

    /// `None` when engineer-sim runs as an ordinary user: server programs run directly.
    fn run_as(&self) -> Result<Option<RunAs>> {
        if self.euid != 0 {
            return Ok(None);
        }
        // A data directory that exists belongs to the account the server must run as (maybe an
        // ordinary user who made it before running engineer-sim with sudo).
        let account = match fs::metadata(self.data_dir()) {
            Ok(meta) if meta.uid() != 0 => account_by_uid(meta.uid()).with_context(|| {
                format!(
                    "cannot find the account owning {}",
                    self.data_dir().display()
                )
            })?,
            Ok(_) => {
                return Err(environment(format!(
                    "the embedded cluster's data directory {} is owned by root, and PostgreSQL \
                     will not run as root",
                    self.data_dir().display()
                ))
                .with_hint(format!(
                    "give it to an unprivileged account (chown -R postgres: {}) or remove {} \
                     to start over (its data will be lost)",
                    self.data_dir().display(),
                    self.root.display()
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
    fn check_reachable(&self, run_as: Option<&RunAs>) -> Result<()> {
        let Some(run_as) = run_as else { return Ok(()) };
        let can_enter = |dir: &Path| -> Result<bool> {
            let out = run_program(Some(run_as), Path::new("test"), &["-x".into(), dir.into()])?;
            Ok(out.status.success())
        };
        if can_enter(&self.root)? {
            return Ok(());
        }
        let mut blocked = self.root.clone();
        for dir in self.root.ancestors().collect::<Vec<_>>().into_iter().rev() {
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
            self.root.display()
        ))
        .with_hint(format!(
            "make it searchable (chmod o+x {}), keep the state directory somewhere that account \
             can reach, or run engineer-sim as a normal user",
            blocked.display()
        ))
        .into())
    }

    fn initdb(&self, run_as: Option<&RunAs>) -> Result<()> {
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

    fn start(&self, run_as: Option<&RunAs>) -> Result<()> {
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

enum Postmaster {
    NoDataDir,
    Stopped,
    Alive { pid: u32, ready: bool },
}

struct PidFile {
    pid: u32,
    ready: bool,
}

/// `postmaster.pid`: line 1 the pid, ..., line 8 the status (`starting`, `stopping`, `ready`,
/// `standby`), written once the postmaster gets that far.
fn parse_pid_file(text: &str) -> Option<PidFile> {
    let mut lines = text.lines();
    let pid = lines
        .next()?
        .trim()
        .parse::<u32>()
        .ok()
        .filter(|&p| p > 0)?;
    let status = lines.nth(6).map(str::trim).unwrap_or("");
    Some(PidFile {
        pid,
        ready: status == "ready",
    })
}

/// Whether `pid` is a live PostgreSQL process. On Linux the process name is checked too: after a
/// reboot (or in a restarted container) a stale postmaster.pid often names a pid some other
/// process now has. A zombie (a killed postmaster nobody has reaped yet) is not alive.
fn postmaster_alive(pid: u32) -> bool {
    let proc_dir = Path::new("/proc");
    if proc_dir.join("self").exists() {
        return match fs::read_to_string(proc_dir.join(pid.to_string()).join("stat")) {
            Ok(stat) => proc_stat_is_live_postgres(&stat),
            Err(_) => false,
        };
    }
    Command::new("kill")
        .args(["-0", &pid.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// `/proc/<pid>/stat` is `<pid> (<comm>) <state> ...`; comm may itself contain `)`.
fn proc_stat_comm(stat: &str) -> Option<&str> {
    let (open, close) = (stat.find('(')?, stat.rfind(')')?);
    stat.get(open + 1..close)
}

fn proc_stat_state(stat: &str) -> Option<char> {
    stat[stat.rfind(')')? + 1..].trim_start().chars().next()
}

fn proc_stat_is_live_postgres(stat: &str) -> bool {
    let Some(comm) = proc_stat_comm(stat) else {
        return false;
    };
    (comm.contains("postgres") || comm.contains("postmaster"))
        && !matches!(proc_stat_state(stat), None | Some('Z' | 'X' | 'x'))
}

/// `postgres (PostgreSQL) 15.18 (Debian ...)` -> `15`; `... 9.6.24` -> `9.6`.
fn major_version(version_output: &str) -> Option<String> {
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

// ----- locating the server binaries -----

/// A place where PostgreSQL may be installed, after PATH and pg_config.
#[derive(Debug, Clone)]
enum Place {
    /// `<parent>/<prefix><version>/bin`, newest version first.
    Versioned {
        parent: PathBuf,
        prefix: &'static str,
    },
    Fixed(PathBuf),
}

fn standard_places() -> Vec<Place> {
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

fn is_executable(path: &Path) -> bool {
    fs::metadata(path)
        .map(|m| m.is_file() && m.mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// `pg_config --bindir`, with pg_config found in `path_var`.
fn pg_config_bindir(path_var: Option<&OsStr>) -> Option<PathBuf> {
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
fn locate_bindir(
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

// ----- paths -----

/// An absolute path for `root` with symlinks resolved in the part that exists, so every process
/// derives the same socket directory from it whatever its working directory.
fn normalize_root(root: &Path) -> io::Result<PathBuf> {
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
fn socket_dir_for(root: &Path) -> PathBuf {
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
fn url_encode(bytes: &[u8], keep_slash: bool) -> String {
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

/// A postgresql.conf string literal.
fn conf_quote(value: &str) -> String {
    format!("'{}'", value.replace('\\', "\\\\").replace('\'', "''"))
}

fn create_dir_all_mode(dir: &Path, mode: u32) -> io::Result<()> {
    fs::DirBuilder::new().recursive(true).mode(mode).create(dir)
}

/// Creates `dir` (if missing) with `mode`, owned by the server account when running as root.
fn create_owned_dir(dir: &Path, mode: u32, run_as: Option<&RunAs>) -> Result<()> {
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

fn chown_if_needed(path: &Path, account: &Account) -> Result<()> {
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

fn write_if_changed(path: &Path, content: &str, run_as: Option<&RunAs>) -> Result<()> {
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

// ----- accounts and running programs -----

#[derive(Debug, Clone)]
struct Account {
    name: String,
    uid: u32,
    gid: u32,
}

#[derive(Debug, Clone)]
enum Runner {
    Runuser(PathBuf),
    Su(PathBuf),
}

#[derive(Debug, Clone)]
struct RunAs {
    account: Account,
    runner: Runner,
}

/// The effective uid, from /proc/self/status where there is one, else `id -u`.
fn effective_uid() -> Result<u32> {
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
fn run_program(run_as: Option<&RunAs>, program: &Path, args: &[OsString]) -> Result<Output> {
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

fn command_output(out: &Output) -> String {
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

#[cfg(test)]
mod tests {
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

    #[test]
    fn conf_quoting() {
        assert_eq!(conf_quote("/tmp/a'b\\c"), "'/tmp/a''b\\\\c'");
    }

    #[test]
    fn pid_file_parsing() {
        let ready = "4242\n/data\n1700000000\n5432\n/run\n\n  5432001    32768\nready   \n";
        let p = parse_pid_file(ready).unwrap();
        assert_eq!((p.pid, p.ready), (4242, true));
        let starting = "4242\n/data\n1700000000\n5432\n/run\n\n  5432001    32768\nstarting\n";
        assert!(!parse_pid_file(starting).unwrap().ready);
        assert!(!parse_pid_file("4242\n/data\n").unwrap().ready);
        assert!(parse_pid_file("").is_none());
        assert!(parse_pid_file("garbage\n").is_none());
    }

    #[test]
    fn proc_stat_liveness() {
        assert!(proc_stat_is_live_postgres(
            "4242 (postgres) S 1 4242 4242 0 -1"
        ));
        assert!(proc_stat_is_live_postgres(
            "4242 (.postgres-wrapp) R 1 4242"
        ));
        assert!(!proc_stat_is_live_postgres(
            "4242 (postgres) Z 1 4242 4242 0 -1"
        ));
        assert!(!proc_stat_is_live_postgres(
            "4242 (sleep) S 1 4242 4242 0 -1"
        ));
        assert!(!proc_stat_is_live_postgres("4242 (a) postgres) Z 1"));
        assert!(!proc_stat_is_live_postgres(""));
        let own = fs::read_to_string("/proc/self/stat").unwrap_or_default();
        assert!(
            !proc_stat_is_live_postgres(&own),
            "this test is not postgres: {own}"
        );
    }

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
