//! `new-roadmap NAME --from-database URL | --from-sql FILE`: a data directory of its own
//! (README "Bring your own schema"): the schema as the base, the personas, a roadmap with one
//! example change, ready for `check` and `run`.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};

use super::context::Context;
use crate::error::{bad_input, environment};

/// The roadmap file and the example change, as data (skeleton/ in the source tree).
const ROADMAP_SKELETON: &str = include_str!("../../skeleton/roadmap.yaml.tera");
const EXAMPLE_CHANGE: &str = include_str!("../../skeleton/example.sql.tera");

/// Where the base schema comes from.
pub enum Source<'a> {
    Database(&'a str),
    SqlFile(&'a Path),
}

pub fn new_roadmap(
    ctx: &Context,
    name: &str,
    source: Source<'_>,
    dir: Option<&Path>,
) -> Result<()> {
    ensure_plain_name(name)?;
    let dir = dir.map_or_else(|| PathBuf::from(name), Path::to_path_buf);
    ensure_empty(&dir)?;
    let (base, described) = match source {
        Source::Database(url) => (dump_schema(ctx, url)?, crate::pg::redact(url)),
        Source::SqlFile(file) => (
            std::fs::read_to_string(file).map_err(|err| {
                bad_input(format!(
                    "--from-sql {}: cannot read it: {err}",
                    file.display()
                ))
            })?,
            file.display().to_string(),
        ),
    };
    let templates = dir.join("templates").join(name);
    let write = |path: &Path, text: &str| -> Result<()> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|err| environment(format!("cannot create {}: {err}", parent.display())))?;
        }
        std::fs::write(path, text)
            .map_err(|err| environment(format!("cannot write {}: {err}", path.display())).into())
    };
    write(&templates.join("base.sql"), &base)?;
    write(
        &templates.join("week01").join("mon_example.sql.tera"),
        EXAMPLE_CHANGE,
    )?;
    let mut context = tera::Context::new();
    context.insert("name", name);
    context.insert("source", &described);
    let roadmap = tera::Tera::one_off(ROADMAP_SKELETON, &context, false)
        .context("rendering the roadmap skeleton")?;
    write(&dir.join("roadmap").join(format!("{name}.yaml")), &roadmap)?;
    let personas = copy_personas(&ctx.data.personas, &dir.join("personas"))?;
    println!(
        "wrote {}: roadmap/{name}.yaml (one example change), templates/{name}/base.sql from {described}, {}",
        dir.display(),
        crate::plural::count(personas, "persona")
    );
    println!(
        "next: engineer-sim --data-dir {} check, then run --until-week 1",
        dir.display()
    );
    Ok(())
}

/// The name is the embedded database's name and a directory name.
fn ensure_plain_name(name: &str) -> Result<()> {
    let plain = !name.is_empty()
        && name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain {
        return Ok(());
    }
    Err(bad_input(format!("new-roadmap {name:?}: not a plain name"))
        .with_hint("use 1-63 lower-case letters, digits and `_`, starting with a letter: it names the database too")
        .into())
}

/// Never writes over anything: the directory must be new or empty.
fn ensure_empty(dir: &Path) -> Result<()> {
    let has_entries = std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some());
    if !has_entries {
        return Ok(());
    }
    Err(bad_input(format!(
        "{} already exists and is not empty; nothing was written",
        dir.display()
    ))
    .with_hint("choose another --dir (or name), or remove that directory")
    .into())
}

/// The schema of the database at `url`, by pg_dump, without what belongs to the dump's session
/// rather than to the schema (README "Bring your own schema").
fn dump_schema(ctx: &Context, url: &str) -> Result<String> {
    // pg_dump sits beside the server binaries the embedded cluster finds; else the PATH's.
    let pg_dump = crate::pg::embedded::EmbeddedCluster::new(&ctx.state.pg_dir())
        .map(|c| c.bin_dir().join("pg_dump"))
        .ok()
        .filter(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("pg_dump"));
    let out = std::process::Command::new(&pg_dump)
        .args([
            "--schema-only",
            "--no-owner",
            "--no-privileges",
            "--no-comments",
            "--no-tablespaces",
            "--exclude-schema=engineer_sim",
            "--dbname",
            url,
        ])
        .output()
        .map_err(|err| {
            environment(format!("cannot run {}: {err}", pg_dump.display()))
                .with_hint("install the PostgreSQL client (pg_dump), or set ENGINEER_SIM_PG_BINDIR")
        })?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        return Err(environment(format!(
            "pg_dump of {} failed: {}",
            crate::pg::redact(url),
            crate::pg::redact_text(stderr.trim())
        ))
        .with_hint("check the URL and that pg_dump is as new as the server (`pg_dump --version`)")
        .into());
    }
    Ok(clean_dump(&String::from_utf8_lossy(&out.stdout)))
}

