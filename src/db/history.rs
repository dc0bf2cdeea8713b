//! The audit trail of subscription changes.

use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::domain::ids::{CustomerId, PartnerId, SubscriptionId};

use crate::domain::records::{ChangeKind, HistoryEntry};
use crate::domain::webhook::Event;

/// Who made the changes of one [`record`], and the trace their events' deliveries send.
#[derive(Debug, Clone)]
pub struct ChangeAuthor<'a> {
    pub partner_id: PartnerId,
    pub actor_user_id: &'a str,
    pub actor_roles: &'a [String],
    pub request_id: &'a str,
    /// The trace context the events' deliveries send (`traceparent`), if the change had one.
    pub traceparent: Option<&'a str>,
}

/// One change to record, with the webhook event announcing it.
#[derive(Debug, Clone)]
pub struct NewHistoryEntry {
    pub customer_id: CustomerId,
    pub subscription_id: SubscriptionId,
    pub change_kind: ChangeKind,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub event: Event,
}

/// Appends changes, in order, and in the same statement each one's webhook event and one delivery
/// per endpoint of the partner that wants it (the outbox: sent by the delivery worker once this
/// commits). One round trip however many changes (an upgrade records two).
pub async fn record(
    conn: &mut PgConnection,
    author: &ChangeAuthor<'_>,
    entries: Vec<NewHistoryEntry>,
) -> Result<(), sqlx::Error> {
    let count = entries.len();
    let (mut customers, mut ids, mut subscriptions) = (
        Vec::with_capacity(count),
        Vec::with_capacity(count),
        Vec::with_capacity(count),
    );
    let (mut kinds, mut befores, mut afters) = (
        Vec::with_capacity(count),
        Vec::with_capacity(count),
        Vec::with_capacity(count),
    );
    let (mut event_ids, mut event_types, mut payloads, mut times) = (
        Vec::with_capacity(count),
        Vec::with_capacity(count),
        Vec::with_capacity(count),
        Vec::with_capacity(count),
    );
    for entry in entries {
        customers.push(entry.customer_id.as_uuid());
        ids.push(Uuid::now_v7());
        subscriptions.push(entry.subscription_id.as_uuid());
        kinds.push(entry.change_kind.as_str());
        befores.push(entry.before);
        afters.push(entry.after);
        event_ids.push(entry.event.id);
        event_types.push(entry.event.event_type);
        payloads.push(entry.event.payload);
        times.push(entry.event.occurred_at);
    }
    sqlx::query!(
        "WITH entry AS (
             SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::jsonb[],
                                  $6::jsonb[], $7::uuid[], $8::text[], $9::jsonb[],
                                  $10::timestamptz[])
                    WITH ORDINALITY AS e(customer_id, id, subscription_id, change_kind,
                                         before_state, after_state, event_id, event_type,
                                         payload, occurred_at, n)
         ), history AS (
             INSERT INTO subscription_history
                 (customer_id, id, subscription_id, partner_id, change_kind, before_state,
                  after_state, actor_user_id, actor_roles, request_id, occurred_at)
             SELECT e.customer_id, e.id, e.subscription_id, $11, e.change_kind, e.before_state,
                    e.after_state, $12, $13, $14, e.occurred_at
               FROM entry e
         ), event AS (
             INSERT INTO webhook_events
                 (id, partner_id, customer_id, subscription_id, event_type, payload, occurred_at,
                  traceparent)
             SELECT e.event_id, $11, e.customer_id, e.subscription_id, e.event_type, e.payload,
                    e.occurred_at, $15
               FROM entry e
              WHERE EXISTS (SELECT 1 FROM webhook_endpoints w
                             WHERE w.partner_id = $11 AND e.event_type = ANY (w.events))
              ORDER BY e.n
             RETURNING seq, subscription_id, event_type
         )
         INSERT INTO webhook_deliveries (partner_id, endpoint_id, event_seq, subscription_id)
         SELECT $11, w.id, event.seq, event.subscription_id
           FROM event JOIN webhook_endpoints w
                ON w.partner_id = $11 AND event.event_type = ANY (w.events)",
        &customers,
        &ids,
        &subscriptions,
        &kinds as &[&str],
        &befores as &[Option<serde_json::Value>],
        &afters as &[Option<serde_json::Value>],
        &event_ids,
        &event_types as &[&str],
        &payloads,
        &times,
        author.partner_id.as_uuid(),
        author.actor_user_id,
        author.actor_roles,
        author.request_id,
        author.traceparent,
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
