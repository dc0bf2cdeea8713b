//! Bulk upgrade jobs (docs/upgrade-jobs.md): the rules that need no database. How big a job may
//! be, what each item's outcome is from its single upgrade's answer, and how a job's progress,
//! rate and estimated end are computed from its counts.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::codes::ErrorCode;
use super::ids::{CustomerId, JobId, PartnerId, SubscriptionId};
use super::plan::{BillingCycle, TermDuration};

/// Most items one job may have, listed or selected.
pub const MAX_ITEMS: usize = 10_000;

/// Most customers a selection may list (`selection.customerIds`).
pub const MAX_CUSTOMER_IDS: usize = 1_000;

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    /// Accepted; no item taken yet.
    Queued,
    /// Items are being processed.
    Running,
    /// Every item has its outcome.
    Completed,
    /// Cancelled: pending items were skipped; those done stay done.
    Cancelled,
}

impl JobStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Completed => "completed",
            JobStatus::Cancelled => "cancelled",
        }
    }

    /// Parses the stored name.
    pub fn parse(value: &str) -> Option<Self> {
        [
            Self::Queued,
            Self::Running,
            Self::Completed,
            Self::Cancelled,
        ]
        .into_iter()
        .find(|s| s.as_str() == value)
    }

    /// Whether the job has ended: nothing more will be processed.
    pub fn is_final(self) -> bool {
        matches!(self, JobStatus::Completed | JobStatus::Cancelled)
    }
}

/// What an item does to its subscription.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    /// An upgrade now, or (term-end job) the next-term instruction: an upgrade or a move down,
    /// seats, plan.
    #[default]
    Upgrade,
    /// A legacy subscription's move to new commerce, now or (term-end job) at its term end.
    Migration,
}

impl ItemKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemKind::Upgrade => "upgrade",
            ItemKind::Migration => "migration",
        }
    }

    /// Parses the stored name.
    pub fn parse(value: &str) -> Option<Self> {
        [Self::Upgrade, Self::Migration]
            .into_iter()
            .find(|k| k.as_str() == value)
    }
}

/// An item's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ItemOutcome {
    /// Not processed yet.
    Pending,
    /// Upgraded (scheduled, for a term-end job; eligible, for a dry run).
    Succeeded,
    /// Refused by the eligibility conditions (`upgrade_not_eligible`, every failing condition).
    NotEligible,
    /// Refused with another code (not found, already upgraded, …) or failed.
    Failed,
    /// Not processed: the job was cancelled first.
    Skipped,
}

impl ItemOutcome {
    /// Every outcome, in the order counts are shown.
    pub const ALL: [ItemOutcome; 5] = [
        ItemOutcome::Succeeded,
        ItemOutcome::NotEligible,
        ItemOutcome::Failed,
        ItemOutcome::Skipped,
        ItemOutcome::Pending,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemOutcome::Pending => "pending",
            ItemOutcome::Succeeded => "succeeded",
            ItemOutcome::NotEligible => "not_eligible",
            ItemOutcome::Failed => "failed",
            ItemOutcome::Skipped => "skipped",
        }
    }

    /// Parses the stored name.
    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == value)
    }
}

/// What to do with an item whose single upgrade was answered with `code`: record it as done
/// with an outcome, or try it again later (the database or a lock was briefly unavailable:
/// nothing was changed), until `attempts` reaches `MAX_ATTEMPTS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    Done(ItemOutcome),
    Retry,
}

/// Attempts of one item before a transient failure is recorded as its outcome.
pub const MAX_ATTEMPTS: i32 = 5;

/// The disposition of an item refused or failed with `code` on its `attempts`-th attempt.
pub fn disposition(code: ErrorCode, attempts: i32) -> Disposition {
    let transient = matches!(
        code,
        ErrorCode::DatabaseUnavailable
            | ErrorCode::LockTimeout
            | ErrorCode::ServiceUnavailable
            | ErrorCode::IdempotencyKeyInUse
    );
    match code {
        ErrorCode::UpgradeNotEligible => Disposition::Done(ItemOutcome::NotEligible),
        _ if transient && attempts < MAX_ATTEMPTS => Disposition::Retry,
        _ => Disposition::Done(ItemOutcome::Failed),
    }
}

