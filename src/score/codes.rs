//! Codes and the kinds they stand for (README "Codes and kinds"). A kind's codes live in its file
//! under `src/mistakes/`; this adds the checkup codes of kinds this build does not journal, so a
//! report using them is listed as "not journaled" instead of rejected.

use crate::mistakes::{self, code_for, CodeSet};

/// postgres_ai checkup codes a health tool may report that no kind in the catalog carries:
/// (code, what it reports, the kind's name when engineer-sim has or will have one).
pub const CHECKUP_ONLY: &[(&str, &str, Option<&str>)] = &[
    ("F002", "transaction ID wraparound risk", None),
    ("F005", "btree index bloat", None),
    ("L001", "table sizes", None),
];

/// The kinds a name stands for: itself when it is a kind, else every kind with that code under
/// `codes` (a checkup code of a kind not in the catalog stands for that kind's name; it is then
/// scored as not journaled).
pub fn kinds_for(name: &str, codes: CodeSet) -> Vec<String> {
    if mistakes::by_name(name).is_some() {
        return vec![name.to_string()];
    }
    let kinds: Vec<String> = mistakes::all()
        .iter()
        .filter(|k| code_for(k.name, codes) == Some(name))
        .map(|k| k.name.to_string())
        .collect();
    if !kinds.is_empty() || codes != CodeSet::Checkup {
        return kinds;
    }
    CHECKUP_ONLY
        .iter()
        .find(|(code, _, _)| *code == name)
        .map(|(code, what, kind)| {
            vec![kind
                .map(str::to_string)
                .unwrap_or_else(|| format!("{code} ({what})"))]
        })
        .unwrap_or_default()
}

/// The README's table of every code and the kinds it stands for, under each code set.
pub fn markdown_table() -> String {
    let mut rows: Vec<(String, String, String)> = Vec::new();
    for (set, label) in [(CodeSet::Roadmap, "roadmap"), (CodeSet::Checkup, "checkup")] {
        let mut codes: Vec<&str> = mistakes::all()
            .iter()
            .filter_map(|k| code_for(k.name, set))
            .collect();
        codes.sort();
        codes.dedup();
        for code in codes {
            rows.push((
                code.to_string(),
                label.to_string(),
                kinds_for(code, set).join(", "),
            ));
        }
    }
    for (code, what, kind) in CHECKUP_ONLY {
        if !rows.iter().any(|(c, l, _)| c == code && l == "checkup") {
            let kind = match kind {
                Some(kind) if mistakes::by_name(kind).is_some() => kind.to_string(),
                Some(kind) => format!("{kind} (not journaled by this build: {what})"),
                None => format!("not journaled ({what})"),
            };
            rows.push((code.to_string(), "checkup".into(), kind));
        }
    }
    rows.sort();
    let mut out = String::from("| code | `--codes` | kinds |\n|---|---|---|\n");
    for (code, set, kinds) in rows {
        out.push_str(&format!("| {code} | {set} | {kinds} |\n"));
    }
    let uncoded: Vec<&str> = mistakes::all()
        .iter()
        .map(|k| k.name)
        .filter(|k| {
            code_for(k, CodeSet::Roadmap).is_none() && code_for(k, CodeSet::Checkup).is_none()
        })
        .collect();
    out.push_str(&format!(
        "| - | (no code: give the kind) | {} |\n",
        uncoded.join(", ")
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkup_codes_of_the_issue_resolve() {
        assert_eq!(
            kinds_for("H003", CodeSet::Checkup),
            vec!["missing_fk_index"]
        );
        assert_eq!(kinds_for("H001", CodeSet::Checkup), vec!["invalid_index"]);
        assert_eq!(kinds_for("H002", CodeSet::Checkup), vec!["unused_index"]);
        assert_eq!(
            kinds_for("H002", CodeSet::Roadmap),
            vec!["missing_fk_index"]
        );
        assert!(kinds_for("H001", CodeSet::Roadmap).is_empty());
        assert_eq!(
            kinds_for("F005", CodeSet::Checkup),
            vec!["F005 (btree index bloat)"]
        );
    }

    #[test]
    fn the_readme_holds_the_table_of_codes() {
        let readme = include_str!("../../README.md");
        let table = markdown_table();
        assert!(
            readme.contains(&table),
            "README \"Codes and kinds\" is out of date; it should hold:\n{table}"
        );
    }
}