/// Keeps the schema: drops pg_dump's session settings (its empty `search_path` would follow
/// every later change), its `\restrict` lines, its banner and per-object comment blocks.
/// `check_function_bodies` stays off for the base only (`SET LOCAL`): pg_dump creates functions
/// before the tables their bodies read.
pub fn clean_dump(dump: &str) -> String {
    let lines: Vec<&str> = dump.lines().collect();
    let mut out: Vec<String> = vec!["SET LOCAL check_function_bodies = false;".into()];
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let object_header = line == "--"
            && lines.get(i + 1).is_some_and(|l| l.starts_with("-- Name: "))
            && lines.get(i + 2) == Some(&"--");
        if object_header {
            i += 3;
            continue;
        }
        let session = line.starts_with("SET ")
            || line.starts_with("SELECT pg_catalog.set_config(")
            || line.starts_with('\\')
            || line.starts_with("-- PostgreSQL database dump")
            || line.starts_with("-- Dumped from database version")
            || line.starts_with("-- Dumped by pg_dump version")
            || line == "--";
        if !session {
            out.push(line.to_string());
        }
        i += 1;
    }
    // Runs of blank lines left by what was dropped become one.
    let mut text = String::new();
    let mut blank = true;
    for line in out {
        if line.trim().is_empty() {
            if !blank {
                text.push('\n');
            }
            blank = true;
        } else {
            text.push_str(&line);
            text.push('\n');
            blank = false;
        }
    }
    format!("{}\n", text.trim_end())
}

/// Copies the data directory's personas (`*.yaml`); returns how many.
fn copy_personas(from: &Path, to: &Path) -> Result<usize> {
    let entries = std::fs::read_dir(from).map_err(|err| {
        bad_input(format!(
            "cannot read the personas in {}: {err}",
            from.display()
        ))
        .with_hint("new-roadmap copies the personas of --data-dir (default: the shipped ones)")
    })?;
    std::fs::create_dir_all(to)
        .map_err(|err| environment(format!("cannot create {}: {err}", to.display())))?;
    let mut copied = 0;
    for path in entries.flatten().map(|e| e.path()) {
        if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            if let Some(file) = path.file_name() {
                std::fs::copy(&path, to.join(file))
                    .with_context(|| format!("copying {}", path.display()))?;
                copied += 1;
            }
        }
    }
    Ok(copied)
}

#[cfg(test)]
mod tests {
    use super::clean_dump;

    #[test]
    fn a_dump_keeps_its_schema_and_loses_its_session() {
        let dump = "--\n-- PostgreSQL database dump\n--\n\n\\restrict abc\n\n\
                    -- Dumped from database version 15.4\n-- Dumped by pg_dump version 15.4\n\n\
                    SET statement_timeout = 0;\nSELECT pg_catalog.set_config('search_path', '', false);\n\
                    SET check_function_bodies = false;\n\n\
                    --\n-- Name: shop; Type: TABLE; Schema: public; Owner: -\n--\n\n\
                    CREATE TABLE public.shop (\n    id bigint NOT NULL\n);\n\n\
                    CREATE FUNCTION public.f() RETURNS int LANGUAGE sql\n    AS $$\nSELECT 1 -- one\n$$;\n\n\
                    --\n-- PostgreSQL database dump complete\n--\n\n\\unrestrict abc\n";
        assert_eq!(
            clean_dump(dump),
            "SET LOCAL check_function_bodies = false;\n\n\
             CREATE TABLE public.shop (\n    id bigint NOT NULL\n);\n\n\
             CREATE FUNCTION public.f() RETURNS int LANGUAGE sql\n    AS $$\nSELECT 1 -- one\n$$;\n"
        );
    }
}
