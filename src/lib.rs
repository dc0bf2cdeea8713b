//! Subscription upgrade service for Microsoft CSP partners.
//!
//! Layers, from the outside in: [`http`] (routes, extractors, problem+json, OpenAPI) calls the
//! service code, which reads and writes through [`db`] and decides with the pure rules in
//! [`domain`]. Nothing below `http` knows about HTTP.

pub mod auth;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod http;
pub mod service;
pub mod startup;
pub mod telemetry;
