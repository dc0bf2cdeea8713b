//! A subscription's add-ons: buying, listing, reading, changing and cancelling them.

use axum::extract::State;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::AppState;
use super::caller::Caller;
use super::change::quantity_or_status;
use super::conditional::{self, IdempotencyHeader};
use super::extract::{Json, Path};
use super::openapi::rules::{AddOnOfferId, Quantity};
use super::pagination::{Page, PageQuery, PageRequest};
use super::problem::{AuthProblems, NotYours, Problem};
use crate::domain::add_on::{AddOnChange, AddOnStatus};
use crate::domain::billing::Billing;
use crate::domain::records::AddOn;
use crate::domain::{AddOnId, Catalog, CustomerId, Operation, SubscriptionId};
use crate::error::Error;
use crate::service::add_ons::{AddOnOutcome, ChangeRequest, PurchaseRequest};
use crate::service::idempotency::StoredAnswer;

/// The add-on routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(buy_add_on, list_add_ons))
        .routes(routes!(get_add_on, change_add_on))
}

/// An add-on to buy for the subscription.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BuyAddOn {
    /// An add-on offer that attaches to the subscription's offer, e.g. `teams-audio-conferencing`.
    #[schema(value_type = AddOnOfferId)]
    offer_id: String,
    /// Seats: 1 to the subscription's quantity.
    #[schema(value_type = Quantity)]
    quantity: i64,
}

/// A change to an add-on: exactly one of `quantity` or `status`.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChangeAddOn {
    /// New number of seats: 1 to the subscription's quantity.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Quantity>)]
    quantity: Option<i64>,
    /// `cancelled` cancels the add-on for good.
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<AddOnStatus>,
}

impl ChangeAddOn {
    fn change(&self) -> Result<AddOnChange, Error> {
        quantity_or_status(
            self.quantity,
            self.status,
            AddOnChange::Quantity,
            AddOnChange::Status,
        )
    }
}

/// An add-on of a subscription.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AddOnView {
    id: Uuid,
    subscription_id: Uuid,
    #[schema(value_type = AddOnOfferId)]
    offer_id: String,
    offer_name: String,
    quantity: i32,
    status: AddOnStatus,
    created_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cancelled_at: Option<DateTime<Utc>>,
}

impl AddOnView {
    /// The view of a stored add-on, named from the catalog.
    pub fn new(row: AddOn, catalog: &Catalog) -> Result<Self, Error> {
        let status = row.status;
        Ok(AddOnView {
            offer_name: catalog
                .offer(&row.offer_id)
                .map_or_else(|| row.offer_id.clone(), |o| o.name.clone()),
            id: row.id.as_uuid(),
            subscription_id: row.subscription_id.into(),
            offer_id: row.offer_id,
            quantity: row.quantity,
            status,
            created_at: row.created_at,
            cancelled_at: row.cancelled_at,
        })
    }
}

/// An add-on after a purchase or change, with what it does to the current period's bill.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AddOnChangeView {
    #[serde(flatten)]
    add_on: AddOnView,
    /// The prorated charge for added seats or credit for removed (or cancelled) ones, for the
    /// rest of the subscription's current period; absent when nothing changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    billing: Option<Billing>,
}

impl AddOnChangeView {
    /// The answer to a purchase (201, with the add-on's `Location`) or a change (200).
    fn answer(
        catalog: &Catalog,
        outcome: &AddOnOutcome,
        status: u16,
    ) -> Result<StoredAnswer, Error> {
        let view = AddOnChangeView {
            add_on: AddOnView::new(outcome.add_on.clone(), catalog)?,
            billing: outcome.billing.clone(),
        };
        let body = serde_json::to_vec(&view).map_err(Error::internal)?;
        let answer = StoredAnswer::new(status, body);
        Ok(if status == 201 {
            let add_on = &outcome.add_on;
            answer.with_location(format!(
                "/v1/customers/{}/subscriptions/{}/add-ons/{}",
                add_on.customer_id, add_on.subscription_id, add_on.id
            ))
        } else {
            answer
        })
    }
}

/// Buys an add-on for the subscription: only an add-on the catalog attaches to the
/// subscription's offer, sold in the customer's market, for an active subscription, with at most
/// the subscription's seats, and one active add-on per offer. An active add-on blocks upgrades
/// (`add_ons_present`) until it is cancelled.
#[utoipa::path(
    post, path = "/v1/customers/{customerId}/subscriptions/{subscriptionId}/add-ons", tag = "add-ons",
    params(
        ("customerId" = Uuid, Path), ("subscriptionId" = Uuid, Path),
        ("Idempotency-Key" = Option<String>, Header, description = "Retries with the same key and body get the first answer (24 hours)"),
    ),
    request_body = BuyAddOn,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Bought", body = AddOnChangeView, headers(("Location" = String), ("Idempotent-Replayed" = String))),
        (status = 400, description = "Unknown offer, invalid quantity or header", body = Problem, content_type = "application/problem+json"),
        AuthProblems,
        NotYours,
        (status = 409, description = "The subscription is not active, already has this add-on, or the same Idempotency-Key is in flight", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not an add-on, not sold in the market, not for this offer, more seats than the subscription, or the Idempotency-Key was used for another request", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn buy_add_on(
    State(state): State<AppState>,
    caller: Caller,
    Path((customer_id, subscription_id)): Path<(CustomerId, SubscriptionId)>,
    key: IdempotencyHeader,
    Json(body): Json<BuyAddOn>,
) -> Result<Response, Error> {
    caller.require(Operation::ChangeSubscription)?;
    let request = PurchaseRequest {
        customer_id,
        subscription_id,
        offer_id: body.offer_id.clone(),
        quantity: body.quantity,
    };
    let scope = key.scope(caller.partner_id, customer_id, &body)?;
    let catalog = state.catalog();
    let answered = state
        .app()
        .buy_add_on(&caller.into_actor(), &request, scope.as_ref(), |outcome| {
            AddOnChangeView::answer(&catalog, outcome, 201)
        })
        .await?;
    Ok(conditional::respond(answered))
}

