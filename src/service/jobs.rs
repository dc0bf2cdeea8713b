//! Bulk upgrade jobs (docs/upgrade-jobs.md): a partner's list or selection of upgrades,
//! refused whole when invalid, otherwise accepted at once and processed in the background by the
//! workers of every instance (`jobs::worker`), each item one single upgrade. Only the partner's
//! own jobs exist for it.

mod limits;
mod recent;
pub mod worker;

use std::time::Instant;

use chrono::{NaiveDate, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use super::Actor;
use super::App;
use crate::db;
use crate::db::jobs::{NewItems, NewJob, Selection};
use crate::domain::job::{
    self, Counts, ItemKind, ItemOutcome, JobItem, JobStatus, Progress, UpgradeJob,
};
use crate::domain::plan::{self, BillingCycle, Commerce, TermDuration};
use crate::domain::subscription::MAX_QUANTITY;
use crate::domain::{Catalog, CustomerId, ErrorCode, JobId, PartnerId, SubscriptionId};
use crate::error::Error;
pub use limits::JobLimits;
pub use recent::RecentCounts;

/// What an item asks of its subscription. An upgrade now names its target. A term-end job's
/// item is the next-term instruction: any of the offer (an upgrade, or a move down), the seats
/// (or `assigned`) and the plan. A migration takes the new plan and, optionally, the seats.
#[derive(Debug, Clone, Default)]
pub struct Instruction {
    pub kind: ItemKind,
    pub target_offer_id: Option<String>,
    pub quantity: Option<i64>,
    /// `quantity: "assigned"` (term-end jobs): the licenses assigned at the renewal.
    pub quantity_assigned: bool,
    pub term_duration: Option<TermDuration>,
    pub billing_cycle: Option<BillingCycle>,
}

/// One listed item.
#[derive(Debug, Clone)]
pub struct ItemRequest {
    pub customer_id: CustomerId,
    pub subscription_id: SubscriptionId,
    pub instruction: Instruction,
}

/// Every live subscription of the partner matching each filter given: on `source_offer_id`, of
/// the listed customers, of customers in `market`, whose term ends in the window, of `commerce`
/// (a migration selects legacy ones only); each item gets `instruction`.
#[derive(Debug, Clone)]
pub struct SelectionRequest {
    pub source_offer_id: Option<String>,
    pub customer_ids: Option<Vec<CustomerId>>,
    pub market: Option<String>,
    pub term_end_from: Option<NaiveDate>,
    pub term_end_to: Option<NaiveDate>,
    pub commerce: Option<Commerce>,
    pub instruction: Instruction,
}

/// What a job does.
#[derive(Debug, Clone)]
pub enum JobItems {
    Listed(Vec<ItemRequest>),
    Selected(SelectionRequest),
}

/// A job to create.
#[derive(Debug, Clone)]
pub struct JobRequest {
    pub items: JobItems,
    pub dry_run: bool,
    pub at_term_end: bool,
    /// What the job shows as its definition.
    pub definition: serde_json::Value,
    /// The `Idempotency-Key` and the digest of the request sent with it.
    pub key: Option<(String, [u8; 32])>,
}

/// A job with its counts and progress.
#[derive(Debug, Clone)]
pub struct JobView {
    pub job: UpgradeJob,
    pub counts: Counts,
    pub progress: Progress,
}

impl JobView {
    fn new(job: UpgradeJob, tally: &[(ItemOutcome, i64)]) -> Self {
        let counts = Counts::of(tally.iter().copied());
        let progress = job::progress(&counts, job.started_at, job.finished_at, Utc::now());
        JobView {
            job,
            counts,
            progress,
        }
    }
}

impl App {
    /// Creates the job, or answers the one created earlier with the same key and request
    /// (`false`). Refused whole, before anything is queued, when it is too big, names an unknown
    /// offer, market or quantity, or would take the partner over its job limits.
    pub async fn create_job(
        &self,
        actor: &Actor,
        request: &JobRequest,
    ) -> Result<(JobView, bool), Error> {
        check(self.catalog(), &request.items, request.at_term_end)?;
        let limits = self.job_limits();
        let (job, created) = self
            .transaction(async |conn| create_in(conn, actor, request, limits).await)
            .await?;
        Ok((view(self.pool(), job).await?, created))
    }

    /// The partner's job, with its counts and progress; a running job's counts as read at most
    /// [`recent::FRESH`] ago by this instance, an ended job's as they are.
    pub async fn job(&self, actor: &Actor, id: JobId) -> Result<JobView, Error> {
        let (pool, partner_id) = (self.pool(), actor.partner_id);
        let job = db::jobs::find(pool, partner_id, id)
            .await?
            .ok_or_else(|| not_found(id))?;
        let (key, now) = ((job.partner_id, job.id), Instant::now());
        if let Some(tally) = self.job_counts().get(key, job.status, now) {
            return Ok(JobView::new(job, &tally));
        }
        let tally = db::jobs::counts(pool, job.partner_id, job.id).await?;
        self.job_counts().put(key, job.status, now, &tally);
        Ok(JobView::new(job, &tally))
    }

    /// A page of the partner's jobs, oldest first, each with its counts (one query for them all).
    pub async fn jobs(
        &self,
        actor: &Actor,
        after: Option<Uuid>,
        limit: i64,
    ) -> Result<Vec<JobView>, Error> {
        let (pool, partner_id) = (self.pool(), actor.partner_id);
        let jobs = db::jobs::list(pool, partner_id, after, limit).await?;
        let ids: Vec<JobId> = jobs.iter().map(|job| job.id).collect();
        let counts = db::jobs::counts_of(pool, partner_id, &ids).await?;
        Ok(jobs
            .into_iter()
            .map(|job| {
                let tally: Vec<(ItemOutcome, i64)> = counts
                    .iter()
                    .filter(|(id, _, _)| *id == job.id)
                    .map(|(_, outcome, count)| (*outcome, *count))
                    .collect();
                JobView::new(job, &tally)
            })
            .collect())
    }

    /// Cancels the job: pending items are skipped, those done stay done. Cancelling a cancelled
    /// job answers it as it is; a completed one is 409.
    pub async fn cancel_job(&self, actor: &Actor, id: JobId) -> Result<JobView, Error> {
        let partner_id = actor.partner_id;
        let job = self
            .transaction(async |conn| {
                let (job, cancelled) = db::jobs::cancel(conn, partner_id, id)
                    .await?
                    .ok_or_else(|| not_found(id))?;
                if job.status == JobStatus::Completed {
                    return Err(Error::new(
                        ErrorCode::JobAlreadyCompleted,
                        "The job has completed: there is nothing left to cancel.",
                    ));
                }
                if cancelled {
                    let tally = db::jobs::counts(&mut *conn, partner_id, id).await?;
                    worker::announce_end(conn, &job, &Counts::of(tally)).await?;
                }
                Ok(job)
            })
            .await?;
        view(self.pool(), job).await
    }

    /// A page of the job's items, only those with `outcome` when given.
    pub async fn job_items(
        &self,
        actor: &Actor,
        id: JobId,
        outcome: Option<ItemOutcome>,
        (after, limit): (Option<i32>, i64),
    ) -> Result<Vec<JobItem>, Error> {
        let (pool, partner_id) = (self.pool(), actor.partner_id);
        db::jobs::find(pool, partner_id, id)
            .await?
            .ok_or_else(|| not_found(id))?;
        Ok(db::jobs::items(pool, (partner_id, id), outcome, after, limit).await?)
    }
}

/// The job's rows, in the creating transaction; or the job an earlier request with the same key
/// and body created (`false`).
async fn create_in(
    conn: &mut sqlx::PgConnection,
    actor: &Actor,
    request: &JobRequest,
    limits: JobLimits,
) -> Result<(UpgradeJob, bool), Error> {
    if let Some((key, hash)) = &request.key
        && let Some((job, stored)) = db::jobs::find_by_key(conn, actor.partner_id, key).await?
    {
        return if stored.as_deref() == Some(hash.as_slice()) {
            Ok((job, false))
        } else {
            Err(Error::new(
                ErrorCode::IdempotencyKeyReused,
                "This Idempotency-Key was used for a different request; use a new key.",
            ))
        };
    }
    let items = new_items(conn, actor.partner_id, &request.items).await?;
    limits::admit(conn, actor.partner_id, items.customer_ids.len(), limits).await?;
    let new = NewJob {
        partner_id: actor.partner_id,
        id: JobId(Uuid::now_v7()),
        dry_run: request.dry_run,
        at_term_end: request.at_term_end,
        definition: &request.definition,
        idempotency_key: request.key.as_ref().map(|(key, _)| key.as_str()),
        request_hash: request.key.as_ref().map(|(_, hash)| hash.as_slice()),
        actor_user_id: &actor.user_id,
        actor_roles: &actor.roles,
        request_id: &actor.request_id,
    };
    let job = db::jobs::create(conn, &new, &items)
        .await
        .map_err(key_in_use)?;
    if job.status == JobStatus::Completed {
        worker::announce_end(conn, &job, &Counts::default()).await?;
    }
    Ok((job, true))
}

/// Checks what needs no database: sizes, offers, market, quantities, plans, and that each item
/// asks for something its job can do.
fn check(catalog: &Catalog, items: &JobItems, at_term_end: bool) -> Result<(), Error> {
    match items {
        JobItems::Listed(listed) => {
            if listed.len() > job::MAX_ITEMS {
                return Err(too_many(listed.len()));
            }
            for (n, item) in listed.iter().enumerate() {
                check_instruction(
                    catalog,
                    &item.instruction,
                    at_term_end,
                    &format!("items[{n}]"),
                )?;
            }
        }
        JobItems::Selected(selection) => {
            let customers = selection.customer_ids.as_ref().map_or(0, Vec::len);
            if customers > job::MAX_CUSTOMER_IDS {
                return Err(Error::new(
                    ErrorCode::TooManyCustomerIds,
                    format!(
                        "selection.customerIds lists at most {} customers; this one lists \
                         {customers}. Split the job, or select by market.",
                        job::MAX_CUSTOMER_IDS
                    ),
                ));
            }
            if let Some(source) = selection.source_offer_id.as_deref() {
                known_offer(catalog, source, "selection.sourceOfferId")?;
            }
            if let Some(market) = selection.market.as_deref()
                && catalog.market(market).is_none()
            {
                return Err(Error::new(
                    ErrorCode::UnknownMarket,
                    format!("selection.market: no market {market:?}."),
                ));
            }
            if let (Some(from), Some(to)) = (selection.term_end_from, selection.term_end_to)
                && from > to
            {
                return Err(Error::new(
                    ErrorCode::InvalidTermEndWindow,
                    "selection.termEndFrom must not be after selection.termEndTo.",
                ));
            }
            let instruction = &selection.instruction;
            check_instruction(catalog, instruction, at_term_end, "selection")?;
        }
    }
    Ok(())
}

fn known_offer(catalog: &Catalog, id: &str, what: &str) -> Result<(), Error> {
    catalog.offer(id).map(|_| ()).ok_or_else(|| {
        Error::new(
            ErrorCode::UnknownOffer,
            format!("{what}: no offer {id:?} in the catalog."),
        )
    })
}

/// An item's (or a selection's) instruction is one its job can carry out.
fn check_instruction(
    catalog: &Catalog,
    instruction: &Instruction,
    at_term_end: bool,
    what: &str,
) -> Result<(), Error> {
    let invalid = |message: String| Err(Error::new(ErrorCode::InvalidBody, message));
    if let Some(target) = instruction.target_offer_id.as_deref() {
        known_offer(catalog, target, &format!("{what}.targetOfferId"))?;
    }
    if let Some(q) = instruction.quantity
        && !(1..=MAX_QUANTITY).contains(&q)
    {
        return Err(Error::new(
            ErrorCode::InvalidQuantity,
            format!("{what}: quantity must be between 1 and {MAX_QUANTITY}."),
        ));
    }
    let plan = (instruction.term_duration, instruction.billing_cycle);
    if let (Some(term), Some(cycle)) = plan {
        plan::check_plan(term, cycle)?;
    }
    match instruction.kind {
        ItemKind::Upgrade if !at_term_end => {
            if instruction.target_offer_id.is_none() {
                return invalid(format!("{what}: an upgrade needs targetOfferId."));
            }
            if instruction.quantity_assigned || plan != (None, None) {
                return invalid(format!(
                    "{what}: quantity \"assigned\", termDuration and billingCycle are next-term \
                     instructions: send them in a job with atTermEnd."
                ));
            }
        }
        ItemKind::Upgrade => {
            let asks = instruction.target_offer_id.is_some()
                || instruction.quantity.is_some()
                || instruction.quantity_assigned
                || plan != (None, None);
            if !asks {
                return invalid(format!(
                    "{what}: send targetOfferId, quantity (a number or \"assigned\"), or \
                     termDuration and billingCycle: the next term's instruction."
                ));
            }
        }
        ItemKind::Migration => {
            if instruction.target_offer_id.is_some() {
                return invalid(format!(
                    "{what}: a migration keeps the offer: send termDuration and billingCycle, \
                     not targetOfferId."
                ));
            }
            if instruction.quantity_assigned {
                return invalid(format!(
                    "{what}: a migration takes a number of seats (the legacy subscription's by \
                     default), not \"assigned\"."
                ));
            }
            if plan.0.is_none() || plan.1.is_none() {
                return invalid(format!(
                    "{what}: a migration needs the new subscription's termDuration and \
                     billingCycle."
                ));
            }
        }
    }
    Ok(())
}

fn too_many(count: usize) -> Error {
    Error::new(
        ErrorCode::TooManyItems,
        format!(
            "A job has at most {} items; this one has {count}{}. Split it into several jobs.",
            job::MAX_ITEMS,
            if count > job::MAX_ITEMS {
                ""
            } else {
                " or more"
            }
        ),
    )
}

/// The job's items, listed or selected now among the partner's subscriptions.
async fn new_items(
    conn: &mut sqlx::PgConnection,
    partner_id: PartnerId,
    items: &JobItems,
) -> Result<NewItems, Error> {
    let mut new = NewItems::default();
    let mut push = |customer: CustomerId, subscription: SubscriptionId, ask: &Instruction| {
        new.customer_ids.push(customer);
        new.subscription_ids.push(subscription);
        new.kinds.push(ask.kind.as_str());
        new.target_offer_ids.push(ask.target_offer_id.clone());
        new.quantities
            .push(ask.quantity.and_then(|q| i32::try_from(q).ok()));
        new.quantities_assigned.push(ask.quantity_assigned);
        new.term_durations
            .push(ask.term_duration.map(TermDuration::as_str));
        new.billing_cycles
            .push(ask.billing_cycle.map(BillingCycle::as_str));
    };
    match items {
        JobItems::Listed(listed) => {
            for item in listed {
                push(item.customer_id, item.subscription_id, &item.instruction);
            }
        }
        JobItems::Selected(selection) => {
            let limit = i64::try_from(job::MAX_ITEMS).unwrap_or(i64::MAX) + 1;
            let commerce = match selection.instruction.kind {
                ItemKind::Migration => Some(Commerce::Legacy),
                ItemKind::Upgrade => selection.commerce,
            };
            let picked = db::jobs::select(
                conn,
                partner_id,
                &Selection {
                    source_offer_id: selection.source_offer_id.as_deref(),
                    customer_ids: selection.customer_ids.as_deref(),
                    market: selection.market.as_deref(),
                    term_end_from: selection.term_end_from,
                    term_end_to: selection.term_end_to,
                    commerce,
                    limit,
                },
            )
            .await?;
            if picked.len() > job::MAX_ITEMS {
                return Err(too_many(picked.len()));
            }
            for (customer, subscription) in picked {
                push(customer, subscription, &selection.instruction);
            }
        }
    }
    Ok(new)
}

/// A concurrent request with the same key created the job first.
fn key_in_use(error: sqlx::Error) -> Error {
    match db::violated_constraint(&error) {
        Some("upgrade_jobs_idempotency_key") => Error::new(
            ErrorCode::IdempotencyKeyInUse,
            "A request with this Idempotency-Key is still being processed; retry when it has finished.",
        ),
        _ => error.into(),
    }
}

fn not_found(id: JobId) -> Error {
    Error::new(
        ErrorCode::JobNotFound,
        format!("No upgrade job {id} is yours."),
    )
}

async fn view(pool: &PgPool, job: UpgradeJob) -> Result<JobView, Error> {
    let tally = db::jobs::counts(pool, job.partner_id, job.id).await?;
    Ok(JobView::new(job, &tally))
}
