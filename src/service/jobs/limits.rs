//! What one partner may hold of the job queue (docs/upgrade-jobs.md, "Limits"): jobs queued or
//! running, and items pending. Beyond either, a new job is refused with 429 and `Retry-After`;
//! a retried creation of an accepted job (same `Idempotency-Key`) is answered before this check.

use sqlx::PgConnection;

use crate::db;
use crate::domain::{ErrorCode, PartnerId};
use crate::error::Error;

/// Seconds a partner at its limit is told to wait: jobs take at least this long to make room.
const RETRY_AFTER_SECS: u32 = 30;

/// How much of the job queue one partner may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobLimits {
    /// Jobs queued or running at once.
    pub max_active: i64,
    /// Items of those jobs still pending.
    pub max_pending_items: i64,
}

impl Default for JobLimits {
    fn default() -> Self {
        JobLimits {
            max_active: 10,
            max_pending_items: 50_000,
        }
    }
}

/// Refuses a job of `items` items when the partner would hold more than `limits` with it. Holds
/// the partner's job-creation lock until the caller's transaction ends.
pub(super) async fn admit(
    conn: &mut PgConnection,
    partner_id: PartnerId,
    items: usize,
    limits: JobLimits,
) -> Result<(), Error> {
    db::jobs::quota::lock_partner(conn, partner_id).await?;
    let (jobs, pending) = db::jobs::quota::held(conn, partner_id).await?;
    if jobs >= limits.max_active {
        return Err(Error::throttled(
            ErrorCode::TooManyJobs,
            format!(
                "You have {jobs} jobs queued or running; at most {} may be. Wait for one to end, \
                 or cancel one.",
                limits.max_active
            ),
            RETRY_AFTER_SECS,
        ));
    }
    let items = i64::try_from(items).unwrap_or(i64::MAX);
    if pending.saturating_add(items) > limits.max_pending_items {
        return Err(Error::throttled(
            ErrorCode::TooManyPendingItems,
            format!(
                "Your queued and running jobs have {pending} items pending; with this job's \
                 {items} that would be over the {} allowed. Wait for them to progress.",
                limits.max_pending_items
            ),
            RETRY_AFTER_SECS,
        ));
    }
    Ok(())
}
