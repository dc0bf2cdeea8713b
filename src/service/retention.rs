//! The retention job each instance runs: keeps the webhook outbox, the `Idempotency-Key` records
//! and the upgrade jobs from growing forever. Finished deliveries (delivered, or given up and not
//! requeued) and their attempts go after the retention period, then events no delivery refers
//! to; expired idempotency records go at once; finished upgrade jobs (completed or cancelled) go
//! after theirs, their items first. Pending deliveries and jobs not finished are never removed.

use std::future::Future;
use std::time::Duration;

use sqlx::PgPool;

use super::FirstPass;
use crate::db::retention;

/// Rows removed per statement.
const BATCH: i64 = 1000;

/// When and what the retention job removes.
#[derive(Debug, Clone)]
pub struct RetentionSettings {
    /// How often it runs (first at start-up).
    pub interval: Duration,
    /// How long finished deliveries, their attempts and their events are kept.
    pub keep_outbox: Duration,
    /// How long finished upgrade jobs and their items are kept.
    pub keep_jobs: Duration,
}

/// How many rows one run removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Removed {
    pub deliveries: u64,
    pub events: u64,
    pub idempotency_records: u64,
    pub job_items: u64,
    pub jobs: u64,
}

/// Runs the retention job every `interval` until `shutdown` completes.
pub async fn run(pool: PgPool, settings: RetentionSettings, shutdown: impl Future<Output = ()>) {
    super::every(settings.interval, FirstPass::AtStart, shutdown, || async {
        match remove_expired(&pool, &settings).await {
            Ok(removed) if removed != Removed::default() => tracing::info!(
                deliveries = removed.deliveries,
                events = removed.events,
                idempotency_records = removed.idempotency_records,
                job_items = removed.job_items,
                jobs = removed.jobs,
                "retention removed expired rows"
            ),
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "retention could not reach the database"),
        }
    })
    .await;
}

/// One run: batch after batch until nothing is left to remove.
pub async fn remove_expired(
    pool: &PgPool,
    settings: &RetentionSettings,
) -> Result<Removed, sqlx::Error> {
    let mut removed = Removed::default();
    let keep = settings.keep_outbox;
    removed.deliveries = drain(|| retention::delete_finished_deliveries(pool, keep, BATCH)).await?;
    removed.events = drain(|| retention::delete_unreferenced_events(pool, keep, BATCH)).await?;
    removed.idempotency_records =
        drain(|| retention::delete_expired_idempotency_records(pool, BATCH)).await?;
    let keep = settings.keep_jobs;
    removed.job_items = drain(|| retention::delete_finished_job_items(pool, keep, BATCH)).await?;
    removed.jobs = drain(|| retention::delete_finished_jobs(pool, keep, BATCH)).await?;
    Ok(removed)
}

/// Repeats a batch until one removes less than a full batch; the total removed.
async fn drain<F, Fut>(mut batch: F) -> Result<u64, sqlx::Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<u64, sqlx::Error>>,
{
    let mut total = 0;
    loop {
        let removed = batch().await?;
        total += removed;
        if removed < BATCH.unsigned_abs() {
            return Ok(total);
        }
    }
}
