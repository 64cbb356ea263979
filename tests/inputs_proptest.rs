//! Bad input never panics (README "Operating it"): generated roadmap and persona documents, valid
//! and not (weeks 0 and u32::MAX, NaN and huge weights, path-like ids and initials, unknown kinds,
//! truncated YAML), go through the loaders and the whole `check`, which must report, not crash.
//! No database: this stays fast enough for every CI run.

use std::path::Path;

use engineer_sim::check;
use engineer_sim::persona::{Persona, Team};
use engineer_sim::roadmap::{DataDirs, Roadmap};
use proptest::prelude::*;

/// In all, over the two tests below.
const CASES: u32 = 10_000;

/// A float as YAML writes it, the awkward ones included.
fn float() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(".nan".to_string()),
        Just(".inf".to_string()),
        Just("-.inf".to_string()),
        Just("1e308".to_string()),
        Just("-0.5".to_string()),
        Just("0".to_string()),
        Just("\"0.3\"".to_string()),
        (0.0f64..2.0).prop_map(|f| format!("{f}")),
        any::<f64>().prop_map(|f| format!("{f:e}")),
    ]
}

fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("alex".to_string()),
        Just("sam".to_string()),
        Just("../sp".to_string()),
        Just(String::new()),
        Just("a b".to_string()),
        "[a-z0-9_./-]{0,12}",
        any::<String>(),
    ]
}

fn kind() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("missing_fk_index".to_string()),
        Just("redundant_index".to_string()),
        Just("bogus_kind".to_string()),
        "[a-z_]{0,16}",
    ]
}

/// A JSON string is a valid YAML double-quoted scalar.
fn quoted(text: &str) -> String {
    serde_json::to_string(text).unwrap()
}

fn persona() -> impl Strategy<Value = String> {
    (
        word(),
        word(),
        float(),
        float(),
        float(),
        proptest::collection::vec((kind(), float()), 0..4),
        proptest::collection::vec((word(), float()), 0..3),
        any::<u32>(),
    )
        .prop_map(
            |(name, initials, rate, extra, other, tendencies, focus, years)| {
                let mut y = format!(
                    "name: {}\ndisplay_name: X\ninitials: {}\nrole: r\nyears: {years}\n\
                     error_rate: {rate}\nextra_slip_chance: {extra}\nother_kinds_weight: {other}\n",
                    quoted(&name),
                    quoted(&initials)
                );
                y.push_str("tendencies:\n");
                for (k, w) in &tendencies {
                    y.push_str(&format!("  {}: {w}\n", quoted(k)));
                }
                if tendencies.is_empty() {
                    y.push_str("  {}\n");
                }
                y.push_str("focus:\n");
                for (k, w) in &focus {
                    y.push_str(&format!("  {}: {w}\n", quoted(k)));
                }
                if focus.is_empty() {
                    y.push_str("  {}\n");
                }
                y.push_str("excuses: [\"it was fine\"]\n");
                y
            },
        )
}

fn week() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("0".to_string()),
        Just("1".to_string()),
        Just("12".to_string()),
        Just("13".to_string()),
        Just("4294967295".to_string()),
        Just("-1".to_string()),
        Just("99999999999".to_string()),
        (0u32..20).prop_map(|w| w.to_string()),
    ]
}

fn day() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("mon".to_string()),
        Just("fri".to_string()),
        Just("sat".to_string()),
        "[a-z]{0,4}",
    ]
}

fn template() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("t/a.sql.tera".to_string()),
        Just("t/b.sql.tera".to_string()),
        Just("t/missing.sql.tera".to_string()),
        Just("../../etc/passwd".to_string()),
        word(),
    ]
}

fn change() -> impl Strategy<Value = String> {
    (
        word(),
        week(),
        day(),
        word(),
        template(),
        proptest::collection::vec((kind(), word()), 0..3),
        proptest::collection::vec(word(), 0..2),
    )
        .prop_map(|(id, week, day, author, template, scripted, fixes)| {
            let mut y = format!(
                "  - id: {}\n    week: {week}\n    day: {day}\n    author: {}\n    title: T\n    template: {}\n",
                quoted(&id),
                quoted(&author),
                quoted(&template)
            );
            y.push_str("    scripted:\n");
            for (k, o) in &scripted {
                y.push_str(&format!("      - {{ kind: {}, object: {} }}\n", quoted(k), quoted(o)));
            }
            if scripted.is_empty() {
                y.push_str("      []\n");
            }
            let fixes: Vec<String> = fixes.iter().map(|f| quoted(f)).collect();
            y.push_str(&format!("    fixes: [{}]\n", fixes.join(", ")));
            y
        })
}

