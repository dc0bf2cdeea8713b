//! The job queue: items claimed under leases, fairly across jobs, their outcomes recorded by the
//! lease holder, jobs completed or cancelled, and a job's end announced to the partner's webhooks.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::domain::ids::{CustomerId, JobId, PartnerId, SubscriptionId};
use crate::domain::job::{ItemKind, ItemOutcome, JobStatus, UpgradeJob};
use crate::domain::plan::{BillingCycle, TermDuration};

/// A claimed item, with what its job says about how to process it.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub partner_id: PartnerId,
    pub job_id: JobId,
    pub seq: i32,
    pub customer_id: CustomerId,
    pub subscription_id: SubscriptionId,
    pub kind: ItemKind,
    pub target_offer_id: Option<String>,
    pub quantity: Option<i32>,
    pub quantity_assigned: bool,
    pub term_duration: Option<TermDuration>,
    pub billing_cycle: Option<BillingCycle>,
    pub attempts: i32,
    pub lease: Uuid,
    pub job_status: JobStatus,
    pub dry_run: bool,
    pub at_term_end: bool,
    pub actor_user_id: String,
    pub actor_roles: Vec<String>,
    pub request_id: String,
}

/// Leases up to `limit` pending items of one job, the job served least recently among those with
/// items to take (so a big job never holds back another partner's small one by more than a
/// batch), for `lease`. A cancelled job is served only for the items that were in flight when it
/// was cancelled and whose worker was lost.
///
/// Lock order: the job row first, then its items, as `cancel` and `complete_if_done` take them
/// (docs/upgrade-jobs.md). A job another transaction holds (a cancel in progress, another
/// worker's claim) is passed over for the next one, so a worker never waits on a job while it
/// holds item locks, and a cancel never waits on a worker that waits on it.
///
/// The items are read per job (a lateral subquery), so the pending items' index is walked from the
/// job's first pending `seq` and stops at the batch: joined to the job instead, the plan read every
/// pending item of every job and sorted them, for each batch (docs/performance.md).
pub async fn claim(
    pool: &PgPool,
    limit: i64,
    lease: Duration,
) -> Result<Vec<Claimed>, sqlx::Error> {
    let lease_ms = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
    sqlx::query_as!(
        Claimed,
        r#"WITH job AS (
               SELECT j.partner_id, j.id FROM upgrade_jobs j
                WHERE j.status IN ('queued', 'running', 'cancelled')
                  AND EXISTS (SELECT 1 FROM upgrade_job_items i
                               WHERE i.job_id = j.id AND i.partner_id = j.partner_id
                                 AND i.outcome = 'pending'
                                 AND (i.leased_until IS NULL OR i.leased_until < now()))
                ORDER BY j.last_served_at, j.created_at
                LIMIT 1
                  FOR UPDATE OF j SKIP LOCKED
           ), picked AS (
               SELECT p.partner_id, p.job_id, p.seq FROM job CROSS JOIN LATERAL (
                   SELECT i.partner_id, i.job_id, i.seq FROM upgrade_job_items i
                    WHERE i.partner_id = job.partner_id AND i.job_id = job.id
                      AND i.outcome = 'pending'
                      AND (i.leased_until IS NULL OR i.leased_until < now())
                    ORDER BY i.seq LIMIT $1
                      FOR UPDATE OF i SKIP LOCKED) p
           ), served AS (
               UPDATE upgrade_jobs j
                  SET last_served_at = clock_timestamp(),
                      status = CASE WHEN j.status = 'queued' THEN 'running' ELSE j.status END,
                      started_at = coalesce(j.started_at, now())
                 FROM job WHERE j.partner_id = job.partner_id AND j.id = job.id
                RETURNING j.partner_id, j.id, j.status, j.dry_run, j.at_term_end, j.actor_user_id,
                          j.actor_roles, j.request_id
           )
           UPDATE upgrade_job_items i
              SET lease = gen_random_uuid(), attempts = i.attempts + 1,
                  leased_until = now() + $2::bigint * interval '1 millisecond'
             FROM picked, served
            WHERE i.partner_id = picked.partner_id AND i.job_id = picked.job_id
              AND i.seq = picked.seq AND served.id = picked.job_id
           RETURNING i.partner_id AS "partner_id: PartnerId", i.job_id AS "job_id: JobId", i.seq,
                     i.customer_id AS "customer_id: CustomerId",
                     i.subscription_id AS "subscription_id: SubscriptionId",
                     i.kind AS "kind: ItemKind", i.target_offer_id, i.quantity,
                     i.quantity_assigned, i.term_duration AS "term_duration: TermDuration",
                     i.billing_cycle AS "billing_cycle: BillingCycle", i.attempts, i.lease AS "lease!",
                     served.status AS "job_status: JobStatus", served.dry_run, served.at_term_end,
                     served.actor_user_id, served.actor_roles, served.request_id"#,
        limit,
        lease_ms
    )
    .fetch_all(pool)
    .await
}

/// Records the item's outcome, if the caller still holds its lease; whether it did. The worker
/// runs it in the item's own upgrade transaction (one commit per item), or alone when that
/// transaction did not commit (a refusal, a replayed answer).
///
/// Planned at each execution (an unnamed statement), whichever connection runs it: a
/// connection's cached generic plan may have been made while the items table held a page or
/// two, where a sequential scan is as cheap as the key's index and stays the plan when the
/// table holds a 10,000-item job (docs/performance.md, "A plan cached on an empty queue").
pub async fn finish_item(
    executor: impl sqlx::PgExecutor<'_>,
    item: &Claimed,
    outcome: ItemOutcome,
    result: Option<&str>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE upgrade_job_items
            SET outcome = $4, result = $5::text::json, finished_at = now(), lease = NULL, leased_until = NULL
          WHERE partner_id = $1 AND job_id = $2 AND seq = $3 AND lease = $6 AND outcome = 'pending'",
    )
    .bind(item.partner_id.as_uuid())
    .bind(item.job_id.as_uuid())
    .bind(item.seq)
    .bind(outcome.as_str())
    .bind(result)
    .bind(item.lease)
    .persistent(false)
    .execute(executor)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Gives the item back to the queue, to be taken again after `delay`.
