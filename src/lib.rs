//! engineer-sim: three simulated engineers evolve a roadmap's schema on PostgreSQL, slip the way
//! people do, and journal every defect as ground truth for database health tools.
//!
//! The pipeline, one module per step (README "How it works"; ARCHITECTURE.md has the layers):
//! [`roadmap`] + [`persona`] -> [`calendar`] -> [`render`] (slip points from [`mistakes`]) ->
//! [`apply`] (with [`ledger`] rows and events, [`audit`] before/after) -> [`journal`] (the files,
//! views of the ledger). [`sim`] drives it under the run's [`identity`]; [`cli`] and [`commands`]
//! are the user's entry points.

pub mod apply;
pub mod audit;
pub mod build;
pub mod calendar;
pub mod check;
pub mod cli;
pub mod commands;
pub mod data;
pub mod drift;
pub mod error;
pub mod identity;
pub mod init_guard;
pub mod journal;
pub mod ledger;
pub mod lock;
pub mod migrations;
pub mod mistakes;
pub mod persona;
pub mod pg;
pub mod plural;
pub mod problem;
pub mod render;
pub mod roadmap;
pub mod schedule;
pub mod score;
pub mod session;
pub mod settings;
pub mod sim;
pub mod state;
pub mod table;
pub mod verify;
pub mod words;
