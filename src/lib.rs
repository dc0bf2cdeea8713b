//! Subscription upgrade service for Microsoft CSP partners.
//!
//! Layers, from the outside in: [`http`] (connections, routes, extractors, problem+json, OpenAPI)
//! calls [`service`], which reads and writes through [`db`] and decides with the pure rules and
//! types of [`domain`]; [`telemetry`] serves every layer. Nothing below `http` imports it; the one
//! HTTP artefact below it is the answer an idempotent write stores, which `http` makes.

pub mod auth;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod http;
pub mod service;
pub mod startup;
pub mod telemetry;
