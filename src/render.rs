//! Render a change: Tera template -> clean SQL, as-written SQL and the list of slips.
//!
//! Each slip point is a call of a function named after its mistake kind. The template is rendered
//! three times: once to discover the slip points, then the persona decides which slip (with a
//! generator seeded by the run seed and the change id only, so a change's decisions never depend on
//! what ran before it), then clean and as written.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::{anyhow, Result};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::bad_input;
use crate::mistakes::{self, MistakeKind, SlipArgs, OUTSIDE_TRANSACTION};
use crate::persona::{Offered, Persona};
use crate::roadmap::Change;

/// A place in a template where a mistake is possible.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlipPoint {
    pub kind: String,
    pub object: String,
}

/// A slip point at which the persona made the mistake.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Slip {
    pub kind: String,
    pub object: String,
    /// Why it passed review, in the persona's words.
    pub excuse: String,
}

#[derive(Debug, Clone)]
pub struct Rendered {
    pub clean_sql: String,
    pub applied_sql: String,
    pub points: Vec<SlipPoint>,
    pub slips: Vec<Slip>,
}

impl Rendered {
    /// Unified diff of the clean and the as-written SQL; empty when nothing slipped.
    pub fn diff(&self) -> String {
        slip_diff(&self.clean_sql, &self.applied_sql)
    }

    pub fn applied_sha256(&self) -> String {
        sha256_hex(&self.applied_sql)
    }

    /// The as-written SQL cut at [`OUTSIDE_TRANSACTION`] markers: the part the change's
    /// transaction runs, then each statement that runs on its own, after the transaction commits.
    pub fn steps(&self) -> (&str, Vec<&str>) {
        split_steps(&self.applied_sql)
    }
}

/// Unified diff of a change's clean and as-written SQL (`render --explain`, the weekly reports);
/// empty when they are the same.
pub fn slip_diff(clean_sql: &str, applied_sql: &str) -> String {
    if clean_sql == applied_sql {
        return String::new();
    }
    similar::TextDiff::from_lines(clean_sql, applied_sql)
        .unified_diff()
        .context_radius(2)
        .header("clean", "as-written")
        .to_string()
}

pub fn split_steps(sql: &str) -> (&str, Vec<&str>) {
    let mut parts = sql.split(OUTSIDE_TRANSACTION);
    let inside = parts.next().unwrap_or_default();
    let outside = parts.map(str::trim).filter(|s| !s.is_empty()).collect();
    (inside, outside)
}

pub fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Which slip points slip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decide {
    /// The persona decides (seeded).
    Persona,
    /// Nothing slips.
    Clean,
    /// Only the slip point at this position slips (tests, `render --slip N`).
    Only(usize),
    /// Exactly these two slip points slip (tests of combinations).
    Pair(usize, usize),
    /// Every slip point slips.
    All,
}

/// What a render pass does at each slip point.
#[derive(Default)]
struct Pass {
    slipped: Vec<bool>,
    seen: Vec<SlipPoint>,
    /// The database has data: slip points of kinds that need data are offered.
    data: bool,
}

pub struct Renderer {
    tera: tera::Tera,
    pass: Arc<Mutex<Pass>>,
}

impl Renderer {
    /// Loads every `*.tera` under `templates_dir`; template names are paths relative to it.
    pub fn new(templates_dir: &Path) -> Result<Renderer> {
        let glob = format!("{}/**/*.tera", templates_dir.display());
        let mut tera = tera::Tera::new(&glob).map_err(|err| {
            bad_input(format!("template error: {}", tera_error_chain(&err)))
                .with_hint("fix the template; `engineer-sim check` lists every problem")
        })?;
        tera.autoescape_on(vec![]);
        let pass = Arc::new(Mutex::new(Pass::default()));
        for kind in mistakes::all() {
            tera.register_function(
                kind.name,
                SlipFunction {
                    kind,
                    pass: pass.clone(),
                },
            );
        }
        Ok(Renderer { tera, pass })
    }

    pub fn has_template(&self, name: &str) -> bool {
        self.tera.get_template_names().any(|n| n == name)
    }

    /// Renders a change as `persona` writes it under `seed`.
    pub fn render_change(
        &self,
        change: &Change,
        persona: &Persona,
        seed: u64,
        rate_scale: f64,
        decide: Decide,
        data: bool,
    ) -> Result<Rendered> {
        let mut rng = change_rng(seed, &change.id);
        let (clean_sql, points) = self.render_pass(&change.template, &[], data)?;
        let slipped = match decide {
            Decide::Persona => {
                let offered: Vec<Offered> =
                    points.iter().map(|p| Offered { kind: &p.kind }).collect();
                persona.decide(&offered, rate_scale, &mut rng)
            }
            Decide::Clean => vec![false; points.len()],
            Decide::All => vec![true; points.len()],
            Decide::Only(i) => (0..points.len()).map(|p| p == i).collect(),
            Decide::Pair(i, j) => (0..points.len()).map(|p| p == i || p == j).collect(),
        };
        let (applied_sql, _) = self.render_pass(&change.template, &slipped, data)?;
        let slips = points
            .iter()
            .zip(&slipped)
            .filter(|(_, s)| **s)
            .map(|(p, _)| Slip {
                kind: p.kind.clone(),
                object: p.object.clone(),
                excuse: persona.excuse(&p.kind, &mut rng),
            })
            .collect();
        Ok(Rendered {
            clean_sql,
            applied_sql,
            points,
            slips,
        })
    }

