//! Scheduled changes: at most one per subscription (the primary key), applied or dropped by the
//! renewal worker at the term end, or removed when undone or cancelled by an immediate change.

use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use crate::domain::ids::{CustomerId, ScheduledChangeId, SubscriptionId, UserId};
use crate::domain::plan::{BillingCycle, Plan, TermDuration};
use crate::domain::records::{ScheduledChange, ScheduledKind};

/// What a new scheduled change says.
#[derive(Debug, Clone)]
pub struct NewScheduledChange<'a> {
    pub kind: ScheduledKind,
    pub target_offer_id: Option<&'a str>,
    pub quantity: i32,
    pub users: Option<&'a [UserId]>,
    pub target_subscription_id: Option<SubscriptionId>,
    /// New commerce: the next term's plan, when it changes.
    pub plan: Option<Plan>,
    /// The seats are the licenses assigned at the renewal.
    pub quantity_assigned: bool,
}

/// Stores the subscription's scheduled change (the caller holds the subscription's row).
pub async fn create(
    conn: &mut PgConnection,
    customer_id: CustomerId,
    subscription_id: SubscriptionId,
    new: &NewScheduledChange<'_>,
) -> Result<ScheduledChange, sqlx::Error> {
    sqlx::query_as!(
        ScheduledChange,
        r#"INSERT INTO scheduled_changes
               (customer_id, subscription_id, id, kind, target_offer_id, quantity, users,
                target_subscription_id, term_duration, billing_cycle, quantity_assigned)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
           RETURNING id AS "id: ScheduledChangeId", subscription_id AS "subscription_id: SubscriptionId",
                     kind AS "kind: ScheduledKind", target_offer_id, quantity, users AS "users: Vec<UserId>",
                     target_subscription_id AS "target_subscription_id: SubscriptionId", created_at,
                     term_duration AS "term_duration: TermDuration",
                     billing_cycle AS "billing_cycle: BillingCycle", quantity_assigned"#,
        customer_id.as_uuid(),
        subscription_id.as_uuid(),
        Uuid::now_v7(),
        new.kind.as_str(),
        new.target_offer_id,
        new.quantity,
        new.users as Option<&[UserId]>,
        new.target_subscription_id.map(SubscriptionId::as_uuid),
        new.plan.map(|p| p.term_duration.as_str()),
        new.plan.map(|p| p.billing_cycle.as_str()),
        new.quantity_assigned
    )
    .fetch_one(conn)
    .await
}

/// The subscription's scheduled change, if any (on the pool, or in the caller's transaction).
pub async fn find(
    executor: impl PgExecutor<'_>,
    customer_id: CustomerId,
    subscription_id: SubscriptionId,
) -> Result<Option<ScheduledChange>, sqlx::Error> {
    sqlx::query_as!(
        ScheduledChange,
        r#"SELECT id AS "id: ScheduledChangeId", subscription_id AS "subscription_id: SubscriptionId",
                  kind AS "kind: ScheduledKind", target_offer_id, quantity, users AS "users: Vec<UserId>",
                     target_subscription_id AS "target_subscription_id: SubscriptionId", created_at,
                     term_duration AS "term_duration: TermDuration",
                     billing_cycle AS "billing_cycle: BillingCycle", quantity_assigned
           FROM scheduled_changes WHERE customer_id = $1 AND subscription_id = $2"#,
        customer_id.as_uuid(),
        subscription_id.as_uuid()
    )
    .fetch_optional(executor)
    .await
}

/// Removes the subscription's scheduled change; what was removed, if anything.
pub async fn remove(
    conn: &mut PgConnection,
    customer_id: CustomerId,
    subscription_id: SubscriptionId,
) -> Result<Option<ScheduledChange>, sqlx::Error> {
    sqlx::query_as!(
        ScheduledChange,
        r#"DELETE FROM scheduled_changes WHERE customer_id = $1 AND subscription_id = $2
           RETURNING id AS "id: ScheduledChangeId", subscription_id AS "subscription_id: SubscriptionId",
                     kind AS "kind: ScheduledKind", target_offer_id, quantity, users AS "users: Vec<UserId>",
                     target_subscription_id AS "target_subscription_id: SubscriptionId", created_at,
                     term_duration AS "term_duration: TermDuration",
                     billing_cycle AS "billing_cycle: BillingCycle", quantity_assigned"#,
        customer_id.as_uuid(),
        subscription_id.as_uuid()
    )
    .fetch_optional(conn)
    .await
}
