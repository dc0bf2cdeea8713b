//! Integration tests: the real service on a random port, over HTTP, against its own freshly
//! created Postgres database.

mod catalog;
mod errors;
mod helpers;
mod operations;
mod startup;
