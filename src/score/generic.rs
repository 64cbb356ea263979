//! Reading the plain `file:line: rule message` format most linters can print (also
//! `file:line:col: rule message`, and `file:line:col: warning: rule message` as squawk's `gcc`
//! reporter writes it). Lines are 1-based, as the format's convention has it, except for squawk's
//! rules: squawk writes 0-based lines in every reporter (README "Scoring your tool").

use std::path::Path;

use anyhow::Result;

use super::lines::{Files, Mapper};
use super::{read_text, rules, Report};

const SEVERITIES: [&str; 6] = ["warning", "error", "note", "info", "hint", "notice"];

/// Reads a `file:line: rule message` report.
pub fn read(path: &Path, files: &Files) -> Result<Report> {
    let text = read_text(path)?;
    let mut mapper = Mapper::new(files, None);
    let mut skipped = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match parse(line) {
            Some((file, number, rule)) => {
                let tool = rules::find(None, &rule).map(|r| r.tool);
                let line0 = if tool == Some("squawk") {
                    Some(number)
                } else {
                    number.checked_sub(1)
                };
                match line0 {
                    Some(line0) => mapper.violation(tool, &file, line0, &rule),
                    None => skipped.push(format!("{}:{}: line 0", path.display(), n + 1)),
                }
            }
            None => skipped.push(format!(
                "{}:{}: not `file:line: rule message`",
                path.display(),
                n + 1
            )),
        }
    }
    let mut report = mapper.finish();
    report.unmapped.extend(skipped);
    Ok(report)
}

/// `file:line[:col]: [severity:] rule message` -> (file, line, rule).
fn parse(text: &str) -> Option<(String, usize, String)> {
    let parts: Vec<&str> = text.split(':').collect();
    let at = (1..parts.len()).find(|&i| is_number(parts[i]))?;
    let file = parts[..at].join(":");
    let number: usize = parts[at].trim().parse().ok()?;
    let mut rest_from = at + 1;
    if parts.get(rest_from).is_some_and(|p| is_number(p)) {
        rest_from += 1;
    }
    let rest = parts.get(rest_from..)?.join(":");
    let mut rest = rest.trim_start();
    let lower = rest.to_ascii_lowercase();
    if let Some(sev) = SEVERITIES
        .iter()
        .find(|s| lower.starts_with(&format!("{s}:")))
    {
        rest = rest[sev.len() + 1..].trim_start();
    }
    let rule = rest.split_whitespace().next()?;
    Some((file, number, rule.to_string()))
}

fn is_number(part: &str) -> bool {
    let part = part.trim();
    !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn parses_the_usual_shapes() {
        assert_eq!(
            parse("migrations/a.sql:12: E6 Creating a new index"),
            Some(("migrations/a.sql".into(), 12, "E6".into()))
        );
        assert_eq!(
            parse("migrations/a.sql:10:18: warning: prefer-bigint-over-int Using 32-bit"),
            Some((
                "migrations/a.sql".into(),
                10,
                "prefer-bigint-over-int".into()
            ))
        );
        assert_eq!(parse("Found 3 issues"), None);
    }
}
