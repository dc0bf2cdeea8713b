//! Bulk upgrade jobs: create (202 at once), read with live progress, page through the items'
//! results, follow the progress as a `text/event-stream`, cancel, and list the partner's jobs.

mod events;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::AppState;
use super::caller::Caller;
use super::conditional::{IDEMPOTENT_REPLAYED, IdempotencyHeader};
use super::extract::{Json, Path};
use super::openapi::rules::{MarketCode, NextTermQuantity, OfferId};
use super::pagination::{Page, PageQuery, PageRequest, Paging};
use super::problem::{AuthProblems, Problem};
use super::scheduled::SeatsAsk;
use crate::domain::job::{ItemKind, ItemOutcome};
use crate::domain::plan::{BillingCycle, Commerce, TermDuration};
use crate::domain::{CustomerId, ErrorCode, JobId, Operation};
use crate::error::Error;
use crate::service::jobs::{Instruction, ItemRequest, JobItems, JobRequest, SelectionRequest};
use crate::service::views::jobs::{JobItemView, JobView};

/// A job's body may list 10,000 items: more than other requests' bodies.
const MAX_JOB_BODY_BYTES: usize = 4 * 1024 * 1024;

/// The job routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_job, list_jobs))
        .routes(routes!(get_job))
        .routes(routes!(events::job_events))
        .routes(routes!(list_job_items))
        .routes(routes!(cancel_job))
        .layer(DefaultBodyLimit::max(MAX_JOB_BODY_BYTES))
}

fn is_upgrade(kind: &ItemKind) -> bool {
    *kind == ItemKind::Upgrade
}

/// What an item asks, from the fields an item and a selection share.
fn instruction(
    kind: ItemKind,
    target_offer_id: Option<String>,
    quantity: Option<SeatsAsk>,
    plan: (Option<TermDuration>, Option<BillingCycle>),
) -> Instruction {
    let (quantity, quantity_assigned) = SeatsAsk::split(quantity);
    Instruction {
        kind,
        target_offer_id,
        quantity,
        quantity_assigned,
        term_duration: plan.0,
        billing_cycle: plan.1,
    }
}

/// One item of a job's list: a subscription and what to do with it. An upgrade now names
/// `targetOfferId` (and optionally `quantity`). In a job with `atTermEnd`, an upgrade item is the
/// next-term instruction: any of `targetOfferId` (an upgrade, or under new commerce a move down a
/// matrix path), `quantity` (a number, or `"assigned"`: the licenses assigned at the renewal, at
/// least 1), `termDuration` and `billingCycle`. A `migration` (legacy subscriptions only) takes
/// `termDuration`, `billingCycle` and optionally `quantity`, now or, with `atTermEnd`, at the term
/// end.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JobItemRequest {
    customer_id: Uuid,
    subscription_id: Uuid,
    /// `upgrade` (the default) or `migration`.
    #[serde(default, skip_serializing_if = "is_upgrade")]
    kind: ItemKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<OfferId>)]
    target_offer_id: Option<String>,
    /// Seats (the subscription's own when absent), or `"assigned"` in a job with `atTermEnd`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<NextTermQuantity>)]
    quantity: Option<SeatsAsk>,
    /// The next term's (for a migration, the new subscription's) term duration.
    #[serde(skip_serializing_if = "Option::is_none")]
    term_duration: Option<TermDuration>,
    /// The next term's (for a migration, the new subscription's) billing cycle.
    #[serde(skip_serializing_if = "Option::is_none")]
    billing_cycle: Option<BillingCycle>,
}

/// Every live (active or suspended) subscription you sold matching each filter given: on
/// `sourceOfferId`, of the listed customers, of customers in `market`, whose term ends from
/// `termEndFrom` through `termEndTo`, of `commerce` (a migration selects legacy subscriptions
/// only); each with the selection's instruction.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JobSelection {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<OfferId>)]
    source_offer_id: Option<String>,
    /// Up to 1,000 customers (422 `too_many_customer_ids` beyond).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(max_items = 1000)]
    customer_ids: Option<Vec<Uuid>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<MarketCode>)]
    market: Option<String>,
    /// The first term end selected (inclusive).
    #[serde(skip_serializing_if = "Option::is_none")]
    term_end_from: Option<NaiveDate>,
    /// The last term end selected (inclusive).
    #[serde(skip_serializing_if = "Option::is_none")]
    term_end_to: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    commerce: Option<Commerce>,
    /// `upgrade` (the default) or `migration`.
    #[serde(default, skip_serializing_if = "is_upgrade")]
    kind: ItemKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<OfferId>)]
    target_offer_id: Option<String>,
    /// Seats (the subscription's own when absent), or `"assigned"` in a job with `atTermEnd`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<NextTermQuantity>)]
    quantity: Option<SeatsAsk>,
    /// The next term's (for a migration, the new subscription's) term duration.
    #[serde(skip_serializing_if = "Option::is_none")]
    term_duration: Option<TermDuration>,
    /// The next term's (for a migration, the new subscription's) billing cycle.
    #[serde(skip_serializing_if = "Option::is_none")]
    billing_cycle: Option<BillingCycle>,
}

