//! Webhook endpoints: a partner registers where its events go.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::AppState;
use super::caller::Caller;
use super::customers::{Created, created};
use super::extract::{Json, Path};
use super::pagination::Page;
use super::problem::{AuthProblems, Problem};
use crate::db;
use crate::db::webhooks::EndpointRow;
use crate::domain::ErrorCode;
use crate::domain::Operation;
use crate::error::Error;
use crate::service::webhooks::{self, Registration};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register_webhook, list_webhooks))
        .routes(routes!(get_webhook, delete_webhook))
}

/// An endpoint to send events to.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RegisterWebhook {
    /// `https://` (or `http://`) URL that receives each event as a JSON POST.
    #[schema(min_length = 8, max_length = 2048)]
    url: String,
    /// Event types to send (`subscription.created`, `subscription.upgraded`,
    /// `subscription.quantity_changed`, `subscription.status_changed`, `add_on.purchased`,
    /// `add_on.quantity_changed`, `add_on.cancelled`), or `["*"]` for all.
    events: Vec<String>,
    /// 16–256 visible ASCII characters: the key of each delivery's `Webhook-Signature`
    /// (`t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`). Never shown again.
    #[schema(min_length = 16, max_length = 256)]
    secret: String,
}

/// A registered endpoint (its secret is never shown).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookView {
    id: Uuid,
    url: String,
    events: Vec<String>,
    created_at: DateTime<Utc>,
}

impl From<EndpointRow> for WebhookView {
    fn from(row: EndpointRow) -> Self {
        WebhookView {
            id: row.id,
            url: row.url,
            events: row.events,
            created_at: row.created_at,
        }
    }
}

/// Registers an endpoint: from now on every change of the partner's subscriptions of the listed
/// types is POSTed to it, signed, at least once, in order per subscription, retried with backoff
/// until it answers 2xx. Each delivery carries `Webhook-Id` (the event id, for de-duplication).
#[utoipa::path(
    post, path = "/v1/webhooks", tag = "webhooks", request_body = RegisterWebhook,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Registered", body = WebhookView, headers(("Location" = String))),
        (status = 400, description = "Invalid URL, event list or secret", body = Problem, content_type = "application/problem+json"),
        AuthProblems,
    )
)]
async fn register_webhook(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<RegisterWebhook>,
) -> Result<Created<WebhookView>, Error> {
    caller.require(Operation::ManageWebhooks)?;
    let registration = Registration {
        url: body.url,
        events: body.events,
        secret: body.secret,
    };
    let row = webhooks::register(&state.pool, caller.partner_id, &registration).await?;
    Ok(created(format!("/v1/webhooks/{}", row.id), row.into()))
}

/// The partner's endpoints, oldest first (one page: a partner has few).
#[utoipa::path(
    get, path = "/v1/webhooks", tag = "webhooks",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Every endpoint of the partner", body = Page<WebhookView>),
        AuthProblems,
    )
)]
async fn list_webhooks(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Page<WebhookView>>, Error> {
    caller.require(Operation::ManageWebhooks)?;
    let rows = db::webhooks::list_endpoints(&state.pool, caller.partner_id).await?;
    Ok(Json(Page {
        items: rows.into_iter().map(Into::into).collect(),
        continuation_token: None,
    }))
}

/// One endpoint of the partner.
#[utoipa::path(
    get, path = "/v1/webhooks/{webhookId}", tag = "webhooks",
    params(("webhookId" = Uuid, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The endpoint", body = WebhookView),
        (status = 400, description = "Malformed id", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such endpoint of yours", body = Problem, content_type = "application/problem+json"),
        AuthProblems,
    )
)]
async fn get_webhook(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> Result<Json<WebhookView>, Error> {
    caller.require(Operation::ManageWebhooks)?;
    db::webhooks::find_endpoint(&state.pool, caller.partner_id, id)
        .await?
        .map(|row| Json(row.into()))
        .ok_or_else(not_found)
}

/// Removes an endpoint; its undelivered events are dropped with it.
#[utoipa::path(
    delete, path = "/v1/webhooks/{webhookId}", tag = "webhooks",
    params(("webhookId" = Uuid, Path)),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Removed"),
        (status = 400, description = "Malformed id", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such endpoint of yours", body = Problem, content_type = "application/problem+json"),
        AuthProblems,
    )
)]
async fn delete_webhook(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, Error> {
    caller.require(Operation::ManageWebhooks)?;
    if db::webhooks::delete_endpoint(&state.pool, caller.partner_id, id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(not_found())
    }
}

fn not_found() -> Error {
    Error::new(
        ErrorCode::WebhookNotFound,
        "No such webhook endpoint of yours.",
    )
}
