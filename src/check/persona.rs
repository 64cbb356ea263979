//! `check` for the persona files (README "Operating it", bad input): each parses, names are unique,
//! initials are safe in a migration file name, and every number is a usable probability or weight.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{known_kinds, problem, yaml_problem, Problem};
use crate::mistakes;
use crate::persona::{Persona, Team};

/// The largest weight a tendency or focus may have: larger ones only hide typos (and sums of
/// huge weights overflow to infinity).
const MAX_WEIGHT: f64 = 1000.0;

pub(super) fn check_personas(dir: &Path, problems: &mut Vec<Problem>) -> Team {
    let mut personas = BTreeMap::new();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| entries.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    paths.retain(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"));
    paths.sort();
    if paths.is_empty() {
        problems.push(problem(
            dir,
            1,
            "no persona files",
            "add personas/<name>.yaml (see README, Data files)",
        ));
    }
    let mut files: BTreeMap<String, PathBuf> = BTreeMap::new();
    for path in paths {
        match Persona::load(&path) {
            Ok(persona) => {
                check_persona(&path, &persona, problems);
                if let Some(first) = files.get(&persona.name) {
                    problems.push(problem(
                        &path,
                        line_in(&path, "name:"),
                        format!(
                            "persona name `{}` is already used by {}",
                            persona.name,
                            first.display()
                        ),
                        "give every persona file its own name (authors in the roadmap name them)",
                    ));
                    continue;
                }
                files.insert(persona.name.clone(), path.clone());
                personas.insert(persona.name.clone(), persona);
            }
            Err(err) => problems.push(yaml_problem(
                &path,
                &format!("{err:#}"),
                "fix the persona's YAML",
            )),
        }
    }
    Team {
        personas,
        base_author: None,
    }
}

/// The 1-based line of the first line of `path` that contains `needle` (1 when none does).
fn line_in(path: &Path, needle: &str) -> usize {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .position(|l| l.contains(needle))
        .map_or(1, |n| n + 1)
}

/// A name or initials usable in a file name: lower-case ASCII letters, digits, `_` and `-`.
pub fn is_safe_word(text: &str, max: usize) -> bool {
    !text.is_empty()
        && text.len() <= max
        && text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
        && !text.starts_with('-')
}

fn check_persona(path: &Path, persona: &Persona, problems: &mut Vec<Problem>) {
    let line_of = |needle: &str| line_in(path, needle);
    if !is_safe_word(&persona.name, 40) {
        problems.push(problem(
            path,
            line_of("name:"),
            format!("persona name {:?} is not a plain word", persona.name),
            "use 1-40 lower-case letters, digits, `_` or `-` (e.g. `sam`)",
        ));
    }
    if !is_safe_word(&persona.initials, 8) {
        problems.push(problem(
            path,
            line_of("initials:"),
            format!(
                "initials {:?} cannot be part of a migration file name",
                persona.initials
            ),
            "use 1-8 lower-case letters or digits (e.g. `sp`)",
        ));
    }
    for (field, value) in [
        ("error_rate", persona.error_rate),
        ("extra_slip_chance", persona.extra_slip_chance),
    ] {
        if !(0.0..=1.0).contains(&value) {
            problems.push(problem(
                path,
                line_of(field),
                format!("{field} {value} is not a probability"),
                "use a value between 0 and 1",
            ));
        }
    }
    let weights = std::iter::once(("other_kinds_weight", persona.other_kinds_weight))
        .chain(persona.tendencies.iter().map(|(k, w)| (k.as_str(), *w)))
        .chain(persona.focus.iter().map(|(k, w)| (k.as_str(), *w)));
    for (name, weight) in weights {
        if !(0.0..=MAX_WEIGHT).contains(&weight) {
            problems.push(problem(
                path,
                line_of(&format!("{name}:")),
                format!("weight of `{name}` is {weight}, not a number between 0 and {MAX_WEIGHT}"),
                "weights are relative: use plain numbers such as 0.5, 1 or 3",
            ));
        }
    }
    for kind in persona
        .tendencies
        .keys()
        .chain(persona.excuses_by_kind.keys())
    {
        if mistakes::by_name(kind).is_none() {
            problems.push(problem(
                path,
                line_of(&format!("{kind}:")),
                format!("tendencies or excuses_by_kind name unknown mistake kind `{kind}`"),
                format!("known kinds: {}", known_kinds()),
            ));
        }
    }
}