/// A job: `items` (up to 10,000) or a `selection`, exactly one of them.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateJob {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(min_items = 1, max_items = 10000)]
    items: Option<Vec<JobItemRequest>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    selection: Option<JobSelection>,
    /// Report each item's eligibility, billing and affected accounts (for a term-end job, the
    /// next term's price and seats); change nothing.
    #[serde(default)]
    dry_run: bool,
    /// Schedule each item for its subscription's term end instead of performing it now.
    #[serde(default)]
    at_term_end: bool,
}

impl JobSelection {
    /// What job answers show of the selection: bounded, so listing jobs stays small whatever
    /// was selected; the customers come as a count (the job's items name each one).
    fn summary(&self) -> Result<serde_json::Value, Error> {
        let mut summary = serde_json::to_value(self).map_err(Error::internal)?;
        if let (Some(ids), Some(object)) = (&self.customer_ids, summary.as_object_mut()) {
            object.remove("customerIds");
            object.insert("customerCount".into(), ids.len().into());
        }
        Ok(summary)
    }
}

impl CreateJob {
    fn into_request(self, key: Option<(String, [u8; 32])>) -> Result<JobRequest, Error> {
        let summary = self.selection.as_ref().map(JobSelection::summary);
        let definition = serde_json::json!({
            "selection": summary.transpose()?,
            "items": self.items.as_ref().map(Vec::len),
        });
        let items = match (self.items, self.selection) {
            (Some(items), None) if !items.is_empty() => JobItems::Listed(
                items
                    .into_iter()
                    .map(|i| ItemRequest {
                        customer_id: i.customer_id.into(),
                        subscription_id: i.subscription_id.into(),
                        instruction: instruction(
                            i.kind,
                            i.target_offer_id,
                            i.quantity,
                            (i.term_duration, i.billing_cycle),
                        ),
                    })
                    .collect(),
            ),
            (None, Some(s)) => JobItems::Selected(SelectionRequest {
                source_offer_id: s.source_offer_id,
                customer_ids: s
                    .customer_ids
                    .map(|ids| ids.into_iter().map(CustomerId::from).collect()),
                market: s.market,
                term_end_from: s.term_end_from,
                term_end_to: s.term_end_to,
                commerce: s.commerce,
                instruction: instruction(
                    s.kind,
                    s.target_offer_id,
                    s.quantity,
                    (s.term_duration, s.billing_cycle),
                ),
            }),
            _ => {
                return Err(Error::new(
                    ErrorCode::InvalidBody,
                    "Send either `items` (at least one) or `selection`, not both.",
                ));
            }
        };
        Ok(JobRequest {
            items,
            dry_run: self.dry_run,
            at_term_end: self.at_term_end,
            definition,
            key,
        })
    }
}

