//! The answers' shapes, in one place (as crates.io keeps its views): what a request is answered
//! with, and what a job item records as its single request's answer, are the same types, built
//! and serialised by the same functions here. The HTTP layer sends them; the job worker stores
//! them.

pub mod date;
pub mod jobs;
pub mod migrations;
pub mod problem;
pub mod scheduled;
pub mod upgrades;

pub use problem::Problem;
