use clap::Parser;

use engineer_sim::cli::Cli;
use engineer_sim::error::describe;

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