pub async fn retry_item(pool: &PgPool, item: &Claimed, delay: Duration) -> Result<(), sqlx::Error> {
    let delay_ms = i64::try_from(delay.as_millis()).unwrap_or(i64::MAX);
    sqlx::query!(
        "UPDATE upgrade_job_items
            SET lease = NULL, leased_until = now() + $5::bigint * interval '1 millisecond'
          WHERE partner_id = $1 AND job_id = $2 AND seq = $3 AND lease = $4",
        item.partner_id.as_uuid(),
        item.job_id.as_uuid(),
        item.seq,
        item.lease,
        delay_ms
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Whether an item of the job from `seq` on is still pending: while a job runs, the items
/// after a worker's batch are, and this walks the pending items' index from the batch rather
/// than over the dead entries of every item done before it, as the full check in
/// [`complete_if_done`] must.
pub async fn pending_from(
    pool: &PgPool,
    (partner_id, job_id): (PartnerId, JobId),
    seq: i32,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM upgrade_job_items
                           WHERE partner_id = $1 AND job_id = $2 AND seq >= $3
                             AND outcome = 'pending') AS "pending!""#,
        partner_id.as_uuid(),
        job_id.as_uuid(),
        seq
    )
    .fetch_one(pool)
    .await
}

/// Marks the job completed when none of its items is pending any more; the job, when this call
/// ended it (exactly one caller does).
pub async fn complete_if_done(
    conn: &mut PgConnection,
    partner_id: PartnerId,
    job_id: JobId,
) -> Result<Option<UpgradeJob>, sqlx::Error> {
    sqlx::query_as!(
        UpgradeJob,
        r#"UPDATE upgrade_jobs j SET status = 'completed', finished_at = now()
            WHERE j.partner_id = $1 AND j.id = $2 AND j.status IN ('queued', 'running')
              AND NOT EXISTS (SELECT 1 FROM upgrade_job_items i
                               WHERE i.partner_id = j.partner_id AND i.job_id = j.id
                                 AND i.outcome = 'pending')
           RETURNING partner_id AS "partner_id: PartnerId", id AS "id: JobId", status AS "status: JobStatus",
                     dry_run, at_term_end, definition, total_items, request_id, created_at,
                     started_at, finished_at"#,
        partner_id.as_uuid(),
        job_id.as_uuid()
    )
    .fetch_optional(conn)
    .await
}

/// Cancels the job if it has not ended: its pending items not in flight are skipped (those in
/// flight finish). The job as it is afterwards, and whether this call cancelled it. Locks the job
/// row, then its items: the order `claim` takes them in.
pub async fn cancel(
    conn: &mut PgConnection,
    partner_id: PartnerId,
    job_id: JobId,
) -> Result<Option<(UpgradeJob, bool)>, sqlx::Error> {
    let cancelled = sqlx::query_scalar!(
        "UPDATE upgrade_jobs SET status = 'cancelled', finished_at = now()
          WHERE partner_id = $1 AND id = $2 AND status IN ('queued', 'running')
          RETURNING id",
        partner_id.as_uuid(),
        job_id.as_uuid()
    )
    .fetch_optional(&mut *conn)
    .await?
    .is_some();
    if cancelled {
        sqlx::query!(
            "UPDATE upgrade_job_items SET outcome = 'skipped', finished_at = now()
              WHERE partner_id = $1 AND job_id = $2 AND outcome = 'pending'
                AND (leased_until IS NULL OR leased_until < now())",
            partner_id.as_uuid(),
            job_id.as_uuid()
        )
        .execute(&mut *conn)
        .await?;
    }
    let job = super::find(&mut *conn, partner_id, job_id).await?;
    Ok(job.map(|job| (job, cancelled)))
}

/// Items waiting to be processed, over every job.
pub async fn queue_depth(pool: &PgPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "count!" FROM upgrade_job_items i
             JOIN upgrade_jobs j ON j.partner_id = i.partner_id AND j.id = i.job_id
            WHERE i.outcome = 'pending' AND j.status IN ('queued', 'running')"#
    )
    .fetch_one(pool)
    .await
}

/// Queues the event announcing a job's end for every endpoint of the partner that wants it.
pub async fn announce(
    conn: &mut PgConnection,
    partner_id: PartnerId,
    (id, event_type, payload): (Uuid, &str, &serde_json::Value),
    occurred_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "WITH event AS (
             INSERT INTO webhook_events (id, partner_id, event_type, payload, occurred_at)
             SELECT $2, $1, $3, $4, $5
              WHERE EXISTS (SELECT 1 FROM webhook_endpoints w
                             WHERE w.partner_id = $1 AND $3 = ANY (w.events))
             RETURNING seq
         )
         INSERT INTO webhook_deliveries (partner_id, endpoint_id, event_seq)
         SELECT $1, w.id, event.seq
           FROM event JOIN webhook_endpoints w ON w.partner_id = $1 AND $3 = ANY (w.events)",
        partner_id.as_uuid(),
        id,
        event_type,
        payload,
        occurred_at
    )
    .execute(conn)
    .await?;
    Ok(())
}
