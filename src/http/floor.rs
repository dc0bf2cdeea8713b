//! The load benchmark's floor (built only with the `bench-floor` feature, never documented or
//! shipped): the whole middleware stack and token check, then one indexed query and no rules, so
//! each benchmark result can be read as a ratio to one Postgres round trip through axum; and the
//! write floor: the same stack, then one transaction that locks one row, updates it, inserts one
//! history row and commits, for the writes' ratios.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde_json::{Value, json};

use super::AppState;
use super::caller::Caller;
use super::extract::{Json, Path};
use crate::domain::{CustomerId, Operation, SubscriptionId};
use crate::error::Error;

/// `GET /bench/floor/{customerId}/{subscriptionId}` (read) and `POST` (write).
pub fn routes() -> Router<AppState> {
    Router::new().route(
        "/bench/floor/{customer_id}/{subscription_id}",
        get(floor).post(write_floor),
    )
}

async fn write_floor(
    State(state): State<AppState>,
    caller: Caller,
    Path((customer_id, subscription_id)): Path<(CustomerId, SubscriptionId)>,
) -> Result<Json<Value>, Error> {
    caller.require(Operation::ChangeSubscription)?;
    let quantity = state
        .app()
        .floor_write(customer_id, subscription_id)
        .await?;
    Ok(Json(json!({ "quantity": quantity })))
}

async fn floor(
    State(state): State<AppState>,
    caller: Caller,
    Path((customer_id, subscription_id)): Path<(CustomerId, SubscriptionId)>,
) -> Result<Json<Value>, Error> {
    caller.require(Operation::ReadCustomers)?;
    let quantity = state
        .app()
        .floor_quantity(customer_id, subscription_id)
        .await?;
    Ok(Json(json!({ "quantity": quantity })))
}
