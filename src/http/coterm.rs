//! Co-terming: the term ends a new-commerce purchase for a customer may ask for.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::caller::Caller;
use super::extract::{Json, Path, Query};
use super::problem::{AuthProblems, NotYours, Problem};
use crate::domain::coterm::AllowedTermEnd;
use crate::domain::plan::{self, BillingCycle, TermDuration};
use crate::domain::{CustomerId, Operation};
use crate::error::Error;

/// The co-terming route.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(custom_term_end_dates))
}

/// The plan of the purchase to co-term.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TermEndQuery {
    /// The purchase's term (default `P1Y`).
    term_duration: Option<TermDuration>,
    /// The purchase's billing cycle (default `monthly`).
    billing_cycle: Option<BillingCycle>,
}

/// The term ends allowed, by date.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TermEndDates {
    term_duration: TermDuration,
    billing_cycle: BillingCycle,
    items: Vec<AllowedTermEnd>,
}

/// The dates a new-commerce purchase of this plan for the customer, starting today, may send as
/// `customTermEndDate`, each with its reason: the last day of each calendar month within the first
/// term (`calendar_month_end`), and the term end of each active new-commerce subscription of the
/// customer with the same term duration that you sold (`subscription_term_end`, naming it).
#[utoipa::path(
    get, path = "/v1/customers/{customerId}/custom-term-end-dates", tag = "subscriptions",
    params(("customerId" = Uuid, Path), TermEndQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The term ends allowed", body = TermEndDates),
        (status = 400, description = "Malformed id, or a plan not sold", body = Problem, content_type = "application/problem+json"),
        AuthProblems,
        NotYours,
    )
)]
async fn custom_term_end_dates(
    State(state): State<AppState>,
    caller: Caller,
    Path(customer_id): Path<CustomerId>,
    Query(query): Query<TermEndQuery>,
) -> Result<Json<TermEndDates>, Error> {
    caller.require(Operation::ReadCustomers)?;
    let term = query.term_duration.unwrap_or(TermDuration::P1Y);
    let cycle = query.billing_cycle.unwrap_or(BillingCycle::Monthly);
    let plan = plan::check_plan(term, cycle)?;
    let items = state
        .app()
        .custom_term_end_dates(&caller.into_actor(), customer_id, plan)
        .await?;
    Ok(Json(TermEndDates {
        term_duration: term,
        billing_cycle: cycle,
        items,
    }))
}
