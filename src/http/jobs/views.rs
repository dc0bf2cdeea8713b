//! How jobs and their items are shown.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::catalog::OfferId;
use crate::domain::job::{Counts, ItemOutcome, JobItem, JobStatus};
use crate::service::jobs;

/// A job with its progress.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobView {
    id: Uuid,
    status: JobStatus,
    dry_run: bool,
    at_term_end: bool,
    /// The job as accepted: how many `items` were listed, or a summary of the `selection`
    /// (`sourceOfferId`, `targetOfferId`, `market`, `quantity`, and `customerCount`, how many
    /// `customerIds` it listed).
    #[schema(value_type = Object)]
    definition: serde_json::Value,
    total_items: i32,
    /// Items per outcome.
    counts: Counts,
    /// Items done per 100 (100 for a job without items).
    percent: f64,
    /// Items processed per second since the job started.
    items_per_second: f64,
    created_at: DateTime<Utc>,
    started_at: Option<DateTime<Utc>>,
    finished_at: Option<DateTime<Utc>>,
    /// When the pending items should be done at the current rate; `null` when ended or unknown.
    estimated_end: Option<DateTime<Utc>>,
    /// The request that created the job; each item's changes carry it, with `/item-<n>`.
    request_id: String,
}

impl From<jobs::JobView> for JobView {
    fn from(view: jobs::JobView) -> Self {
        let job = view.job;
        JobView {
            id: job.id,
            status: job.status,
            dry_run: job.dry_run,
            at_term_end: job.at_term_end,
            definition: job.definition,
            total_items: job.total_items,
            counts: view.counts,
            percent: view.progress.percent,
            items_per_second: view.progress.items_per_second,
            created_at: job.created_at,
            started_at: job.started_at,
            finished_at: job.finished_at,
            estimated_end: view.progress.estimated_end,
            request_id: job.request_id,
        }
    }
}

/// A job's progress, as its event stream sends it: no definition, a link to the whole job.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobProgressView {
    id: Uuid,
    /// The job: `/v1/upgrade-jobs/{jobId}`.
    job: String,
    status: JobStatus,
    total_items: i32,
    /// Items per outcome.
    counts: Counts,
    /// Items done per 100 (100 for a job without items).
    percent: f64,
    /// Items processed per second since the job started.
    items_per_second: f64,
    started_at: Option<DateTime<Utc>>,
    finished_at: Option<DateTime<Utc>>,
    /// When the pending items should be done at the current rate; `null` when ended or unknown.
    estimated_end: Option<DateTime<Utc>>,
}

impl From<&jobs::JobView> for JobProgressView {
    fn from(view: &jobs::JobView) -> Self {
        let job = &view.job;
        JobProgressView {
            id: job.id,
            job: format!("/v1/upgrade-jobs/{}", job.id),
            status: job.status,
            total_items: job.total_items,
            counts: view.counts,
            percent: view.progress.percent,
            items_per_second: view.progress.items_per_second,
            started_at: job.started_at,
            finished_at: job.finished_at,
            estimated_end: view.progress.estimated_end,
        }
    }
}

/// One item of a job: what it asked, and its single upgrade's answer or problem.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobItemView {
    /// The item's number in the job, from 1.
    seq: i32,
    customer_id: Uuid,
    subscription_id: Uuid,
    #[schema(value_type = OfferId)]
    target_offer_id: String,
    quantity: Option<i32>,
    outcome: ItemOutcome,
    attempts: i32,
    finished_at: Option<DateTime<Utc>>,
    /// `succeeded`: the upgrade's answer (for a term-end job, the scheduled change; for a dry
    /// run, what the upgrade would do).
    #[schema(value_type = Option<Object>)]
    result: Option<serde_json::Value>,
    /// `not_eligible` or `failed`: the problem the single upgrade was answered with (`code`,
    /// `status`, `detail`, and `failures` when not eligible).
    #[schema(value_type = Option<Object>)]
    problem: Option<serde_json::Value>,
}

impl From<JobItem> for JobItemView {
    fn from(item: JobItem) -> Self {
        let (result, problem) = match item.outcome {
            ItemOutcome::Succeeded => (item.result, None),
            _ => (None, item.result),
        };
        JobItemView {
            seq: item.seq,
            customer_id: item.customer_id.as_uuid(),
            subscription_id: item.subscription_id.as_uuid(),
            target_offer_id: item.target_offer_id,
            quantity: item.quantity,
            outcome: item.outcome,
            attempts: item.attempts,
            finished_at: item.finished_at,
            result,
            problem,
        }
    }
}
