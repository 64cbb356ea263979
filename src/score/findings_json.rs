//! Reading a `findings-json` report (README "Scoring your tool"): either a plain JSON list of
//! `{"kind" or "code", "object"}`, or `{"tool": ..., "covers": [kinds or codes], "findings": [...]}`.
//!
//! With `covers`, every kind the tool declares is scored with its misses, even when the tool found
//! nothing of that kind. Without it, coverage is guessed from the kinds the report mentions, and
//! the score says so.

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::Result;
use serde::Deserialize;

use super::objects::{self, Resolved, Resolver};
use super::{kinds_for, Report};
use crate::audit::Key;
use crate::error::bad_input;
use crate::mistakes::CodeSet;

/// One entry: a kind or a code, and an object.
#[derive(Debug, Deserialize)]
pub struct PlainFinding {
    pub kind: Option<String>,
    pub code: Option<String>,
    pub object: ObjectField,
}

/// An object, or a pair/group of objects (a list, or one string with members separated by commas
/// outside parentheses).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum ObjectField {
    One(String),
    Group(Vec<String>),
}

impl ObjectField {
    fn members(&self) -> Vec<String> {
        match self {
            ObjectField::One(text) => objects::members(text),
            ObjectField::Group(list) => list.clone(),
        }
    }

    fn display(&self) -> String {
        match self {
            ObjectField::One(text) => text.clone(),
            ObjectField::Group(list) => list.join(", "),
        }
    }
}

/// The whole file: a plain list, or a list with what the tool is and what it covers.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Document {
    Plain(Vec<PlainFinding>),
    Declared {
        tool: Option<String>,
        covers: Option<Vec<String>>,
        findings: Vec<PlainFinding>,
    },
}

/// Reads a findings-json report. A code stands for every kind that has it under `codes`; a finding
/// by code counts for the kind whose ground truth holds that object. Objects are resolved by
/// `resolver`; a pair or group counts once per member the journal names (else once, as a false
/// alarm on its first member); objects of the `engineer_sim` schema are ignored and listed.
pub fn read(
    path: &Path,
    codes: CodeSet,
    truth: &BTreeSet<Key>,
    resolver: &Resolver,
) -> Result<Report> {
    let text = super::read_text(path)?;
    let document: Document = serde_json::from_str(&text).map_err(|err| {
        bad_input(format!(
            "{}:{}:{}: not a findings-json report: {err}",
            path.display(),
            err.line(),
            err.column()
        ))
        .with_hint(
            "expected a JSON array of {\"kind\" or \"code\", \"object\"}, or \
             {\"tool\": ..., \"covers\": [...], \"findings\": [...]}",
        )
    })?;
    let (tool, covers, list) = match document {
        Document::Plain(list) => (None, None, list),
        Document::Declared {
            tool,
            covers,
            findings,
        } => (tool, covers, findings),
    };
    let mut report = Report {
        tool,
        ..Report::default()
    };
    match covers {
        Some(covers) => {
            report.covers_declared = true;
            for name in covers {
                let kinds = kinds_for(&name, codes);
                if kinds.is_empty() {
                    report.notes.push(format!(
                        "covers {name:?}: not a kind or a {codes:?} code engineer-sim journals; ignored"
                    ));
                }
                report.covers.extend(kinds);
            }
        }
        None => report.notes.push(
            "coverage guessed from the kinds reported (declare \"covers\" to count misses of \
             kinds the tool found nothing of)"
                .into(),
        ),
    }
    let mut ledger = Vec::new();
    for (i, entry) in list.into_iter().enumerate() {
        let at = format!("{} finding {}", path.display(), i + 1);
        let kinds: Vec<String> = match (&entry.kind, &entry.code) {
            (Some(kind), _) => vec![kind.clone()],
            (None, Some(code)) => kinds_for(code, codes),
            (None, None) => {
                report.unmapped.push(format!("{at}: neither kind nor code"));
                continue;
            }
        };
        if kinds.is_empty() {
            report.unmapped.push(format!(
                "{at}: code {:?} names no kind under --codes {codes:?}",
                entry.code.unwrap_or_default()
            ));
            continue;
        }
        report.covers.extend(kinds.iter().cloned());
        let written = entry.object.members();
        if written.is_empty() {
            report.unmapped.push(format!("{at}: empty object"));
            continue;
        }
        let mut members: Vec<Vec<String>> = Vec::new();
        for member in written {
            match resolver.resolve(&member) {
                Resolved::Ledger => {}
                Resolved::Candidates(names) => members.push(names),
            }
        }
        if members.is_empty() {
            ledger.push(entry.object.display());
            continue;
        }
        let mut credited = false;
        for names in &members {
            let named = kinds.iter().find_map(|kind| {
                names
                    .iter()
                    .map(|name| Key::new(kind, name))
                    .find(|key| truth.contains(key))
            });
            if let Some(key) = named {
                report.found.insert(key);
                credited = true;
            }
        }
        if !credited {
            report.found.insert(Key::new(&kinds[0], &members[0][0]));
        }
    }
    if !ledger.is_empty() {
        report.notes.push(format!(
            "ignored {} on the engineer_sim schema (engineer-sim's own ledger, not \
             part of the simulated database): {}",
            crate::plural::count(ledger.len(), "finding"),
            ledger.join("; ")
        ));
    }
    Ok(report)
}
