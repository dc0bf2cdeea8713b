//! Webhook endpoints, and the outbox's deliveries and attempts (written by `history::record`).
//! Deliveries are claimed with a lease in one short statement and recorded in another; no
//! transaction or row lock is held while a delivery is being sent.

mod gauges;

pub use gauges::{OutboxState, outbox_state};

use std::time::Duration;

use sqlx::PgPool;
use uuid::Uuid;

use crate::domain::records::EndpointStatus;
use crate::domain::records::WebhookEndpoint;
use crate::domain::{PartnerId, WebhookEndpointId};

use crate::domain::webhook::Outcome;

/// An endpoint to register.
#[derive(Debug, Clone, Copy)]
pub struct NewEndpoint<'a> {
    pub url: &'a str,
    pub events: &'a [String],
    pub secret: &'a str,
}

/// Registers an endpoint unless the partner already has `max` of them (`None` then).
/// Registrations of one partner take turns on an advisory lock on its id, so two at once
/// cannot both take the last place.
pub async fn create_endpoint(
    pool: &PgPool,
    partner_id: PartnerId,
    endpoint: NewEndpoint<'_>,
    max: i64,
) -> Result<Option<WebhookEndpoint>, sqlx::Error> {
    let mut tx = super::begin(pool).await?;
    // The first key names this lock's purpose; the second, the partner (a collision of the
    // hash only makes two partners take turns).
    sqlx::query!(
        "SELECT pg_advisory_xact_lock(71400142, hashtext($1::uuid::text))",
        partner_id.as_uuid()
    )
    .execute(&mut *tx)
    .await?;
    let registered = sqlx::query_scalar!(
        r#"SELECT count(*) AS "count!" FROM webhook_endpoints WHERE partner_id = $1"#,
        partner_id.as_uuid()
    )
    .fetch_one(&mut *tx)
    .await?;
    if registered >= max {
        return Ok(None);
    }
    let row = sqlx::query_as!(
        WebhookEndpoint,
        r#"INSERT INTO webhook_endpoints (partner_id, id, url, events, secret)
         VALUES ($1, $2, $3, $4, $5)
         RETURNING id AS "id: WebhookEndpointId", url, events, created_at, status AS "status: EndpointStatus", disabled_reason,
                   disabled_at"#,
        partner_id.as_uuid(),
        Uuid::now_v7(),
        endpoint.url,
        endpoint.events,
        endpoint.secret
    )
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some(row))
}

