//! The roadmap: which change happens on which sim day, by whom, from which template.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::error::bad_input;
use crate::words::Words;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Roadmap {
    pub name: String,
    /// The database's name in the embedded cluster [default: `name`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    /// How many weeks the roadmap spans [default: the last week a change is on].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weeks: Option<u32>,
    /// The week-0 schema, relative to the templates directory.
    pub base: String,
    /// The base migration's title [default: "<name> base schema"].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_title: Option<String>,
    /// Who wrote the base, as its migration file names them [default: "<name> team"].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_author: Option<String>,
    /// Defects the base schema has on purpose (README "Data files").
    #[serde(default)]
    pub base_findings: Vec<Declared>,
    /// The detectors' word lists: the built-in ones plus what the optional `words:` key adds
    /// (README "Mistake kinds").
    #[serde(default)]
    pub words: Words,
    pub changes: Vec<Change>,
    /// Where the roadmap was read from, for messages.
    #[serde(skip)]
    pub path: PathBuf,
    #[serde(skip)]
    source: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Change {
    pub id: String,
    pub week: u32,
    pub day: Weekday,
    pub author: String,
    pub title: String,
    pub template: String,
    #[serde(default)]
    pub focus: Option<String>,
    /// Mistakes the roadmap plants on purpose: they happen in every run.
    #[serde(default)]
    pub scripted: Vec<Declared>,
    /// Changes whose findings this change is meant to close.
    #[serde(default)]
    pub fixes: Vec<String>,
    #[serde(default)]
    pub note: Option<String>,
}

/// A mistake declared by the roadmap: its kind and the exact object it concerns.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Declared {
    pub kind: String,
    pub object: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Weekday {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
}

impl Weekday {
    /// 0 for Monday .. 4 for Friday.
    pub fn index(self) -> u32 {
        self as u32
    }

    pub fn name(self) -> &'static str {
        match self {
            Weekday::Mon => "Monday",
            Weekday::Tue => "Tuesday",
            Weekday::Wed => "Wednesday",
            Weekday::Thu => "Thursday",
            Weekday::Fri => "Friday",
        }
    }

    pub fn short(self) -> &'static str {
        match self {
            Weekday::Mon => "mon",
            Weekday::Tue => "tue",
            Weekday::Wed => "wed",
            Weekday::Thu => "thu",
            Weekday::Fri => "fri",
        }
    }
}

/// The most weeks a roadmap may span (ten years of working weeks).
pub const MAX_WEEKS: u32 = 520;

impl Change {
    /// The sim day this change is due on: 1 for week 1 Monday, 60 for week 12 Friday.
    pub fn sim_day(&self) -> u32 {
        // Saturating: a week out of range (0, or huge) is reported by `check`, never a panic.
        self.week
            .saturating_sub(1)
            .saturating_mul(5)
            .saturating_add(self.day.index() + 1)
    }
}

impl Roadmap {
    pub fn load(path: &Path) -> Result<Roadmap> {
        let source = std::fs::read_to_string(path)
            .map_err(|err| bad_input(format!("cannot read roadmap {}: {err}", path.display())))?;
        let mut roadmap: Roadmap = serde_yaml::from_str(&source).map_err(|err| {
            let place = match err.location() {
                Some(loc) => format!("{}:{}:{}", path.display(), loc.line(), loc.column()),
                None => path.display().to_string(),
            };
            bad_input(format!("{place}: invalid roadmap: {err}")).with_hint(format!(
                "fix the YAML of {}; the format is described in README.md (Data files)",
                path.display()
            ))
        })?;
        roadmap.path = path.to_path_buf();
        roadmap.source = source;
        Ok(roadmap)
    }

    /// The changes in the order they are applied: by sim day, then file order.
    pub fn ordered(&self) -> Vec<&Change> {
        let mut changes: Vec<&Change> = self.changes.iter().collect();
        changes.sort_by_key(|c| c.sim_day());
        changes
    }

    pub fn change(&self, id: &str) -> Option<&Change> {
        self.changes.iter().find(|c| c.id == id)
    }

    pub fn require_change(&self, id: &str) -> Result<&Change> {
        self.change(id).ok_or_else(|| {
            bad_input(format!("no change `{id}` in {}", self.path.display()))
                .with_hint("`engineer-sim plan` lists the change ids")
                .into()
        })
    }

    pub fn changes_until_week(&self, week: u32) -> Vec<&Change> {
        self.ordered()
            .into_iter()
            .filter(|c| c.week <= week)
            .collect()
    }

    /// The last week: `weeks` when the roadmap gives it, else the last week a change is on.
    pub fn last_week(&self) -> u32 {
        self.weeks
            .unwrap_or_else(|| self.changes.iter().map(|c| c.week).max().unwrap_or(0))
    }

    /// The last week's Friday.
    pub fn last_sim_day(&self) -> u32 {
        self.last_week().saturating_mul(5)
    }

    /// The database's name in the embedded cluster.
    pub fn database_name(&self) -> &str {
        self.database.as_deref().unwrap_or(&self.name)
    }

    pub fn base_title(&self) -> String {
        self.base_title
            .clone()
            .unwrap_or_else(|| format!("{} base schema", self.name))
    }

    pub fn base_author(&self) -> String {
        self.base_author
            .clone()
            .unwrap_or_else(|| format!("{} team", self.name))
    }

