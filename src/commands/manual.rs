//! `completions` and `man`: the command line's own description, as a shell completion script
//! or man pages, generated from the same clap definition `--help` prints.

use std::path::Path;

use anyhow::{Context as _, Result};
use clap::CommandFactory;

use crate::cli::Cli;

/// The binary's name in the generated scripts and pages.
const NAME: &str = "engineer-sim";

pub fn completions(shell: clap_complete::Shell) -> Result<()> {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), NAME, &mut out);
    write_stdout(&out)
}

/// The top-level page on stdout, or with a directory one page per command there.
pub fn man(out_dir: Option<&Path>) -> Result<()> {
    let command = Cli::command();
    match out_dir {
        None => {
            let mut out = Vec::new();
            clap_mangen::Man::new(command)
                .render(&mut out)
                .context("rendering the man page")?;
            write_stdout(&out)
        }
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .map_err(|err| {
                    crate::error::environment(format!("cannot create {}: {err}", dir.display()))
                })
                .context("writing the man pages")?;
            clap_mangen::generate_to(command, dir).map_err(|err| {
                crate::error::environment(format!(
                    "cannot write the man pages into {}: {err}",
                    dir.display()
                ))
            })?;
            println!("man pages written to {}", dir.display());
            Ok(())
        }
    }
}

fn write_stdout(bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(bytes)?;
    stdout.flush()?;
    Ok(())
}
