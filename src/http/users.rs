//! The user accounts of a customer's directory.

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
use crate::domain::records::User;
use crate::domain::{CustomerId, Operation};
use crate::error::Error;

/// The user routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create_user, list_users))
}

/// A new user account.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateUser {
    #[schema(schema_with = rules::display_name)]
    display_name: String,
    #[schema(schema_with = rules::email)]
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

impl From<User> for UserView {
    fn from(row: User) -> Self {
        UserView {
            id: row.id.as_uuid(),
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
    Path(customer_id): Path<CustomerId>,
    Json(body): Json<CreateUser>,
) -> Result<Created<UserView>, Error> {
    caller.require(Operation::ManageUsers)?;
    let row = state
        .app()
        .create_user(
            &caller.into_actor(),
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
    Path(customer_id): Path<CustomerId>,
    page: PageRequest,
) -> Result<Json<Page<UserView>>, Error> {
    caller.require(Operation::ReadCustomers)?;
    let actor = caller.into_actor();
    page.keyset(
        async |after, limit| state.app().users(&actor, customer_id, after, limit).await,
        |row| row.id.as_uuid(),
        Into::into,
    )
    .await
}