/// A job as stored.
#[derive(Debug, Clone)]
pub struct UpgradeJob {
    pub partner_id: PartnerId,
    pub id: JobId,
    pub status: JobStatus,
    pub dry_run: bool,
    pub at_term_end: bool,
    /// The job as accepted: the selection, or how many items were listed.
    pub definition: serde_json::Value,
    pub total_items: i32,
    pub request_id: String,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// One item of a job, with its outcome once processed.
#[derive(Debug, Clone)]
pub struct JobItem {
    pub seq: i32,
    pub customer_id: CustomerId,
    pub subscription_id: SubscriptionId,
    pub kind: ItemKind,
    /// The offer an upgrade goes to; `None` for a term-end seat or plan change, or a migration.
    pub target_offer_id: Option<String>,
    pub quantity: Option<i32>,
    /// The seats are the licenses assigned at the renewal (`quantity: "assigned"`).
    pub quantity_assigned: bool,
    /// The next term's (or, for a migration, the new subscription's) plan, when sent.
    pub term_duration: Option<TermDuration>,
    pub billing_cycle: Option<BillingCycle>,
    pub outcome: ItemOutcome,
    /// The single upgrade's answer (succeeded) or problem (not eligible, failed), as the JSON
    /// text it was answered with.
    pub result: Option<String>,
    pub attempts: i32,
    pub finished_at: Option<DateTime<Utc>>,
}

/// Items per outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Counts {
    pub succeeded: i64,
    pub not_eligible: i64,
    pub failed: i64,
    pub skipped: i64,
    pub pending: i64,
}

impl Counts {
    /// Adds `count` items of `outcome`.
    pub fn add(&mut self, outcome: ItemOutcome, count: i64) {
        let slot = match outcome {
            ItemOutcome::Succeeded => &mut self.succeeded,
            ItemOutcome::NotEligible => &mut self.not_eligible,
            ItemOutcome::Failed => &mut self.failed,
            ItemOutcome::Skipped => &mut self.skipped,
            ItemOutcome::Pending => &mut self.pending,
        };
        *slot += count;
    }

    /// The counts of a tally of (outcome, items) pairs, as the database groups them.
    pub fn of(tally: impl IntoIterator<Item = (ItemOutcome, i64)>) -> Self {
        let mut counts = Counts::default();
        for (outcome, count) in tally {
            counts.add(outcome, count);
        }
        counts
    }

    /// Items with an outcome other than pending.
    pub fn done(&self) -> i64 {
        self.succeeded + self.not_eligible + self.failed + self.skipped
    }

    /// Every item.
    pub fn total(&self) -> i64 {
        self.done() + self.pending
    }
}

/// How far a job has come.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Progress {
    /// Items done (any outcome but pending) per 100 items; 100 for a job without items.
    pub percent: f64,
    /// Items processed (skipped ones not counted) per second since the job started; 0 before.
    pub items_per_second: f64,
    /// When the pending items should be done at that rate; `null` when ended or not measurable.
    pub estimated_end: Option<DateTime<Utc>>,
}

/// The progress of a job with `counts`, started (when it has) at `started`, ended (when it has)
/// at `finished`, seen at `now`.
pub fn progress(
    counts: &Counts,
    started: Option<DateTime<Utc>>,
    finished: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Progress {
    let total = counts.total();
    let percent = if total == 0 {
        100.0
    } else {
        round2(counts.done() as f64 * 100.0 / total as f64)
    };
    let processed = counts.done() - counts.skipped;
    let elapsed = started.map(|s| (finished.unwrap_or(now) - s).num_milliseconds());
    let items_per_second = match elapsed {
        Some(ms) if ms > 0 => round2(processed as f64 * 1000.0 / ms as f64),
        _ => 0.0,
    };
    let estimated_end =
        (finished.is_none() && counts.pending > 0 && items_per_second > 0.0).then(|| {
            let ms = (counts.pending as f64 * 1000.0 / items_per_second).ceil() as i64;
            now + chrono::Duration::milliseconds(ms)
        });
    Progress {
        percent,
        items_per_second,
        estimated_end,
    }
}

fn round2(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests;
