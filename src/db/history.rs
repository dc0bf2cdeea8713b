//! The audit trail of subscription changes.

use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::domain::ids::{CustomerId, PartnerId, SubscriptionId};

use crate::domain::records::{ChangeKind, HistoryEntry};
use crate::domain::webhook::Event;

/// One change to record.
#[derive(Debug, Clone)]
pub struct NewHistoryEntry<'a> {
    pub customer_id: CustomerId,
    pub subscription_id: SubscriptionId,
    pub partner_id: PartnerId,
    pub change_kind: ChangeKind,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub actor_user_id: &'a str,
    pub actor_roles: &'a [String],
    pub request_id: &'a str,
    /// The trace context the event's deliveries send (`traceparent`), if the change had one.
    pub traceparent: Option<&'a str>,
}

/// Appends a change and, in the same statement, its webhook event and one delivery per endpoint
/// of the partner that wants it (the outbox: sent by the delivery worker once this commits).
pub async fn record(
    conn: &mut PgConnection,
    entry: &NewHistoryEntry<'_>,
    event: &Event,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "WITH history AS (
             INSERT INTO subscription_history
                 (customer_id, id, subscription_id, partner_id, change_kind, before_state,
                  after_state, actor_user_id, actor_roles, request_id, occurred_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         ), event AS (
             INSERT INTO webhook_events
                 (id, partner_id, customer_id, subscription_id, event_type, payload, occurred_at,
                  traceparent)
             SELECT $12, $4, $1, $3, $13, $14, $11, $15
              WHERE $13::text IS NOT NULL AND EXISTS (
                    SELECT 1 FROM webhook_endpoints w
                     WHERE w.partner_id = $4 AND $13 = ANY (w.events))
             RETURNING seq
         )
         INSERT INTO webhook_deliveries (partner_id, endpoint_id, event_seq, subscription_id)
         SELECT $4, w.id, event.seq, $3
           FROM event JOIN webhook_endpoints w ON w.partner_id = $4 AND $13 = ANY (w.events)",
        entry.customer_id.as_uuid(),
        Uuid::now_v7(),
        entry.subscription_id.as_uuid(),
        entry.partner_id.as_uuid(),
        entry.change_kind.as_str(),
        entry.before,
        entry.after,
        entry.actor_user_id,
        entry.actor_roles,
        entry.request_id,
        event.occurred_at,
        event.id,
        event.event_type,
        event.payload,
        entry.traceparent,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// A page of the subscription's changes, oldest first (ids are time-ordered), after `after`.
pub async fn list(
    pool: &PgPool,
    customer_id: CustomerId,
    subscription_id: SubscriptionId,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<HistoryEntry>, sqlx::Error> {
    sqlx::query_as!(
        HistoryEntry,
        r#"SELECT id, subscription_id AS "subscription_id: SubscriptionId", change_kind AS "change_kind: ChangeKind", before_state,
                  after_state, actor_user_id, actor_roles, request_id, occurred_at
           FROM subscription_history
           WHERE customer_id = $1 AND subscription_id = $2 AND ($3::uuid IS NULL OR id > $3)
           ORDER BY id LIMIT $4"#,
        customer_id.as_uuid(),
        subscription_id.as_uuid(),
        after,
        limit
    )
    .fetch_all(pool)
    .await
}
