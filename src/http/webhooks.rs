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
use super::created::{Created, created};
use super::extract::{Json, Path};
use super::openapi::rules::{self, EventType};
use super::pagination::{Page, PageQuery, PageRequest};
use super::problem::{AuthProblems, Problem};
use crate::domain::records::EndpointStatus;
use crate::domain::records::WebhookEndpoint;
use crate::domain::{Operation, WebhookEndpointId};
use crate::error::Error;
use crate::service::webhooks::Registration;

/// The webhook endpoint routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register_webhook, list_webhooks))
        .routes(routes!(get_webhook, update_webhook, delete_webhook))
        .routes(routes!(recover_webhook))
}

/// An endpoint to send events to.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RegisterWebhook {
    #[schema(schema_with = rules::webhook_url)]
    url: String,
    #[schema(schema_with = rules::event_types)]
    events: Vec<String>,
    /// The signing secret, as the Standard Webhooks specification has it: `whsec_` followed by
    /// the base64 of 24 to 64 random bytes. Leave it out and the service generates one. Either
    /// way it is in the registration's answer and never shown again.
    #[schema(
        min_length = 38,
        max_length = 94,
        pattern = "^whsec_[A-Za-z0-9+/]+={0,2}$"
    )]
    secret: Option<String>,
}

/// A registered endpoint (its secret is never shown).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookView {
    id: Uuid,
    url: String,
    #[schema(value_type = Vec<EventType>)]
    events: Vec<String>,
    /// `disabled` after a delivery failed for the whole retry window (see `disabledReason`) or
    /// at the partner's request; its events still queue and are sent once it is enabled again.
    status: EndpointStatus,
    /// Why it is disabled.
    disabled_reason: Option<String>,
    /// Since when it is disabled.
    disabled_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
}

impl From<WebhookEndpoint> for WebhookView {
    fn from(row: WebhookEndpoint) -> Self {
        WebhookView {
            id: row.id.as_uuid(),
            url: row.url,
            events: row.events,
            status: row.status,
            disabled_reason: row.disabled_reason,
            disabled_at: row.disabled_at,
            created_at: row.created_at,
        }
    }
}

/// A newly registered endpoint, with its secret: the only time it is shown.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegisteredWebhook {
    #[serde(flatten)]
    webhook: WebhookView,
    /// `whsec_…`: the key of each delivery's `webhook-signature`. Keep it; it is never shown again.
    secret: String,
}

/// Registers an endpoint: from now on every change of the partner's subscriptions of the listed
/// types is POSTed to it, at least once, in order per subscription, signed as the Standard
/// Webhooks specification says (`webhook-id`: the event id, the same on every retry;
/// `webhook-timestamp`; `webhook-signature: v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`),
/// and retried with backoff until it answers 2xx or has failed for the retry window (3 days by
/// default); then the endpoint is disabled.
#[utoipa::path(
    post, path = "/v1/webhooks", tag = "webhooks", request_body = RegisterWebhook,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Registered; the answer carries the secret, shown this once", body = RegisteredWebhook, headers(("Location" = String))),
        (status = 400, description = "Invalid URL, event list or secret, or a URL whose host is not a public internet address", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The partner already has as many endpoints as it may (`webhook_endpoint_limit_reached`)", body = Problem, content_type = "application/problem+json"),
        AuthProblems,
    )
)]
async fn register_webhook(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<RegisterWebhook>,
) -> Result<Created<RegisteredWebhook>, Error> {
    caller.require(Operation::ManageWebhooks)?;
    let registration = Registration {
        url: body.url,
        events: body.events,
        secret: body.secret,
    };
    let actor = caller.into_actor();
    let registered = state.app().register_webhook(&actor, &registration).await?;
    let location = format!("/v1/webhooks/{}", registered.endpoint.id);
    let answer = RegisteredWebhook {
        webhook: registered.endpoint.into(),
        secret: registered.secret,
    };
    Ok(created(location, answer))
}

/// The partner's endpoints, oldest first, a page at a time like every list.
#[utoipa::path(
    get, path = "/v1/webhooks", tag = "webhooks",
    params(PageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of the partner's endpoints", body = Page<WebhookView>),
        (status = 400, description = "Bad limit or token", body = Problem, content_type = "application/problem+json"),
        AuthProblems,
    )
)]
async fn list_webhooks(
    State(state): State<AppState>,
    caller: Caller,
    page: PageRequest,
) -> Result<Json<Page<WebhookView>>, Error> {
    caller.require(Operation::ManageWebhooks)?;
    let actor = caller.into_actor();
    page.keyset(
        async |after, limit| state.app().webhooks(&actor, after, limit).await,
        |row| row.id.as_uuid(),
        Into::into,
    )
    .await
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
    Path(id): Path<WebhookEndpointId>,
) -> Result<Json<WebhookView>, Error> {
    caller.require(Operation::ManageWebhooks)?;
    let row = state.app().webhook(&caller.into_actor(), id).await?;
    Ok(Json(row.into()))
}

/// What to change on an endpoint.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateWebhook {
    /// `enabled` sends it its events again, starting with those queued while it was disabled
    /// (with a new retry window); `disabled` stops sending until it is enabled.
    status: EndpointStatus,
}

/// Enables or disables an endpoint. To have given-up deliveries sent again too, and still in
/// order per subscription, recover them (`POST /v1/webhooks/{webhookId}/recover`) before enabling.
#[utoipa::path(
    patch, path = "/v1/webhooks/{webhookId}", tag = "webhooks", request_body = UpdateWebhook,
    params(("webhookId" = Uuid, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The endpoint as it is now", body = WebhookView),
        (status = 400, description = "Malformed id or body", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such endpoint of yours", body = Problem, content_type = "application/problem+json"),
        AuthProblems,
    )
)]
async fn update_webhook(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<WebhookEndpointId>,
    Json(body): Json<UpdateWebhook>,
) -> Result<Json<WebhookView>, Error> {
    caller.require(Operation::ManageWebhooks)?;
    let enabled = body.status == EndpointStatus::Enabled;
    let row = state
        .app()
        .set_webhook_enabled(&caller.into_actor(), id, enabled)
        .await?;
    Ok(Json(row.into()))
}

/// How many given-up deliveries were queued again.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RecoveredDeliveries {
    requeued: i64,
}

/// Queues the endpoint's given-up deliveries again (those not yet removed by retention, 30 days
/// by default), each with a new retry window: they are sent, in order per subscription, once the
/// endpoint is enabled. Recovering twice requeues nothing more.
#[utoipa::path(
    post, path = "/v1/webhooks/{webhookId}/recover", tag = "webhooks",
    params(("webhookId" = Uuid, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "How many deliveries were queued again", body = RecoveredDeliveries),
        (status = 400, description = "Malformed id", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such endpoint of yours", body = Problem, content_type = "application/problem+json"),
        AuthProblems,
    )
)]
async fn recover_webhook(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<WebhookEndpointId>,
) -> Result<Json<RecoveredDeliveries>, Error> {
    caller.require(Operation::ManageWebhooks)?;
    let requeued = state
        .app()
        .recover_webhook(&caller.into_actor(), id)
        .await?;
    Ok(Json(RecoveredDeliveries { requeued }))
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
    Path(id): Path<WebhookEndpointId>,
) -> Result<StatusCode, Error> {
    caller.require(Operation::ManageWebhooks)?;
    state.app().delete_webhook(&caller.into_actor(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}
