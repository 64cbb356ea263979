//! The simulation (README "How it works"): the project it runs on, `init`, and applying the
//! roadmap's due changes in order with the living database's work between them; `check`'s
//! database half applies every slip point the same way.

pub mod check;
mod living;
mod options;
mod progress;
mod project;
mod run;

pub use living::{data_written, DataRun, LiveApp};
pub use options::{OnError, Options};
pub use progress::{Control, Happened, Progress};
pub use project::{Assigned, Project};
pub use run::{
    apply_change, apply_due, due_by_sim_day, due_until_week, init, prepare, InitResult, Prepared,
    Run,
};
