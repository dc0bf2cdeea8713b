//! The job workers each instance runs (docs/upgrade-jobs.md). A worker claims a batch of one
//! job's items under a lease (the job served least recently first, so partners share the workers
//! fairly), then performs each item as one single upgrade, through exactly the path a request
//! takes (same rules, locks, history and events), in its own transaction, which also records the
//! item's outcome; no transaction or row lock is held between items. That outcome is written only
//! while the worker holds the item's lease, and the upgrade commits with it or not at all: an
//! item whose worker lost its lease rolls back, and is performed once by its new holder.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use sqlx::{PgConnection, PgPool};
use tokio::sync::watch;
use tokio::task::JoinSet;
use uuid::Uuid;

use crate::db;
use crate::db::jobs::Claimed;
use crate::domain::job::{self, Counts, Disposition, ItemKind, ItemOutcome, JobStatus, UpgradeJob};
use crate::domain::webhook::{Event, JobEnded};
use crate::domain::{Catalog, ErrorCode, JobId, PartnerId};
use crate::error::Error;
use crate::service::idempotency::{self, IdempotencyKey, Scope, StoredAnswer};
use crate::service::migrations::{self, MigrationRequest};
use crate::service::scheduled::{self, ScheduleRequest};
use crate::service::upgrades::{self, UpgradeRequest};
use crate::service::views::{self, Problem};
use crate::service::{Actor, FirstPass};
use crate::telemetry::metrics;

/// How many workers, how many items each claims at a time, how long an idle one waits before
/// looking again, how long a claim lasts, and the catalog items are checked against.
#[derive(Debug, Clone)]
pub struct JobSettings {
    pub workers: usize,
    pub batch: i64,
    pub poll: Duration,
    pub lease: Duration,
    pub catalog: Arc<Catalog>,
}

/// Runs the workers until `shutdown` completes; items claimed but not started are handed back.
/// The queue's own statements (claims, outcomes, a job's end, the depth) go through a pool of
/// their own, planned for each execution ([`db::queue_pool`]); the items' upgrades through `pool`.
pub async fn run(pool: PgPool, settings: JobSettings, shutdown: impl Future<Output = ()>) {
    let workers_count = u32::try_from(settings.workers).unwrap_or(u32::MAX);
    let queue = db::queue_pool(&pool, workers_count.saturating_add(1));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut workers = JoinSet::new();
    for _ in 0..settings.workers {
        let pools = (pool.clone(), queue.clone());
        workers.spawn(work(pools, settings.clone(), stop_rx.clone()));
    }
    let gauge = super::super::every(
        Duration::from_secs(1),
        FirstPass::AtStart,
        shutdown,
        || async {
            if let Ok(depth) = db::jobs::queue_depth(&queue).await {
                metrics::set_job_queue_depth(depth);
            }
        },
    );
    gauge.await;
    let _ = stop_tx.send(true);
    while workers.join_next().await.is_some() {}
}

async fn work(
    (pool, queue): (PgPool, PgPool),
    settings: JobSettings,
    mut stop: watch::Receiver<bool>,
) {
    while !*stop.borrow() {
        let claimed = match db::jobs::claim(&queue, settings.batch, settings.lease).await {
            Ok(claimed) => claimed,
            Err(error) => {
                tracing::warn!(%error, "the job queue could not be read");
                Vec::new()
            }
        };
        if claimed.is_empty() {
            tokio::select! {
                _ = stop.changed() => {},
                () = tokio::time::sleep(settings.poll) => {},
            }
            continue;
        }
        // A batch comes from one job, from its first pending items: it may have been its last.
        let job = (claimed[0].partner_id, claimed[0].job_id);
        let first_seq = claimed[0].seq;
        let mut claimed = claimed.into_iter();
        for item in claimed.by_ref() {
            process((&pool, &queue), &settings.catalog, item).await;
            if *stop.borrow() {
                break;
            }
        }
        for item in claimed {
            let _ = db::jobs::retry_item(&queue, &item, Duration::ZERO).await;
        }
        if let Err(error) = end_if_done(&queue, job, first_seq).await {
            tracing::warn!(%error, "a job's end could not be recorded");
        }
    }
}

/// What became of an item that was performed.
enum Performed {
    /// Its upgrade committed together with its outcome.
    Recorded,
    /// Its lease had ended before its outcome was written: nothing of it committed, and the
    /// item's new holder performs it.
    LeaseLost,
    /// The answer an earlier release stored under the item's key, replayed: its outcome is still
    /// to be recorded.
    Replayed(String),
}

