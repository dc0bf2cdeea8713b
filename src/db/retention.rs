//! Removing what is no longer needed, a bounded batch per statement so no statement holds many
//! row locks or runs long: finished webhook deliveries (with their attempts), events no delivery
//! refers to any more, expired `Idempotency-Key` records, and finished upgrade jobs (their items
//! first, then the jobs left without items).

use std::time::Duration;

use sqlx::PgPool;

fn millis(age: Duration) -> i64 {
    i64::try_from(age.as_millis()).unwrap_or(i64::MAX)
}

/// Removes up to `limit` deliveries delivered or given up more than `age` ago, and their
/// attempts (by cascade); how many.
pub async fn delete_finished_deliveries(
    pool: &PgPool,
    age: Duration,
    limit: i64,
) -> Result<u64, sqlx::Error> {
    // The outer conditions are checked again on rows changed meanwhile (a requeued delivery is
    // pending again and stays).
    let deleted = sqlx::query!(
        "DELETE FROM webhook_deliveries
          WHERE (endpoint_id, event_seq) IN (
                SELECT endpoint_id, event_seq FROM webhook_deliveries
                 WHERE status <> 'pending'
                   AND coalesce(delivered_at, failed_at) < now() - $1::bigint * interval '1 millisecond'
                 LIMIT $2)
            AND status <> 'pending'
            AND coalesce(delivered_at, failed_at) < now() - $1::bigint * interval '1 millisecond'",
        millis(age),
        limit
    )
    .execute(pool)
    .await?;
    Ok(deleted.rows_affected())
}

/// Removes up to `limit` events older than `age` that no delivery refers to; how many.
pub async fn delete_unreferenced_events(
    pool: &PgPool,
    age: Duration,
    limit: i64,
) -> Result<u64, sqlx::Error> {
    let deleted = sqlx::query!(
        "DELETE FROM webhook_events
          WHERE seq IN (
                SELECT e.seq FROM webhook_events e
                 WHERE e.occurred_at < now() - $1::bigint * interval '1 millisecond'
                   AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_seq = e.seq)
                 ORDER BY e.seq
                 LIMIT $2)",
        millis(age),
        limit
    )
    .execute(pool)
    .await?;
    Ok(deleted.rows_affected())
}

/// Removes up to `limit` expired `Idempotency-Key` records; how many.
pub async fn delete_expired_idempotency_records(
    pool: &PgPool,
    limit: i64,
) -> Result<u64, sqlx::Error> {
    // `expires_at` is checked again on the row itself: a key reused meanwhile has a new expiry.
    let deleted = sqlx::query!(
        "DELETE FROM idempotency_records
          WHERE (customer_id, partner_id, idempotency_key) IN (
                SELECT customer_id, partner_id, idempotency_key FROM idempotency_records
                 WHERE expires_at <= now()
                 LIMIT $1)
            AND expires_at <= now()",
        limit
    )
    .execute(pool)
    .await?;
    Ok(deleted.rows_affected())
}

/// Removes up to `limit` items of upgrade jobs finished (completed or cancelled) more than `age`
/// ago; how many. Items still pending (in flight when their job was cancelled) stay until done.
/// Only item rows are locked, and no job row: the lock order of the job queue is never reversed.
pub async fn delete_finished_job_items(
    pool: &PgPool,
    age: Duration,
    limit: i64,
) -> Result<u64, sqlx::Error> {
    let deleted = sqlx::query!(
        "DELETE FROM upgrade_job_items
          WHERE (partner_id, job_id, seq) IN (
                SELECT i.partner_id, i.job_id, i.seq
                  FROM upgrade_jobs j
                  JOIN upgrade_job_items i ON i.partner_id = j.partner_id AND i.job_id = j.id
                 WHERE j.status IN ('completed', 'cancelled')
                   AND j.finished_at < now() - $1::bigint * interval '1 millisecond'
                   AND i.outcome <> 'pending'
                 LIMIT $2)
            AND outcome <> 'pending'",
        millis(age),
        limit
    )
    .execute(pool)
    .await?;
    Ok(deleted.rows_affected())
}

/// Removes up to `limit` upgrade jobs finished more than `age` ago that have no items left; how
/// many.
pub async fn delete_finished_jobs(
    pool: &PgPool,
    age: Duration,
    limit: i64,
) -> Result<u64, sqlx::Error> {
    let deleted = sqlx::query!(
        "DELETE FROM upgrade_jobs
          WHERE (partner_id, id) IN (
                SELECT j.partner_id, j.id FROM upgrade_jobs j
                 WHERE j.status IN ('completed', 'cancelled')
                   AND j.finished_at < now() - $1::bigint * interval '1 millisecond'
                   AND NOT EXISTS (SELECT 1 FROM upgrade_job_items i
                                    WHERE i.partner_id = j.partner_id AND i.job_id = j.id)
                 LIMIT $2)
            AND NOT EXISTS (SELECT 1 FROM upgrade_job_items i
                             WHERE i.partner_id = upgrade_jobs.partner_id
                               AND i.job_id = upgrade_jobs.id)",
        millis(age),
        limit
    )
    .execute(pool)
    .await?;
    Ok(deleted.rows_affected())
}