/// A page of the partner's endpoints, oldest first (ids are time-ordered), after `after`.
pub async fn list_endpoints(
    pool: &PgPool,
    partner_id: PartnerId,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<WebhookEndpoint>, sqlx::Error> {
    sqlx::query_as!(
        WebhookEndpoint,
        r#"SELECT id AS "id: WebhookEndpointId", url, events, created_at, status AS "status: EndpointStatus", disabled_reason,
                   disabled_at
           FROM webhook_endpoints
          WHERE partner_id = $1 AND ($2::uuid IS NULL OR id > $2)
          ORDER BY id LIMIT $3"#,
        partner_id.as_uuid(),
        after,
        limit
    )
    .fetch_all(pool)
    .await
}

/// One of the partner's endpoints.
pub async fn find_endpoint(
    pool: &PgPool,
    partner_id: PartnerId,
    id: WebhookEndpointId,
) -> Result<Option<WebhookEndpoint>, sqlx::Error> {
    sqlx::query_as!(
        WebhookEndpoint,
        r#"SELECT id AS "id: WebhookEndpointId", url, events, created_at, status AS "status: EndpointStatus", disabled_reason,
                   disabled_at
           FROM webhook_endpoints
          WHERE partner_id = $1 AND id = $2"#,
        partner_id.as_uuid(),
        id.as_uuid()
    )
    .fetch_optional(pool)
    .await
}

/// Removes an endpoint and its deliveries; whether it existed. A delivery being sent meanwhile
/// holds no lock, so this never waits for a receiver.
pub async fn delete_endpoint(
    pool: &PgPool,
    partner_id: PartnerId,
    id: WebhookEndpointId,
) -> Result<bool, sqlx::Error> {
    let deleted = sqlx::query!(
        "DELETE FROM webhook_endpoints WHERE partner_id = $1 AND id = $2",
        partner_id.as_uuid(),
        id.as_uuid()
    )
    .execute(pool)
    .await?;
    Ok(deleted.rows_affected() == 1)
}

/// Disables an endpoint at the partner's request (a disabled one keeps its first reason).
pub async fn disable_endpoint(
    pool: &PgPool,
    partner_id: PartnerId,
    id: WebhookEndpointId,
) -> Result<Option<WebhookEndpoint>, sqlx::Error> {
    sqlx::query_as!(
        WebhookEndpoint,
        r#"UPDATE webhook_endpoints
            SET status = 'disabled',
                disabled_reason = coalesce(disabled_reason, 'disabled by the partner'),
                disabled_at = coalesce(disabled_at, now())
          WHERE partner_id = $1 AND id = $2
         RETURNING id AS "id: WebhookEndpointId", url, events, created_at, status AS "status: EndpointStatus", disabled_reason,
                   disabled_at"#,
        partner_id.as_uuid(),
        id.as_uuid()
    )
    .fetch_optional(pool)
    .await
}

/// Enables an endpoint. If it was disabled, what queued meanwhile is due at once and its retry
/// window starts again.
pub async fn enable_endpoint(
    pool: &PgPool,
    partner_id: PartnerId,
    id: WebhookEndpointId,
) -> Result<Option<WebhookEndpoint>, sqlx::Error> {
    let mut tx = super::begin(pool).await?;
    let was = sqlx::query_scalar!(
        "SELECT status FROM webhook_endpoints WHERE partner_id = $1 AND id = $2 FOR UPDATE",
        partner_id.as_uuid(),
        id.as_uuid()
    )
    .fetch_optional(&mut *tx)
    .await?;
    if was.as_deref() == Some("disabled") {
        sqlx::query!(
            "UPDATE webhook_deliveries SET failing_since = NULL, next_attempt_at = now()
              WHERE partner_id = $1 AND endpoint_id = $2 AND status = 'pending'",
            partner_id.as_uuid(),
            id.as_uuid()
        )
        .execute(&mut *tx)
        .await?;
    }
    let row = sqlx::query_as!(
        WebhookEndpoint,
        r#"UPDATE webhook_endpoints
            SET status = 'enabled', disabled_reason = NULL, disabled_at = NULL
          WHERE partner_id = $1 AND id = $2
         RETURNING id AS "id: WebhookEndpointId", url, events, created_at, status AS "status: EndpointStatus", disabled_reason,
                   disabled_at"#,
        partner_id.as_uuid(),
        id.as_uuid()
    )
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(row)
}

/// Puts the endpoint's given-up deliveries back in the queue, with a new retry window; how many,
/// or `None` when the partner has no such endpoint.
pub async fn requeue_failed(
    pool: &PgPool,
    partner_id: PartnerId,
    id: WebhookEndpointId,
) -> Result<Option<i64>, sqlx::Error> {
    let row = sqlx::query!(
        r#"WITH endpoint AS (
               SELECT id FROM webhook_endpoints WHERE partner_id = $1 AND id = $2
           ), requeued AS (
               UPDATE webhook_deliveries d
                  SET status = 'pending', failed_at = NULL, failing_since = NULL,
                      next_attempt_at = now()
                 FROM endpoint
                WHERE d.partner_id = $1 AND d.endpoint_id = endpoint.id AND d.status = 'failed'
               RETURNING 1
           )
           SELECT EXISTS (SELECT 1 FROM endpoint) AS "found!",
                  (SELECT count(*) FROM requeued) AS "requeued!""#,
        partner_id.as_uuid(),
        id.as_uuid()
    )
    .fetch_one(pool)
    .await?;
    Ok(row.found.then_some(row.requeued))
}

