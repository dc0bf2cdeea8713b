//! The outbox and endpoint figures the metrics report, counted over every partner in one
//! statement (the figures are the database's, so every instance reports the same).

use sqlx::PgPool;

/// The outbox's depth and age, and the endpoints by state. An endpoint is failing when one of
/// its pending deliveries is in a run of failures (being retried); healthy when enabled and not
/// failing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OutboxState {
    /// Deliveries pending for healthy endpoints: the delivery worker's own backlog.
    pub pending_healthy: i64,
    /// Deliveries pending for failing endpoints (retried, or queued behind a retried one).
    pub pending_failing: i64,
    /// Deliveries kept for disabled endpoints until they are enabled again.
    pub pending_disabled: i64,
    /// Seconds since the oldest event pending for a healthy endpoint occurred (0: none).
    pub oldest_pending_secs: f64,
    /// Enabled endpoints.
    pub enabled: i64,
    /// Enabled endpoints that are failing.
    pub failing: i64,
    /// Disabled endpoints.
    pub disabled: i64,
}

/// Counts the outbox and the endpoints now.
pub async fn outbox_state(pool: &PgPool) -> Result<OutboxState, sqlx::Error> {
    sqlx::query_as!(
        OutboxState,
        r#"WITH per_endpoint AS (
               SELECT CASE WHEN bool_or(w.status = 'disabled') THEN 'disabled'
                           WHEN bool_or(d.failing_since IS NOT NULL) THEN 'failing'
                           ELSE 'healthy' END AS state,
                      count(*) AS pending, min(e.occurred_at) AS oldest
                 FROM webhook_deliveries d
                 JOIN webhook_endpoints w ON w.partner_id = d.partner_id AND w.id = d.endpoint_id
                 JOIN webhook_events e ON e.seq = d.event_seq
                WHERE d.status = 'pending'
                GROUP BY d.endpoint_id
           ), endpoints AS (
               SELECT count(*) FILTER (WHERE status = 'enabled') AS enabled,
                      count(*) FILTER (WHERE status = 'disabled') AS disabled
                 FROM webhook_endpoints
           )
           SELECT coalesce((SELECT sum(pending) FROM per_endpoint WHERE state = 'healthy'), 0)::int8
                      AS "pending_healthy!",
                  coalesce((SELECT sum(pending) FROM per_endpoint WHERE state = 'failing'), 0)::int8
                      AS "pending_failing!",
                  coalesce((SELECT sum(pending) FROM per_endpoint WHERE state = 'disabled'), 0)::int8
                      AS "pending_disabled!",
                  coalesce((SELECT extract(epoch FROM now() - min(oldest))::float8
                              FROM per_endpoint WHERE state = 'healthy'), 0) AS "oldest_pending_secs!",
                  endpoints.enabled AS "enabled!",
                  (SELECT count(*) FROM per_endpoint WHERE state = 'failing') AS "failing!",
                  endpoints.disabled AS "disabled!"
             FROM endpoints"#
    )
    .fetch_one(pool)
    .await
}
