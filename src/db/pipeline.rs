//! The renewals pipeline: the live subscriptions a partner sold whose term ends in a window,
//! across all its customers, in term-end order (one range scan of `subscriptions_renewals_idx`
//! per page; on a cluster, one per shard, merged by the coordinator).

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::pool::PoolConnection;
use sqlx::{PgPool, Postgres};

use crate::domain::ids::{CustomerId, PartnerId, ScheduledChangeId, SubscriptionId, UserId};
use crate::domain::pipeline::TermEndWindow;
use crate::domain::plan::{BillingCycle, Commerce, TermDuration};
use crate::domain::records::{ScheduledChange, ScheduledKind};
use crate::domain::subscription::SubscriptionStatus;

/// Which renewals: the window and the optional filters.
#[derive(Debug, Clone)]
pub struct RenewalFilter {
    pub window: TermEndWindow,
    pub offer_id: Option<String>,
    pub market: Option<String>,
    pub customer_id: Option<CustomerId>,
    pub auto_renew: Option<bool>,
    /// Only those with (`true`) or without (`false`) a scheduled change.
    pub scheduled: Option<bool>,
}

/// One upcoming renewal: what the page shows of the subscription, its customer and the change
/// scheduled for its renewal, and no more (a page decodes fifty of these).
#[derive(Debug, Clone)]
pub struct Renewal {
    pub customer_id: CustomerId,
    pub customer_name: String,
    pub market: String,
    pub subscription_id: SubscriptionId,
    pub offer_id: String,
    pub status: SubscriptionStatus,
    pub quantity: i32,
    pub term_end: NaiveDate,
    pub auto_renew: bool,
    pub commerce: Commerce,
    pub term_duration: TermDuration,
    pub billing_cycle: BillingCycle,
    /// New commerce: the price per seat per month locked for the current term.
    pub unit_price: Option<i64>,
    pub cancellation_window_ends_at: Option<DateTime<Utc>>,
    pub licenses_assigned: i64,
    /// The price per seat per month in force on the term end for the offer and plan the next term
    /// will have (`domain::pipeline::next_term`), from the price list (`None` here: the service
    /// fills it in from its copy of the list).
    pub next_unit_price: Option<i64>,
    pub scheduled: Option<ScheduledChange>,
}

/// A page of renewals, with the version of the price list in the snapshot it was read in.
#[derive(Debug, Clone)]
pub struct RenewalPage {
    pub price_list_version: Option<i64>,
    pub renewals: Vec<Renewal>,
}

/// A row of the page, as the query returns it.
struct Row {
    id: SubscriptionId,
    customer_id: CustomerId,
    offer_id: String,
    quantity: i32,
    status: SubscriptionStatus,
    billing_cycle: BillingCycle,
    term_end: NaiveDate,
    auto_renew: bool,
    commerce: Commerce,
    term_duration: TermDuration,
    unit_price: Option<i64>,
    cancellation_window_ends_at: Option<DateTime<Utc>>,
    customer_name: String,
    market_code: String,
    licenses_assigned: i64,
    price_list_version: i64,
    sc_id: Option<ScheduledChangeId>,
    sc_kind: Option<ScheduledKind>,
    sc_target_offer_id: Option<String>,
    sc_quantity: Option<i32>,
    sc_users: Option<Vec<UserId>>,
    sc_target_subscription_id: Option<SubscriptionId>,
    sc_created_at: Option<DateTime<Utc>>,
    sc_term_duration: Option<TermDuration>,
    sc_billing_cycle: Option<BillingCycle>,
    sc_quantity_assigned: Option<bool>,
}

/// A page of the partner's renewals matching `filter`, after the `(term end, id)` key, if any,
/// with the price list's version (`None` for an empty page).
/// The reseller relationship is checked per row by a subquery (its `LIMIT` keeps the planner
/// from turning it into a join that reorders the rows): so the rows come in the index's order
/// and the scan stops at the page's size (docs/renewals.md shows the plan).
///
/// The rows are read by a task of their own, on a connection taken from the pool first. sqlx
/// enters the span current where a query's row streams are made each time it polls them, several
/// times per row: in the request's task, that was a tenth of a page's instructions. The cost: what
/// sqlx itself logs about the statement (a slow one, say) carries no request fields; the request's
/// own log line has its duration.
pub async fn list(
    pool: &PgPool,
    partner_id: PartnerId,
    filter: &RenewalFilter,
    after: Option<(NaiveDate, SubscriptionId)>,
    limit: i64,
) -> Result<RenewalPage, sqlx::Error> {
    let conn = pool.acquire().await?;
    let filter = filter.clone();
    let read = tokio::spawn(async move { rows(conn, partner_id, &filter, after, limit).await });
    let rows = match read.await {
        Ok(rows) => rows?,
        Err(failed) if failed.is_panic() => std::panic::resume_unwind(failed.into_panic()),
        Err(_) => return Err(sqlx::Error::WorkerCrashed),
    };
    // Into a new vector: collected in place, the rows' would be reallocated to a renewal's size.
    let mut renewals = Vec::with_capacity(rows.len());
    let price_list_version = rows.first().map(|row| row.price_list_version);
    renewals.extend(rows.into_iter().map(Renewal::from));
    Ok(RenewalPage {
        price_list_version,
        renewals,
    })
}

