//! Upgrades: a subscription's options, performing one, and the customer's upgrade history.

use axum::extract::State;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

mod options;

use options::UpgradeOption;

use super::AppState;
use super::caller::Caller;
use super::conditional::{self, IdempotencyHeader, IfMatch};
use super::extract::{Json, Path};
use super::openapi::rules::{OfferId, Quantity};
use super::pagination::{Page, PageQuery, PageRequest};
use super::problem::{AuthProblems, NotYours, Problem};
use crate::domain::records::PerformedUpgrade;
use crate::domain::records::Precondition;
use crate::domain::{CustomerId, ErrorCode, Operation, SubscriptionId, UpgradeId, UserId};
use crate::error::Error;
use crate::service::idempotency::Answered;
use crate::service::upgrades::{PartialAsk, UpgradeRequest, UpgradeResult};
use crate::service::views::upgrades;
use crate::telemetry;

/// The upgrade routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_upgrade_options, perform_upgrade))
        .routes(routes!(list_upgrades))
        .routes(routes!(get_upgrade))
}

/// Every upgrade the subscription's paths offer, eligible or not, with why not, the billing
/// preview and the accounts affected.
#[utoipa::path(
    get, path = "/v1/customers/{customerId}/subscriptions/{subscriptionId}/upgrades", tag = "upgrades",
    params(("customerId" = Uuid, Path), ("subscriptionId" = Uuid, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Every target of the subscription's upgrade paths", body = Page<UpgradeOption>),
        (status = 400, description = "Malformed id", body = Problem, content_type = "application/problem+json"),
        AuthProblems,
        NotYours,
    )
)]
async fn list_upgrade_options(
    State(state): State<AppState>,
    caller: Caller,
    Path((customer_id, subscription_id)): Path<(CustomerId, SubscriptionId)>,
) -> Result<Json<Page<UpgradeOption>>, Error> {
    caller.require(Operation::ReadCustomers)?;
    let subscription = (customer_id, subscription_id);
    // Boxed: the evaluation's future is kilobytes, and each layer above would move it.
    let options = Box::pin(
        state
            .app()
            .upgrade_options(&caller.into_actor(), subscription),
    )
    .await?;
    telemetry::metrics::record_eligibility_failures(
        options
            .iter()
            .flat_map(|option| &option.whole.failures)
            .map(|failure| failure.code),
    );
    Ok(Json(Page {
        items: options.into_iter().map(Into::into).collect(),
        continuation_token: None,
    }))
}

/// An upgrade to perform (or, with `dryRun`, to preview exactly): the whole subscription, or
/// with `partial` some of its seats.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PerformUpgrade {
    #[schema(value_type = OfferId)]
    target_offer_id: String,
    /// Whole upgrade: seats of the target, the source's quantity when absent. Partial upgrade
    /// (required): the seats that move, fewer than the source's.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Quantity>)]
    quantity: Option<i64>,
    /// Move only `quantity` seats; the source keeps the rest and stays active.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    partial: bool,
    /// Partial upgrade: the users whose licenses move (each holding a license of the source; at
    /// most `quantity`). Without it, the rule picks them (docs/upgrades.md, "Partial upgrades").
    #[serde(skip_serializing_if = "Option::is_none")]
    users: Option<Vec<Uuid>>,
    /// Partial upgrade: the customer's existing subscription of the target offer, sold by you,
    /// that grows by `quantity` seats instead of a new one being created.
    #[serde(skip_serializing_if = "Option::is_none")]
    target_subscription_id: Option<Uuid>,
    /// Answer what the upgrade would do, and change nothing.
    #[serde(default)]
    dry_run: bool,
}

impl PerformUpgrade {
    fn into_request(self, precondition: Option<Precondition>) -> Result<UpgradeRequest, Error> {
        let partial = partial_ask(
            self.partial,
            self.quantity,
            self.users,
            self.target_subscription_id,
        )?;
        Ok(UpgradeRequest {
            target_offer_id: self.target_offer_id,
            quantity: self.quantity.filter(|_| partial.is_none()),
            partial,
            dry_run: self.dry_run,
            precondition,
        })
    }
}

