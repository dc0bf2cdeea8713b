//! Integration tests: the real service on a random port, over HTTP, against its own freshly
//! created Postgres database.

mod add_ons;
mod auth;
mod catalog;
mod clients;
mod connections;
mod customers;
mod dates;
mod demo;
mod docs;
mod errors;
mod headers;
mod helpers;
mod injection;
mod lifecycle;
mod logs;
mod matrix;
mod operations;
mod outage;
mod partial;
mod periods;
mod rate_limit;
mod recommendations;
mod renewals;
mod roles;
mod scheduled;
mod schemathesis;
mod shutdown;
mod startup;
mod subscriptions;
mod sweep;
mod tenancy;
mod two_instances;
mod upgrades;
mod webhooks;