    /// A week given on the command line (`run --until-week 13`) must be one of the roadmap's.
    pub fn require_week(&self, option: &str, week: u32) -> Result<()> {
        let last = self.last_week();
        if (1..=last).contains(&week) {
            return Ok(());
        }
        Err(bad_input(format!(
            "{option} {week}: {week} is not in 1..={last}, the weeks of {}",
            self.path.display()
        ))
        .with_hint(format!("give a week from 1 to {last}"))
        .into())
    }

    /// The 1-based line where `needle` first appears after `id: <change id>`, for messages.
    pub fn line_of(&self, change_id: &str, needle: Option<&str>) -> usize {
        let mut lines = self.source.lines().enumerate();
        let id_line = lines
            .by_ref()
            .find(|(_, line)| {
                let line = line.trim_start().trim_start_matches("- ");
                line.strip_prefix("id:")
                    .map(|rest| rest.trim().trim_matches('"'))
                    == Some(change_id)
            })
            .map(|(n, _)| n + 1);
        let Some(id_line) = id_line else { return 1 };
        let Some(needle) = needle else { return id_line };
        lines
            .take_while(|(_, line)| !line.trim_start().starts_with("- id:"))
            .find(|(_, line)| line.contains(needle))
            .map(|(n, _)| n + 1)
            .unwrap_or(id_line)
    }

    /// Where a change is defined, as `file:line`.
    pub fn place_of(&self, change_id: &str, needle: Option<&str>) -> String {
        format!(
            "{}:{}",
            self.path.display(),
            self.line_of(change_id, needle)
        )
    }

    /// Fails on duplicate ids; the full validation is `engineer-sim check`.
    pub fn ensure_unique_ids(&self) -> Result<()> {
        let mut seen = HashSet::new();
        for change in &self.changes {
            if !seen.insert(change.id.as_str()) {
                return Err(bad_input(format!(
                    "{}: duplicate change id `{}`",
                    self.place_of(&change.id, None),
                    change.id
                ))
                .with_hint("every change needs its own id")
                .into());
            }
        }
        Ok(())
    }
}

/// The data directories the tool reads: roadmap, personas, templates.
#[derive(Debug, Clone)]
pub struct DataDirs {
    /// The roadmap file (when none or several were found: the `roadmap/` directory, for
    /// messages, and [`DataDirs::roadmap_file`] says what is wrong).
    pub roadmap: PathBuf,
    pub personas: PathBuf,
    pub templates: PathBuf,
    /// Why no single roadmap was chosen under `roadmap/`, and what to do.
    roadmap_problem: Option<(String, &'static str)>,
}

impl DataDirs {
    /// `root` holds `roadmap/` (its one `*.yaml`), `personas/` and `templates/`.
    pub fn under(root: &Path) -> DataDirs {
        Self::with_roadmap(root, None)
    }

    /// As [`DataDirs::under`], with `--roadmap FILE` choosing the roadmap when given.
    pub fn with_roadmap(root: &Path, roadmap: Option<&Path>) -> DataDirs {
        let (roadmap, roadmap_problem) = match roadmap {
            Some(file) => (file.to_path_buf(), None),
            None => Self::find_roadmap(&root.join("roadmap")),
        };
        DataDirs {
            roadmap,
            personas: root.join("personas"),
            templates: root.join("templates"),
            roadmap_problem,
        }
    }

    /// Whether `root/roadmap/` holds a roadmap (one or several): a data directory.
    pub fn is_data_dir(root: &Path) -> bool {
        !Self::roadmaps_in(&root.join("roadmap")).is_empty()
    }

    fn roadmaps_in(dir: &Path) -> Vec<PathBuf> {
        let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|entry| entry.path())
            .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
            .collect();
        found.sort();
        found
    }

    /// The one `*.yaml` (or `*.yml`) in `dir`; else `dir` and what is wrong.
    fn find_roadmap(dir: &Path) -> (PathBuf, Option<(String, &'static str)>) {
        let mut found = Self::roadmaps_in(dir);
        match found.len() {
            1 => (found.remove(0), None),
            0 => (
                dir.to_path_buf(),
                Some((
                    format!("no roadmap: {} holds no *.yaml file", dir.display()),
                    "pass --data-dir (or ENGINEER_SIM_DATA) with the directory holding roadmap/, \
                     personas/ and templates/, or --roadmap FILE; `engineer-sim new-roadmap` \
                     writes one",
                )),
            ),
            _ => {
                let names: Vec<String> = found
                    .iter()
                    .filter_map(|p| p.file_name())
                    .map(|n| n.to_string_lossy().into_owned())
                    .collect();
                (
                    dir.to_path_buf(),
                    Some((
                        format!(
                            "{} holds several roadmaps ({})",
                            dir.display(),
                            names.join(", ")
                        ),
                        "choose one with --roadmap FILE (or ENGINEER_SIM_ROADMAP)",
                    )),
                )
            }
        }
    }

    /// The roadmap file, or bad input saying why there is not exactly one.
    pub fn roadmap_file(&self) -> Result<&Path> {
        match &self.roadmap_problem {
            None => Ok(&self.roadmap),
            Some((problem, hint)) => Err(bad_input(problem.clone()).with_hint(*hint).into()),
        }
    }

    pub fn load_roadmap(&self) -> Result<Roadmap> {
        let roadmap = Roadmap::load(self.roadmap_file()?)
            .with_context(|| format!("loading {}", self.roadmap.display()))?;
        roadmap.ensure_unique_ids()?;
        Ok(roadmap)
    }
}