/// A delivery claimed for sending, with what sending it needs.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub endpoint_id: WebhookEndpointId,
    pub event_seq: i64,
    /// Attempts made before this one.
    pub attempts: i32,
    /// The claim's token; recording the attempt needs it.
    pub lease: Uuid,
    /// How long the delivery had been failing when claimed (`None`: it was not).
    pub failing_for_ms: Option<i64>,
    pub url: String,
    pub secret: String,
    pub event_id: Uuid,
    pub event_type: String,
    pub payload: serde_json::Value,
    /// The trace context of the change that caused the event, to send as `traceparent`.
    pub traceparent: Option<String>,
}

/// How many deliveries to claim, and for how long.
#[derive(Debug, Clone, Copy)]
pub struct Claim {
    /// At most this many deliveries.
    pub limit: i64,
    /// At most this many deliveries of one endpoint in flight, counting those already leased.
    pub per_endpoint: i64,
    /// At most this many deliveries of one partner in flight, counting those already leased.
    pub per_partner: i64,
    /// How long the claim lasts before another worker may take the delivery again.
    pub lease: Duration,
}

/// Leases due deliveries of enabled endpoints in one short transaction and returns them.
///
/// Fair between partners, then between a partner's endpoints: a partner never has more than
/// `per_partner` deliveries in flight nor an endpoint more than `per_endpoint`, and the partners
/// with the fewest in flight are served first (each partner's next delivery in turn, whatever
/// the age of its backlog), so one partner's failing endpoints cannot take every sender. Within
/// a partner, every endpoint's first due delivery comes before any endpoint's second. Ordered:
/// a delivery waits while its subscription has an earlier one pending for the same endpoint.
/// Claims are serialised across instances by a transaction-scoped advisory lock (held for the
/// statement only), so both limits hold whatever the number of instances.
pub async fn claim(pool: &PgPool, claim: Claim) -> Result<Vec<Claimed>, sqlx::Error> {
    let lease_ms = i64::try_from(claim.lease.as_millis()).unwrap_or(i64::MAX);
    let mut tx = super::begin(pool).await?;
    // The key is arbitrary; it only has to be the same in every instance.
    sqlx::query!("SELECT pg_advisory_xact_lock(7140014001)")
        .execute(&mut *tx)
        .await?;
    let claimed = sqlx::query_as!(
        Claimed,
        r#"WITH leased AS (
               SELECT partner_id, endpoint_id FROM webhook_deliveries
                WHERE lease IS NOT NULL AND leased_until >= now()
           ), endpoint_load AS (
               SELECT endpoint_id, count(*) AS leased FROM leased GROUP BY endpoint_id
           ), partner_load AS (
               SELECT partner_id, count(*) AS leased FROM leased GROUP BY partner_id
           ), due AS (
               SELECT d.partner_id, d.endpoint_id, d.event_seq,
                      row_number() OVER (PARTITION BY d.endpoint_id
                                         ORDER BY d.next_attempt_at, d.event_seq) AS turn
                 FROM webhook_deliveries d
                 JOIN webhook_endpoints w ON w.partner_id = d.partner_id AND w.id = d.endpoint_id
                WHERE d.status = 'pending' AND d.next_attempt_at <= now()
                  AND (d.leased_until IS NULL OR d.leased_until < now())
                  AND w.status = 'enabled'
                  AND NOT EXISTS (
                      SELECT 1 FROM webhook_deliveries earlier
                       WHERE earlier.endpoint_id = d.endpoint_id
                         AND earlier.subscription_id = d.subscription_id
                         AND earlier.status = 'pending' AND earlier.event_seq < d.event_seq)
           ), sendable AS (
               SELECT due.partner_id, due.endpoint_id, due.event_seq,
                      row_number() OVER (PARTITION BY due.partner_id
                                         ORDER BY due.turn, due.event_seq)
                        + coalesce(partner_load.leased, 0) AS partner_turn
                 FROM due
                 LEFT JOIN endpoint_load USING (endpoint_id)
                 LEFT JOIN partner_load USING (partner_id)
                WHERE due.turn + coalesce(endpoint_load.leased, 0) <= $2
           ), chosen AS (
               SELECT endpoint_id, event_seq FROM sendable
                WHERE partner_turn <= $3
                ORDER BY partner_turn, event_seq
                LIMIT $1
           ), locked AS (
               SELECT d.endpoint_id, d.event_seq
                 FROM webhook_deliveries d JOIN chosen USING (endpoint_id, event_seq)
                WHERE d.status = 'pending' AND (d.leased_until IS NULL OR d.leased_until < now())
                  FOR UPDATE OF d SKIP LOCKED
           )
           UPDATE webhook_deliveries d
              SET lease = gen_random_uuid(),
                  leased_until = now() + $4::bigint * interval '1 millisecond'
             FROM locked, webhook_endpoints w, webhook_events e
            WHERE d.endpoint_id = locked.endpoint_id AND d.event_seq = locked.event_seq
              AND w.partner_id = d.partner_id AND w.id = d.endpoint_id AND e.seq = d.event_seq
           RETURNING d.endpoint_id AS "endpoint_id: WebhookEndpointId", d.event_seq, d.attempts, d.lease AS "lease!",
                     (extract(epoch FROM now() - d.failing_since) * 1000)::bigint AS failing_for_ms,
                     w.url, w.secret, e.id AS event_id, e.event_type, e.payload,
                     e.traceparent"#,
        claim.limit,
        claim.per_endpoint,
        claim.per_partner,
        lease_ms
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(claimed)
}

