//! Subscriptions: buying one, listing, reading, and changing its seats or status.

use axum::extract::State;
use axum::response::Response;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::AppState;
use super::add_ons::AddOnView;
use super::caller::Caller;
use super::change::quantity_or_status;
use super::conditional::{self, IdempotencyHeader, IfMatch, etag, with_etag};
use super::created::created;
use super::extract::{DateField, Json, Path};
use super::licenses::AssignmentView;
use super::openapi::rules::{BaseOfferId, Quantity};
use super::pagination::{Page, PageQuery, PageRequest};
use super::problem::{AuthProblems, NotYours, Problem};
use crate::domain::billing::Billing;
use crate::domain::commerce::{self, SeatWindow};
use crate::domain::plan::{Commerce, TermDuration};
use crate::domain::records::Subscription;
use crate::domain::subscription::{BillingCycle, Channel, SubscriptionStatus};
use crate::domain::{Catalog, CustomerId, ErrorCode, Operation, Role, SubscriptionId};
use crate::error::Error;
use crate::service::idempotency::StoredAnswer;
use crate::service::lifecycle::{Change, ChangeOutcome, ChangeRequest};
use crate::service::subscriptions::SubscriptionRequest;
use crate::service::views::scheduled::ScheduledChangeView;

/// The subscription routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_subscription, list_subscriptions))
        .routes(routes!(get_subscription, change_subscription))
}