/// Processes one item (through `pool`), and records its outcome: in the item's own transaction
/// when it committed one, otherwise through `queue`.
async fn process((pool, queue): (&PgPool, &PgPool), catalog: &Catalog, item: Claimed) {
    let started = Instant::now();
    let answer = if item.job_status == JobStatus::Cancelled {
        recover(pool, &item)
            .await
            .map(|stored| stored.map(Performed::Replayed))
    } else {
        perform(pool, catalog, &item).await.map(Some)
    };
    let (outcome, result) = match answer {
        Ok(Some(Performed::Recorded)) => {
            metrics::record_job_item(ItemOutcome::Succeeded.as_str(), started.elapsed());
            return;
        }
        Ok(Some(Performed::LeaseLost)) => return,
        Ok(Some(Performed::Replayed(body))) => (ItemOutcome::Succeeded, Some(body)),
        Ok(None) => (ItemOutcome::Skipped, None),
        Err(error) => match job::disposition(error.code(), item.attempts) {
            Disposition::Done(outcome) => {
                let problem = Problem::of(error, request_id(&item)).to_json();
                (
                    outcome,
                    Some(String::from_utf8(problem).unwrap_or_default()),
                )
            }
            Disposition::Retry => {
                let wait = Duration::from_millis(200 * 2u64.pow(item.attempts.clamp(0, 8) as u32));
                if let Err(error) = db::jobs::retry_item(queue, &item, wait).await {
                    tracing::warn!(%error, "a job item could not be handed back");
                }
                return;
            }
        },
    };
    match db::jobs::finish_item(queue, &item, outcome, result.as_deref()).await {
        Ok(true) => metrics::record_job_item(outcome.as_str(), started.elapsed()),
        Ok(false) => {}
        Err(error) => {
            tracing::warn!(%error, "a job item's outcome could not be recorded; it will be taken again");
        }
    }
}

/// The item's single upgrade, as a request would perform it: a dry run evaluates it, a
/// term-end job schedules it, otherwise it is performed. Its outcome, with the answer the request
/// would get as its bytes, is written in the same transaction, which commits only if the worker
/// still held the item's lease: so an item is applied once, whatever crashes or lost leases.
///
/// An item taken again (a retry, or a lease that ended) first looks for an answer stored under its
/// own key: releases before this one stored each item's answer there and committed its outcome
/// apart, so such an item may have been performed already.
async fn perform(pool: &PgPool, catalog: &Catalog, item: &Claimed) -> Result<Performed, Error> {
    if item.attempts > 1
        && let Some(stored) = recover(pool, item).await?
    {
        return Ok(Performed::Replayed(stored));
    }
    let actor = Actor {
        partner_id: item.partner_id,
        user_id: item.actor_user_id.clone(),
        roles: item.actor_roles.clone(),
        request_id: request_id(item),
    };
    let mut lease_lost = false;
    let performed = idempotency::in_transaction(pool, async |conn| {
        let answer = match (item.kind, item.at_term_end) {
            (_, true) => schedule(conn, catalog, &actor, item).await,
            (ItemKind::Upgrade, false) => upgrade(conn, catalog, &actor, item).await,
            (ItemKind::Migration, false) => migrate(conn, catalog, &actor, item).await,
        }?;
        let body = std::str::from_utf8(&answer.body).map_err(Error::internal)?;
        let finished = db::jobs::finish_item(&mut *conn, item, ItemOutcome::Succeeded, Some(body));
        lease_lost = !finished.await?;
        if lease_lost {
            return Err(Error::internal(
                "the item's lease ended before its outcome was written",
            ));
        }
        Ok(())
    })
    .await;
    match performed {
        Ok(()) => Ok(Performed::Recorded),
        Err(_) if lease_lost => Ok(Performed::LeaseLost),
        Err(error) => Err(error),
    }
}

/// The item's request id: its job's, with `/item-<n>`.
fn request_id(item: &Claimed) -> String {
    format!("{}/item-{}", item.request_id, item.seq)
}

async fn upgrade(
    conn: &mut PgConnection,
    catalog: &Catalog,
    actor: &Actor,
    item: &Claimed,
) -> Result<StoredAnswer, Error> {
    let target = item
        .target_offer_id
        .clone()
        .ok_or_else(|| Error::new(ErrorCode::InvalidBody, "An upgrade needs targetOfferId."))?;
    let request = UpgradeRequest {
        target_offer_id: target,
        quantity: item.quantity.map(i64::from),
        partial: None,
        dry_run: item.dry_run,
        precondition: None,
    };
    let ids = (item.customer_id, item.subscription_id);
    let result = upgrades::perform(conn, catalog, actor, ids, &request).await?;
    views::upgrades::answer(item.customer_id, &result)
}

