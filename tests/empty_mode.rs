//! Empty mode (`--no-data`) gives, byte for byte, the journal files the tool wrote before the
//! database had data: the fixtures were written by the release before the living database.

mod common;

use std::path::Path;

use common::{run_ok, temp_state, ScratchDb};

fn files_under(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for entry in walk(root) {
        out.push(
            entry
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned(),
        );
    }
    out.sort();
    out
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(walk(&path));
        } else {
            found.push(path);
        }
    }
    found
}

#[tokio::test]
async fn no_data_gives_the_journal_of_before_byte_for_byte() {
    for seed in ["42", "7"] {
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/empty-mode")
            .join(format!("seed{seed}"));
        let db = ScratchDb::create("empty_mode").await.unwrap();
        let state = temp_state();
        run_ok(
            state.path(),
            &db.url,
            &[
                "init",
                "--no-data",
                "--seed",
                seed,
                "--start-date",
                "2026-01-05",
            ],
        );
        run_ok(state.path(), &db.url, &["run", "--until-week", "12"]);
        for name in files_under(&fixture) {
            let want = std::fs::read(fixture.join(&name)).unwrap();
            let got = std::fs::read(state.path().join(&name))
                .unwrap_or_else(|_| panic!("seed {seed}: {name} was not written"));
            assert!(
                want == got,
                "seed {seed}: {name} differs from the empty-mode fixture"
            );
        }
        assert!(
            !state.path().join("workload").exists(),
            "empty mode writes no workload scripts"
        );
        db.drop_now().await.unwrap();
    }
}
