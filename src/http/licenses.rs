//! License assignments: a subscription's seats given to the customer's users.

use axum::extract::State;
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
use super::openapi::rules;
use super::pagination::{Page, PageQuery, PageRequest};
use super::problem::{AuthProblems, NotYours, Problem};
use crate::domain::records::LicenseAssignment;
use crate::domain::{CustomerId, Operation, SubscriptionId};
use crate::error::Error;

/// The license assignment routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(assign_license, list_assignments))
}

/// A license to assign.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateAssignment {
    user_id: Uuid,
    #[serde(default)]
    #[schema(schema_with = rules::disabled_services)]
    disabled_services: Vec<String>,
}

/// A user's license from the subscription.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AssignmentView {
    subscription_id: Uuid,
    user_id: Uuid,
    display_name: String,
    email: String,
    disabled_services: Vec<String>,
    assigned_at: DateTime<Utc>,
}

impl From<LicenseAssignment> for AssignmentView {
    fn from(row: LicenseAssignment) -> Self {
        AssignmentView {
            subscription_id: row.subscription_id.into(),
            user_id: row.user_id.as_uuid(),
            display_name: row.display_name,
            email: row.email,
            disabled_services: row.disabled_services,
            assigned_at: row.assigned_at,
        }
    }
}

/// Assigns a license from the subscription to a user of the customer.
#[utoipa::path(
    post, path = "/v1/customers/{customerId}/subscriptions/{subscriptionId}/license-assignments", tag = "subscriptions",
    params(("customerId" = Uuid, Path), ("subscriptionId" = Uuid, Path)), request_body = CreateAssignment,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Assigned", body = AssignmentView, headers(("Location" = String))),
        (status = 400, description = "Invalid input", body = Problem, content_type = "application/problem+json"),
        AuthProblems,
        NotYours,
        (status = 409, description = "Already assigned, no seat left, or subscription not active", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No such user in the customer", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn assign_license(
    State(state): State<AppState>,
    caller: Caller,
    Path((customer_id, subscription_id)): Path<(CustomerId, SubscriptionId)>,
    Json(body): Json<CreateAssignment>,
) -> Result<Created<AssignmentView>, Error> {
    caller.require(Operation::AssignLicenses)?;
    let subscription = (customer_id, subscription_id);
    let row = state
        .app()
        .assign_license(
            &caller.into_actor(),
            subscription,
            body.user_id.into(),
            body.disabled_services,
        )
        .await?;
    let location = format!(
        "/v1/customers/{customer_id}/subscriptions/{subscription_id}/license-assignments/{}",
        row.user_id
    );
    Ok(created(location, row.into()))
}

/// The licenses assigned from the subscription.
#[utoipa::path(
    get, path = "/v1/customers/{customerId}/subscriptions/{subscriptionId}/license-assignments", tag = "subscriptions",
    params(("customerId" = Uuid, Path), ("subscriptionId" = Uuid, Path), PageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of assignments", body = Page<AssignmentView>),
        (status = 400, description = "Bad id, limit or token", body = Problem, content_type = "application/problem+json"),
        AuthProblems,
        NotYours,
    )
)]
async fn list_assignments(
    State(state): State<AppState>,
    caller: Caller,
    Path((customer_id, subscription_id)): Path<(CustomerId, SubscriptionId)>,
    page: PageRequest,
) -> Result<Json<Page<AssignmentView>>, Error> {
    caller.require(Operation::ReadCustomers)?;
    let (actor, subscription) = (caller.into_actor(), (customer_id, subscription_id));
    page.keyset(
        async |after, limit| {
            state
                .app()
                .licenses(&actor, subscription, after, limit)
                .await
        },
        |row| row.user_id.as_uuid(),
        Into::into,
    )
    .await
}