/// A subscription the calling partner sold.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionView {
    id: Uuid,
    customer_id: Uuid,
    #[schema(value_type = BaseOfferId)]
    offer_id: String,
    /// Seats.
    quantity: i32,
    #[schema(value_type = SubscriptionStatus)]
    status: String,
    commerce: Commerce,
    term_duration: TermDuration,
    #[schema(value_type = BillingCycle)]
    billing_cycle: String,
    /// New commerce: the price per seat per month locked for the term, in the market's minor
    /// units (`null` for legacy, which bills at the catalog price, or when no price is listed).
    unit_price: Option<i64>,
    /// New commerce: until when the subscription can be cancelled with a refund (168 hours from
    /// its purchase or last renewal); `null` once that window has closed, and for legacy.
    cancellation_allowed_until: Option<DateTime<Utc>>,
    /// New commerce: the seats that can still be removed for a refund, each group until its
    /// `allowedUntil` (168 hours from the purchase, renewal or seat increase that added it).
    refundable_quantity: Vec<SeatWindow>,
    term_start: NaiveDate,
    term_end: NaiveDate,
    current_period_start: NaiveDate,
    current_period_end: NaiveDate,
    /// The subscription this one was upgraded to.
    upgraded_to: Option<Uuid>,
    /// The subscription this one replaced by an upgrade.
    upgraded_from: Option<Uuid>,
    /// `migrated`: the new-commerce subscription that replaced this legacy one.
    migrated_to: Option<Uuid>,
    /// The legacy subscription this new-commerce one replaced (a migration).
    migrated_from: Option<Uuid>,
    /// Whether it renews at `termEnd`; otherwise it expires then.
    auto_renew: bool,
    /// The change scheduled for `termEnd`, if any (shown when one subscription is read).
    #[serde(skip_serializing_if = "Option::is_none")]
    scheduled_change: Option<ScheduledChangeView>,
    /// In a co-termed purchase's answer: the shorter first billing period's charge, pro rata by
    /// day of the whole period it is part of.
    #[serde(skip_serializing_if = "Option::is_none")]
    first_period_billing: Option<Billing>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<Subscription> for SubscriptionView {
    fn from(row: Subscription) -> Self {
        let now = Utc::now();
        // One stored link names the replacement, for an upgrade and a migration alike.
        let replaced_by = |status| {
            (row.status == status)
                .then_some(row.upgraded_to_id)
                .flatten()
                .map(Uuid::from)
        };
        SubscriptionView {
            id: row.id.into(),
            customer_id: row.customer_id.into(),
            offer_id: row.offer_id,
            quantity: row.quantity,
            status: row.status.as_str().to_owned(),
            commerce: row.commerce,
            term_duration: row.term_duration,
            billing_cycle: row.billing_cycle.as_str().to_owned(),
            unit_price: row.unit_price,
            cancellation_allowed_until: commerce::cancellation_allowed_until(
                row.cancellation_window_ends_at,
                now,
            ),
            refundable_quantity: commerce::refundable(&row.seat_windows.0, now),
            term_start: row.term_start,
            term_end: row.term_end,
            current_period_start: row.current_period_start,
            current_period_end: row.current_period_end,
            upgraded_to: replaced_by(SubscriptionStatus::Upgraded),
            upgraded_from: row.upgraded_from_id.map(Into::into),
            migrated_to: replaced_by(SubscriptionStatus::Migrated),
            migrated_from: row.migrated_from_id.map(Into::into),
            auto_renew: row.auto_renew,
            scheduled_change: None,
            first_period_billing: None,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// A subscription to buy, or (platform role) to record as synced data.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateSubscription {
    /// A base offer sold in the customer's market.
    #[schema(value_type = BaseOfferId)]
    offer_id: String,
    /// Seats, at least 1 and within the offer's cap.
    #[schema(value_type = Quantity)]
    quantity: i64,
    /// `new` (the default): billed under new commerce; `legacy`: under the license-based rules
    /// (a one-year term; for subscriptions bought before new commerce, as synced data has them).
    commerce: Option<Commerce>,
    /// The term: `P1M`, `P1Y` (the default) or `P3Y`. New commerce sells P1M billed monthly, P1Y
    /// billed monthly or annual, P3Y billed monthly, annual or triennial; a legacy term is P1Y.
    term_duration: Option<TermDuration>,
    billing_cycle: BillingCycle,
    /// Start of the term (it ends a term duration later); today when absent. Every date here
    /// is `YYYY-MM-DD` from 1970-01-01 through 2999-12-31; anything else is 400 `invalid_date`.
    #[schema(value_type = Option<String>, format = Date)]
    term_start: Option<DateField>,
    /// With `currentPeriodEnd`: the current billing period, within the term; from 1970-01-01
    /// through 2999-12-31.
    #[schema(value_type = Option<String>, format = Date)]
    current_period_start: Option<DateField>,
    /// The end of the current billing period (exclusive); from 1970-01-01 through 2999-12-31.
    #[schema(value_type = Option<String>, format = Date)]
    current_period_end: Option<DateField>,
    /// Platform role only (synced data); `active` otherwise.
    status: Option<SubscriptionStatus>,
    /// `other` (another partner or direct purchase) is for the platform role only.
    channel: Option<Channel>,
    /// Renew at the term end (default `true`), or expire then.
    auto_renew: Option<bool>,
    /// New commerce, co-terming: end the first term on this date instead of a full term later,
    /// so the subscription renews with others. Allowed: the last day of a calendar month within
    /// the first term, or the term end of an active new-commerce subscription of the customer
    /// with the same term duration sold by you (`GET /v1/customers/{customerId}/custom-term-end-dates`
    /// lists them); anything else is 422 `custom_term_end_not_allowed` with `allowedDates`. The
    /// shorter first period is billed pro rata, daily (`firstPeriodBilling`).
    #[schema(value_type = Option<String>, format = Date)]
    custom_term_end_date: Option<DateField>,
}

impl CreateSubscription {
    fn into_request(self, caller: &Caller) -> Result<SubscriptionRequest, Error> {
        self.check_status_and_channel(caller)?;
        let date = |value: Option<DateField>, field| value.map(|v| v.date(field)).transpose();
        let term_start = date(self.term_start, "termStart")?;
        let current_period = current_period(
            date(self.current_period_start, "currentPeriodStart")?,
            date(self.current_period_end, "currentPeriodEnd")?,
        )?;
        Ok(SubscriptionRequest {
            offer_id: self.offer_id,
            quantity: self.quantity,
            commerce: self.commerce.unwrap_or(Commerce::New),
            term_duration: self.term_duration,
            billing_cycle: self.billing_cycle,
            term_start,
            current_period,
            status: self.status.unwrap_or(SubscriptionStatus::Active),
            channel: self.channel.unwrap_or(Channel::Partner),
            auto_renew: self.auto_renew.unwrap_or(true),
            custom_term_end: date(self.custom_term_end_date, "customTermEndDate")?,
        })
    }

    /// Synced data (another status or channel) is the platform role's, and no subscription is
    /// recorded as upgraded.
    fn check_status_and_channel(&self, caller: &Caller) -> Result<(), Error> {
        let synced = self.status.is_some_and(|s| s != SubscriptionStatus::Active)
            || self.channel == Some(Channel::Other);
        if synced && !caller.has(Role::Platform) {
            return Err(Error::Refused {
                code: ErrorCode::RoleNotAllowed,
                detail:
                    "Only the platform role may record a status or another channel's subscription."
                        .into(),
            });
        }
        if self.status == Some(SubscriptionStatus::Upgraded) {
            return Err(Error::new(
                ErrorCode::InvalidStatus,
                "A subscription becomes upgraded only by an upgrade; record it as active, suspended or cancelled.",
            ));
        }
        Ok(())
    }
}

/// The current billing period: both ends or neither.
fn current_period(
    start: Option<NaiveDate>,
    end: Option<NaiveDate>,
) -> Result<Option<(NaiveDate, NaiveDate)>, Error> {
    match (start, end) {
        (Some(start), Some(end)) => Ok(Some((start, end))),
        (None, None) => Ok(None),
        _ => Err(Error::new(
            ErrorCode::InvalidBillingPeriod,
            "Give both currentPeriodStart and currentPeriodEnd, or neither.",
        )),
    }
}

/// Buys a subscription for the customer (or, with the platform role, records a synced one).
#[utoipa::path(
    post, path = "/v1/customers/{customerId}/subscriptions", tag = "subscriptions",
    params(("customerId" = Uuid, Path)), request_body = CreateSubscription,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = SubscriptionView, headers(("Location" = String), ("ETag" = String))),
        (status = 400, description = "Invalid input", body = Problem, content_type = "application/problem+json"),
        AuthProblems,
        NotYours,
        (status = 422, description = "Offer not sellable here, or seat cap exceeded", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn create_subscription(
    State(state): State<AppState>,
    caller: Caller,
    Path(customer_id): Path<CustomerId>,
    Json(body): Json<CreateSubscription>,
) -> Result<Response, Error> {
    caller.require(Operation::CreateSubscription)?;
    let request = body.into_request(&caller)?;
    let purchase = state
        .app()
        .create_subscription(&caller.into_actor(), customer_id, request)
        .await?;
    let row = purchase.subscription;
    let location = format!("/v1/customers/{customer_id}/subscriptions/{}", row.id);
    let mut view = SubscriptionView::from(row.clone());
    view.first_period_billing = purchase.first_period;
    Ok(with_etag(row, created(location, view)))
}

/// The subscriptions this partner sold to the customer (other channels' never appear).
#[utoipa::path(
    get, path = "/v1/customers/{customerId}/subscriptions", tag = "subscriptions",
    params(("customerId" = Uuid, Path), PageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of subscriptions", body = Page<SubscriptionView>),
        (status = 400, description = "Bad id, limit or token", body = Problem, content_type = "application/problem+json"),
        AuthProblems,
        NotYours,
    )
)]
async fn list_subscriptions(
    State(state): State<AppState>,
    caller: Caller,
    Path(customer_id): Path<CustomerId>,
    page: PageRequest,
) -> Result<Json<Page<SubscriptionView>>, Error> {
    caller.require(Operation::ReadCustomers)?;
    let actor = caller.into_actor();
    page.keyset(
        async |after, limit| {
            state
                .app()
                .subscriptions(&actor, customer_id, after, limit)
                .await
        },
        |row| row.id.as_uuid(),
        Into::into,
    )
    .await
}