/// The page's rows.
async fn rows(
    mut conn: PoolConnection<Postgres>,
    partner_id: PartnerId,
    filter: &RenewalFilter,
    after: Option<(NaiveDate, SubscriptionId)>,
    limit: i64,
) -> Result<Vec<Row>, sqlx::Error> {
    sqlx::query_as!(
        Row,
        r#"SELECT s.id AS "id: SubscriptionId", s.customer_id AS "customer_id: CustomerId",
                  s.offer_id, s.quantity, s.status AS "status: SubscriptionStatus",
                  s.billing_cycle AS "billing_cycle: BillingCycle", s.term_end, s.auto_renew,
                  s.commerce AS "commerce: Commerce",
                  s.term_duration AS "term_duration: TermDuration", s.unit_price_minor AS unit_price,
                  s.cancellation_window_ends_at,
                  c.name AS customer_name, c.market_code,
                  l.assigned AS "licenses_assigned!",
                  (SELECT v.version FROM price_list_version v) AS "price_list_version!",
                  sc.id AS "sc_id?: ScheduledChangeId", sc.kind AS "sc_kind?: ScheduledKind",
                  sc.target_offer_id AS "sc_target_offer_id?", sc.quantity AS "sc_quantity?",
                  sc.users AS "sc_users?: Vec<UserId>",
                  sc.target_subscription_id AS "sc_target_subscription_id?: SubscriptionId",
                  sc.created_at AS "sc_created_at?",
                  sc.term_duration AS "sc_term_duration?: TermDuration",
                  sc.billing_cycle AS "sc_billing_cycle?: BillingCycle",
                  sc.quantity_assigned AS "sc_quantity_assigned?"
             FROM subscriptions s
             JOIN customers c ON c.id = s.customer_id
             LEFT JOIN scheduled_changes sc
                    ON sc.customer_id = s.customer_id AND sc.subscription_id = s.id
            CROSS JOIN LATERAL (
                   SELECT count(*) AS assigned FROM license_assignments a
                    WHERE a.customer_id = s.customer_id AND a.subscription_id = s.id) l
            WHERE s.partner_id = $1 AND s.channel = 'partner' AND s.status IN ('active', 'suspended')
              AND s.term_end BETWEEN $2 AND $3
              AND ($4::date IS NULL OR (s.term_end, s.id) > ($4, $5::uuid))
              AND ($6::text IS NULL OR s.offer_id = $6)
              AND ($7::text IS NULL OR c.market_code = $7)
              AND ($8::uuid IS NULL OR s.customer_id = $8)
              AND ($9::bool IS NULL OR s.auto_renew = $9)
              AND ($10::bool IS NULL OR (sc.id IS NOT NULL) = $10)
              AND (SELECT true FROM reseller_relationships r
                    WHERE r.customer_id = s.customer_id AND r.partner_id = $1 LIMIT 1)
            ORDER BY s.term_end, s.id
            LIMIT $11"#,
        partner_id.as_uuid(),
        filter.window.from,
        filter.window.to,
        after.map(|(end, _)| end),
        after.map(|(_, id)| id.as_uuid()),
        filter.offer_id.as_deref(),
        filter.market.as_deref(),
        filter.customer_id.map(CustomerId::as_uuid),
        filter.auto_renew,
        filter.scheduled,
        limit
    )
    .fetch_all(&mut *conn)
    .await
}

impl From<Row> for Renewal {
    fn from(row: Row) -> Self {
        let scheduled = match (row.sc_id, row.sc_kind, row.sc_quantity, row.sc_created_at) {
            (Some(id), Some(kind), Some(quantity), Some(created_at)) => Some(ScheduledChange {
                id,
                subscription_id: row.id,
                kind,
                target_offer_id: row.sc_target_offer_id,
                quantity,
                users: row.sc_users,
                target_subscription_id: row.sc_target_subscription_id,
                created_at,
                term_duration: row.sc_term_duration,
                billing_cycle: row.sc_billing_cycle,
                quantity_assigned: row.sc_quantity_assigned.unwrap_or(false),
            }),
            _ => None,
        };
        Renewal {
            customer_id: row.customer_id,
            customer_name: row.customer_name,
            market: row.market_code,
            subscription_id: row.id,
            offer_id: row.offer_id,
            status: row.status,
            quantity: row.quantity,
            term_end: row.term_end,
            auto_renew: row.auto_renew,
            commerce: row.commerce,
            term_duration: row.term_duration,
            billing_cycle: row.billing_cycle,
            unit_price: row.unit_price,
            cancellation_window_ends_at: row.cancellation_window_ends_at,
            licenses_assigned: row.licenses_assigned,
            next_unit_price: None,
            scheduled,
        }
    }
}
