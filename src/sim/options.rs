//! The knobs that apply to every change of a run.

use crate::mistakes::CodeSet;

#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Scales every persona's error rate (`--error-rate` / `ENGINEER_ERROR_RATE`).
    pub rate_scale: f64,
    pub codes: CodeSet,
    pub on_error: OnError,
    /// The database has data: the slip points that need data are offered.
    pub data: bool,
    /// Audit the whole database after each change (`--full-audit`), not only the relations it
    /// touched (README "Performance").
    pub full_audit: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            rate_scale: 1.0,
            codes: CodeSet::Roadmap,
            on_error: OnError::Stop,
            data: false,
            full_audit: false,
        }
    }
}

/// What a run does when a change fails: stop there, or journal it and go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum OnError {
    #[default]
    Stop,
    Skip,
}
