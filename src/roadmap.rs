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
    /// The week-0 schema, relative to the templates directory.
    pub base: String,
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

pub const WEEKS: u32 = 12;

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
            bad_input(format!("{place}: invalid roadmap: {err}"))
                .with_hint("fix the YAML; the format is described in README.md (Data files)")
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

    pub fn last_week(&self) -> u32 {
        self.changes.iter().map(|c| c.week).max().unwrap_or(0)
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
    pub roadmap: PathBuf,
    pub personas: PathBuf,
    pub templates: PathBuf,
}

impl DataDirs {
    /// `root` holds `roadmap/`, `personas/` and `templates/`.
    pub fn under(root: &Path) -> DataDirs {
        DataDirs {
            roadmap: root.join("roadmap").join("taskpilot.yaml"),
            personas: root.join("personas"),
            templates: root.join("templates"),
        }
    }

    pub fn load_roadmap(&self) -> Result<Roadmap> {
        let roadmap = Roadmap::load(&self.roadmap)
            .with_context(|| format!("loading {}", self.roadmap.display()))?;
        roadmap.ensure_unique_ids()?;
        Ok(roadmap)
    }
}
