//! Migration from legacy: a legacy subscription moves to new commerce, now or at its term end.

use axum::extract::State;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{OneOfBuilder, Schema};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{PartialSchema, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::caller::Caller;
use super::conditional::{self, IdempotencyHeader, IfMatch};
use super::extract::{Json, Path};
use super::openapi::rules::Quantity;
use super::problem::{AuthProblems, NotYours, Problem};
use crate::domain::plan::{BillingCycle, TermDuration};
use crate::domain::{CustomerId, Operation, SubscriptionId};
use crate::error::Error;
use crate::service::migrations::MigrationRequest;
use crate::service::scheduled::ScheduleRequest;
use crate::service::views::migrations::{self, MigrationView};
use crate::service::views::scheduled::{self, ScheduledChangeView};

/// The migration route.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(migrate_subscription))
}

/// Move a legacy subscription to new commerce: a new-commerce subscription of the same offer on
/// this plan replaces it, now or (`atTermEnd`) at its term end.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Migrate {
    /// The new subscription's term.
    term_duration: TermDuration,
    /// The new subscription's billing cycle (a plan new commerce sells with `termDuration`).
    billing_cycle: BillingCycle,
    /// Seats of the new subscription; the legacy one's when absent (at least its licenses).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Quantity>)]
    quantity: Option<i64>,
    /// Migrate at the term end instead of now: a scheduled change of kind `migration`, applied by
    /// the renewal in place of the legacy renewal.
    #[serde(default)]
    at_term_end: bool,
    /// Check and preview only: nothing changes.
    #[serde(default)]
    dry_run: bool,
}

/// Moves a legacy subscription to new commerce. Now: a new-commerce subscription of the same
/// offer on the plan sent, at the price in force today, replaces it (201, `Location` names it);
/// its licenses and active add-ons move as they are; the legacy one becomes `migrated`
/// (`migratedTo`, and `migratedFrom` on the new one); the legacy subscription is credited under
/// the legacy rules and the new one charged its first period. With `atTermEnd`, schedules the
/// migration for the term end instead (201, the scheduled change, kind `migration`).
#[utoipa::path(
    post, path = "/v1/customers/{customerId}/subscriptions/{subscriptionId}/migrations", tag = "subscriptions",
    params(
        ("customerId" = Uuid, Path), ("subscriptionId" = Uuid, Path),
        ("Idempotency-Key" = Option<String>, Header, description = "Retries with the same key and body get the first answer (24 hours)"),
        ("If-Match" = Option<String>, Header, description = "Migrate only while the subscription has this ETag"),
    ),
    request_body = Migrate,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Migrated now (the migration), or scheduled for the term end (the scheduled change)", body = MigrationOrScheduled, headers(("Location" = String), ("Idempotent-Replayed" = String))),
        (status = 200, description = "Dry run: what would be done", body = MigrationOrScheduled),
        (status = 400, description = "Invalid body or header", body = Problem, content_type = "application/problem+json"),
        AuthProblems,
        NotYours,
        (status = 409, description = "Not active, auto-renewal off or a change already scheduled (atTermEnd), or the same Idempotency-Key in flight", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "If-Match does not match the subscription's ETag", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not a legacy subscription (`migration_not_allowed`), a plan not sold, seats the rules refuse, or the Idempotency-Key was used for another request", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn migrate_subscription(
    State(state): State<AppState>,
    caller: Caller,
    Path((customer_id, subscription_id)): Path<(CustomerId, SubscriptionId)>,
    if_match: IfMatch,
    key: IdempotencyHeader,
    Json(body): Json<Migrate>,
) -> Result<Response, Error> {
    caller.require(Operation::ChangeSubscription)?;
    let scope = key
        .scope(caller.partner_id, customer_id, &body)?
        .filter(|_| !body.dry_run);
    let precondition = if_match.precondition()?;
    let actor = caller.into_actor();
    let app = state.app();
    let answered = if body.at_term_end {
        let request = ScheduleRequest {
            customer_id,
            subscription_id,
            target_offer_id: None,
            quantity: body.quantity,
            quantity_assigned: false,
            partial: None,
            term_duration: Some(body.term_duration),
            billing_cycle: Some(body.billing_cycle),
            migrate: true,
            precondition,
            dry_run: body.dry_run,
        };
        let answer = |s| scheduled::answer(customer_id, subscription_id, s);
        app.schedule_change(&actor, &request, scope.as_ref(), answer)
            .await?
    } else {
        let request = MigrationRequest {
            customer_id,
            subscription_id,
            term_duration: body.term_duration,
            billing_cycle: body.billing_cycle,
            quantity: body.quantity,
            precondition,
            dry_run: body.dry_run,
        };
        let answer = |m| migrations::answer(customer_id, m);
        app.migrate(&actor, &request, scope.as_ref(), answer)
            .await?
    };
    Ok(conditional::respond(answered))
}

/// A migration now ([`MigrationView`]) or, with `atTermEnd`, the change scheduled for the term
/// end ([`ScheduledChangeView`], kind `migration`).
pub struct MigrationOrScheduled;

impl PartialSchema for MigrationOrScheduled {
    fn schema() -> RefOr<Schema> {
        OneOfBuilder::new()
            .item(Ref::from_schema_name(MigrationView::name()))
            .item(Ref::from_schema_name(ScheduledChangeView::name()))
            .description(Some(
                "Now: the migration; with atTermEnd: the scheduled change (kind `migration`).",
            ))
            .into()
    }
}

impl ToSchema for MigrationOrScheduled {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((MigrationView::name().into(), MigrationView::schema()));
        MigrationView::schemas(schemas);
        schemas.push((
            ScheduledChangeView::name().into(),
            ScheduledChangeView::schema(),
        ));
        ScheduledChangeView::schemas(schemas);
    }
}
