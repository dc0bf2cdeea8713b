//! Liveness and readiness probes.

use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use super::AppState;
use super::extract::Json;
use super::problem::Problem;
use crate::domain::ErrorCode;

/// A probe's answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok` (alive) or `ready` (database reachable).
    status: &'static str,
}

/// The process is alive; says nothing about the database.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "operations",
    responses((status = 200, description = "Alive", body = Health))
)]
pub async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// The database answers and bearer tokens can be checked (an identity provider's signing keys
/// are loaded): this instance can serve requests.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    responses(
        (status = 200, description = "Ready", body = Health),
        (status = 503, description = "Database unreachable, or the identity provider's keys not loaded yet", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn readyz(State(state): State<AppState>) -> Result<Json<Health>, Problem> {
    match state.app().database_ready().await {
        Ok(()) if !state.verifier.is_ready() => Err(Problem::new(
            ErrorCode::NotReady,
            "The identity provider's signing keys are not loaded yet; no token can be checked.",
        )
        .with_retry_after(2)),
        Ok(()) => Ok(Json(Health { status: "ready" })),
        Err(error) => {
            tracing::warn!(%error, "readiness check failed");
            Err(Problem::new(
                ErrorCode::NotReady,
                "The database is unreachable; this instance cannot serve requests.",
            )
            .with_retry_after(2))
        }
    }
}