fn roadmap() -> impl Strategy<Value = String> {
    (
        prop_oneof![
            Just("taskpilot/base.sql".to_string()),
            Just("missing.sql".to_string()),
            word()
        ],
        proptest::collection::vec(change(), 0..5),
    )
        .prop_map(|(base, changes)| {
            let mut y = format!("name: taskpilot\nbase: {}\nchanges:\n", quoted(&base));
            for c in &changes {
                y.push_str(c);
            }
            if changes.is_empty() {
                y.push_str("  []\n");
            }
            y
        })
}

/// A document, or what is left of it when cut short or given a stray character.
fn damaged(doc: impl Strategy<Value = String>) -> impl Strategy<Value = String> {
    (doc, 0usize..4, any::<prop::sample::Index>(), any::<char>()).prop_map(|(text, how, at, c)| {
        let mut cut = at.index(text.len() + 1);
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        match how {
            0 => text[..cut].to_string(),
            1 => format!("{}{c}{}", &text[..cut], &text[cut..]),
            _ => text,
        }
    })
}

/// The fixed part of the data directory: a base and two small templates.
fn data_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path().join("templates");
    std::fs::create_dir_all(t.join("taskpilot")).unwrap();
    std::fs::create_dir_all(t.join("t")).unwrap();
    std::fs::create_dir_all(dir.path().join("roadmap")).unwrap();
    std::fs::create_dir_all(dir.path().join("personas")).unwrap();
    std::fs::write(
        t.join("taskpilot/base.sql"),
        "CREATE TABLE p (id uuid PRIMARY KEY);\n",
    )
    .unwrap();
    std::fs::write(
        t.join("t/a.sql.tera"),
        "CREATE TABLE a (p_id uuid REFERENCES p(id));\n{{ missing_fk_index(object=\"public.a(p_id)\", sql=\"CREATE INDEX ai ON a(p_id);\") }}\n",
    )
    .unwrap();
    std::fs::write(t.join("t/b.sql.tera"), "SELECT {{ nope }};\n").unwrap();
    dir
}

fn check_all(root: &Path, roadmap: &str, personas: &[String]) {
    std::fs::write(root.join("roadmap/taskpilot.yaml"), roadmap).unwrap();
    let dir = root.join("personas");
    for entry in std::fs::read_dir(&dir).unwrap().flatten() {
        std::fs::remove_file(entry.path()).unwrap();
    }
    for (i, p) in personas.iter().enumerate() {
        std::fs::write(dir.join(format!("p{i}.yaml")), p).unwrap();
    }
    let data = DataDirs::under(root);
    // The loaders answer Ok or Err; check reports; neither panics.
    let _ = Roadmap::load(&data.roadmap);
    let _ = Team::load(&data.personas);
    for i in 0..personas.len() {
        let _ = Persona::load(&dir.join(format!("p{i}.yaml")));
    }
    let _ = check::check(&data);
    let _ = check::require_clean(&data);
}

/// One case: the generated documents through the loaders and `check`.
fn one_case(roadmap: &str, personas: &[String]) {
    thread_local! {
        static DIR: tempfile::TempDir = data_dir();
    }
    DIR.with(|dir| check_all(dir.path(), roadmap, personas));
}

// The cases run as two tests of half each, side by side on two cores (proptest runs one test's
// cases one after the other); each draws its own random cases.
proptest! {
    #![proptest_config(ProptestConfig { cases: CASES / 2, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn loaders_and_check_never_panic(
        roadmap in damaged(roadmap()),
        personas in proptest::collection::vec(damaged(persona()), 0..3),
    ) {
        one_case(&roadmap, &personas);
    }

    #[test]
    fn loaders_and_check_never_panic_other_half(
        roadmap in damaged(roadmap()),
        personas in proptest::collection::vec(damaged(persona()), 0..3),
    ) {
        one_case(&roadmap, &personas);
    }
}
