//! Whether the cluster's postmaster is alive: its pid file, and the process behind the pid.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

pub(super) enum Postmaster {
    NoDataDir,
    Stopped,
    Alive { pid: u32, ready: bool },
}

pub(super) struct PidFile {
    pub(super) pid: u32,
    pub(super) ready: bool,
}

/// `postmaster.pid`: line 1 the pid, ..., line 8 the status (`starting`, `stopping`, `ready`,
/// `standby`), written once the postmaster gets that far.
pub(super) fn parse_pid_file(text: &str) -> Option<PidFile> {
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
pub(super) fn postmaster_alive(pid: u32) -> bool {
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

pub(super) fn proc_stat_state(stat: &str) -> Option<char> {
    stat[stat.rfind(')')? + 1..].trim_start().chars().next()
}

fn proc_stat_is_live_postgres(stat: &str) -> bool {
    let Some(comm) = proc_stat_comm(stat) else {
        return false;
    };
    (comm.contains("postgres") || comm.contains("postmaster"))
        && !matches!(proc_stat_state(stat), None | Some('Z' | 'X' | 'x'))
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
