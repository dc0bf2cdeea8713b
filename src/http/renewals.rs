//! The renewals pipeline: every live subscription the partner sold whose term ends in a window,
//! across all its customers, in term-end order, with the flags a person acts on.

use std::fmt;
use std::str::FromStr;

use axum::extract::State;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::AppState;
use super::caller::Caller;
use super::extract::{DateField, Json};
use super::openapi::rules::{BaseOfferId, MarketCode};
use super::pagination::{Page, PageRequest, Paging};
use super::problem::{AuthProblems, Problem};
use crate::db::pipeline::Renewal;
use crate::domain::pipeline::{self, RenewalFacts, RenewalFlag};
use crate::domain::plan::{BillingCycle, Commerce, TermDuration};
use crate::domain::subscription::SubscriptionStatus;
use crate::domain::{CustomerId, Operation, SubscriptionId};
use crate::error::Error;
use crate::service::pipeline::RenewalAsk;
use crate::service::views::date;
use crate::service::views::scheduled::ScheduledChangeView;

/// The pipeline route.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_renewals))
}

/// The window, the filters and the page.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RenewalListQuery {
    /// The earliest term end (`YYYY-MM-DD`; default: today).
    #[param(value_type = Option<String>, format = Date)]
    term_end_from: Option<DateField>,
    /// The latest term end, included (`YYYY-MM-DD`; default: 30 days after `termEndFrom`; at
    /// most 400 days after it).
    #[param(value_type = Option<String>, format = Date)]
    term_end_to: Option<DateField>,
    /// Only subscriptions of this offer.
    #[param(value_type = Option<BaseOfferId>)]
    offer_id: Option<String>,
    /// Only customers in this market.
    #[param(value_type = Option<MarketCode>)]
    market: Option<String>,
    /// Only this customer's subscriptions.
    customer_id: Option<Uuid>,
    /// Only those that renew (`true`) or end with their term (`false`).
    auto_renew: Option<bool>,
    /// Only those with (`true`) or without (`false`) a change scheduled for the renewal.
    scheduled: Option<bool>,
    /// Items per page, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200, default = 50)]
    limit: Option<u32>,
    /// The token from the previous page.
    continuation_token: Option<String>,
}

impl Paging for RenewalListQuery {
    fn limit(&self) -> Option<u32> {
        self.limit
    }

    fn continuation_token(&self) -> Option<&str> {
        self.continuation_token.as_deref()
    }
}

/// An upcoming renewal.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RenewalView {
    customer_id: Uuid,
    customer_name: String,
    #[schema(value_type = MarketCode)]
    market: String,
    subscription_id: Uuid,
    #[schema(value_type = BaseOfferId)]
    offer_id: String,
    status: SubscriptionStatus,
    /// Seats.
    quantity: i32,
    licenses_assigned: i64,
    #[serde(serialize_with = "date::iso")]
    term_end: NaiveDate,
    /// Whether it renews at `termEnd`; otherwise it expires then.
    auto_renew: bool,
    commerce: Commerce,
    term_duration: TermDuration,
    billing_cycle: BillingCycle,
    /// New commerce: the price per seat per month locked for the current term (`null` for
    /// legacy, which bills at the catalog price).
    unit_price: Option<i64>,
    /// The price per seat per month in force on `termEnd` for the offer and plan of the next term
    /// (the scheduled change's, when it sets them); `null` when none is listed.
    next_unit_price: Option<i64>,
    /// The change scheduled for the renewal, if any.
    scheduled_change: Option<ScheduledChangeView>,
    /// What to act on: `unused_seats`, `no_scheduled_change`, `auto_renew_off`, `window_open`.
    flags: Vec<RenewalFlag>,
}

impl RenewalView {
    fn new(renewal: Renewal, now: DateTime<Utc>) -> Self {
        let facts = RenewalFacts {
            quantity: i64::from(renewal.quantity),
            licenses_assigned: renewal.licenses_assigned,
            scheduled: renewal.scheduled.is_some(),
            auto_renew: renewal.auto_renew,
            cancellation_window_ends_at: renewal.cancellation_window_ends_at,
        };
        RenewalView {
            customer_id: renewal.customer_id.into(),
            customer_name: renewal.customer_name,
            market: renewal.market,
            subscription_id: renewal.subscription_id.into(),
            offer_id: renewal.offer_id,
            status: renewal.status,
            quantity: renewal.quantity,
            licenses_assigned: renewal.licenses_assigned,
            term_end: renewal.term_end,
            auto_renew: renewal.auto_renew,
            commerce: renewal.commerce,
            term_duration: renewal.term_duration,
            billing_cycle: renewal.billing_cycle,
            unit_price: renewal.unit_price,
            next_unit_price: renewal.next_unit_price,
            scheduled_change: renewal.scheduled.map(|change| {
                ScheduledChangeView::of(renewal.term_end, change)
                    .as_things_stand(renewal.licenses_assigned)
            }),
            flags: pipeline::flags(&facts, now),
        }
    }
}

/// A page's key: the term end, then the subscription id.
#[derive(Debug, Clone, Copy)]
struct RenewalKey(NaiveDate, SubscriptionId);

impl fmt::Display for RenewalKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.0, self.1)
    }
}

impl FromStr for RenewalKey {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (end, id) = s.split_once('/').ok_or(())?;
        let end = end.parse().map_err(|_| ())?;
        let id = Uuid::parse_str(id).map_err(|_| ())?;
        Ok(RenewalKey(end, SubscriptionId(id)))
    }
}

/// What renews soon: every live (active or suspended) subscription the partner sold whose term
/// ends in the window, across all its customers, sorted by term end then id, with its seats and
/// licenses, plan, locked and next term's price, scheduled change, and flags.
#[utoipa::path(
    get, path = "/v1/renewals", tag = "subscriptions",
    params(RenewalListQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of upcoming renewals", body = Page<RenewalView>),
        (status = 400, description = "Bad window, filter, limit or token", body = Problem, content_type = "application/problem+json"),
        AuthProblems,
    )
)]
async fn list_renewals(
    State(state): State<AppState>,
    caller: Caller,
    page: PageRequest<RenewalListQuery>,
) -> Result<Json<Page<RenewalView>>, Error> {
    caller.require(Operation::ReadCustomers)?;
    let query = &page.query;
    let date = |field: &Option<DateField>, name| field.as_ref().map(|d| d.date(name)).transpose();
    let filter = state.app().renewal_filter(RenewalAsk {
        term_end_from: date(&query.term_end_from, "termEndFrom")?,
        term_end_to: date(&query.term_end_to, "termEndTo")?,
        offer_id: query.offer_id.clone(),
        market: query.market.clone(),
        customer_id: query.customer_id.map(CustomerId),
        auto_renew: query.auto_renew,
        scheduled: query.scheduled,
    })?;
    let (actor, now) = (caller.into_actor(), Utc::now());
    // Boxed: the page's future is kilobytes, and each layer above would move it.
    Box::pin(page.keyset(
        async |after: Option<RenewalKey>, limit| {
            let after = after.map(|key| (key.0, key.1));
            state.app().renewals(&actor, &filter, after, limit).await
        },
        |renewal| RenewalKey(renewal.term_end, renewal.subscription_id),
        |renewal| RenewalView::new(renewal, now),
    ))
    .await
}
