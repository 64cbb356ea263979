//! The data a simulation runs on: the roadmap, the team, the templates and the data files, and
//! who does and writes each change under a run's identity.

use std::sync::OnceLock;

use anyhow::Result;

use super::options::Options;
use crate::data::growth::DataPlan;
use crate::error::bad_input;
use crate::identity::{Assign, Identity};
use crate::persona::{Persona, Team};
use crate::render::{Decide, Rendered, Renderer};
use crate::roadmap::{Change, DataDirs, Roadmap};

/// The roadmap and the team are read on load; the templates and the data files when first asked
/// for: a tick with nothing due needs neither, and compiling them was most of its cost (README
/// "Performance"). Every command that writes to a database has checked them all first.
pub struct Project {
    pub data: DataDirs,
    pub roadmap: Roadmap,
    pub team: Team,
    renderer: OnceLock<Renderer>,
    /// The data files beside the templates: backfills, daily growth, queries.
    data_plan: OnceLock<DataPlan>,
}

/// A change as its assignee writes it.
pub struct Assigned<'a> {
    pub persona: &'a Persona,
    pub rendered: Rendered,
}

impl Project {
    pub fn load(data: &DataDirs) -> Result<Project> {
        let roadmap = data.load_roadmap()?;
        let mut team = Team::load(&data.personas)?;
        team.base_author = Some(roadmap.base_author());
        Ok(Project {
            data: data.clone(),
            roadmap,
            team,
            renderer: OnceLock::new(),
            data_plan: OnceLock::new(),
        })
    }

    /// The templates, compiled on first use.
    pub fn renderer(&self) -> Result<&Renderer> {
        if let Some(renderer) = self.renderer.get() {
            return Ok(renderer);
        }
        let renderer = Renderer::new(&self.data.templates)?;
        Ok(self.renderer.get_or_init(|| renderer))
    }

    /// The data files (backfills, daily growth, queries), loaded on first use.
    pub fn data_plan(&self) -> Result<&DataPlan> {
        if let Some(plan) = self.data_plan.get() {
            return Ok(plan);
        }
        let plan = DataPlan::load(&self.data.templates, &self.roadmap)?;
        Ok(self.data_plan.get_or_init(|| plan))
    }

    /// The persona who does `change` in the run `identity`: the roadmap's author, or with
    /// weighted assignment a choice by each persona's focus on the change's area, seeded by the
    /// run seed and the change id only (like every other decision).
    pub fn assignee(&self, change: &Change, identity: &Identity) -> Result<&Persona> {
        if identity.assign == Assign::Roadmap {
            return self.persona_for(change);
        }
        let area = change.focus.as_deref().unwrap_or("core");
        let personas: Vec<&Persona> = self.team.personas.values().collect();
        let weights: Vec<f64> = personas
            .iter()
            .map(|p| p.focus.get(area).copied().unwrap_or(0.0).max(0.0))
            .collect();
        let mut rng = crate::render::change_rng(identity.seed, &format!("{}#assign", change.id));
        Ok(personas[crate::persona::weighted_index(&weights, &mut rng)])
    }

    pub fn persona_for(&self, change: &Change) -> Result<&Persona> {
        self.team.get(&change.author).ok_or_else(|| {
            bad_input(format!(
                "{}: unknown author `{}` for change {}",
                self.roadmap.place_of(&change.id, Some("author:")),
                change.author,
                change.id
            ))
            .with_hint(format!(
                "authors are the persona files in {}: {}",
                self.data.personas.display(),
                self.team
                    .personas
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
            .into()
        })
    }

    /// `change` as its assignee in the run `identity` writes it.
    pub fn render(
        &self,
        change: &Change,
        identity: &Identity,
        opts: &Options,
        decide: Decide,
    ) -> Result<Assigned<'_>> {
        let persona = self.assignee(change, identity)?;
        let renderer = self.renderer()?;
        if !renderer.has_template(&change.template) {
            return Err(bad_input(format!(
                "{}: change {} names template `{}`, which is not under {}",
                self.roadmap.place_of(&change.id, Some("template:")),
                change.id,
                change.template,
                self.data.templates.display()
            ))
            .with_hint("create the template or fix the path (relative to templates/)")
            .into());
        }
        let rendered = renderer.render_change(
            change,
            persona,
            identity.seed,
            opts.rate_scale,
            decide,
            opts.data,
        )?;
        Ok(Assigned { persona, rendered })
    }

    /// Where a change's (or the base's) SQL comes from, for messages.
    pub fn source_of(&self, template: &str) -> String {
        self.data.templates.join(template).display().to_string()
    }

    pub fn base_sql(&self) -> Result<String> {
        let path = self.data.templates.join(&self.roadmap.base);
        std::fs::read_to_string(&path).map_err(|err| {
            bad_input(format!(
                "{}: cannot read the base schema {}: {err}",
                self.roadmap.path.display(),
                path.display()
            ))
            .into()
        })
    }
}