/// The partial upgrade a body asks for (`partial` with the required `quantity`, and the optional
/// `users` and `targetSubscriptionId`), or `None` for a whole one; `users` and
/// `targetSubscriptionId` without `partial` are refused rather than ignored.
pub(super) fn partial_ask(
    partial: bool,
    quantity: Option<i64>,
    users: Option<Vec<Uuid>>,
    target_subscription_id: Option<Uuid>,
) -> Result<Option<PartialAsk>, Error> {
    match (partial, quantity) {
        (true, Some(quantity)) => Ok(Some(PartialAsk {
            quantity,
            users: users.map(|users| users.into_iter().map(UserId::from).collect()),
            target_subscription_id: target_subscription_id.map(Into::into),
        })),
        (true, None) => Err(Error::new(
            ErrorCode::InvalidBody,
            "A partial upgrade needs `quantity`: the seats that move.",
        )),
        (false, _) if users.is_some() || target_subscription_id.is_some() => Err(Error::new(
            ErrorCode::InvalidBody,
            "`users` and `targetSubscriptionId` belong to a partial upgrade: send `partial: true` with them.",
        )),
        (false, _) => Ok(None),
    }
}

/// Upgrades the subscription: in one transaction, re-checks eligibility, creates the
/// co-terminous target, marks the source `upgraded`, moves the licenses and records the history.
/// With `partial`, moves only `quantity` seats and the chosen users, to a new subscription or to
/// `targetSubscriptionId`; the source keeps the rest.
#[utoipa::path(
    post, path = "/v1/customers/{customerId}/subscriptions/{subscriptionId}/upgrades", tag = "upgrades",
    params(
        ("customerId" = Uuid, Path), ("subscriptionId" = Uuid, Path),
        ("Idempotency-Key" = Option<String>, Header, description = "Retries with the same key and body get the first answer (24 hours)"),
        ("If-Match" = Option<String>, Header, description = "Upgrade only while the subscription has this ETag"),
    ),
    request_body = PerformUpgrade,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Upgraded", body = UpgradeResult, headers(("Location" = String), ("Idempotent-Replayed" = String))),
        (status = 200, description = "Dry run: what the upgrade would do", body = UpgradeResult),
        (status = 400, description = "Invalid input or Idempotency-Key", body = Problem, content_type = "application/problem+json"),
        AuthProblems,
        NotYours,
        (status = 409, description = "Already upgraded, a subscription to grow that is not active, or the same Idempotency-Key is in flight", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "If-Match does not match the subscription's ETag", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not eligible (every failing condition in `failures`); a partial upgrade's quantity, users or subscription to grow refused; or the Idempotency-Key was used for another request", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn perform_upgrade(
    State(state): State<AppState>,
    caller: Caller,
    Path((customer_id, subscription_id)): Path<(CustomerId, SubscriptionId)>,
    if_match: IfMatch,
    key: IdempotencyHeader,
    Json(body): Json<PerformUpgrade>,
) -> Result<Response, Error> {
    caller.require(Operation::ChangeSubscription)?;
    // A dry run changes nothing, so it is never stored under the key.
    let scope = key
        .scope(caller.partner_id, customer_id, &body)?
        .filter(|_| !body.dry_run);
    let request = body.into_request(if_match.precondition()?)?;
    let subscription = (customer_id, subscription_id);
    // Boxed: the upgrade's future is kilobytes, and each layer above would move it.
    let performed = Box::pin(state.app().perform_upgrade(
        &caller.into_actor(),
        subscription,
        &request,
        scope.as_ref(),
        |result| upgrades::answer(customer_id, result),
    ))
    .await;
    record_metrics(&performed, request.dry_run);
    Ok(conditional::respond(performed?))
}

