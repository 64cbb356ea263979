//! The state lock: every command that writes to a database or the state directory holds it, so
//! two of them (two cron ticks, a tick and a run, sixteen runs at once) take turns instead of
//! racing. The wait is bounded: past it the command stops with exit 3 and names the holder
//! (README "Operating it").

use std::fs::{File, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::error::environment;
use crate::state::StateDir;

/// How long a command waits for the state lock by default (`--lock-wait` / `ENGINEER_SIM_LOCK_WAIT`).
pub const DEFAULT_WAIT: Duration = Duration::from_secs(600);

/// Held until dropped (the operating system releases it when the process ends, even on SIGKILL).
pub struct StateLock {
    _file: File,
}

impl StateLock {
    /// Waits at most `wait` for the lock of `state`, after making sure the state directory can be
    /// written (a directory that cannot take the journal must not let a change be applied).
    pub fn acquire(state: &StateDir, wait: Duration, command: &str) -> Result<StateLock> {
        state.ensure_writable()?;
        let path = state.root().join("tick.lock");
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .with_context(|| format!("opening the state lock {}", path.display()))?;
        let deadline = Instant::now() + wait;
        let mut said = false;
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) if Instant::now() < deadline => {
                    if !said {
                        eprintln!(
                            "waiting for the state lock {} (held by {})",
                            path.display(),
                            holder(&mut file)
                        );
                        said = true;
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(TryLockError::WouldBlock) => return Err(timed_out(&path, wait, &mut file)),
                Err(TryLockError::Error(err)) => {
                    return Err(err)
                        .with_context(|| format!("locking the state lock {}", path.display()))
                }
            }
        }
        // Who holds it, for the message another command shows while it waits.
        let _ = file.set_len(0);
        let _ = file.rewind();
        let _ = writeln!(file, "pid {} ({command})", std::process::id());
        Ok(StateLock { _file: file })
    }
}

fn holder(file: &mut File) -> String {
    let mut text = String::new();
    let _ = file.rewind();
    let _ = file.read_to_string(&mut text);
    let text = text.trim();
    if text.is_empty() {
        "another engineer-sim".to_string()
    } else {
        format!("engineer-sim {text}")
    }
}

fn timed_out(path: &Path, wait: Duration, file: &mut File) -> anyhow::Error {
    environment(format!(
        "the state lock {} is still held by {} after {}s; nothing was applied",
        path.display(),
        holder(file),
        wait.as_secs()
    ))
    .with_hint("let that command finish (or stop it), or wait longer with --lock-wait SECONDS / ENGINEER_SIM_LOCK_WAIT")
    .into()
}
