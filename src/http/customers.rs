//! Customers, their delegated admin relationships and their users.

use axum::extract::State;
use axum::http::{StatusCode, header};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::AppState;
use super::caller::Caller;
use super::extract::{DateField, Json, Path, Query};
use super::pagination::{Page, PageQuery};
use super::problem::{AuthProblems, NotYours, Problem};
use crate::db::customers::CustomerRow;
use crate::db::relationships::RelationshipRow;
use crate::db::users::UserRow;
use crate::domain::Operation;
use crate::domain::records::RelationshipStatus;
use crate::error::Error;
use crate::service::{self, customers::RelationshipRequest};

/// The customer routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_customer, list_customers))
        .routes(routes!(get_customer))
        .routes(routes!(create_relationship, list_relationships))
        .routes(routes!(create_user, list_users))
}

/// A created resource: 201, its `Location`, and its representation.
pub type Created<T> = (StatusCode, [(header::HeaderName, String); 1], Json<T>);

/// 201 Created with a Location header.
pub fn created<T>(location: String, body: T) -> Created<T> {
    (
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(body),
    )
}

/// A customer of the calling partner.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CustomerView {
    id: Uuid,
    name: String,
    /// Market code (`US`, `IT`, `IN`).
    market: String,
    created_at: DateTime<Utc>,
}

impl From<CustomerRow> for CustomerView {
    fn from(row: CustomerRow) -> Self {
        CustomerView {
            id: row.id,
            name: row.name,
            market: row.market_code,
            created_at: row.created_at,
        }
    }
}

/// A new customer.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateCustomer {
    /// 1–200 characters.
    #[schema(min_length = 1, max_length = 200)]
    name: String,
    /// Market code (`US`, `IT`, `IN`).
    market: String,
}

/// Onboards a customer: creates it and the caller's reseller relationship with it.
#[utoipa::path(
    post, path = "/v1/customers", tag = "customers", request_body = CreateCustomer,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = CustomerView, headers(("Location" = String))),
        (status = 400, description = "Invalid input", body = Problem, content_type = "application/problem+json"),
        AuthProblems,
    )
)]
async fn create_customer(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<CreateCustomer>,
) -> Result<Created<CustomerView>, Error> {
    caller.require(Operation::CreateCustomer)?;
    let row = service::customers::create(
        &state.pool,
        &state.catalog(),
        caller.partner_id,
        &body.name,
        &body.market,
    )
    .await?;
    Ok(created(format!("/v1/customers/{}", row.id), row.into()))
}

/// The caller's customers, oldest first.
#[utoipa::path(
    get, path = "/v1/customers", tag = "customers", params(PageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of customers", body = Page<CustomerView>),
        (status = 400, description = "Bad limit or token", body = Problem, content_type = "application/problem+json"),
        AuthProblems,
    )
)]
async fn list_customers(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<PageQuery>,
) -> Result<Json<Page<CustomerView>>, Error> {
    caller.require(Operation::ReadCustomers)?;
    let page = query.parse()?;
    let rows = service::customers::list(
        &state.pool,
        caller.partner_id,
        page.after_uuid()?,
        page.fetch_limit(),
    )
    .await?;
    Ok(Json(
        page.keyset_page(rows, |r| r.id.to_string()).map(Into::into),
    ))
}

/// One customer.
#[utoipa::path(
    get, path = "/v1/customers/{customerId}", tag = "customers",
    params(("customerId" = Uuid, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The customer", body = CustomerView),
        (status = 400, description = "Malformed id", body = Problem, content_type = "application/problem+json"),
        AuthProblems,
        NotYours,
    )
)]
async fn get_customer(
    State(state): State<AppState>,
    caller: Caller,
    Path(customer_id): Path<Uuid>,
) -> Result<Json<CustomerView>, Error> {
    caller.require(Operation::ReadCustomers)?;
    let row = service::visible_customer(&state.pool, caller.partner_id, customer_id).await?;
    Ok(Json(row.into()))
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
    /// Service codes the relationship grants admin rights for, or `["*"]` for all.
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
    status: String,
    /// Whether it grants rights now: recorded `active` and now within `[startsAt, endsAt)`.
    effective: bool,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    /// Granted service codes, or `["*"]` for all.
    services: Vec<String>,
    created_at: DateTime<Utc>,
}

