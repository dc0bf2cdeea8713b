//! Delegated admin relationships (GDAP-like) between the caller's partner and a customer.

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
use super::extract::{DateField, Json, Path};
use super::openapi::rules;
use super::pagination::{Page, PageQuery, PageRequest};
use super::problem::{AuthProblems, NotYours, Problem};
use crate::domain::records::DelegatedAdminRelationship;
use crate::domain::records::RelationshipStatus;
use crate::domain::{CustomerId, Operation};
use crate::error::Error;
use crate::service::customers::RelationshipRequest;

/// The delegated admin relationship routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create_relationship, list_relationships))
}

/// A new delegated admin relationship of the caller's partner with the customer.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateRelationship {
    status: RelationshipStatus,
    /// RFC 3339, from 1970-01-01T00:00:00Z through 2999-12-31T23:59:59Z (other offsets than `Z`
    /// are converted to UTC); anything else is 400 `invalid_timestamp`.
    #[schema(value_type = String, format = DateTime)]
    starts_at: DateField,
    /// After `startsAt`; RFC 3339, from 1970-01-01T00:00:00Z through 2999-12-31T23:59:59Z.
    #[schema(value_type = String, format = DateTime)]
    ends_at: DateField,
    #[schema(schema_with = rules::granted_services)]
    services: Vec<String>,
}

/// A delegated admin relationship (GDAP-like).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RelationshipView {
    id: Uuid,
    customer_id: Uuid,
    partner_id: Uuid,
    /// As recorded.
    #[schema(value_type = RelationshipStatus)]
    status: String,
    /// Whether it grants rights now: recorded `active` and now within `[startsAt, endsAt)`.
    effective: bool,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    /// Granted service codes, or `["*"]` for all.
    services: Vec<String>,
    created_at: DateTime<Utc>,
}

impl From<DelegatedAdminRelationship> for RelationshipView {
    fn from(row: DelegatedAdminRelationship) -> Self {
        let now = Utc::now();
        RelationshipView {
            id: row.id,
            customer_id: row.customer_id.into(),
            partner_id: row.partner_id.into(),
            effective: row.status == RelationshipStatus::Active
                && row.starts_at <= now
                && now < row.ends_at,
            status: row.status.as_str().to_owned(),
            starts_at: row.starts_at,
            ends_at: row.ends_at,
            services: if row.all_services {
                vec!["*".to_owned()]
            } else {
                row.services
            },
            created_at: row.created_at,
        }
    }
}

/// Records a delegated admin relationship between the caller's partner and the customer.
#[utoipa::path(
    post, path = "/v1/customers/{customerId}/delegated-admin-relationships", tag = "customers",
    params(("customerId" = Uuid, Path)), request_body = CreateRelationship,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = RelationshipView, headers(("Location" = String))),
        (status = 400, description = "Invalid input", body = Problem, content_type = "application/problem+json"),
        AuthProblems,
        NotYours,
    )
)]
async fn create_relationship(
    State(state): State<AppState>,
    caller: Caller,
    Path(customer_id): Path<CustomerId>,
    Json(body): Json<CreateRelationship>,
) -> Result<Created<RelationshipView>, Error> {
    caller.require(Operation::ManageDelegatedAdmin)?;
    let request = RelationshipRequest {
        status: body.status,
        starts_at: body.starts_at.timestamp("startsAt")?,
        ends_at: body.ends_at.timestamp("endsAt")?,
        services: body.services,
    };
    let row = state
        .app()
        .create_relationship(&caller.into_actor(), customer_id, request)
        .await?;
    let location = format!(
        "/v1/customers/{customer_id}/delegated-admin-relationships/{}",
        row.id
    );
    Ok(created(location, row.into()))
}

/// The caller's delegated admin relationships with the customer (never another partner's).
#[utoipa::path(
    get, path = "/v1/customers/{customerId}/delegated-admin-relationships", tag = "customers",
    params(("customerId" = Uuid, Path), PageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of relationships", body = Page<RelationshipView>),
        (status = 400, description = "Bad id, limit or token", body = Problem, content_type = "application/problem+json"),
        AuthProblems,
        NotYours,
    )
)]
async fn list_relationships(
    State(state): State<AppState>,
    caller: Caller,
    Path(customer_id): Path<CustomerId>,
    page: PageRequest,
) -> Result<Json<Page<RelationshipView>>, Error> {
    caller.require(Operation::ReadCustomers)?;
    let actor = caller.into_actor();
    page.keyset(
        async |after, limit| {
            state
                .app()
                .relationships(&actor, customer_id, after, limit)
                .await
        },
        |row| row.id,
        Into::into,
    )
    .await
}
