//! A persona's error rate is the chance that a change it authors carries at least one slip:
//! across 2,000 seeds (rendering only) each persona's observed rate is within 3 points of its
//! configured rate.

use std::collections::BTreeMap;
use std::path::Path;

use engineer_sim::identity::{Assign, Identity};
use engineer_sim::render::Decide;
use engineer_sim::roadmap::DataDirs;
use engineer_sim::sim::{Options, Project};

#[test]
fn observed_error_rates_match_the_persona_files() {
    let project = Project::load(&DataDirs::under(Path::new(env!("CARGO_MANIFEST_DIR")))).unwrap();
    let opts = Options::default();
    let run = |seed| Identity {
        roadmap: project.roadmap.name.clone(),
        seed,
        start_date: chrono::NaiveDate::from_ymd_opt(2026, 1, 5).unwrap(),
        assign: Assign::Roadmap,
    };
    // persona -> (changes rendered, changes with at least one slip)
    let mut tally: BTreeMap<String, (u32, u32)> = BTreeMap::new();
    for seed in 0..2000u64 {
        for change in project.roadmap.ordered() {
            let rendered = project
                .render(change, &run(seed), &opts, Decide::Persona)
                .unwrap()
                .rendered;
            if rendered.points.is_empty() {
                continue; // nothing to slip on: such a change says nothing about the rate
            }
            let entry = tally.entry(change.author.clone()).or_default();
            entry.0 += 1;
            entry.1 += u32::from(!rendered.slips.is_empty());
        }
    }
    assert_eq!(
        tally.len(),
        3,
        "every persona authors a change with slip points: {tally:?}"
    );
    for (name, (total, slipped)) in &tally {
        let configured = project.team.get(name).unwrap().error_rate;
        let observed = f64::from(*slipped) / f64::from(*total);
        println!("{name}: configured {configured:.3}, observed {observed:.3} over {total} changes");
        assert!(
            (observed - configured).abs() <= 0.03,
            "{name}: observed {observed:.3} vs configured {configured:.3}"
        );
    }
}