/// Accepts a job of upgrades at once (202, `Location`); the instances' workers process it in the
/// background, each item exactly as a single upgrade. An invalid job is refused whole. A partner
/// with as many jobs queued or running, or items pending, as it may is answered 429
/// `too_many_jobs` or `too_many_pending_items` with `Retry-After`.
#[utoipa::path(
    post, path = "/v1/upgrade-jobs", tag = "upgrade-jobs",
    params(("Idempotency-Key" = Option<String>, Header, description = "A retry with the same key and body gets the same job")),
    request_body = CreateJob,
    security(("bearer" = [])),
    responses(
        (status = 202, description = "Accepted: the job, queued", body = JobView, headers(("Location" = String), ("Idempotent-Replayed" = String))),
        (status = 400, description = "Invalid body, offer, market or quantity", body = Problem, content_type = "application/problem+json"),
        AuthProblems,
        (status = 409, description = "The same Idempotency-Key is in flight", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "More than 10,000 items or 1,000 customerIds, or the Idempotency-Key was used for another job", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn create_job(
    State(state): State<AppState>,
    caller: Caller,
    key: IdempotencyHeader,
    Json(body): Json<CreateJob>,
) -> Result<Response, Error> {
    caller.require(Operation::ChangeSubscription)?;
    let key = key.partner_scope(&body)?;
    let request = body.into_request(key)?;
    let actor = caller.into_actor();
    let (job, created) = state.app().create_job(&actor, &request).await?;
    let location = format!("/v1/upgrade-jobs/{}", job.job.id);
    let mut response = (StatusCode::ACCEPTED, Json(JobView::from(job))).into_response();
    let headers = response.headers_mut();
    if let Ok(location) = HeaderValue::from_str(&location) {
        headers.insert(header::LOCATION, location);
    }
    if !created {
        headers.insert(IDEMPOTENT_REPLAYED, HeaderValue::from_static("true"));
    }
    Ok(response)
}

/// The partner's jobs, oldest first.
#[utoipa::path(
    get, path = "/v1/upgrade-jobs", tag = "upgrade-jobs",
    params(PageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of jobs", body = Page<JobView>),
        (status = 400, description = "Bad limit or token", body = Problem, content_type = "application/problem+json"),
        AuthProblems,
    )
)]
async fn list_jobs(
    State(state): State<AppState>,
    caller: Caller,
    page: PageRequest,
) -> Result<Json<Page<JobView>>, Error> {
    caller.require(Operation::ReadCustomers)?;
    let actor = caller.into_actor();
    page.keyset(
        async |after, limit| state.app().jobs(&actor, after, limit).await,
        |view| view.job.id.as_uuid(),
        Into::into,
    )
    .await
}

/// One job: status, counts per outcome, percent, rate, start, end and estimated end. While the
/// job runs, its counts are at most half a second old; once it has ended, they are final.
#[utoipa::path(
    get, path = "/v1/upgrade-jobs/{jobId}", tag = "upgrade-jobs",
    params(("jobId" = Uuid, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The job", body = JobView),
        (status = 400, description = "Malformed id", body = Problem, content_type = "application/problem+json"),
        AuthProblems,
        (status = 404, description = "No such job of yours", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn get_job(
    State(state): State<AppState>,
    caller: Caller,
    Path(job_id): Path<JobId>,
) -> Result<Json<JobView>, Error> {
    caller.require(Operation::ReadCustomers)?;
    Ok(Json(
        state.app().job(&caller.into_actor(), job_id).await?.into(),
    ))
}

/// The items' query: an outcome to keep, and the page.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ItemListQuery {
    /// Only items with this outcome.
    outcome: Option<ItemOutcome>,
    /// Items per page, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200, default = 50)]
    limit: Option<u32>,
    /// The token from the previous page.
    continuation_token: Option<String>,
}

impl Paging for ItemListQuery {
    fn limit(&self) -> Option<u32> {
        self.limit
    }

    fn continuation_token(&self) -> Option<&str> {
        self.continuation_token.as_deref()
    }
}

/// The job's items in order, each with its single upgrade's answer or problem.
#[utoipa::path(
    get, path = "/v1/upgrade-jobs/{jobId}/items", tag = "upgrade-jobs",
    params(("jobId" = Uuid, Path), ItemListQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of items", body = Page<JobItemView>),
        (status = 400, description = "Malformed id, outcome, limit or token", body = Problem, content_type = "application/problem+json"),
        AuthProblems,
        (status = 404, description = "No such job of yours", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn list_job_items(
    State(state): State<AppState>,
    caller: Caller,
    Path(job_id): Path<JobId>,
    page: PageRequest<ItemListQuery>,
) -> Result<Json<Page<JobItemView>>, Error> {
    caller.require(Operation::ReadCustomers)?;
    let outcome = page.query.outcome;
    let actor = caller.into_actor();
    page.keyset(
        async |after, limit| {
            let page = (after, limit);
            state.app().job_items(&actor, job_id, outcome, page).await
        },
        |item| item.seq,
        Into::into,
    )
    .await
}

/// Cancels the job: pending items are skipped, those done stay done.
#[utoipa::path(
    post, path = "/v1/upgrade-jobs/{jobId}/cancel", tag = "upgrade-jobs",
    params(("jobId" = Uuid, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The job, cancelled", body = JobView),
        (status = 400, description = "Malformed id", body = Problem, content_type = "application/problem+json"),
        AuthProblems,
        (status = 404, description = "No such job of yours", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The job has completed", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn cancel_job(
    State(state): State<AppState>,
    caller: Caller,
    Path(job_id): Path<JobId>,
) -> Result<Json<JobView>, Error> {
    caller.require(Operation::ChangeSubscription)?;
    Ok(Json(
        state
            .app()
            .cancel_job(&caller.into_actor(), job_id)
            .await?
            .into(),
    ))
}
