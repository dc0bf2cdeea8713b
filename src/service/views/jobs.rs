//! How jobs and their items are shown. An item shows its single request's answer as that
//! request would have been sent it, byte for byte: [`ItemResult`] in the document.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::value::RawValue;
use utoipa::openapi::schema::{OneOfBuilder, Schema};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{PartialSchema, ToSchema};
use uuid::Uuid;

use super::Problem;
use super::migrations::MigrationView;
use super::scheduled::ScheduledChangeView;
use super::upgrades::UpgradeResult;
use crate::domain::catalog::OfferId;
use crate::domain::job::{Counts, ItemKind, ItemOutcome, JobItem, JobStatus};
use crate::domain::plan::{BillingCycle, TermDuration};
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
            id: job.id.as_uuid(),
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
            id: job.id.as_uuid(),
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
    kind: ItemKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<OfferId>)]
    target_offer_id: Option<String>,
    /// Seats asked (`null`: the subscription's own, or `assigned`).
    quantity: Option<i32>,
    /// `assigned`: the seats are the licenses assigned at the renewal.
    #[serde(skip_serializing_if = "Option::is_none")]
    quantity_rule: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    term_duration: Option<TermDuration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    billing_cycle: Option<BillingCycle>,
    outcome: ItemOutcome,
    attempts: i32,
    finished_at: Option<DateTime<Utc>>,
    /// `succeeded`: the item's single request's answer, exactly as that request is answered: the
    /// upgrade (for a dry run, what it would do), or for a term-end job the scheduled change.
    #[schema(value_type = Option<ItemResult>)]
    result: Option<Box<RawValue>>,
    /// `not_eligible` or `failed`: the problem the single request was answered with.
    #[schema(value_type = Option<Problem>)]
    problem: Option<Box<RawValue>>,
}

impl From<JobItem> for JobItemView {
    fn from(item: JobItem) -> Self {
        // Stored by the worker as the answer's own bytes, so always JSON; a row that is not is
        // shown without it rather than breaking the page.
        let answer = item
            .result
            .and_then(|text| RawValue::from_string(text).ok());
        let (result, problem) = match item.outcome {
            ItemOutcome::Succeeded => (answer, None),
            _ => (None, answer),
        };
        JobItemView {
            seq: item.seq,
            customer_id: item.customer_id.as_uuid(),
            subscription_id: item.subscription_id.as_uuid(),
            kind: item.kind,
            target_offer_id: item.target_offer_id,
            quantity: item.quantity,
            quantity_rule: item.quantity_assigned.then_some("assigned"),
            term_duration: item.term_duration,
            billing_cycle: item.billing_cycle,
            outcome: item.outcome,
            attempts: item.attempts,
            finished_at: item.finished_at,
            result,
            problem,
        }
    }
}

/// What a succeeded item's `result` is: the answer of its single request.
pub struct ItemResult;

impl PartialSchema for ItemResult {
    fn schema() -> RefOr<Schema> {
        OneOfBuilder::new()
            .item(Ref::from_schema_name(UpgradeResult::name()))
            .item(Ref::from_schema_name(ScheduledChangeView::name()))
            .item(Ref::from_schema_name(MigrationView::name()))
            .description(Some(
                "An upgrade job's item: the upgrade's answer; a term-end job's: the scheduled \
                 change's; a migration now: the migration's.",
            ))
            .into()
    }
}

impl ToSchema for ItemResult {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((UpgradeResult::name().into(), UpgradeResult::schema()));
        UpgradeResult::schemas(schemas);
        schemas.push((
            ScheduledChangeView::name().into(),
            ScheduledChangeView::schema(),
        ));
        ScheduledChangeView::schemas(schemas);
        schemas.push((MigrationView::name().into(), MigrationView::schema()));
        MigrationView::schemas(schemas);
    }
}