    /// Renders once with the given decisions (missing ones are clean) and returns the SQL and the
    /// slip points met, in order.
    fn render_pass(
        &self,
        template: &str,
        slipped: &[bool],
        data: bool,
    ) -> Result<(String, Vec<SlipPoint>)> {
        *self
            .pass
            .lock()
            .map_err(|_| anyhow!("render state poisoned"))? = Pass {
            slipped: slipped.to_vec(),
            seen: Vec::new(),
            data,
        };
        // `data` lets a template write what only a database with data needs (a dedupe before a
        // unique index); empty mode renders exactly as it always did.
        let mut context = tera::Context::new();
        context.insert("data", &data);
        let sql = self.tera.render(template, &context).map_err(|err| {
            bad_input(format!(
                "rendering template {template}: {}",
                tera_error_chain(&err)
            ))
        })?;
        let seen = std::mem::take(
            &mut self
                .pass
                .lock()
                .map_err(|_| anyhow!("render state poisoned"))?
                .seen,
        );
        Ok((tidy(&sql), seen))
    }
}

/// The generator for one change's decisions: derived from (run seed, change id) only.
pub fn change_rng(seed: u64, change_id: &str) -> ChaCha8Rng {
    let mut hasher = Sha256::new();
    hasher.update(b"engineer-sim/change/");
    hasher.update(seed.to_le_bytes());
    hasher.update(change_id.as_bytes());
    ChaCha8Rng::from_seed(hasher.finalize().into())
}

/// What a slip point renders when it renders nothing, so that [`tidy`] can tell a line that held
/// only a left-out statement (and drops it) from a blank line the template wrote.
const NOTHING: &str = "\u{1}";

/// Removes what a left-out statement leaves behind (its line, runs of blank lines, trailing
/// spaces), so the applied SQL does not show where a slip was.
fn tidy(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut blank_run = 0;
    for line in sql.lines() {
        if line.contains(NOTHING) && line.replace(NOTHING, "").trim().is_empty() {
            continue;
        }
        let line = line.replace(NOTHING, "");
        let line = line.trim_end();
        if line.is_empty() {
            blank_run += 1;
            if blank_run > 1 {
                continue;
            }
        } else {
            blank_run = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    let trimmed = out.trim_matches('\n');
    format!("{trimmed}\n")
}

/// Tera nests the useful message (file, line, column) in its source chain.
pub fn tera_error_chain(err: &tera::Error) -> String {
    let mut parts = vec![err.to_string()];
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        parts.push(cause.to_string());
        source = cause.source();
    }
    parts.join(": ")
}

struct SlipFunction {
    kind: &'static MistakeKind,
    pass: Arc<Mutex<Pass>>,
}

impl tera::Function for SlipFunction {
    fn call(&self, args: &HashMap<String, tera::Value>) -> tera::Result<tera::Value> {
        let slip_args = SlipArgs {
            kind: self.kind.name,
            args,
        };
        let object = slip_args
            .object()
            .map_err(|e| tera::Error::msg(e.to_string()))?;
        // A failing call names its kind and object, so `check` can point at its line.
        let named = format!("(slip point `{}` on \"{object}\")", self.kind.name);
        let failed = |e: anyhow::Error| tera::Error::msg(format!("{e} {named}"));
        let mut pass = self
            .pass
            .lock()
            .map_err(|_| tera::Error::msg("render state poisoned"))?;
        if self.kind.needs_data && !pass.data {
            // Not offered without data: the careful text, as empty mode always rendered it.
            let text = self.kind.render(&slip_args, false).map_err(failed)?;
            return Ok(tera::Value::String(if text.is_empty() {
                NOTHING.to_string()
            } else {
                text
            }));
        }
        let slipped = pass.slipped.get(pass.seen.len()).copied().unwrap_or(false);
        pass.seen.push(SlipPoint {
            kind: self.kind.name.to_string(),
            object,
        });
        let text = self.kind.render(&slip_args, slipped).map_err(failed)?;
        Ok(tera::Value::String(if text.is_empty() {
            NOTHING.to_string()
        } else {
            text
        }))
    }

    fn is_safe(&self) -> bool {
        true
    }
}

/// Slip counts by kind, for summaries.
pub fn count_by_kind(slips: &[Slip]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for slip in slips {
        *counts.entry(slip.kind.clone()).or_default() += 1;
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tidy_collapses_blank_runs_and_trailing_space() {
        assert_eq!(tidy("a;  \n\n\n\nb;\n\n"), "a;\n\nb;\n");
    }

    #[test]
    fn tidy_drops_the_line_of_a_left_out_statement_and_keeps_written_blank_lines() {
        let rendered = format!(
            "CREATE TABLE t (a int{NOTHING});\n{NOTHING}\nCREATE INDEX i ON t(a);\n\nSELECT 1;\n"
        );
        assert_eq!(
            tidy(&rendered),
            "CREATE TABLE t (a int);\nCREATE INDEX i ON t(a);\n\nSELECT 1;\n"
        );
    }

    #[test]
    fn steps_split_at_the_outside_transaction_marker() {
        let sql = format!("CREATE TABLE t (a int);\n{OUTSIDE_TRANSACTION}\nCREATE INDEX CONCURRENTLY i ON t(a);\n");
        assert_eq!(
            split_steps(&sql),
            (
                "CREATE TABLE t (a int);\n",
                vec!["CREATE INDEX CONCURRENTLY i ON t(a);"]
            )
        );
        assert_eq!(split_steps("SELECT 1;"), ("SELECT 1;", vec![]));
    }

    #[test]
    fn change_rng_depends_on_seed_and_id_only() {
        use rand::Rng;
        let a: u64 = change_rng(1, "x").gen();
        let b: u64 = change_rng(1, "x").gen();
        let c: u64 = change_rng(2, "x").gen();
        let d: u64 = change_rng(1, "y").gen();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, d);
    }
}
