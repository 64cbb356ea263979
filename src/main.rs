use std::io::IsTerminal;

use clap::Parser;

use engineer_sim::cli::Cli;
use engineer_sim::error::{exit_code_of, trouble_of, Trouble, UserError};
use engineer_sim::pg::{redact_text, LOCK_WAIT};

fn main() {
    exit_quietly_on_closed_stdout();
    let cli = Cli::try_parse().unwrap_or_else(|err| explain_parse_error(err));
    init_tracing(cli.global.verbose, cli.global.quiet);
    if cli.global.quiet {
        discard_stdout();
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            std::process::exit(1);
        }
    };
    if let Err(err) = runtime.block_on(engineer_sim::commands::run(cli)) {
        if is_closed_stdout(&err) {
            std::process::exit(0);
        }
        let (code, text) = describe(&err);
        eprintln!("error: {text}");
        std::process::exit(code);
    }
}

/// The options that were global before they moved onto the commands that use a database:
/// written before the command (`engineer-sim --database-url URL status`), clap would only say
/// "unexpected argument"; this says where it goes. Every other parse error is clap's own.
fn explain_parse_error(err: clap::Error) -> ! {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    const MOVED: [&str; 5] = [
        "--database-url",
        "--lock-wait",
        "--scale",
        "--no-data",
        "--jobs",
    ];
    if err.kind() == ErrorKind::UnknownArgument {
        if let Some(ContextValue::String(arg)) = err.get(ContextKind::InvalidArg) {
            let option = arg.split('=').next().unwrap_or_default();
            if MOVED.contains(&option) {
                let args: Vec<String> = std::env::args().skip(1).collect();
                let cli = <Cli as clap::CommandFactory>::command();
                let command = args.iter().position(|a| cli.find_subcommand(a).is_some());
                let at = args
                    .iter()
                    .position(|a| a.split('=').next() == Some(option));
                let text = match (command, at) {
                    (Some(c), Some(a)) if a < c => format!(
                        "{option} goes after the command: `engineer-sim {} {option} ...`",
                        args[c]
                    ),
                    (Some(c), _) => format!(
                        "`engineer-sim {}` uses no database and takes no {option}",
                        args[c]
                    ),
                    _ => format!("{option} goes after the command"),
                };
                eprintln!(
                    "error: {text}\n  hint: `engineer-sim <command> --help` lists a command's options"
                );
                std::process::exit(2);
            }
        }
    }
    err.exit()
}

/// `engineer-sim plan | head -3`: the reader has what it wanted, so a closed stdout ends the
/// command quietly with exit 0, like a C tool killed by SIGPIPE but without a signal status.
/// Rust ignores SIGPIPE and `println!` panics on the EPIPE instead; this hook turns exactly
/// that panic into the quiet exit and leaves every other panic to the default hook. Whatever
/// was in flight is safe to drop: every change commits with its ledger rows and journal in one
/// transaction (README "Operating it").
fn exit_quietly_on_closed_stdout() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or_default();
        // std's wording for a failed `print!` (library/std/src/io/stdio.rs).
        let epipe = std::io::Error::from_raw_os_error(rustix::io::Errno::PIPE.raw_os_error());
        if message.starts_with("failed printing to stdout")
            && message.ends_with(&format!("{epipe}"))
        {
            std::process::exit(0);
        }
        default(info);
    }));
}

/// A command that wrote to stdout with `write_all` sees the EPIPE as an error instead.
fn is_closed_stdout(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// `-q`: stdout goes to /dev/null for the whole process, so no message of any command is
/// printed, whichever module prints it; errors still go to stderr.
fn discard_stdout() {
    let null = std::fs::OpenOptions::new().write(true).open("/dev/null");
    let redirected = null.and_then(|null| rustix::stdio::dup2_stdout(&null).map_err(Into::into));
    if let Err(err) = redirected {
        eprintln!("error: -q: cannot redirect stdout to /dev/null: {err}");
        std::process::exit(3);
    }
}

/// The log on stderr: `-q` errors only; else ENGINEER_SIM_LOG or RUST_LOG (an EnvFilter), else
/// by `-v`. Colour only on a terminal, and never with NO_COLOR set (https://no-color.org).
fn init_tracing(verbose: u8, quiet: bool) {
    let default = match verbose {
        // sqlx's slow-statement warnings would flood a data run, where long statements are the job.
        0 => "warn,sqlx::query=error",
        1 => "engineer_sim=info",
        _ => "engineer_sim=debug",
    };
    let from_env = || {
        ["ENGINEER_SIM_LOG", "RUST_LOG"]
            .into_iter()
            .find_map(|var| tracing_subscriber::EnvFilter::try_from_env(var).ok())
    };
    let filter = if quiet {
        tracing_subscriber::EnvFilter::new("error")
    } else {
        from_env().unwrap_or_else(|| tracing_subscriber::EnvFilter::new(default))
    };
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal() && !no_color)
        .init();
}

/// What the user sees for an error: one line (two with a hint) and the exit code
/// (README "Operating it").
fn describe(err: &anyhow::Error) -> (i32, String) {
    let code = exit_code_of(err);
    let user = err.chain().find_map(|c| c.downcast_ref::<UserError>());
    let text = match (user, trouble_of(err)) {
        (None, Some(Trouble::Gone)) => format!(
            "lost the database server: {}\n  hint: check that it runs (`engineer-sim db status` for the embedded cluster) and run the command again; a change in flight was rolled back",
            chain_line(err)
        ),
        (None, Some(Trouble::Busy)) => format!(
            "the database is busy: {}\n  hint: another session holds a lock engineer-sim needs (it waits {}); run again once it is released",
            chain_line(err),
            LOCK_WAIT
        ),
        _ => format!("{err:#}"),
    };
    (code, redact_text(&text))
}

/// The error chain on one line, leaving out a cause its parent already quotes.
fn chain_line(err: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in err.chain() {
        let text = cause
            .to_string()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        if !parts.last().is_some_and(|last| last.contains(&text)) {
            parts.push(text);
        }
    }
    parts.join(": ")
}