async fn schedule(
    conn: &mut PgConnection,
    catalog: &Catalog,
    actor: &Actor,
    item: &Claimed,
) -> Result<StoredAnswer, Error> {
    let request = ScheduleRequest {
        customer_id: item.customer_id,
        subscription_id: item.subscription_id,
        target_offer_id: item.target_offer_id.clone(),
        quantity: item.quantity.map(i64::from),
        quantity_assigned: item.quantity_assigned,
        partial: None,
        term_duration: item.term_duration,
        billing_cycle: item.billing_cycle,
        migrate: item.kind == ItemKind::Migration,
        precondition: None,
        dry_run: item.dry_run,
    };
    let scheduled = scheduled::schedule(conn, catalog, actor, &request).await?;
    views::scheduled::answer(item.customer_id, item.subscription_id, scheduled)
}

async fn migrate(
    conn: &mut PgConnection,
    catalog: &Catalog,
    actor: &Actor,
    item: &Claimed,
) -> Result<StoredAnswer, Error> {
    let (Some(term_duration), Some(billing_cycle)) = (item.term_duration, item.billing_cycle)
    else {
        return Err(Error::new(
            ErrorCode::InvalidBody,
            "A migration needs termDuration and billingCycle.",
        ));
    };
    let request = MigrationRequest {
        customer_id: item.customer_id,
        subscription_id: item.subscription_id,
        term_duration,
        billing_cycle,
        quantity: item.quantity.map(i64::from),
        precondition: None,
        dry_run: item.dry_run,
    };
    let migration = migrations::perform(conn, catalog, actor, &request).await?;
    views::migrations::answer(item.customer_id, migration)
}

/// The item's own key, under which releases before this one stored its upgrade's answer.
fn scope(item: &Claimed) -> Result<Scope, Error> {
    let key = IdempotencyKey::parse(&format!("upgrade-job-{}-{}", item.job_id, item.seq))?;
    let mut request = format!(
        "upgrade job item\n{}\n{:?}\n{}",
        item.target_offer_id.as_deref().unwrap_or_default(),
        item.quantity,
        item.at_term_end
    );
    // What items could not say before next-term instructions and migrations, only when said, so
    // an item queued before keeps its key's request.
    let plan = (item.term_duration, item.billing_cycle);
    if item.kind != ItemKind::Upgrade || item.quantity_assigned || plan != (None, None) {
        let kind = item.kind.as_str();
        let more = format!("\n{kind}\n{}\n{plan:?}", item.quantity_assigned);
        request.push_str(&more);
    }
    Ok(Scope::new(
        item.customer_id,
        item.partner_id,
        key,
        request.as_bytes(),
    ))
}

/// The answer an earlier release stored under the item's key, if it performed the item. So is an
/// item of a cancelled job whose worker was lost while it was in flight answered: this release
/// commits an item's upgrade with its outcome, so without a stored answer it is skipped (`None`).
async fn recover(pool: &PgPool, item: &Claimed) -> Result<Option<String>, Error> {
    if item.dry_run {
        return Ok(None);
    }
    let scope = scope(item)?;
    let mut conn = pool.acquire().await?;
    let stored = idempotency::claim(&mut conn, &scope).await?;
    stored
        .map(|answer| String::from_utf8(answer.body).map_err(Error::internal))
        .transpose()
}

/// Completes the job when nothing of it is pending any more, and announces it. A batch taken
/// from `first_seq` with items still pending after it did not end the job: only the batches
/// near its end look at the whole job, in a transaction.
async fn end_if_done(
    pool: &PgPool,
    (partner_id, job_id): (PartnerId, JobId),
    first_seq: i32,
) -> Result<(), Error> {
    if db::jobs::pending_from(pool, (partner_id, job_id), first_seq).await? {
        return Ok(());
    }
    idempotency::in_transaction(pool, async |conn| {
        if let Some(job) = db::jobs::complete_if_done(conn, partner_id, job_id).await? {
            let tally = db::jobs::counts(&mut *conn, job.partner_id, job.id).await?;
            let counts = Counts::of(tally);
            announce_end(conn, &job, &counts).await?;
        }
        Ok(())
    })
    .await
}

/// Queues the `upgrade_job.completed` event of a job that has just ended.
pub(super) async fn announce_end(
    conn: &mut PgConnection,
    job: &UpgradeJob,
    counts: &Counts,
) -> Result<(), Error> {
    let ended = JobEnded {
        partner_id: job.partner_id,
        job_id: job.id,
        status: job.status,
        counts,
        request_id: &job.request_id,
    };
    let event = Event::job_ended(&ended, Uuid::now_v7(), Utc::now());
    let payload = (event.id, event.event_type, &event.payload);
    db::jobs::announce(conn, job.partner_id, payload, event.occurred_at).await?;
    Ok(())
}
