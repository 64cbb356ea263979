//! `check` renders every change under every slip combination it can take (nothing slipped, each
//! slip point alone, all of them), with and without data, so that a runtime error in a template
//! (an undefined variable, an unknown function, a slip call missing an argument) is found before a
//! run touches a database, and reported at the line that causes it (README "Operating it").

use std::collections::BTreeMap;

use super::{problem, Problem};
use crate::persona::{Persona, Team};
use crate::render::{Decide, Renderer};
use crate::roadmap::{Change, DataDirs, Roadmap};

pub(super) fn check_rendering(
    data: &DataDirs,
    roadmap: &Roadmap,
    team: &Team,
    problems: &mut Vec<Problem>,
) {
    let renderer = match Renderer::new(&data.templates) {
        Ok(r) => r,
        Err(err) => {
            problems.push(problem(
                &data.templates,
                1,
                format!("{err:#}"),
                "fix the template",
            ));
            return;
        }
    };
    let stand_in = stand_in();
    for change in &roadmap.changes {
        if !renderer.has_template(&change.template) {
            continue; // reported by the roadmap check
        }
        let persona = team.get(&change.author).unwrap_or(&stand_in);
        escaped_line_breaks(&data.templates.join(&change.template), problems);
        if let Err(err) = render_every_way(&renderer, change, persona) {
            let path = data.templates.join(&change.template);
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            let message = format!("{err:#}");
            problems.push(problem(
                &path,
                runtime_line(&text, &message),
                format!("change {}: {message}", change.id),
                "fix the template at that line (variables, functions and slip point arguments are in README, Data files)",
            ));
        }
    }
}

/// Tera keeps `\n` in a string literal as two characters, so `sql="A;\nB;"` would reach
/// PostgreSQL as `A;\nB;` and fail with a syntax error only when the slip point slips. A tag
/// (`{{ ... }}`) holding a backslash escape is reported at its line; a real line break inside the
/// quotes is what the template means.
fn escaped_line_breaks(path: &std::path::Path, problems: &mut Vec<Problem>) {
    let Ok(text) = std::fs::read_to_string(path) else {
        return; // a missing template is reported by the roadmap check
    };
    let mut rest = text.as_str();
    while let Some(open) = rest.find("{{") {
        let tag_start = text.len() - rest.len() + open;
        let Some(close) = rest[open..].find("}}") else {
            return; // an unclosed tag is a syntax error, reported elsewhere
        };
        let tag = &rest[open..open + close];
        for escape in ["\\n", "\\t", "\\r"] {
            if let Some(at) = tag.find(escape) {
                let line = text[..tag_start + at].matches('\n').count() + 1;
                problems.push(problem(
                    path,
                    line,
                    format!(
                        "`{escape}` in a slip point's argument stays two characters (Tera does not \
                         read escapes), so the SQL would hold a backslash"
                    ),
                    "write the line break itself inside the quotes (a string may span lines)",
                ));
                break;
            }
        }
        rest = &rest[open + close + 2..];
    }
}

fn render_every_way(renderer: &Renderer, change: &Change, persona: &Persona) -> anyhow::Result<()> {
    for data in [false, true] {
        let clean = renderer.render_change(change, persona, 0, 1.0, Decide::Clean, data)?;
        renderer.render_change(change, persona, 0, 1.0, Decide::All, data)?;
        for i in 0..clean.points.len() {
            renderer.render_change(change, persona, 0, 1.0, Decide::Only(i), data)?;
        }
    }
    Ok(())
}

/// A persona for rendering a change whose author is unknown (reported elsewhere): rendering
/// does not depend on who writes, only the decisions do.
fn stand_in() -> Persona {
    Persona {
        name: "check".into(),
        display_name: "check".into(),
        initials: "ck".into(),
        role: String::new(),
        years: 0,
        error_rate: 0.0,
        extra_slip_chance: 0.0,
        other_kinds_weight: 0.0,
        tendencies: BTreeMap::new(),
        focus: BTreeMap::new(),
        excuses: vec![],
        excuses_by_kind: BTreeMap::new(),
    }
}

/// The line of a Tera runtime error. Tera names what failed but not where: a slip point's error
/// carries its kind and object (see `render.rs`), anything else names a variable, function or
/// filter; the first line inside a tag that holds all of those is the culprit.
pub fn runtime_line(template: &str, message: &str) -> usize {
    let names = quoted_names(message);
    if names.is_empty() {
        return 1;
    }
    let in_tag = |line: &str| line.contains("{{") || line.contains("{%") || line.contains("}}");
    let found = |all: bool| {
        template.lines().position(|line| {
            in_tag(line)
                && if all {
                    names.iter().all(|n| line.contains(n.as_str()))
                } else {
                    names.iter().any(|n| line.contains(n.as_str()))
                }
        })
    };
    found(true).or_else(|| found(false)).map_or(1, |n| n + 1)
}

/// Words quoted with backticks, single or double quotes in an error message, leaving out the
/// template's own name (it holds a `/` or ends in `.tera`) and argument names (`sql`, `object`).
fn quoted_names(message: &str) -> Vec<String> {
    let mut names = Vec::new();
    for quote in ['`', '\'', '"'] {
        let parts: Vec<&str> = message.split(quote).collect();
        for word in parts.iter().skip(1).step_by(2).take(parts.len() / 2) {
            let word = word.trim();
            let is_template = word.contains('/') || word.ends_with(".tera");
            let is_argument = matches!(word, "sql" | "object");
            if !word.is_empty() && !is_template && !is_argument && word.len() < 200 {
                names.push(word.to_string());
            }
        }
    }
    names.sort();
    names.dedup();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_line_of_an_undefined_variable() {
        let t = "SELECT 1;\nCREATE TABLE t (a int);\n{{ nope }}\n";
        let message = "Failed to render 'x/y.sql.tera': Variable `nope` not found in context";
        assert_eq!(runtime_line(t, message), 3);
    }

    #[test]
    fn finds_the_slip_call_by_kind_and_object() {
        let t = "{{ missing_fk_index(object=\"public.a(b)\", sql=\"X\") }}\n{{ missing_fk_index(object=\"public.t(c)\") }}\n";
        let message = "Function call 'missing_fk_index' failed: slip point `missing_fk_index` on \"public.t(c)\" needs the argument `sql`";
        assert_eq!(runtime_line(t, message), 2);
    }

    #[test]
    fn falls_back_to_line_one() {
        assert_eq!(runtime_line("a\nb\n", "something odd"), 1);
    }
}
