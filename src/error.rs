//! Errors shown to users, each with a documented exit code.
//!
//! Exit codes (also in README "Commands", under the table):
//! - 0: success
//! - 1: a check of the database disagreed (e.g. `verify` found differences, `score` fell below
//!   `--fail-under`) or an unexpected error
//! - 2: bad input: a roadmap, persona or template file, or a command-line argument, is wrong
//! - 3: environment: no database reachable, no PostgreSQL server installed, target not a simulation
//! - 4: a change failed to apply and was rolled back

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Mismatch = 1,
    BadInput = 2,
    Environment = 3,
    ApplyFailed = 4,
}

/// An error meant for the person at the terminal: what went wrong and what to do about it.
#[derive(Debug)]
pub struct UserError {
    pub exit: Exit,
    pub message: String,
    pub hint: Option<String>,
}

impl fmt::Display for UserError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for UserError {}

impl UserError {
    pub fn new(exit: Exit, message: impl Into<String>) -> Self {
        UserError {
            exit,
            message: message.into(),
            hint: None,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

pub fn bad_input(message: impl Into<String>) -> UserError {
    UserError::new(Exit::BadInput, message)
}

pub fn environment(message: impl Into<String>) -> UserError {
    UserError::new(Exit::Environment, message)
}

/// The exit code for an error chain: the first `UserError` in it decides; a lost connection or a
/// lock that did not come is the environment (3); anything else is 1.
pub fn exit_code_of(err: &anyhow::Error) -> i32 {
    err.chain()
        .find_map(|cause| cause.downcast_ref::<UserError>())
        .map(|user| user.exit as i32)
        .or_else(|| trouble_of(err).map(|_| Exit::Environment as i32))
        .unwrap_or(Exit::Mismatch as i32)
}

/// Trouble with the database server rather than with the input or the tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trouble {
    /// The connection broke or the server is shutting down or gone.
    Gone,
    /// A lock held by another session did not come within the bounded wait.
    Busy,
}

/// Whether an error chain is the server's trouble, from its sqlx error.
pub fn trouble_of(err: &anyhow::Error) -> Option<Trouble> {
    err.chain()
        .find_map(|cause| cause.downcast_ref::<sqlx::Error>())
        .and_then(sqlx_trouble)
}

pub fn sqlx_trouble(err: &sqlx::Error) -> Option<Trouble> {
    match err {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => Some(Trouble::Gone),
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            if code == "55P03" {
                Some(Trouble::Busy)
            } else if code.starts_with("08") || code.starts_with("57P") || code == "53300" {
                Some(Trouble::Gone)
            } else {
                None
            }
        }
        _ => None,
    }
}