impl From<RelationshipRow> for RelationshipView {
    fn from(row: RelationshipRow) -> Self {
        let now = Utc::now();
        RelationshipView {
            id: row.id,
            customer_id: row.customer_id,
            partner_id: row.partner_id,
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
    Path(customer_id): Path<Uuid>,
    Json(body): Json<CreateRelationship>,
) -> Result<Created<RelationshipView>, Error> {
    caller.require(Operation::ManageDelegatedAdmin)?;
    let request = RelationshipRequest {
        status: body.status,
        starts_at: body.starts_at.timestamp("startsAt")?,
        ends_at: body.ends_at.timestamp("endsAt")?,
        services: body.services,
    };
    let row = service::customers::create_relationship(
        &state.pool,
        &state.catalog(),
        caller.partner_id,
        customer_id,
        request,
    )
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
    Path(customer_id): Path<Uuid>,
    Query(query): Query<PageQuery>,
) -> Result<Json<Page<RelationshipView>>, Error> {
    caller.require(Operation::ReadCustomers)?;
    let page = query.parse()?;
    let rows = service::customers::list_relationships(
        &state.pool,
        caller.partner_id,
        customer_id,
        page.after_uuid()?,
        page.fetch_limit(),
    )
    .await?;
    Ok(Json(
        page.keyset_page(rows, |r| r.id.to_string()).map(Into::into),
    ))
}

/// A new user account.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateUser {
    /// 1–256 characters.
    #[schema(min_length = 1, max_length = 256)]
    display_name: String,
    /// Unique within the customer, case-insensitively.
    #[schema(min_length = 3, max_length = 320)]
    email: String,
}

/// A user account in the customer's directory.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserView {
    id: Uuid,
    display_name: String,
    email: String,
    created_at: DateTime<Utc>,
}

impl From<UserRow> for UserView {
    fn from(row: UserRow) -> Self {
        UserView {
            id: row.id,
            display_name: row.display_name,
            email: row.email,
            created_at: row.created_at,
        }
    }
}

/// Adds a user to the customer's directory.
#[utoipa::path(
    post, path = "/v1/customers/{customerId}/users", tag = "customers",
    params(("customerId" = Uuid, Path)), request_body = CreateUser,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = UserView, headers(("Location" = String))),
        (status = 400, description = "Invalid input", body = Problem, content_type = "application/problem+json"),
        AuthProblems,
        NotYours,
        (status = 409, description = "E-mail already used in this customer", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn create_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(customer_id): Path<Uuid>,
    Json(body): Json<CreateUser>,
) -> Result<Created<UserView>, Error> {
    caller.require(Operation::ManageUsers)?;
    let row = service::customers::create_user(
        &state.pool,
        caller.partner_id,
        customer_id,
        &body.display_name,
        &body.email,
    )
    .await?;
    Ok(created(
        format!("/v1/customers/{customer_id}/users/{}", row.id),
        row.into(),
    ))
}

/// The customer's users.
#[utoipa::path(
    get, path = "/v1/customers/{customerId}/users", tag = "customers",
    params(("customerId" = Uuid, Path), PageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of users", body = Page<UserView>),
        (status = 400, description = "Bad id, limit or token", body = Problem, content_type = "application/problem+json"),
        AuthProblems,
        NotYours,
    )
)]
async fn list_users(
    State(state): State<AppState>,
    caller: Caller,
    Path(customer_id): Path<Uuid>,
    Query(query): Query<PageQuery>,
) -> Result<Json<Page<UserView>>, Error> {
    caller.require(Operation::ReadCustomers)?;
    let page = query.parse()?;
    let rows = service::customers::list_users(
        &state.pool,
        caller.partner_id,
        customer_id,
        page.after_uuid()?,
        page.fetch_limit(),
    )
    .await?;
    Ok(Json(
        page.keyset_page(rows, |r| r.id.to_string()).map(Into::into),
    ))
}
