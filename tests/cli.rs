//! The command line's surface: help that describes every option, database options only where a
//! database is used, completions and man pages, `-q`, the log's filter and colour, a quiet exit 0
//! when the reader of stdout goes away.

mod common;

use std::process::{Command, Stdio};

use clap::CommandFactory;
use common::{engineer_sim, temp_state};
use engineer_sim::cli::Cli;

fn run(args: &[&str]) -> std::process::Output {
    let state = temp_state();
    engineer_sim(state.path())
        .args(args)
        .output()
        .expect("spawn engineer-sim")
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn the_clap_definition_is_consistent() {
    Cli::command().debug_assert();
}

/// Every option and argument of every command says what it is for.
#[test]
fn every_option_and_argument_is_described() {
    fn walk(cmd: &clap::Command, path: &str, undescribed: &mut Vec<String>) {
        for arg in cmd.get_arguments() {
            let id = arg.get_id().as_str();
            if arg.is_hide_set() || id == "help" || id == "version" {
                continue;
            }
            if arg.get_help().is_none() && arg.get_long_help().is_none() {
                undescribed.push(format!("{path} {id}"));
            }
        }
        for sub in cmd.get_subcommands() {
            walk(sub, &format!("{path} {}", sub.get_name()), undescribed);
        }
    }
    let mut undescribed = Vec::new();
    walk(&Cli::command(), "engineer-sim", &mut undescribed);
    assert!(undescribed.is_empty(), "no description: {undescribed:?}");
}

/// `plan` and `render` touch no database: they offer no database option, and refuse one.
#[test]
fn database_options_only_on_commands_that_use_a_database() {
    for command in ["plan", "render", "schedule", "settings", "new-roadmap"] {
        let help = stdout(&run(&[command, "--help"]));
        for option in ["--database-url", "--lock-wait", "--scale", "--jobs"] {
            assert!(!help.contains(option), "{command} --help offers {option}");
        }
    }
    for command in ["run", "status", "verify", "findings", "init", "check"] {
        let help = stdout(&run(&[command, "--help"]));
        assert!(help.contains("--database-url"), "{command} --help");
    }
    // check's scratch database: the embedded cluster's, or on the server of --database-url.
    let help = stdout(&run(&["check", "--help"]));
    assert!(
        help.contains("--no-db") && !help.contains("--lock-wait"),
        "{help}"
    );
    let out = run(&["plan", "--database-url", "postgres://x/y"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("`engineer-sim plan` uses no database and takes no --database-url"),
        "{}",
        stderr(&out)
    );
    // Written before the command, as when it was global: told where it goes.
    let out = run(&["--lock-wait", "1", "run", "--until-week", "2"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out)
            .contains("--lock-wait goes after the command: `engineer-sim run --lock-wait ...`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn help_snapshots() {
    for args in [
        vec!["--help"],
        vec!["plan", "--help"],
        vec!["render", "--help"],
        vec!["diff", "--help"],
        vec!["findings", "--help"],
        vec!["replay", "--help"],
    ] {
        let out = run(&args);
        assert!(out.status.success());
        let text = stdout(&out);
        // The environment never leaks into the help (`[env: ENGINEER_SIM_STATE=/tmp/...]`).
        assert!(!text.contains("[env: ENGINEER_SIM_STATE="), "{text}");
        insta::assert_snapshot!(args.join("_").replace("--", ""), text);
    }
}

#[test]
fn origin_is_checked_by_the_parser() {
    let out = run(&["findings", "--origin", "bogus"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("possible values: base, scripted, slip, incidental"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn completions_and_man_pages() {
    let bash = run(&["completions", "bash"]);
    assert!(bash.status.success());
    assert!(stdout(&bash).contains("--until-week"), "bash completion");
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let out = run(&["completions", shell]);
        assert!(out.status.success() && !out.stdout.is_empty(), "{shell}");
    }
    let man = run(&["man"]);
    assert!(man.status.success());
    assert!(
        stdout(&man).contains(".TH engineer-sim 1"),
        "{}",
        stdout(&man)
    );
    let dir = temp_state();
    let out = run(&["man", "--out-dir", dir.path().to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    for page in [
        "engineer-sim.1",
        "engineer-sim-run.1",
        "engineer-sim-db-start.1",
    ] {
        assert!(dir.path().join(page).is_file(), "{page}");
    }
}

/// The reader of stdout went away (`plan | head -3`): exit 0, nothing on stderr. The pipe's
/// read end is closed before the command starts, so every write fails, whatever the timing.
#[test]
fn a_closed_stdout_is_a_quiet_exit_zero() {
    for args in [
        vec!["plan"],
        vec!["replay", "--week", "4"],
        vec!["render", "w01-thu-time-reports"],
        vec!["completions", "bash"],
        vec!["man"],
    ] {
        let (reader, writer) = std::io::pipe().expect("pipe");
        drop(reader);
        let state = temp_state();
        let out = engineer_sim(state.path())
            .args(&args)
            .stdout(Stdio::from(writer))
            .stderr(Stdio::piped())
            .output()
            .expect("spawn");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        assert_eq!(stderr(&out), "", "{args:?}");
    }
}

#[test]
fn quiet_prints_nothing_but_errors() {
    let out = run(&["-q", "plan"]);
    assert!(out.status.success());
    assert_eq!(stdout(&out), "");
    assert_eq!(stderr(&out), "");
    let out = run(&["plan", "--week", "99", "-q"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("the roadmap has no week 99"));
    let out = run(&["-q", "-v", "plan"]);
    assert_eq!(out.status.code(), Some(2), "-q and -v contradict");
}

fn logged(envs: &[(&str, &str)], terminal: bool) -> String {
    let state = temp_state();
    let mut cmd = engineer_sim(state.path());
    cmd.env_remove("ENGINEER_SIM_LOG")
        .env_remove("RUST_LOG")
        .env_remove("NO_COLOR")
        .envs(envs.iter().copied());
    if !terminal {
        return stderr(&cmd.args(["db", "status"]).output().expect("spawn"));
    }
    // util-linux `script` gives the command a terminal for stdout and stderr.
    let line = format!("{} db status", env!("CARGO_BIN_EXE_engineer-sim"));
    let out = cmd
        .get_envs()
        .fold(Command::new("script"), |mut c, (k, v)| {
            match v {
                Some(v) => c.env(k, v),
                None => c.env_remove(k),
            };
            c
        })
        .args(["-qec", &line, "/dev/null"])
        .output()
        .expect("spawn script");
    stdout(&out)
}

#[test]
fn rust_log_is_honoured_and_colour_needs_a_terminal_without_no_color() {
    let debug = [("RUST_LOG", "engineer_sim=debug")];
    let piped = logged(&debug, false);
    assert!(
        piped.contains("DEBUG") && piped.contains("data directory"),
        "{piped}"
    );
    assert!(
        !piped.contains('\u{1b}'),
        "no colour into a pipe: {piped:?}"
    );
    assert!(
        !logged(&[], false).contains("DEBUG"),
        "warnings only by default"
    );
    // ENGINEER_SIM_LOG wins over RUST_LOG.
    let own = logged(
        &[
            ("RUST_LOG", "engineer_sim=debug"),
            ("ENGINEER_SIM_LOG", "warn"),
        ],
        false,
    );
    assert!(!own.contains("DEBUG"), "{own}");
    if Command::new("script").arg("--version").output().is_err() {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED the terminal half of this test: util-linux `script` is not installed"
        );
        return;
    }
    let terminal = logged(&debug, true);
    assert!(terminal.contains("data directory"), "{terminal}");
    assert!(
        terminal.contains('\u{1b}'),
        "colour on a terminal: {terminal:?}"
    );
    let no_color = logged(&[debug[0], ("NO_COLOR", "1")], true);
    assert!(no_color.contains("data directory"), "{no_color}");
    assert!(!no_color.contains('\u{1b}'), "NO_COLOR: {no_color:?}");
}

/// On a finished run: `status` says the roadmap is done, `verify` says how many findings it
/// compared and what the others are, `plan` shows the run's seed, messages count in the right
/// number, and `init` asked for another seed refuses instead of saying "already initialised".
#[tokio::test]
async fn a_finished_run_as_status_verify_plan_and_init_describe_it() {
    let db = common::ScratchDb::create("cli_done").await.unwrap();
    let state = temp_state();
    common::run_ok(state.path(), &db.url, &["init", "--seed", "11"]);
    let ran = common::run_ok(state.path(), &db.url, &["run", "--until-week", "12"]);
    assert!(ran.contains(" 1 finding opened"), "{ran}");
    assert!(!ran.contains(" 1 findings"), "{ran}");

    let status = common::run_ok(state.path(), &db.url, &["status"]);
    assert!(
        status.contains(
            "clock:       the roadmap is done, applied through sim day 60 (week 12, Friday)"
        ),
        "{status}"
    );

    let open: serde_json::Value = serde_json::from_str(&common::run_ok(
        state.path(),
        &db.url,
        &["findings", "--format", "json"],
    ))
    .unwrap();
    let open = open["findings"].as_array().unwrap().len();
    let verify = common::run_ok(state.path(), &db.url, &["verify"]);
    let first = verify.lines().next().unwrap();
    let number = |after: &str| -> usize {
        let rest = &first[first
            .find(after)
            .unwrap_or_else(|| panic!("{after}: {first}"))
            + after.len()..];
        rest.split_whitespace().next().unwrap().parse().unwrap()
    };
    let agree: usize = first.split_whitespace().next().unwrap().parse().unwrap();
    assert_eq!(number("of the "), open, "{first}");
    let others = number("the other ");
    assert_eq!(agree + others, open, "{first}");
    assert!(first.contains("ledger (blocking_index_build x"), "{first}");

    let plan = common::run_ok(state.path(), &db.url, &["plan", "--week", "1"]);
    assert!(plan.starts_with("# seed 11 (the run's, from "), "{plan}");
    let render = engineer_sim(state.path())
        .args(["render", "w01-thu-time-reports", "--explain"])
        .output()
        .unwrap();
    assert!(
        stderr(&render).starts_with("seed 11 (the run's, from "),
        "{}",
        stderr(&render)
    );

    for args in [
        vec!["init", "--seed", "21"],
        vec!["init", "--force", "--seed", "21"],
        vec!["init", "--force"],
    ] {
        let out = engineer_sim(state.path())
            .env("DATABASE_URL", &db.url)
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = stderr(&out);
        assert!(
            err.contains("is already initialised (seed 11, week 1 Monday")
                && err.contains("nothing was changed"),
            "{err}"
        );
    }
    // The same seed again is fine: init is idempotent.
    let again = common::run_ok(state.path(), &db.url, &["init", "--seed", "11"]);
    assert!(again.contains("already initialised (seed 11)"), "{again}");
    db.drop_now().await.unwrap();
}