/// One subscription, with its `ETag`.
#[utoipa::path(
    get, path = "/v1/customers/{customerId}/subscriptions/{subscriptionId}", tag = "subscriptions",
    params(("customerId" = Uuid, Path), ("subscriptionId" = Uuid, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The subscription", body = SubscriptionView, headers(("ETag" = String))),
        (status = 400, description = "Malformed id", body = Problem, content_type = "application/problem+json"),
        AuthProblems,
        NotYours,
    )
)]
async fn get_subscription(
    State(state): State<AppState>,
    caller: Caller,
    Path((customer_id, subscription_id)): Path<(CustomerId, SubscriptionId)>,
) -> Result<Response, Error> {
    caller.require(Operation::ReadCustomers)?;
    let (row, scheduled) = state
        .app()
        .subscription(&caller.into_actor(), customer_id, subscription_id)
        .await?;
    let mut view = SubscriptionView::from(row.clone());
    view.scheduled_change = scheduled.map(|change| ScheduledChangeView::of(row.term_end, change));
    Ok(with_etag(row, Json(view)))
}

/// A change to a subscription: exactly one of `quantity`, `status`, `autoRenew` or
/// `termDuration`.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChangeSubscription {
    /// New number of seats: 1 to the offer's cap, never below the assigned licenses.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Quantity>)]
    quantity: Option<i64>,
    /// `active` ↔ `suspended`, either → `cancelled` (final).
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<SubscriptionStatus>,
    /// Renew at the term end, or (`false`) expire then.
    #[serde(skip_serializing_if = "Option::is_none")]
    auto_renew: Option<bool>,
    /// New commerce: a longer term (`P1M` → `P1Y` → `P3Y`) starting now, at the new plan's price
    /// in force; anything else mid-term is 422 `plan_change_not_allowed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    term_duration: Option<TermDuration>,
}

