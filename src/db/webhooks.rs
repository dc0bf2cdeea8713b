//! Webhook endpoints, and the outbox's deliveries and attempts (written by `history::record`).

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

/// A registered endpoint (its secret stays in the database).
#[derive(Debug, Clone)]
pub struct EndpointRow {
    pub id: Uuid,
    pub url: String,
    pub events: Vec<String>,
    pub created_at: DateTime<Utc>,
}

/// Registers an endpoint.
pub async fn create_endpoint(
    pool: &PgPool,
    partner_id: Uuid,
    url: &str,
    events: &[String],
    secret: &str,
) -> Result<EndpointRow, sqlx::Error> {
    sqlx::query_as!(
        EndpointRow,
        "INSERT INTO webhook_endpoints (partner_id, id, url, events, secret)
         VALUES ($1, $2, $3, $4, $5)
         RETURNING id, url, events, created_at",
        partner_id,
        Uuid::now_v7(),
        url,
        events,
        secret
    )
    .fetch_one(pool)
    .await
}

/// The partner's endpoints, oldest first.
pub async fn list_endpoints(
    pool: &PgPool,
    partner_id: Uuid,
) -> Result<Vec<EndpointRow>, sqlx::Error> {
    sqlx::query_as!(
        EndpointRow,
        "SELECT id, url, events, created_at FROM webhook_endpoints
          WHERE partner_id = $1 ORDER BY id",
        partner_id
    )
    .fetch_all(pool)
    .await
}

/// One of the partner's endpoints.
pub async fn find_endpoint(
    pool: &PgPool,
    partner_id: Uuid,
    id: Uuid,
) -> Result<Option<EndpointRow>, sqlx::Error> {
    sqlx::query_as!(
        EndpointRow,
        "SELECT id, url, events, created_at FROM webhook_endpoints
          WHERE partner_id = $1 AND id = $2",
        partner_id,
        id
    )
    .fetch_optional(pool)
    .await
}

/// Removes an endpoint and its pending deliveries; whether it existed.
pub async fn delete_endpoint(
    pool: &PgPool,
    partner_id: Uuid,
    id: Uuid,
) -> Result<bool, sqlx::Error> {
    let deleted = sqlx::query!(
        "DELETE FROM webhook_endpoints WHERE partner_id = $1 AND id = $2",
        partner_id,
        id
    )
    .execute(pool)
    .await?;
    Ok(deleted.rows_affected() == 1)
}

/// A delivery due now, with what sending it needs.
#[derive(Debug, Clone)]
pub struct DueDelivery {
    pub endpoint_id: Uuid,
    pub event_seq: i64,
    pub attempts: i32,
    pub url: String,
    pub secret: String,
    pub event_id: Uuid,
    pub event_type: String,
    pub payload: serde_json::Value,
}

/// Locks up to `limit` due deliveries that no other worker holds, oldest first, leaving out any
/// whose subscription has an earlier delivery to the same endpoint still pending (so that a
/// receiver never gets a subscription's events out of order).
pub async fn claim_due(
    conn: &mut PgConnection,
    limit: i64,
) -> Result<Vec<DueDelivery>, sqlx::Error> {
    sqlx::query_as!(
        DueDelivery,
        "SELECT d.endpoint_id, d.event_seq, d.attempts, w.url, w.secret, e.id AS event_id,
                e.event_type, e.payload
           FROM webhook_deliveries d
           JOIN webhook_endpoints w ON w.partner_id = d.partner_id AND w.id = d.endpoint_id
           JOIN webhook_events e ON e.seq = d.event_seq
          WHERE d.status = 'pending' AND d.next_attempt_at <= now()
            AND NOT EXISTS (
                SELECT 1 FROM webhook_deliveries earlier
                 WHERE earlier.endpoint_id = d.endpoint_id
                   AND earlier.subscription_id = d.subscription_id
                   AND earlier.status = 'pending' AND earlier.event_seq < d.event_seq)
          ORDER BY d.next_attempt_at, d.event_seq
          LIMIT $1
          FOR UPDATE OF d SKIP LOCKED",
        limit
    )
    .fetch_all(conn)
    .await
}

/// How one attempt went.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub status_code: Option<i32>,
    pub error: Option<String>,
    pub duration_ms: i32,
    pub delivered: bool,
    /// When to try again if not delivered.
    pub retry_in_ms: i64,
}

/// Records an attempt and marks the delivery delivered or schedules the next attempt.
pub async fn record_attempt(
    conn: &mut PgConnection,
    delivery: &DueDelivery,
    attempt: &Attempt,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "WITH attempt AS (
             INSERT INTO webhook_attempts
                 (endpoint_id, event_seq, attempt, status_code, error, duration_ms)
             VALUES ($1, $2, $3, $4, $5, $6)
         )
         UPDATE webhook_deliveries
            SET attempts = $3,
                status = CASE WHEN $7 THEN 'delivered' ELSE 'pending' END,
                delivered_at = CASE WHEN $7 THEN now() END,
                next_attempt_at = now() + make_interval(secs => $8::bigint / 1000.0)
          WHERE endpoint_id = $1 AND event_seq = $2",
        delivery.endpoint_id,
        delivery.event_seq,
        delivery.attempts + 1,
        attempt.status_code,
        attempt.error,
        attempt.duration_ms,
        attempt.delivered,
        attempt.retry_in_ms
    )
    .execute(conn)
    .await?;
    Ok(())
}
