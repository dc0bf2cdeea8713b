//! A subscription's change scheduled for its term end: schedule it (an upgrade or a seat change),
//! read it, undo it.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::AppState;
use super::caller::Caller;
use super::conditional::{self, IdempotencyHeader, IfMatch};
use super::extract::{Json, Path};
use super::openapi::rules::{NextTermQuantity, OfferId};
use super::problem::{AuthProblems, NotYours, Problem};
use crate::domain::plan::{BillingCycle, TermDuration};
use crate::domain::{CustomerId, Operation, SubscriptionId};
use crate::error::Error;
use crate::service::scheduled::ScheduleRequest;
use crate::service::views::scheduled::{self, ScheduledChangeView};

/// The scheduled-change routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(
        schedule_change,
        get_scheduled_change,
        undo_scheduled_change
    ))
}

/// What to schedule for the term end: an upgrade (`targetOfferId`, and `quantity` for the
/// target's seats, the current ones by default), a partial upgrade (`targetOfferId`, `partial`,
/// `quantity` for the seats that move, `users` and `targetSubscriptionId` as for an immediate one)
/// or a seat change (`quantity` only). New commerce: `targetOfferId` may also be an offer that
/// lists this one among its upgrade sources (a move down, kind `downgrade`), and any of these may
/// carry the next term's `termDuration` and `billingCycle`, applied together at the renewal.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScheduleChange {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<OfferId>)]
    target_offer_id: Option<String>,
    /// Seats after the change (the current ones by default), or `"assigned"`: as many as
    /// licenses are assigned at the renewal, at least 1 (not for a partial upgrade).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<NextTermQuantity>)]
    quantity: Option<SeatsAsk>,
    /// Move only `quantity` seats to the target right after the renewal.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    partial: bool,
    /// Partial upgrade: the users whose licenses move; the rule picks them when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    users: Option<Vec<Uuid>>,
    /// Partial upgrade: the existing subscription of the target offer to grow.
    #[serde(skip_serializing_if = "Option::is_none")]
    target_subscription_id: Option<Uuid>,
    /// New commerce, with any change or alone: the next term's duration (the current one's when
    /// absent); the next term is billed at that plan's price in force on the renewal day.
    #[serde(skip_serializing_if = "Option::is_none")]
    term_duration: Option<TermDuration>,
    /// New commerce, with any change or alone: the next term's billing cycle (the current one's
    /// when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    billing_cycle: Option<BillingCycle>,
    /// Check and preview only: nothing is scheduled.
    #[serde(default)]
    dry_run: bool,
}

/// Schedules an upgrade, a seat change or (new commerce) a move down a matrix path and the next
/// term's plan for the term end, applied with the renewal. Checked now as if made now (every
/// failing condition); at most one per subscription; only
/// while the subscription is active and auto-renews. Any immediate change of the subscription
/// cancels it.
#[utoipa::path(
    post, path = "/v1/customers/{customerId}/subscriptions/{subscriptionId}/scheduled-change", tag = "subscriptions",
    params(
        ("customerId" = Uuid, Path), ("subscriptionId" = Uuid, Path),
        ("Idempotency-Key" = Option<String>, Header, description = "Retries with the same key and body get the first answer (24 hours)"),
        ("If-Match" = Option<String>, Header, description = "Schedule only while the subscription has this ETag"),
    ),
    request_body = ScheduleChange,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Scheduled", body = ScheduledChangeView, headers(("Location" = String), ("Idempotent-Replayed" = String))),
        (status = 200, description = "Dry run: what would be scheduled", body = ScheduledChangeView),
        (status = 400, description = "Neither an upgrade nor a seat change, or an invalid header", body = Problem, content_type = "application/problem+json"),
        AuthProblems,
        NotYours,
        (status = 409, description = "Not active, auto-renewal off, a change already scheduled, or the same Idempotency-Key in flight", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "If-Match does not match the subscription's ETag", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The upgrade is not eligible (every failing condition), the seats break a rule, or the Idempotency-Key was used for another request", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn schedule_change(
    State(state): State<AppState>,
    caller: Caller,
    Path((customer_id, subscription_id)): Path<(CustomerId, SubscriptionId)>,
    if_match: IfMatch,
    key: IdempotencyHeader,
    Json(body): Json<ScheduleChange>,
) -> Result<Response, Error> {
    caller.require(Operation::ChangeSubscription)?;
    let scope = key
        .scope(caller.partner_id, customer_id, &body)?
        .filter(|_| !body.dry_run);
    let (seats, assigned) = SeatsAsk::split(body.quantity);
    let request = ScheduleRequest {
        customer_id,
        subscription_id,
        target_offer_id: body.target_offer_id.clone(),
        quantity: seats,
        quantity_assigned: assigned,
        partial: super::upgrades::partial_ask(
            body.partial,
            seats,
            body.users.clone(),
            body.target_subscription_id,
        )?,
        term_duration: body.term_duration,
        billing_cycle: body.billing_cycle,
        migrate: false,
        precondition: if_match.precondition()?,
        dry_run: body.dry_run,
    };
    let answered = state
        .app()
        .schedule_change(
            &caller.into_actor(),
            &request,
            scope.as_ref(),
            |scheduled| scheduled::answer(customer_id, subscription_id, scheduled),
        )
        .await?;
    Ok(conditional::respond(answered))
}

