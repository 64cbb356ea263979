//! `engineer-sim check`: validates the roadmap, the personas and the templates without touching a
//! database, and reports every problem with its file, its line and what to do.

mod cache;
mod persona;
mod render;

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use crate::error::{Exit, UserError};
use crate::mistakes;
use crate::persona::Team;
use crate::render::tera_error_chain;
use crate::roadmap::{DataDirs, Roadmap, MAX_WEEKS};

pub use crate::problem::Problem;
pub use cache::{require_clean_cached, FILE as CACHE_FILE};
pub use persona::is_safe_word;
pub use render::runtime_line;

pub(crate) fn problem(
    file: &Path,
    line: usize,
    message: impl Into<String>,
    hint: impl Into<String>,
) -> Problem {
    Problem {
        file: file.to_path_buf(),
        line,
        message: message.into(),
        hint: hint.into(),
    }
}

/// Every problem in the data files under `data`, in file order.
pub fn check(data: &DataDirs) -> Vec<Problem> {
    let mut problems = Vec::new();
    let team = persona::check_personas(&data.personas, &mut problems);
    let templates = check_template_syntax(&data.templates, &mut problems);
    let roadmap = match data.roadmap_file().and_then(Roadmap::load) {
        Ok(roadmap) => roadmap,
        Err(err) => {
            let user = err.chain().find_map(|c| c.downcast_ref::<UserError>());
            let message = user.map_or_else(|| format!("{err:#}"), |u| u.message.clone());
            let hint = user
                .and_then(|u| u.hint.clone())
                .unwrap_or_else(|| format!("fix the YAML of {}", data.roadmap.display()));
            problems.push(yaml_problem(&data.roadmap, &message, &hint));
            return problems;
        }
    };
    check_roadmap(&roadmap, &team, &templates, &data.templates, &mut problems);
    // Rendering needs every template to parse (they are loaded together).
    if !problems.iter().any(|p| p.file.starts_with(&data.templates)) {
        render::check_rendering(data, &roadmap, &team, &mut problems);
    }
    // The data files hang off the base's: without the base they would only repeat its problem.
    if data.templates.join(&roadmap.base).is_file() {
        problems.extend(crate::data::check::check(&data.templates, &roadmap));
    }
    problems
}

/// The whole `check`, as every command that writes to a database runs it first: bad input never
/// touches the database (README "Operating it"). The error names the first problem's file and
/// line; `engineer-sim check` lists them all.
pub fn require_clean(data: &DataDirs) -> anyhow::Result<()> {
    let problems = check(data);
    let Some(first) = problems.first() else {
        return Ok(());
    };
    let more = match problems.len() {
        1 => String::new(),
        n => format!(" (and {} more; `engineer-sim check` lists them)", n - 1),
    };
    Err(UserError::new(
        Exit::BadInput,
        format!(
            "{}:{}: {}{more}; nothing was applied",
            first.file.display(),
            first.line,
            one_line(&first.message)
        ),
    )
    .with_hint(first.hint.clone())
    .into())
}

/// A message on one line: Tera and YAML messages can hold newlines.
fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// serde_yaml messages end in "at line L column C"; the problem takes that line.
pub(crate) fn yaml_problem(file: &Path, message: &str, hint: &str) -> Problem {
    let line = message
        .rsplit_once("at line ")
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(1);
    let message = message.split_once(": ").map(|(_, m)| m).unwrap_or(message);
    problem(file, line, message, hint)
}