/// How one attempt went.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub status_code: Option<i32>,
    pub error: Option<String>,
    pub duration_ms: i32,
}

/// Records an attempt and its outcome: delivered, due again later, or given up (which disables
/// the endpoint with `reason`). Only the holder of the delivery's current lease records; returns
/// false when the lease was lost (it expired and another worker claimed the delivery, or the
/// endpoint was removed), and then nothing is written.
pub async fn record_attempt(
    pool: &PgPool,
    delivery: &Claimed,
    attempt: &Attempt,
    outcome: Outcome,
    reason: &str,
) -> Result<bool, sqlx::Error> {
    let (status, retry_in) = match outcome {
        Outcome::Delivered => ("delivered", Duration::ZERO),
        Outcome::RetryIn(wait) => ("pending", wait),
        Outcome::GiveUp => ("failed", Duration::ZERO),
    };
    let recorded = sqlx::query_scalar!(
        r#"WITH recorded AS (
               UPDATE webhook_deliveries
                  SET attempts = attempts + 1,
                      status = $4,
                      delivered_at = CASE WHEN $4 = 'delivered' THEN now() END,
                      failed_at = CASE WHEN $4 = 'failed' THEN now() END,
                      failing_since = CASE WHEN $4 = 'pending' THEN coalesce(failing_since, now()) END,
                      next_attempt_at = now() + $5::bigint * interval '1 millisecond',
                      lease = NULL, leased_until = NULL
                WHERE endpoint_id = $1 AND event_seq = $2 AND lease = $3
               RETURNING partner_id, endpoint_id, event_seq, attempts
           ), attempt AS (
               INSERT INTO webhook_attempts
                   (endpoint_id, event_seq, attempt, status_code, error, duration_ms)
               SELECT endpoint_id, event_seq, attempts, $6, $7, $8 FROM recorded
           ), disabled AS (
               UPDATE webhook_endpoints w
                  SET status = 'disabled', disabled_reason = $9, disabled_at = now()
                 FROM recorded r
                WHERE $4 = 'failed' AND w.partner_id = r.partner_id AND w.id = r.endpoint_id
                  AND w.status = 'enabled'
           )
           SELECT count(*) AS "recorded!" FROM recorded"#,
        delivery.endpoint_id.as_uuid(),
        delivery.event_seq,
        delivery.lease,
        status,
        i64::try_from(retry_in.as_millis()).unwrap_or(i64::MAX),
        attempt.status_code,
        attempt.error,
        attempt.duration_ms,
        reason,
    )
    .fetch_one(pool)
    .await?;
    Ok(recorded == 1)
}

/// Gives up leases without recording an attempt (the worker is stopping with these in flight),
/// so that another instance sends them at once instead of when the leases expire.
pub async fn release(pool: &PgPool, leases: &[Uuid]) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE webhook_deliveries SET lease = NULL, leased_until = NULL WHERE lease = ANY($1)",
        leases
    )
    .execute(pool)
    .await?;
    Ok(())
}
