//! One problem in the data files (roadmap, personas, templates, data files): where it is and what
//! to do. `check` gathers them (README "Operating it": bad input).

use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: PathBuf,
    pub line: usize,
    pub message: String,
    pub hint: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}: {}\n  hint: {}",
            self.file.display(),
            self.line,
            self.message,
            self.hint
        )
    }
}