/// The change scheduled for the subscription's term end.
#[utoipa::path(
    get, path = "/v1/customers/{customerId}/subscriptions/{subscriptionId}/scheduled-change", tag = "subscriptions",
    params(("customerId" = Uuid, Path), ("subscriptionId" = Uuid, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The scheduled change", body = ScheduledChangeView),
        (status = 400, description = "Malformed id", body = Problem, content_type = "application/problem+json"),
        AuthProblems,
        NotYours,
    )
)]
async fn get_scheduled_change(
    State(state): State<AppState>,
    caller: Caller,
    Path((customer_id, subscription_id)): Path<(CustomerId, SubscriptionId)>,
) -> Result<Json<ScheduledChangeView>, Error> {
    caller.require(Operation::ReadCustomers)?;
    let (subscription, change) = state
        .app()
        .scheduled_change(&caller.into_actor(), customer_id, subscription_id)
        .await?;
    Ok(Json(ScheduledChangeView::of(subscription.term_end, change)))
}

/// Undoes the change scheduled for the subscription's term end; with nothing scheduled, changes
/// nothing (so a retried undo is answered as the first).
#[utoipa::path(
    delete, path = "/v1/customers/{customerId}/subscriptions/{subscriptionId}/scheduled-change", tag = "subscriptions",
    params(("customerId" = Uuid, Path), ("subscriptionId" = Uuid, Path)),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Undone (or nothing was scheduled)"),
        (status = 400, description = "Malformed id", body = Problem, content_type = "application/problem+json"),
        AuthProblems,
        NotYours,
    )
)]
async fn undo_scheduled_change(
    State(state): State<AppState>,
    caller: Caller,
    Path((customer_id, subscription_id)): Path<(CustomerId, SubscriptionId)>,
) -> Result<StatusCode, Error> {
    caller.require(Operation::ChangeSubscription)?;
    state
        .app()
        .undo_scheduled_change(&caller.into_actor(), customer_id, subscription_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The next term's seats as sent: a number, or `"assigned"` (the licenses assigned at the
/// renewal, at least 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeatsAsk {
    Seats(i64),
    Assigned,
}

impl SeatsAsk {
    /// The seats sent, and whether they follow the licenses assigned.
    pub fn split(ask: Option<SeatsAsk>) -> (Option<i64>, bool) {
        match ask {
            Some(SeatsAsk::Seats(seats)) => (Some(seats), false),
            Some(SeatsAsk::Assigned) => (None, true),
            None => (None, false),
        }
    }
}

impl Serialize for SeatsAsk {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            SeatsAsk::Seats(seats) => serializer.serialize_i64(*seats),
            SeatsAsk::Assigned => serializer.serialize_str("assigned"),
        }
    }
}

impl<'de> Deserialize<'de> for SeatsAsk {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = SeatsAsk;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a number of seats or \"assigned\"")
            }
            fn visit_i64<E: serde::de::Error>(self, seats: i64) -> Result<SeatsAsk, E> {
                Ok(SeatsAsk::Seats(seats))
            }
            fn visit_u64<E: serde::de::Error>(self, seats: u64) -> Result<SeatsAsk, E> {
                Ok(SeatsAsk::Seats(i64::try_from(seats).unwrap_or(i64::MAX)))
            }
            fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<SeatsAsk, E> {
                match value {
                    "assigned" => Ok(SeatsAsk::Assigned),
                    _ => Err(E::invalid_value(serde::de::Unexpected::Str(value), &self)),
                }
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}
