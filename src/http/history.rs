//! A subscription's history: every change made to it, by whom and in which request.

use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::AppState;
use super::caller::Caller;
use super::extract::{Json, Path};
use super::pagination::{Page, PageQuery, PageRequest};
use super::problem::{AuthProblems, NotYours, Problem};
use crate::domain::records::{ChangeKind, HistoryEntry};
use crate::domain::{CustomerId, Operation, SubscriptionId};
use crate::error::Error;

/// The history route.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_history))
}

/// One recorded change to a subscription.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntryView {
    id: Uuid,
    subscription_id: Uuid,
    change_kind: ChangeKind,
    /// The state before the change (absent for `created` and `add_on_purchase`).
    #[schema(value_type = Option<Object>)]
    before: Option<serde_json::Value>,
    /// The state after it, with what the change did (billing, released licenses, …).
    #[schema(value_type = Option<Object>)]
    after: Option<serde_json::Value>,
    /// The caller's user id: the token's `oid` (Entra ID's object id) when present, else its
    /// `sub`.
    actor_user_id: String,
    actor_roles: Vec<String>,
    /// The request's `X-Request-Id`, to find its log lines.
    request_id: String,
    occurred_at: DateTime<Utc>,
}

impl From<HistoryEntry> for HistoryEntryView {
    fn from(row: HistoryEntry) -> Self {
        HistoryEntryView {
            id: row.id,
            subscription_id: row.subscription_id.into(),
            change_kind: row.change_kind,
            before: row.before_state,
            after: row.after_state,
            actor_user_id: row.actor_user_id,
            actor_roles: row.actor_roles,
            request_id: row.request_id,
            occurred_at: row.occurred_at,
        }
    }
}

/// Every change made to the subscription, oldest first: its purchase, seat and status changes,
/// add-ons and upgrade, with who made each and in which request.
#[utoipa::path(
    get, path = "/v1/customers/{customerId}/subscriptions/{subscriptionId}/history", tag = "subscriptions",
    params(("customerId" = Uuid, Path), ("subscriptionId" = Uuid, Path), PageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of changes", body = Page<HistoryEntryView>),
        (status = 400, description = "Bad id, limit or token", body = Problem, content_type = "application/problem+json"),
        AuthProblems,
        NotYours,
    )
)]
async fn list_history(
    State(state): State<AppState>,
    caller: Caller,
    Path((customer_id, subscription_id)): Path<(CustomerId, SubscriptionId)>,
    page: PageRequest,
) -> Result<Json<Page<HistoryEntryView>>, Error> {
    caller.require(Operation::ReadCustomers)?;
    let (actor, subscription) = (caller.into_actor(), subscription_id);
    page.keyset(
        async |after, limit| {
            state
                .app()
                .subscription_history(&actor, customer_id, subscription, after, limit)
                .await
        },
        |row| row.id,
        Into::into,
    )
    .await
}
