//! Customers: onboarding one, listing and reading them.

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
use super::openapi::rules::{self, MarketCode};
use super::pagination::{Page, PageQuery, PageRequest};
use super::problem::{AuthProblems, NotYours, Problem};
use crate::domain::records::Customer;
use crate::domain::{CustomerId, Operation};
use crate::error::Error;

/// The customer routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_customer, list_customers))
        .routes(routes!(get_customer))
}

/// A customer of the calling partner.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CustomerView {
    id: Uuid,
    name: String,
    #[schema(value_type = MarketCode)]
    market: String,
    created_at: DateTime<Utc>,
}

impl From<Customer> for CustomerView {
    fn from(row: Customer) -> Self {
        CustomerView {
            id: row.id.into(),
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
    #[schema(schema_with = rules::customer_name)]
    name: String,
    #[schema(value_type = MarketCode)]
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
    let row = state
        .app()
        .create_customer(&caller.into_actor(), &body.name, &body.market)
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
    page: PageRequest,
) -> Result<Json<Page<CustomerView>>, Error> {
    caller.require(Operation::ReadCustomers)?;
    let actor = caller.into_actor();
    page.keyset(
        async |after, limit| state.app().customers(&actor, after, limit).await,
        |row| row.id.as_uuid(),
        Into::into,
    )
    .await
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
    Path(customer_id): Path<CustomerId>,
) -> Result<Json<CustomerView>, Error> {
    caller.require(Operation::ReadCustomers)?;
    let row = state
        .app()
        .customer(&caller.into_actor(), customer_id)
        .await?;
    Ok(Json(row.into()))
}