impl ChangeSubscription {
    fn change(&self) -> Result<Change, Error> {
        match (self.auto_renew, self.term_duration) {
            (None, None) => {
                quantity_or_status(self.quantity, self.status, Change::Quantity, Change::Status)
            }
            (Some(auto_renew), None) if self.quantity.is_none() && self.status.is_none() => {
                Ok(Change::AutoRenew(auto_renew))
            }
            (None, Some(term)) if self.quantity.is_none() && self.status.is_none() => {
                Ok(Change::Term(term))
            }
            _ => Err(Error::new(
                ErrorCode::InvalidChange,
                "Send exactly one of quantity, status, autoRenew or termDuration.",
            )),
        }
    }
}

/// The subscription after a change, with what the change did.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionChangeView {
    #[serde(flatten)]
    subscription: SubscriptionView,
    /// For a seat change: the prorated charge for added seats or credit for removed ones.
    #[serde(skip_serializing_if = "Option::is_none")]
    billing: Option<Billing>,
    /// For a cancellation: the licenses removed from users.
    released_licenses: Vec<AssignmentView>,
    /// For a cancellation: the active add-ons it cancelled.
    cancelled_add_ons: Vec<AddOnView>,
}

impl SubscriptionChangeView {
    fn new(outcome: &ChangeOutcome, catalog: &Catalog) -> Result<Self, Error> {
        Ok(SubscriptionChangeView {
            subscription: outcome.subscription.clone().into(),
            billing: outcome.billing.clone(),
            released_licenses: outcome
                .released_licenses
                .iter()
                .cloned()
                .map(Into::into)
                .collect(),
            cancelled_add_ons: outcome
                .cancelled_add_ons
                .iter()
                .map(|row| AddOnView::new(row.clone(), catalog))
                .collect::<Result<_, _>>()?,
        })
    }

    /// The answer to a change: the view, with the subscription's new `ETag`.
    fn answer(outcome: &ChangeOutcome, catalog: &Catalog) -> Result<StoredAnswer, Error> {
        let body = serde_json::to_vec(&SubscriptionChangeView::new(outcome, catalog)?)
            .map_err(Error::internal)?;
        Ok(StoredAnswer::new(200, body).with_etag(etag(&outcome.subscription)))
    }
}

/// Changes the subscription's seats or status. Suspending keeps the users' license assignments;
/// cancelling removes them (listed in `releasedLicenses`) and cancels active add-ons.
#[utoipa::path(
    patch, path = "/v1/customers/{customerId}/subscriptions/{subscriptionId}", tag = "subscriptions",
    params(
        ("customerId" = Uuid, Path), ("subscriptionId" = Uuid, Path),
        ("Idempotency-Key" = Option<String>, Header, description = "Retries with the same key and body get the first answer (24 hours)"),
        ("If-Match" = Option<String>, Header, description = "Change only while the subscription has this ETag"),
    ),
    request_body = ChangeSubscription,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Changed (or already so)", body = SubscriptionChangeView, headers(("ETag" = String), ("Idempotent-Replayed" = String))),
        (status = 400, description = "Not exactly one change, or an invalid quantity or header", body = Problem, content_type = "application/problem+json"),
        AuthProblems,
        NotYours,
        (status = 409, description = "Not active (seats), an invalid status transition, or the same Idempotency-Key in flight", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "If-Match does not match the subscription's ETag", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Over the seat cap, below the assigned licenses, or the Idempotency-Key was used for another request", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn change_subscription(
    State(state): State<AppState>,
    caller: Caller,
    Path((customer_id, subscription_id)): Path<(CustomerId, SubscriptionId)>,
    if_match: IfMatch,
    key: IdempotencyHeader,
    Json(body): Json<ChangeSubscription>,
) -> Result<Response, Error> {
    caller.require(Operation::ChangeSubscription)?;
    let request = ChangeRequest {
        customer_id,
        subscription_id,
        change: body.change()?,
        precondition: if_match.precondition()?,
    };
    let scope = key.scope(caller.partner_id, customer_id, &body)?;
    let catalog = state.catalog();
    // Boxed: the change's future is kilobytes, and each layer above would move it.
    let answered = Box::pin(state.app().change_subscription(
        &caller.into_actor(),
        &request,
        scope.as_ref(),
        |outcome| SubscriptionChangeView::answer(outcome, &catalog),
    ))
    .await?;
    Ok(conditional::respond(answered))
}
