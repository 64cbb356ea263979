use clap::Parser;

use engineer_sim::cli::Cli;
use engineer_sim::error::{exit_code_of, trouble_of, Trouble, UserError};
use engineer_sim::pg::{redact_text, LOCK_WAIT};

fn main() {
    let cli = Cli::parse();
    init_tracing(cli.global.verbose);
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
        let (code, text) = describe(&err);
        eprintln!("error: {text}");
        std::process::exit(code);
    }
}

fn init_tracing(verbose: u8) {
    let default = match verbose {
        // sqlx's slow-statement warnings would flood a data run, where long statements are the job.
        0 => "warn,sqlx::query=error",
        1 => "engineer_sim=info",
        _ => "engineer_sim=debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("ENGINEER_SIM_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
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
