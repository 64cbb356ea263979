//! The engineers: error rates, tendencies over mistake kinds, review excuses. Data, in
//! `personas/*.yaml`; this module only reads it and makes the seeded decisions.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Result;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::error::bad_input;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Persona {
    pub name: String,
    pub display_name: String,
    /// Used in migration file names, e.g. `20260105_090000_ac_time_tracking_columns.sql`.
    pub initials: String,
    pub role: String,
    pub years: u32,
    /// Chance that a change this persona authors carries at least one slip.
    pub error_rate: f64,
    /// Once a change slips, the chance that each further slip point slips too.
    #[serde(default)]
    pub extra_slip_chance: f64,
    /// Weight of kinds not listed under `tendencies`.
    #[serde(default)]
    pub other_kinds_weight: f64,
    /// Relative weights over mistake kinds: which kind a slip is.
    #[serde(default)]
    pub tendencies: BTreeMap<String, f64>,
    /// Relative weights over change areas, for weighted assignment.
    #[serde(default)]
    pub focus: BTreeMap<String, f64>,
    /// Why a slip passed review, quoted in the journal: these for a slip of any kind...
    pub excuses: Vec<String>,
    /// ...and these, when present, for a slip of that kind.
    #[serde(default)]
    pub excuses_by_kind: BTreeMap<String, Vec<String>>,
}

/// A slip point as the decision sees it: its position and kind.
pub struct Offered<'a> {
    pub kind: &'a str,
}

impl Persona {
    pub fn load(path: &Path) -> Result<Persona> {
        let text = std::fs::read_to_string(path)
            .map_err(|err| bad_input(format!("cannot read persona {}: {err}", path.display())))?;
        serde_yaml::from_str(&text).map_err(|err| {
            let place = match err.location() {
                Some(loc) => format!("{}:{}:{}", path.display(), loc.line(), loc.column()),
                None => path.display().to_string(),
            };
            bad_input(format!("{place}: invalid persona: {err}"))
                .with_hint("see personas/alex.yaml for the format")
                .into()
        })
    }

    /// How likely a slip point of `kind` is to be the one that slips.
    pub fn weight_of(&self, kind: &str) -> f64 {
        self.tendencies
            .get(kind)
            .copied()
            .unwrap_or(self.other_kinds_weight)
            .max(0.0)
    }

    /// Decides which of the offered slip points slip, in the order offered.
    ///
    /// With probability `error_rate` (scaled by `rate_scale`) the change carries a slip: one point
    /// chosen by the persona's tendencies, then each other point with `extra_slip_chance`. So the
    /// error rate is exactly the chance of at least one slip, whatever the number of points.
    pub fn decide(&self, offered: &[Offered], rate_scale: f64, rng: &mut ChaCha8Rng) -> Vec<bool> {
        let mut slips = vec![false; offered.len()];
        let draw: f64 = rng.gen();
        if offered.is_empty() || draw >= (self.error_rate * rate_scale).clamp(0.0, 1.0) {
            return slips;
        }
        let weights: Vec<f64> = offered.iter().map(|p| self.weight_of(p.kind)).collect();
        let first = weighted_index(&weights, rng);
        slips[first] = true;
        for (i, slip) in slips.iter_mut().enumerate() {
            if i != first && rng.gen::<f64>() < self.extra_slip_chance {
                *slip = true;
            }
        }
        slips
    }

    /// The excuse the journal quotes for a slip of `kind`.
    pub fn excuse(&self, kind: &str, rng: &mut ChaCha8Rng) -> String {
        let pool = match self.excuses_by_kind.get(kind) {
            Some(list) if !list.is_empty() => list,
            _ => &self.excuses,
        };
        if pool.is_empty() {
            return "no one noticed in review".to_string();
        }
        pool[rng.gen_range(0..pool.len())].clone()
    }
}

/// An index drawn in proportion to `weights`; uniform when they are all zero.
pub fn weighted_index(weights: &[f64], rng: &mut ChaCha8Rng) -> usize {
    let total: f64 = weights.iter().sum();
    if total <= 0.0 {
        return rng.gen_range(0..weights.len());
    }
    let mut target = rng.gen::<f64>() * total;
    for (i, w) in weights.iter().enumerate() {
        if target < *w {
            return i;
        }
        target -= w;
    }
    weights.len() - 1
}

/// All persona files of a directory, by name.
#[derive(Debug, Clone)]
pub struct Team {
    pub personas: BTreeMap<String, Persona>,
    /// Who the base's migration file names as its author (the roadmap's `base_author`).
    pub base_author: Option<String>,
}

impl Team {
    pub fn load(dir: &Path) -> Result<Team> {
        let mut personas = BTreeMap::new();
        let entries = std::fs::read_dir(dir).map_err(|err| {
            bad_input(format!(
                "cannot read personas directory {}: {err}",
                dir.display()
            ))
        })?;
        let mut paths: Vec<_> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.extension()
                    .is_some_and(|ext| ext == "yaml" || ext == "yml")
            })
            .collect();
        paths.sort();
        for path in paths {
            let persona = Persona::load(&path)?;
            personas.insert(persona.name.clone(), persona);
        }
        Ok(Team {
            personas,
            base_author: None,
        })
    }

    pub fn get(&self, name: &str) -> Option<&Persona> {
        self.personas.get(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn persona(rate: f64) -> Persona {
        Persona {
            name: "p".into(),
            display_name: "P".into(),
            initials: "p".into(),
            role: "r".into(),
            years: 1,
            error_rate: rate,
            extra_slip_chance: 0.0,
            other_kinds_weight: 0.0,
            tendencies: BTreeMap::from([("a".to_string(), 1.0)]),
            focus: BTreeMap::new(),
            excuses: vec![],
            excuses_by_kind: BTreeMap::new(),
        }
    }

    #[test]
    fn a_slip_lands_on_a_tendency_when_one_is_offered() {
        let p = persona(1.0);
        let offered = [
            Offered { kind: "b" },
            Offered { kind: "a" },
            Offered { kind: "c" },
        ];
        for seed in 0..50 {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            assert_eq!(p.decide(&offered, 1.0, &mut rng), [false, true, false]);
        }
    }

    #[test]
    fn rate_zero_never_slips() {
        let p = persona(0.0);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        assert_eq!(p.decide(&[Offered { kind: "a" }], 1.0, &mut rng), [false]);
    }
}