/// The subscription's add-ons, active and cancelled.
#[utoipa::path(
    get, path = "/v1/customers/{customerId}/subscriptions/{subscriptionId}/add-ons", tag = "add-ons",
    params(("customerId" = Uuid, Path), ("subscriptionId" = Uuid, Path), PageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of add-ons", body = Page<AddOnView>),
        (status = 400, description = "Bad id, limit or token", body = Problem, content_type = "application/problem+json"),
        AuthProblems,
        NotYours,
    )
)]
async fn list_add_ons(
    State(state): State<AppState>,
    caller: Caller,
    Path((customer_id, subscription_id)): Path<(CustomerId, SubscriptionId)>,
    page: PageRequest,
) -> Result<Json<Page<AddOnView>>, Error> {
    caller.require(Operation::ReadCustomers)?;
    let catalog = state.catalog();
    let (actor, subscription) = (caller.into_actor(), (customer_id, subscription_id));
    page.try_keyset(
        async |after, limit| {
            state
                .app()
                .add_ons(&actor, subscription, after, limit)
                .await
        },
        |row| row.id.as_uuid(),
        |row| AddOnView::new(row, &catalog),
    )
    .await
}

/// One add-on of the subscription.
#[utoipa::path(
    get, path = "/v1/customers/{customerId}/subscriptions/{subscriptionId}/add-ons/{addOnId}", tag = "add-ons",
    params(("customerId" = Uuid, Path), ("subscriptionId" = Uuid, Path), ("addOnId" = Uuid, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The add-on", body = AddOnView),
        (status = 400, description = "Bad id", body = Problem, content_type = "application/problem+json"),
        AuthProblems,
        NotYours,
    )
)]
async fn get_add_on(
    State(state): State<AppState>,
    caller: Caller,
    Path((customer_id, subscription_id, add_on_id)): Path<(CustomerId, SubscriptionId, AddOnId)>,
) -> Result<Json<AddOnView>, Error> {
    caller.require(Operation::ReadCustomers)?;
    let subscription = (customer_id, subscription_id);
    let row = state
        .app()
        .add_on(&caller.into_actor(), subscription, add_on_id)
        .await?;
    Ok(Json(AddOnView::new(row, &state.catalog())?))
}

/// Changes the add-on's seats (1 to the subscription's quantity, on an active subscription) or
/// cancels it with `{"status": "cancelled"}`; a cancelled add-on stays cancelled.
#[utoipa::path(
    patch, path = "/v1/customers/{customerId}/subscriptions/{subscriptionId}/add-ons/{addOnId}", tag = "add-ons",
    params(
        ("customerId" = Uuid, Path), ("subscriptionId" = Uuid, Path), ("addOnId" = Uuid, Path),
        ("Idempotency-Key" = Option<String>, Header, description = "Retries with the same key and body get the first answer (24 hours)"),
    ),
    request_body = ChangeAddOn,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Changed (or already so)", body = AddOnChangeView, headers(("Idempotent-Replayed" = String))),
        (status = 400, description = "Not exactly one change, or an invalid quantity or header", body = Problem, content_type = "application/problem+json"),
        AuthProblems,
        NotYours,
        (status = 409, description = "The add-on is cancelled, the subscription is not active, or the same Idempotency-Key is in flight", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "More seats than the subscription, or the Idempotency-Key was used for another request", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn change_add_on(
    State(state): State<AppState>,
    caller: Caller,
    Path((customer_id, subscription_id, add_on_id)): Path<(CustomerId, SubscriptionId, AddOnId)>,
    key: IdempotencyHeader,
    Json(body): Json<ChangeAddOn>,
) -> Result<Response, Error> {
    caller.require(Operation::ChangeSubscription)?;
    let request = ChangeRequest {
        customer_id,
        subscription_id,
        add_on_id,
        change: body.change()?,
    };
    let scope = key.scope(caller.partner_id, customer_id, &body)?;
    let catalog = state.catalog();
    let answered = state
        .app()
        .change_add_on(&caller.into_actor(), &request, scope.as_ref(), |outcome| {
            AddOnChangeView::answer(&catalog, outcome, 200)
        })
        .await?;
    Ok(conditional::respond(answered))
}
