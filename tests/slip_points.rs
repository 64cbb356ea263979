//! Every slip point, forced alone, applies on PostgreSQL, and so does every pair of slip points of a
//! change and every change with all of its slip points slipped at once (the forms a persona can
//! produce: one slip, then extra ones); the audit sees each declared slip (the apply step fails
//! otherwise).
//! Each forced form is applied through the real pipeline inside a transaction that is rolled back,
//! then the change is applied clean and the roadmap goes on.

mod common;

use std::path::Path;

use common::ScratchDb;
use engineer_sim::identity::{Assign, Identity};
use engineer_sim::render::Decide;
use engineer_sim::roadmap::DataDirs;
use engineer_sim::sim::{self, Options, Project};
use sqlx::Connection;

#[tokio::test]
async fn every_slip_point_alone_in_pairs_and_all_together_applies() {
    let project = Project::load(&DataDirs::under(Path::new(env!("CARGO_MANIFEST_DIR")))).unwrap();
    let opts = Options::default();
    let db = ScratchDb::create("slips").await.unwrap();
    let mut conn = engineer_sim::pg::connect(&db.url).await.unwrap();
    let run = Identity {
        roadmap: project.roadmap.name.clone(),
        seed: 1,
        start_date: chrono::NaiveDate::from_ymd_opt(2026, 1, 5).unwrap(),
        assign: Assign::Roadmap,
    };
    sim::init(&mut conn, &project, &run, false, &opts)
        .await
        .unwrap();

    let mut forced = 0;
    for change in project.roadmap.ordered() {
        let points = project
            .render(change, &run, &opts, Decide::Clean)
            .unwrap()
            .rendered
            .points;
        let mut forms: Vec<(String, Decide)> = points
            .iter()
            .enumerate()
            .map(|(i, p)| (format!("{} on {}", p.kind, p.object), Decide::Only(i)))
            .collect();
        for i in 0..points.len() {
            for j in i + 1..points.len() {
                forms.push((format!("slip points {i} and {j}"), Decide::Pair(i, j)));
            }
        }
        if points.len() > 2 {
            forms.push(("all slip points".to_string(), Decide::All));
        }
        for (label, decide) in forms {
            let mut outer = conn.begin().await.unwrap();
            let result = sim::apply_change(&mut outer, &project, &run, change, &opts, decide).await;
            outer.rollback().await.unwrap();
            if let Err(err) = result {
                panic!(
                    "{}: slipped form ({label}) does not apply: {err:#}",
                    change.id
                );
            }
            forced += 1;
        }
        sim::apply_change(&mut conn, &project, &run, change, &opts, Decide::Clean)
            .await
            .unwrap_or_else(|err| panic!("{}: clean form does not apply: {err:#}", change.id));
    }
    println!("{forced} slipped forms applied");
    assert!(forced > 0);
    drop(conn);
    db.drop_now().await.unwrap();
}
