//! Bulk upgrade jobs and their items: created in one transaction, claimed by the workers of every
//! instance under short leases (`FOR UPDATE SKIP LOCKED`, no transaction held while an item is
//! processed), each item's outcome recorded only by the holder of its lease.

use chrono::NaiveDate;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::domain::ids::{CustomerId, JobId, PartnerId, SubscriptionId};
use crate::domain::job::{ItemKind, ItemOutcome, JobItem, JobStatus, UpgradeJob};
use crate::domain::plan::{BillingCycle, Commerce, TermDuration};

/// What a new job says.
#[derive(Debug, Clone)]
pub struct NewJob<'a> {
    pub partner_id: PartnerId,
    pub id: JobId,
    pub dry_run: bool,
    pub at_term_end: bool,
    pub definition: &'a serde_json::Value,
    pub idempotency_key: Option<&'a str>,
    pub request_hash: Option<&'a [u8]>,
    pub actor_user_id: &'a str,
    pub actor_roles: &'a [String],
    pub request_id: &'a str,
}

/// A job's items, column by column, in item order.
#[derive(Debug, Clone, Default)]
pub struct NewItems {
    pub customer_ids: Vec<CustomerId>,
    pub subscription_ids: Vec<SubscriptionId>,
    pub kinds: Vec<&'static str>,
    pub target_offer_ids: Vec<Option<String>>,
    pub quantities: Vec<Option<i32>>,
    pub quantities_assigned: Vec<bool>,
    pub term_durations: Vec<Option<&'static str>>,
    pub billing_cycles: Vec<Option<&'static str>>,
}

/// Creates the job with its items (numbered from 1) in the caller's transaction; a job without
/// items is completed at once.
pub async fn create(
    conn: &mut PgConnection,
    new: &NewJob<'_>,
    items: &NewItems,
) -> Result<UpgradeJob, sqlx::Error> {
    let total = i32::try_from(items.customer_ids.len()).unwrap_or(i32::MAX);
    let job = sqlx::query_as!(
        UpgradeJob,
        r#"INSERT INTO upgrade_jobs
               (partner_id, id, dry_run, at_term_end, definition, total_items, idempotency_key,
                request_hash, actor_user_id, actor_roles, request_id, status, started_at, finished_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11,
                   CASE WHEN $6 = 0 THEN 'completed' ELSE 'queued' END,
                   CASE WHEN $6 = 0 THEN now() END, CASE WHEN $6 = 0 THEN now() END)
           RETURNING partner_id AS "partner_id: PartnerId", id AS "id: JobId", status AS "status: JobStatus",
                     dry_run, at_term_end, definition, total_items, request_id, created_at,
                     started_at, finished_at"#,
        new.partner_id.as_uuid(),
        new.id.as_uuid(),
        new.dry_run,
        new.at_term_end,
        new.definition,
        total,
        new.idempotency_key,
        new.request_hash,
        new.actor_user_id,
        new.actor_roles,
        new.request_id
    )
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query!(
        "INSERT INTO upgrade_job_items
             (partner_id, job_id, seq, customer_id, subscription_id, kind, target_offer_id, quantity,
              quantity_assigned, term_duration, billing_cycle)
         SELECT $1, $2, i.seq::integer, i.customer_id, i.subscription_id, i.kind, i.target_offer_id,
                i.quantity, i.quantity_assigned, i.term_duration, i.billing_cycle
           FROM unnest($3::uuid[], $4::uuid[], $5::text[], $6::text[], $7::integer[], $8::boolean[],
                       $9::text[], $10::text[])
                WITH ORDINALITY AS i(customer_id, subscription_id, kind, target_offer_id, quantity,
                                     quantity_assigned, term_duration, billing_cycle, seq)",
        new.partner_id.as_uuid(),
        new.id.as_uuid(),
        &items.customer_ids as &[CustomerId],
        &items.subscription_ids as &[SubscriptionId],
        &items.kinds as &[&str],
        &items.target_offer_ids as &[Option<String>],
        &items.quantities as &[Option<i32>],
        &items.quantities_assigned,
        &items.term_durations as &[Option<&str>],
        &items.billing_cycles as &[Option<&str>]
    )
    .execute(conn)
    .await?;
    Ok(job)
}

/// What a selection picks: the partner's live subscriptions, of `source_offer_id`, of the listed
/// customers, of customers in `market`, whose term ends in the window, of `commerce`, each filter
/// when given; at most `limit`, in customer and subscription order.
#[derive(Debug, Clone)]
pub struct Selection<'a> {
    pub source_offer_id: Option<&'a str>,
    pub customer_ids: Option<&'a [CustomerId]>,
    pub market: Option<&'a str>,
    pub term_end_from: Option<NaiveDate>,
    pub term_end_to: Option<NaiveDate>,
    pub commerce: Option<Commerce>,
    pub limit: i64,
}