pub(crate) fn known_kinds() -> String {
    mistakes::all()
        .iter()
        .map(|k| k.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Parses each template on its own, so every syntax error is reported, not only the first.
fn check_template_syntax(dir: &Path, problems: &mut Vec<Problem>) -> HashSet<String> {
    let mut names = HashSet::new();
    for path in template_files(dir) {
        let name = path
            .strip_prefix(dir)
            .unwrap_or(&path)
            .to_string_lossy()
            .into_owned();
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let mut tera = tera::Tera::default();
        match tera.add_raw_template(&name, &text) {
            Ok(()) => {
                names.insert(name);
            }
            Err(err) => {
                let chain = tera_error_chain(&err);
                problems.push(problem(
                    &path,
                    tera_line(&chain),
                    chain,
                    "fix the Tera syntax at that line",
                ));
            }
        }
        check_slip_calls(&path, &text, problems);
    }
    names
}

fn template_files(dir: &Path) -> Vec<PathBuf> {
    cache::files_under(dir)
        .into_iter()
        .filter(|path| path.extension().is_some_and(|e| e == "tera"))
        .collect()
}

/// Tera's parse errors point at `--> line:column`.
fn tera_line(message: &str) -> usize {
    message
        .split_once("--> ")
        .and_then(|(_, rest)| rest.split(':').next())
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(1)
}

/// Every `{{ name(...) }}` call: the name must be a mistake kind and the call must name its object.
fn check_slip_calls(path: &Path, text: &str, problems: &mut Vec<Problem>) {
    for (n, line) in text.lines().enumerate() {
        let mut rest = line;
        while let Some(start) = rest.find("{{") {
            let after = &rest[start + 2..];
            let end = after.find("}}").unwrap_or(after.len());
            let call = after[..end].trim().trim_start_matches('-').trim();
            if let Some((name, args)) = call.split_once('(') {
                let name = name.trim();
                if mistakes::by_name(name).is_none() {
                    problems.push(problem(
                        path,
                        n + 1,
                        format!("unknown slip kind `{name}`"),
                        format!("slip points are calls of mistake kinds: {}", known_kinds()),
                    ));
                } else if !args.contains("object=") && !args.contains("object =") {
                    problems.push(problem(
                        path,
                        n + 1,
                        format!("slip point `{name}` does not name its object"),
                        "add object=\"schema.table.column\" (or schema.table(cols), schema.index)",
                    ));
                }
            }
            rest = &after[end.min(after.len())..];
        }
    }
}

/// The roadmap's own fields: the database name the embedded cluster creates, the weeks.
fn check_identity(roadmap: &Roadmap, problems: &mut Vec<Problem>) {
    let file = &roadmap.path;
    let name = roadmap.database_name();
    let plain = name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !plain {
        let (needle, what) = match roadmap.database {
            Some(_) => ("database:", "`database`"),
            None => (
                "name:",
                "`name` (the database's name unless `database` is given)",
            ),
        };
        problems.push(problem(
            file,
            line_containing(file, needle),
            format!("{what} {name:?} is not a plain database name"),
            "use 1-63 lower-case letters, digits and `_`, starting with a letter, e.g. `database: shop`",
        ));
    }
    if let Some(weeks) = roadmap.weeks.filter(|w| !(1..=MAX_WEEKS).contains(w)) {
        problems.push(problem(
            file,
            line_containing(file, "weeks:"),
            format!("`weeks: {weeks}` is outside 1..{MAX_WEEKS}"),
            "give the number of weeks the roadmap spans, or leave `weeks` out (the last change's week)",
        ));
    }
}

fn check_roadmap(
    roadmap: &Roadmap,
    team: &Team,
    templates: &HashSet<String>,
    templates_dir: &Path,
    problems: &mut Vec<Problem>,
) {
    let file = &roadmap.path;
    if !templates_dir.join(&roadmap.base).is_file() {
        problems.push(problem(
            file,
            line_containing(file, "base:"),
            format!(
                "the base schema `{}` is not under {}",
                roadmap.base,
                templates_dir.display()
            ),
            "create the base schema file or fix `base:` (relative to templates/)",
        ));
    }
    check_identity(roadmap, problems);
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for (position, change) in roadmap.changes.iter().enumerate() {
        let at = |needle: Option<&str>| roadmap.line_of(&change.id, needle);
        if !is_safe_word(&change.id, 100) {
            problems.push(problem(
                file,
                at(None),
                format!("change id {:?} is not a plain word", change.id),
                "use 1-100 lower-case letters, digits and `-` (e.g. w01-mon-time-entries): ids name migration files",
            ));
        }
        if seen.insert(&change.id, position).is_some() {
            problems.push(problem(
                file,
                nth_id_line(roadmap, &change.id, 2),
                format!("duplicate change id `{}`", change.id),
                "give every change its own id",
            ));
        }
        let weeks = roadmap.last_week().min(MAX_WEEKS);
        if !(1..=weeks).contains(&change.week) {
            problems.push(problem(
                file,
                at(Some("week:")),
                format!(
                    "change {}: week {} is outside 1..{weeks}",
                    change.id, change.week
                ),
                match roadmap.weeks {
                    Some(_) => format!(
                        "the roadmap's `weeks: {weeks}` says weeks run from 1 to {weeks}: move the change or raise `weeks`"
                    ),
                    None => format!("weeks run from 1 to {MAX_WEEKS}"),
                },
            ));
        }
        if team.get(&change.author).is_none() {
            problems.push(problem(
                file,
                at(Some("author:")),
                format!("change {}: unknown author `{}`", change.id, change.author),
                format!(
                    "authors are the personas: {}",
                    team.personas.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            ));
        }
        if !templates.contains(&change.template) && !templates_dir.join(&change.template).is_file()
        {
            problems.push(problem(
                file,
                at(Some("template:")),
                format!(
                    "change {}: template `{}` not found under {}",
                    change.id,
                    change.template,
                    templates_dir.display()
                ),
                "create the template or fix the path (relative to templates/)",
            ));
        }
        for declared in &change.scripted {
            if mistakes::by_name(&declared.kind).is_none() {
                problems.push(problem(
                    file,
                    at(Some(&declared.kind)),
                    format!(
                        "change {}: scripted mistake of unknown kind `{}`",
                        change.id, declared.kind
                    ),
                    format!("known kinds: {}", known_kinds()),
                ));
            }
        }
        for fixed in &change.fixes {
            match roadmap.change(fixed) {
                None => problems.push(problem(
                    file,
                    at(Some(fixed)),
                    format!("change {}: fixes unknown change `{fixed}`", change.id),
                    "name the id of an earlier change",
                )),
                Some(target) if target.sim_day() >= change.sim_day() => problems.push(problem(
                    file,
                    at(Some(fixed)),
                    format!(
                        "change {}: fixes `{fixed}`, which is not earlier",
                        change.id
                    ),
                    "a change can only fix a change applied before it",
                )),
                Some(_) => {}
            }
        }
    }
}

/// The 1-based line of the first line of `file` containing `needle` (1 when none does).
fn line_containing(file: &Path, needle: &str) -> usize {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .position(|l| l.contains(needle))
        .map_or(1, |n| n + 1)
}

/// The line of the n-th `id: <id>` in the roadmap (for duplicates: the second one).
fn nth_id_line(roadmap: &Roadmap, id: &str, nth: usize) -> usize {
    let text = std::fs::read_to_string(&roadmap.path).unwrap_or_default();
    text.lines()
        .enumerate()
        .filter(|(_, l)| {
            l.trim_start()
                .trim_start_matches("- ")
                .strip_prefix("id:")
                .map(|r| r.trim().trim_matches('"'))
                == Some(id)
        })
        .nth(nth - 1)
        .map(|(n, _)| n + 1)
        .unwrap_or(1)
}