/// Counts the request in `upgrades_total` and, when it was not eligible, each failing condition.
fn record_metrics(performed: &Result<Answered, Error>, dry_run: bool) {
    telemetry::metrics::record_upgrade(outcome(performed, dry_run));
    if let Err(Error::NotEligible(failures)) = performed {
        telemetry::metrics::record_eligibility_failures(failures.iter().map(|f| f.code));
    }
}

/// An upgrade request's outcome, as the `upgrades_total` metric labels it.
fn outcome(performed: &Result<Answered, Error>, dry_run: bool) -> &'static str {
    match performed {
        Ok(Answered::Replayed(_)) => "replayed",
        Ok(_) if dry_run => "dry_run",
        Ok(_) => "performed",
        Err(Error::NotEligible(_)) => "not_eligible",
        Err(Error::LockTimeout(_) | Error::DatabaseUnavailable(_)) => "unavailable",
        Err(error) => match error.code().status() {
            409 => "conflict",
            412 => "precondition_failed",
            404 => "not_found",
            _ => "error",
        },
    }
}

/// Who performed an upgrade.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PerformedBy {
    user_id: String,
    roles: Vec<String>,
}

/// A performed upgrade, as answered then, with who, when and under which request id.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpgradeRecord {
    id: Uuid,
    source_subscription_id: Uuid,
    target_subscription_id: Uuid,
    /// Whether only part of the source's seats moved (the source stayed active).
    partial: bool,
    /// Seats the target gained: all of its seats for a whole upgrade, the seats moved for a
    /// partial one.
    quantity: i32,
    performed_at: DateTime<Utc>,
    performed_by: PerformedBy,
    request_id: String,
    /// The answer given when the upgrade was performed.
    #[schema(value_type = UpgradeResult)]
    result: serde_json::Value,
}

impl From<PerformedUpgrade> for UpgradeRecord {
    fn from(row: PerformedUpgrade) -> Self {
        UpgradeRecord {
            id: row.id.as_uuid(),
            source_subscription_id: row.source_subscription_id.into(),
            target_subscription_id: row.target_subscription_id.into(),
            partial: row.partial,
            quantity: row.quantity,
            performed_at: row.performed_at,
            performed_by: PerformedBy {
                user_id: row.actor_user_id,
                roles: row.actor_roles,
            },
            request_id: row.request_id,
            result: row.result,
        }
    }
}

/// The upgrades this partner performed for the customer, oldest first.
#[utoipa::path(
    get, path = "/v1/customers/{customerId}/upgrades", tag = "upgrades",
    params(("customerId" = Uuid, Path), PageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of upgrades", body = Page<UpgradeRecord>),
        (status = 400, description = "Bad id, limit or token", body = Problem, content_type = "application/problem+json"),
        AuthProblems,
        NotYours,
    )
)]
async fn list_upgrades(
    State(state): State<AppState>,
    caller: Caller,
    Path(customer_id): Path<CustomerId>,
    page: PageRequest,
) -> Result<Json<Page<UpgradeRecord>>, Error> {
    caller.require(Operation::ReadCustomers)?;
    let actor = caller.into_actor();
    page.keyset(
        async |after, limit| {
            state
                .app()
                .upgrades(&actor, customer_id, after, limit)
                .await
        },
        |row| row.id.as_uuid(),
        Into::into,
    )
    .await
}

/// One performed upgrade.
#[utoipa::path(
    get, path = "/v1/customers/{customerId}/upgrades/{upgradeId}", tag = "upgrades",
    params(("customerId" = Uuid, Path), ("upgradeId" = Uuid, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The upgrade", body = UpgradeRecord),
        (status = 400, description = "Malformed id", body = Problem, content_type = "application/problem+json"),
        AuthProblems,
        NotYours,
    )
)]
async fn get_upgrade(
    State(state): State<AppState>,
    caller: Caller,
    Path((customer_id, upgrade_id)): Path<(CustomerId, UpgradeId)>,
) -> Result<Json<UpgradeRecord>, Error> {
    caller.require(Operation::ReadCustomers)?;
    let row = state
        .app()
        .upgrade(&caller.into_actor(), customer_id, upgrade_id)
        .await?;
    Ok(Json(row.into()))
}
