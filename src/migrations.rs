//! Migration files: every applied change also lands as
//! `state/migrations/<yyyymmdd>_<hhmmss>_<initials>_<slug>.sql`, the as-written SQL under a
//! realistic header, so migration linters can be run on the folder as on a real project. The
//! header carries nothing that gives a slip away.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Result;

use crate::ledger::ChangeRow;

/// The file name of each applied change, in order. Changes on the same sim day are two hours
/// apart from 09:00, as a team's merges would be.
pub fn file_names<'a>(
    changes: &'a [ChangeRow],
    initials: &BTreeMap<String, String>,
) -> Vec<(String, &'a ChangeRow)> {
    let mut per_day: BTreeMap<chrono::NaiveDate, u32> = BTreeMap::new();
    changes
        .iter()
        .map(|change| {
            let nth = per_day.entry(change.sim_date).or_default();
            let hour = if change.week == 0 { 8 } else { 9 + 2 * *nth };
            if change.week > 0 {
                *nth += 1;
            }
            let who = initials
                .get(&change.author)
                .cloned()
                .unwrap_or_else(|| change.author.chars().take(2).collect());
            let name = format!(
                "{}_{hour:02}0000_{who}_{}.sql",
                change.sim_date.format("%Y%m%d"),
                slug(&change.change_id)
            );
            (name, change)
        })
        .collect()
}

/// `w01-mon-time-tracking-columns` -> `time_tracking_columns`.
fn slug(change_id: &str) -> String {
    let parts: Vec<&str> = change_id.split('-').collect();
    let rest = match parts.as_slice() {
        [week, _day, rest @ ..] if week.starts_with('w') && !rest.is_empty() => rest.join("_"),
        _ => change_id.replace('-', "_"),
    };
    if rest == "base" {
        "base_schema".to_string()
    } else {
        rest
    }
}

/// Lines before the SQL in a migration file: the scorer maps a linter's line numbers through it.
pub const HEADER_LINES: usize = 9;

/// The header, the session settings every change ran under (a linter reading the file sees what
/// the database saw: under another TimeZone, `timestamp -> timestamptz` rewrites the table; under
/// UTC it does not), then the as-written SQL.
pub fn contents(change: &ChangeRow, display_name: &str) -> String {
    format!(
        "-- {}\n--\n-- Author: {display_name}\n-- Date:   {}\n\n{}\n{}",
        change.title,
        change.sim_date,
        crate::session::migration_lines(),
        change.applied_sql
    )
}

/// Writes every applied change's migration file whose content changed, removing files of changes
/// no longer in the ledger; returns how many it wrote or removed.
pub fn write_all(dir: &Path, changes: &[ChangeRow], team: &crate::persona::Team) -> Result<usize> {
    std::fs::create_dir_all(dir)?;
    let initials: BTreeMap<String, String> = team
        .personas
        .iter()
        .map(|(name, p)| (name.clone(), p.initials.clone()))
        .collect();
    let named = file_names(changes, &initials);
    let keep: std::collections::BTreeSet<&str> = named.iter().map(|(n, _)| n.as_str()).collect();
    let mut written = 0;
    for entry in std::fs::read_dir(dir)?.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        // Only files engineer-sim wrote go: a user's own .sql file stays (README "Operating it").
        if name.ends_with(".sql") && !keep.contains(name.as_str()) && written_by_us(&entry.path()) {
            std::fs::remove_file(entry.path())?;
            written += 1;
        }
    }
    for (name, change) in &named {
        // The base is nobody's persona: the roadmap says who wrote it.
        let display = team
            .get(&change.author)
            .map(|p| p.display_name.as_str())
            .or(team.base_author.as_deref())
            .unwrap_or("the base's authors");
        let text = contents(change, display);
        written += usize::from(crate::state::write_if_changed(&dir.join(name), &text)?);
    }
    Ok(written)
}

/// Whether a file has the shape [`contents`] gives: a name like ours and our header.
fn written_by_us(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let bytes = name.as_bytes();
    let named_like_ours = bytes.len() > 17
        && bytes[..8].iter().all(u8::is_ascii_digit)
        && bytes[8] == b'_'
        && bytes[9..15].iter().all(u8::is_ascii_digit)
        && bytes[15] == b'_';
    if !named_like_ours {
        return false;
    }
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut lines = text.lines();
    lines.next().is_some_and(|l| l.starts_with("-- "))
        && lines.next() == Some("--")
        && lines.next().is_some_and(|l| l.starts_with("-- Author: "))
        && lines.next().is_some_and(|l| l.starts_with("-- Date:   "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_drop_the_week_and_day() {
        assert_eq!(
            slug("w01-mon-time-tracking-columns"),
            "time_tracking_columns"
        );
        assert_eq!(slug("base"), "base_schema");
    }

    #[test]
    fn header_has_the_documented_number_of_lines() {
        let change = ChangeRow {
            change_id: "w01-mon-x".into(),
            seq: 1,
            week: 1,
            day: "mon".into(),
            sim_day: 1,
            sim_date: chrono::NaiveDate::from_ymd_opt(2026, 1, 5).unwrap(),
            author: "alex".into(),
            title: "X".into(),
            sql_sha256: String::new(),
            applied_sql: "SELECT 1;\n".into(),
            clean_sql: String::new(),
            slips: vec![],
        };
        let text = contents(&change, "Alex");
        assert_eq!(text.lines().nth(HEADER_LINES), Some("SELECT 1;"));
    }
}