/// The (customer, subscription) pairs a selection picks, among the partner's own customers.
pub async fn select(
    conn: &mut PgConnection,
    partner_id: PartnerId,
    selection: &Selection<'_>,
) -> Result<Vec<(CustomerId, SubscriptionId)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT s.customer_id AS "customer_id: CustomerId", s.id AS "id: SubscriptionId"
             FROM reseller_relationships r
             JOIN customers c ON c.id = r.customer_id
             JOIN subscriptions s ON s.customer_id = r.customer_id
            WHERE r.partner_id = $1 AND s.channel = 'partner' AND s.partner_id = $1
              AND ($2::text IS NULL OR s.offer_id = $2) AND s.status IN ('active', 'suspended')
              AND ($3::uuid[] IS NULL OR r.customer_id = ANY ($3))
              AND ($4::text IS NULL OR c.market_code = $4)
              AND ($6::date IS NULL OR s.term_end >= $6)
              AND ($7::date IS NULL OR s.term_end <= $7)
              AND ($8::text IS NULL OR s.commerce = $8)
            ORDER BY s.customer_id, s.id
            LIMIT $5"#,
        partner_id.as_uuid(),
        selection.source_offer_id,
        selection.customer_ids as Option<&[CustomerId]>,
        selection.market,
        selection.limit,
        selection.term_end_from,
        selection.term_end_to,
        selection.commerce.map(Commerce::as_str)
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.customer_id, r.id)).collect())
}

/// The partner's job created under `key`, with the digest of the request that created it.
pub async fn find_by_key(
    conn: &mut PgConnection,
    partner_id: PartnerId,
    key: &str,
) -> Result<Option<(UpgradeJob, Option<Vec<u8>>)>, sqlx::Error> {
    let row = sqlx::query!(
        r#"SELECT id AS "id: JobId", request_hash FROM upgrade_jobs WHERE partner_id = $1 AND idempotency_key = $2"#,
        partner_id.as_uuid(),
        key
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let job = find(&mut *conn, partner_id, row.id).await?;
    Ok(job.map(|job| (job, row.request_hash)))
}

/// The partner's job.
pub async fn find(
    executor: impl sqlx::PgExecutor<'_>,
    partner_id: PartnerId,
    id: JobId,
) -> Result<Option<UpgradeJob>, sqlx::Error> {
    sqlx::query_as!(
        UpgradeJob,
        r#"SELECT partner_id AS "partner_id: PartnerId", id AS "id: JobId", status AS "status: JobStatus",
                  dry_run, at_term_end, definition, total_items, request_id, created_at,
                  started_at, finished_at
             FROM upgrade_jobs WHERE partner_id = $1 AND id = $2"#,
        partner_id.as_uuid(),
        id.as_uuid()
    )
    .fetch_optional(executor)
    .await
}

/// A page of the partner's jobs, oldest first (ids are time-ordered).
pub async fn list(
    pool: &PgPool,
    partner_id: PartnerId,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<UpgradeJob>, sqlx::Error> {
    sqlx::query_as!(
        UpgradeJob,
        r#"SELECT partner_id AS "partner_id: PartnerId", id AS "id: JobId", status AS "status: JobStatus",
                  dry_run, at_term_end, definition, total_items, request_id, created_at,
                  started_at, finished_at
             FROM upgrade_jobs
            WHERE partner_id = $1 AND ($2::uuid IS NULL OR id > $2)
            ORDER BY id LIMIT $3"#,
        partner_id.as_uuid(),
        after,
        limit
    )
    .fetch_all(pool)
    .await
}

/// How many of the job's items have each outcome.
pub async fn counts(
    executor: impl sqlx::PgExecutor<'_>,
    partner_id: PartnerId,
    job_id: JobId,
) -> Result<Vec<(ItemOutcome, i64)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT outcome AS "outcome: ItemOutcome", count(*) AS "count!"
             FROM upgrade_job_items WHERE partner_id = $1 AND job_id = $2
            GROUP BY outcome"#,
        partner_id.as_uuid(),
        job_id.as_uuid()
    )
    .fetch_all(executor)
    .await?;
    Ok(rows.into_iter().map(|r| (r.outcome, r.count)).collect())
}

/// How many items of each of the jobs have each outcome, job by job.
pub async fn counts_of(
    pool: &PgPool,
    partner_id: PartnerId,
    job_ids: &[JobId],
) -> Result<Vec<(JobId, ItemOutcome, i64)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT job_id AS "job_id: JobId", outcome AS "outcome: ItemOutcome", count(*) AS "count!"
             FROM upgrade_job_items WHERE partner_id = $1 AND job_id = ANY ($2)
            GROUP BY job_id, outcome"#,
        partner_id.as_uuid(),
        job_ids as &[JobId]
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.job_id, r.outcome, r.count))
        .collect())
}

/// A page of the job's items after item `after`, only those with `outcome` when given.
pub async fn items(
    pool: &PgPool,
    (partner_id, job_id): (PartnerId, JobId),
    outcome: Option<ItemOutcome>,
    after: Option<i32>,
    limit: i64,
) -> Result<Vec<JobItem>, sqlx::Error> {
    sqlx::query_as!(
        JobItem,
        r#"SELECT seq, customer_id AS "customer_id: CustomerId",
                  subscription_id AS "subscription_id: SubscriptionId", kind AS "kind: ItemKind",
                  target_offer_id, quantity, quantity_assigned,
                  term_duration AS "term_duration: TermDuration",
                  billing_cycle AS "billing_cycle: BillingCycle",
                  outcome AS "outcome: ItemOutcome", result::text AS result, attempts,
                  finished_at
             FROM upgrade_job_items
            WHERE partner_id = $1 AND job_id = $2 AND ($3::text IS NULL OR outcome = $3)
              AND ($4::integer IS NULL OR seq > $4)
            ORDER BY seq LIMIT $5"#,
        partner_id.as_uuid(),
        job_id.as_uuid(),
        outcome.map(ItemOutcome::as_str),
        after,
        limit
    )
    .fetch_all(pool)
    .await
}

mod queue;
pub mod quota;

pub use queue::{
    Claimed, announce, cancel, claim, complete_if_done, finish_item, pending_from, queue_depth,
    retry_item,
};
