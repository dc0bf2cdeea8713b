//! Subscriptions. A partner reads and changes only those it sold (`channel = 'partner'` and its
//! own `partner_id`); the rules still see every subscription of the customer.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::types::Json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::domain::ids::{CustomerId, PartnerId, SubscriptionId};

use crate::domain::commerce::SeatWindows;
use crate::domain::plan::{Commerce, Plan, TermDuration};
use crate::domain::records::Subscription;
use crate::domain::subscription::{BillingCycle, BillingDates, Channel, SubscriptionStatus};

/// What a new subscription says.
#[derive(Debug, Clone)]
pub struct NewSubscription<'a> {
    pub customer_id: CustomerId,
    pub offer_id: &'a str,
    pub channel: Channel,
    pub partner_id: Option<PartnerId>,
    pub quantity: i32,
    pub status: SubscriptionStatus,
    pub billing_cycle: BillingCycle,
    pub term_start: NaiveDate,
    pub term_end: NaiveDate,
    pub current_period_start: NaiveDate,
    pub current_period_end: NaiveDate,
    /// The subscription this one replaces (an upgrade's target).
    pub upgraded_from_id: Option<SubscriptionId>,
    pub auto_renew: bool,
    pub commerce: Commerce,
    pub term_duration: TermDuration,
    /// New commerce: the price per seat per month it is billed at for its term.
    pub unit_price: Option<i64>,
    /// New commerce: when its purchase window closes (an upgrade's target: its source's).
    pub cancellation_window_ends_at: Option<DateTime<Utc>>,
    /// New commerce: its refundable seats.
    pub seat_windows: SeatWindows,
    /// The legacy subscription this one replaces (a migration to new commerce).
    pub migrated_from_id: Option<SubscriptionId>,
}

/// Inserts a subscription.
pub async fn create(
    conn: &mut PgConnection,
    new: &NewSubscription<'_>,
) -> Result<Subscription, sqlx::Error> {
    sqlx::query_as!(
        Subscription,
        r#"INSERT INTO subscriptions
             (customer_id, id, offer_id, channel, partner_id, quantity, status, billing_cycle,
              term_start, term_end, current_period_start, current_period_end, upgraded_from_id,
              auto_renew, commerce, term_duration, unit_price_minor, cancellation_window_ends_at,
              seat_windows, migrated_from_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,
                 $19, $20)
         RETURNING id AS "id: SubscriptionId", customer_id AS "customer_id: CustomerId", offer_id, channel AS "channel: Channel",
                   partner_id AS "partner_id: PartnerId", quantity,
                   status AS "status: SubscriptionStatus", billing_cycle AS "billing_cycle: BillingCycle",
                   term_start, term_end, current_period_start, current_period_end,
                   upgraded_to_id AS "upgraded_to_id: SubscriptionId",
                   upgraded_from_id AS "upgraded_from_id: SubscriptionId", version, auto_renew,
                   created_at, updated_at, commerce AS "commerce: Commerce",
                   term_duration AS "term_duration: TermDuration", unit_price_minor AS unit_price,
                   cancellation_window_ends_at, seat_windows AS "seat_windows: SeatWindows",
                   migrated_from_id AS "migrated_from_id: SubscriptionId""#,
        new.customer_id.as_uuid(),
        Uuid::now_v7(),
        new.offer_id,
        new.channel.as_str(),
        new.partner_id.map(PartnerId::as_uuid),
        new.quantity,
        new.status.as_str(),
        new.billing_cycle.as_str(),
        new.term_start,
        new.term_end,
        new.current_period_start,
        new.current_period_end,
        new.upgraded_from_id.map(SubscriptionId::as_uuid),
        new.auto_renew,
        new.commerce.as_str(),
        new.term_duration.as_str(),
        new.unit_price,
        new.cancellation_window_ends_at,
        &new.seat_windows as &SeatWindows,
        new.migrated_from_id.map(SubscriptionId::as_uuid)
    )
    .fetch_one(conn)
    .await
}

/// The subscription, if this partner sold it.
pub async fn find_for_partner(
    pool: &PgPool,
    customer_id: CustomerId,
    partner_id: PartnerId,
    id: SubscriptionId,
) -> Result<Option<Subscription>, sqlx::Error> {
    sqlx::query_as!(
        Subscription,
        r#"SELECT id AS "id: SubscriptionId", customer_id AS "customer_id: CustomerId", offer_id, channel AS "channel: Channel",
                   partner_id AS "partner_id: PartnerId", quantity,
                status AS "status: SubscriptionStatus", billing_cycle AS "billing_cycle: BillingCycle",
                term_start, term_end, current_period_start, current_period_end,
                upgraded_to_id AS "upgraded_to_id: SubscriptionId",
                upgraded_from_id AS "upgraded_from_id: SubscriptionId", version, auto_renew,
                   created_at, updated_at, commerce AS "commerce: Commerce",
                   term_duration AS "term_duration: TermDuration", unit_price_minor AS unit_price,
                   cancellation_window_ends_at, seat_windows AS "seat_windows: SeatWindows",
                   migrated_from_id AS "migrated_from_id: SubscriptionId"
         FROM subscriptions
         WHERE customer_id = $1 AND id = $3 AND channel = 'partner' AND partner_id = $2"#,
        customer_id.as_uuid(),
        partner_id.as_uuid(),
        id.as_uuid()
    )
    .fetch_optional(pool)
    .await
}

/// The customer's subscriptions with these ids (any channel), in id order, without locking.
pub async fn find_many(
    conn: &mut PgConnection,
    customer_id: CustomerId,
    ids: &[SubscriptionId],
) -> Result<Vec<Subscription>, sqlx::Error> {
    let rows = sqlx::query_scalar!(
        r#"SELECT coalesce(json_agg(to_json(s) ORDER BY s.id), '[]') AS "rows!: Json<Vec<Subscription>>"
             FROM subscriptions s WHERE s.customer_id = $1 AND s.id = ANY ($2)"#,
        customer_id.as_uuid(),
        ids as &[SubscriptionId]
    )
    .fetch_one(conn)
    .await?;
    Ok(rows.0)
}

/// Like [`find_for_partner`], locking the row for the rest of the transaction.
pub async fn lock_for_partner(
    conn: &mut PgConnection,
    customer_id: CustomerId,
    partner_id: PartnerId,
    id: SubscriptionId,
) -> Result<Option<Subscription>, sqlx::Error> {
    sqlx::query_as!(
        Subscription,
        r#"SELECT id AS "id: SubscriptionId", customer_id AS "customer_id: CustomerId", offer_id, channel AS "channel: Channel",
                   partner_id AS "partner_id: PartnerId", quantity,
                status AS "status: SubscriptionStatus", billing_cycle AS "billing_cycle: BillingCycle",
                term_start, term_end, current_period_start, current_period_end,
                upgraded_to_id AS "upgraded_to_id: SubscriptionId",
                upgraded_from_id AS "upgraded_from_id: SubscriptionId", version, auto_renew,
                   created_at, updated_at, commerce AS "commerce: Commerce",
                   term_duration AS "term_duration: TermDuration", unit_price_minor AS unit_price,
                   cancellation_window_ends_at, seat_windows AS "seat_windows: SeatWindows",
                   migrated_from_id AS "migrated_from_id: SubscriptionId"
         FROM subscriptions
         WHERE customer_id = $1 AND id = $3 AND channel = 'partner' AND partner_id = $2
         FOR UPDATE"#,
        customer_id.as_uuid(),
        partner_id.as_uuid(),
        id.as_uuid()
    )
    .fetch_optional(conn)
    .await
}

/// A page of the subscriptions this partner sold to the customer, in id order after `after`.
pub async fn list_for_partner(
    pool: &PgPool,
    customer_id: CustomerId,
    partner_id: PartnerId,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Subscription>, sqlx::Error> {
    sqlx::query_as!(
        Subscription,
        r#"SELECT id AS "id: SubscriptionId", customer_id AS "customer_id: CustomerId", offer_id, channel AS "channel: Channel",
                   partner_id AS "partner_id: PartnerId", quantity,
                status AS "status: SubscriptionStatus", billing_cycle AS "billing_cycle: BillingCycle",
                term_start, term_end, current_period_start, current_period_end,
                upgraded_to_id AS "upgraded_to_id: SubscriptionId",
                upgraded_from_id AS "upgraded_from_id: SubscriptionId", version, auto_renew,
                   created_at, updated_at, commerce AS "commerce: Commerce",
                   term_duration AS "term_duration: TermDuration", unit_price_minor AS unit_price,
                   cancellation_window_ends_at, seat_windows AS "seat_windows: SeatWindows",
                   migrated_from_id AS "migrated_from_id: SubscriptionId"
         FROM subscriptions
         WHERE customer_id = $1 AND channel = 'partner' AND partner_id = $2
           AND ($3::uuid IS NULL OR id > $3)
         ORDER BY id LIMIT $4"#,
        customer_id.as_uuid(),
        partner_id.as_uuid(),
        after,
        limit
    )
    .fetch_all(pool)
    .await
}

/// The term ends a co-termed purchase may align with: of the customer's active new-commerce
/// subscriptions of `term_duration` sold by the partner, by term end.
pub async fn coterm_anchors(
    conn: &mut PgConnection,
    customer_id: CustomerId,
    partner_id: PartnerId,
    term_duration: TermDuration,
) -> Result<Vec<(SubscriptionId, NaiveDate)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT id AS "id: SubscriptionId", term_end FROM subscriptions
            WHERE customer_id = $1 AND channel = 'partner' AND partner_id = $2
              AND status = 'active' AND commerce = 'new' AND term_duration = $3
            ORDER BY term_end, id"#,
        customer_id.as_uuid(),
        partner_id.as_uuid(),
        term_duration.as_str()
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.id, r.term_end)).collect())
}

/// Seats the customer holds in a family's live (active or suspended) subscriptions, every channel.
pub async fn family_seats(
    conn: &mut PgConnection,
    customer_id: CustomerId,
    family_id: &str,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT COALESCE(SUM(s.quantity), 0)::bigint AS "seats!"
           FROM subscriptions s JOIN offers o ON o.id = s.offer_id
           WHERE s.customer_id = $1 AND o.family_id = $2 AND s.status IN ('active', 'suspended')"#,
        customer_id.as_uuid(),
        family_id
    )
    .fetch_one(conn)
    .await
}

/// What the seat rules read about a subscription, in one round trip: the seats the customer holds
/// in `family_id`'s live subscriptions (every channel; 0 without a family), the licenses assigned
/// from the subscription, and its largest active add-on's seats.
///
/// Two statements rather than one that skips the family's seats when `$3 IS NULL`: a parameter
/// that decides whether a subquery runs made every custom plan (which drops it) look much cheaper
/// than the generic one, so Postgres planned the statement again at every execution, 0.19 ms of
/// planning for 0.02 ms of work in every seat change (docs/performance.md).
pub async fn seat_facts(
    conn: &mut PgConnection,
    (customer_id, subscription_id): (CustomerId, SubscriptionId),
    family_id: Option<&str>,
) -> Result<(i64, i64, i64), sqlx::Error> {
    let (customer, subscription) = (customer_id.as_uuid(), subscription_id.as_uuid());
    let Some(family_id) = family_id else {
        let row = sqlx::query!(
            r#"SELECT
                 (SELECT count(*) FROM license_assignments a
                   WHERE a.customer_id = $1 AND a.subscription_id = $2) AS "assigned!",
                 (SELECT COALESCE(MAX(d.quantity), 0)::bigint FROM subscription_add_ons d
                   WHERE d.customer_id = $1 AND d.subscription_id = $2 AND d.status = 'active')
                   AS "add_on_seats!""#,
            customer,
            subscription
        )
        .fetch_one(conn)
        .await?;
        return Ok((0, row.assigned, row.add_on_seats));
    };
    let row = sqlx::query!(
        r#"SELECT
             (SELECT COALESCE(SUM(s.quantity), 0)::bigint
                FROM subscriptions s JOIN offers o ON o.id = s.offer_id
               WHERE s.customer_id = $1 AND o.family_id = $3
                 AND s.status IN ('active', 'suspended')) AS "family_seats!",
             (SELECT count(*) FROM license_assignments a
               WHERE a.customer_id = $1 AND a.subscription_id = $2) AS "assigned!",
             (SELECT COALESCE(MAX(d.quantity), 0)::bigint FROM subscription_add_ons d
               WHERE d.customer_id = $1 AND d.subscription_id = $2 AND d.status = 'active')
               AS "add_on_seats!""#,
        customer,
        subscription,
        family_id
    )
    .fetch_one(conn)
    .await?;
    Ok((row.family_seats, row.assigned, row.add_on_seats))
}

/// Marks a subscription replaced by `target_id` (`upgraded`, or `migrated` to new commerce),
/// bumping its version.
pub async fn mark_replaced(
    conn: &mut PgConnection,
    (customer_id, id): (CustomerId, SubscriptionId),
    (target_id, status): (SubscriptionId, SubscriptionStatus),
    dates: &BillingDates,
) -> Result<Subscription, sqlx::Error> {
    sqlx::query_as!(
        Subscription,
        r#"UPDATE subscriptions
         SET status = $8, upgraded_to_id = $3, version = version + 1, updated_at = now(),
             term_start = $4, term_end = $5, current_period_start = $6, current_period_end = $7
         WHERE customer_id = $1 AND id = $2
         RETURNING id AS "id: SubscriptionId", customer_id AS "customer_id: CustomerId", offer_id, channel AS "channel: Channel",
                   partner_id AS "partner_id: PartnerId", quantity,
                   status AS "status: SubscriptionStatus", billing_cycle AS "billing_cycle: BillingCycle",
                   term_start, term_end, current_period_start, current_period_end,
                   upgraded_to_id AS "upgraded_to_id: SubscriptionId",
                   upgraded_from_id AS "upgraded_from_id: SubscriptionId", version, auto_renew,
                   created_at, updated_at, commerce AS "commerce: Commerce",
                   term_duration AS "term_duration: TermDuration", unit_price_minor AS unit_price,
                   cancellation_window_ends_at, seat_windows AS "seat_windows: SeatWindows",
                   migrated_from_id AS "migrated_from_id: SubscriptionId""#,
        customer_id.as_uuid(),
        id.as_uuid(),
        target_id.as_uuid(),
        dates.term_start,
        dates.term_end,
        dates.current_period_start,
        dates.current_period_end,
        status.as_str()
    )
    .fetch_one(conn)
    .await
}

/// What the rules may know of a subscription of any channel.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct SubscriptionFactsRow {
    pub id: SubscriptionId,
    pub offer_id: String,
    pub status: SubscriptionStatus,
    pub quantity: i32,
    pub channel: Channel,
    /// The partner that sold it; `None` for another channel.
    pub partner_id: Option<PartnerId>,
}

/// Sets the quantity and/or status, bumping the version; with `dates` (a subscription ending:
/// the term and period it ends in), its term and current period too.
pub async fn update(
    conn: &mut PgConnection,
    customer_id: CustomerId,
    id: SubscriptionId,
    (quantity, status): (i32, SubscriptionStatus),
    dates: Option<&BillingDates>,
) -> Result<Subscription, sqlx::Error> {
    sqlx::query_as!(
        Subscription,
        r#"UPDATE subscriptions
         SET quantity = $3, status = $4, version = version + 1, updated_at = now(),
             term_start = COALESCE($5, term_start), term_end = COALESCE($6, term_end),
             current_period_start = COALESCE($7, current_period_start),
             current_period_end = COALESCE($8, current_period_end)
         WHERE customer_id = $1 AND id = $2
         RETURNING id AS "id: SubscriptionId", customer_id AS "customer_id: CustomerId", offer_id, channel AS "channel: Channel",
                   partner_id AS "partner_id: PartnerId", quantity,
                   status AS "status: SubscriptionStatus", billing_cycle AS "billing_cycle: BillingCycle",
                   term_start, term_end, current_period_start, current_period_end,
                   upgraded_to_id AS "upgraded_to_id: SubscriptionId",
                   upgraded_from_id AS "upgraded_from_id: SubscriptionId", version, auto_renew,
                   created_at, updated_at, commerce AS "commerce: Commerce",
                   term_duration AS "term_duration: TermDuration", unit_price_minor AS unit_price,
                   cancellation_window_ends_at, seat_windows AS "seat_windows: SeatWindows",
                   migrated_from_id AS "migrated_from_id: SubscriptionId""#,
        customer_id.as_uuid(),
        id.as_uuid(),
        quantity,
        status.as_str(),
        dates.map(|d| d.term_start),
        dates.map(|d| d.term_end),
        dates.map(|d| d.current_period_start),
        dates.map(|d| d.current_period_end)
    )
    .fetch_one(conn)
    .await
}

/// Switches auto-renewal on or off, bumping the version.
pub async fn set_auto_renew(
    conn: &mut PgConnection,
    customer_id: CustomerId,
    id: SubscriptionId,
    auto_renew: bool,
) -> Result<Subscription, sqlx::Error> {
    sqlx::query_as!(
        Subscription,
        r#"UPDATE subscriptions
         SET auto_renew = $3, version = version + 1, updated_at = now()
         WHERE customer_id = $1 AND id = $2
         RETURNING id AS "id: SubscriptionId", customer_id AS "customer_id: CustomerId", offer_id, channel AS "channel: Channel",
                   partner_id AS "partner_id: PartnerId", quantity,
                   status AS "status: SubscriptionStatus", billing_cycle AS "billing_cycle: BillingCycle",
                   term_start, term_end, current_period_start, current_period_end,
                   upgraded_to_id AS "upgraded_to_id: SubscriptionId",
                   upgraded_from_id AS "upgraded_from_id: SubscriptionId", version, auto_renew,
                   created_at, updated_at, commerce AS "commerce: Commerce",
                   term_duration AS "term_duration: TermDuration", unit_price_minor AS unit_price,
                   cancellation_window_ends_at, seat_windows AS "seat_windows: SeatWindows",
                   migrated_from_id AS "migrated_from_id: SubscriptionId""#,
        customer_id.as_uuid(),
        id.as_uuid(),
        auto_renew
    )
    .fetch_one(conn)
    .await
}

/// Starts the subscription's next term and its period, bumping the version.
pub async fn renew(
    conn: &mut PgConnection,
    customer_id: CustomerId,
    id: SubscriptionId,
    term: &BillingDates,
    plan: Plan,
) -> Result<Subscription, sqlx::Error> {
    sqlx::query_as!(
        Subscription,
        r#"UPDATE subscriptions
         SET term_start = $3, term_end = $4, current_period_start = $5, current_period_end = $6,
             term_duration = $7, billing_cycle = $8, version = version + 1, updated_at = now()
         WHERE customer_id = $1 AND id = $2
         RETURNING id AS "id: SubscriptionId", customer_id AS "customer_id: CustomerId", offer_id, channel AS "channel: Channel",
                   partner_id AS "partner_id: PartnerId", quantity,
                   status AS "status: SubscriptionStatus", billing_cycle AS "billing_cycle: BillingCycle",
                   term_start, term_end, current_period_start, current_period_end,
                   upgraded_to_id AS "upgraded_to_id: SubscriptionId",
                   upgraded_from_id AS "upgraded_from_id: SubscriptionId", version, auto_renew,
                   created_at, updated_at, commerce AS "commerce: Commerce",
                   term_duration AS "term_duration: TermDuration", unit_price_minor AS unit_price,
                   cancellation_window_ends_at, seat_windows AS "seat_windows: SeatWindows",
                   migrated_from_id AS "migrated_from_id: SubscriptionId""#,
        customer_id.as_uuid(),
        id.as_uuid(),
        term.term_start,
        term.term_end,
        term.current_period_start,
        term.current_period_end,
        plan.term_duration.as_str(),
        plan.billing_cycle.as_str()
    )
    .fetch_one(conn)
    .await
}

/// Moves a new-commerce subscription to `plan` on a new term (`dates`) at `unit_price`, bumping
/// its version.
pub async fn change_plan(
    conn: &mut PgConnection,
    customer_id: CustomerId,
    id: SubscriptionId,
    (plan, unit_price): (Plan, Option<i64>),
    dates: &BillingDates,
) -> Result<Subscription, sqlx::Error> {
    sqlx::query_as!(
        Subscription,
        r#"UPDATE subscriptions
         SET term_duration = $3, billing_cycle = $4, unit_price_minor = $5, term_start = $6,
             term_end = $7, current_period_start = $8, current_period_end = $9,
             version = version + 1, updated_at = now()
         WHERE customer_id = $1 AND id = $2
         RETURNING id AS "id: SubscriptionId", customer_id AS "customer_id: CustomerId", offer_id, channel AS "channel: Channel",
                   partner_id AS "partner_id: PartnerId", quantity,
                   status AS "status: SubscriptionStatus", billing_cycle AS "billing_cycle: BillingCycle",
                   term_start, term_end, current_period_start, current_period_end,
                   upgraded_to_id AS "upgraded_to_id: SubscriptionId",
                   upgraded_from_id AS "upgraded_from_id: SubscriptionId", version, auto_renew,
                   created_at, updated_at, commerce AS "commerce: Commerce",
                   term_duration AS "term_duration: TermDuration", unit_price_minor AS unit_price,
                   cancellation_window_ends_at, seat_windows AS "seat_windows: SeatWindows",
                   migrated_from_id AS "migrated_from_id: SubscriptionId""#,
        customer_id.as_uuid(),
        id.as_uuid(),
        plan.term_duration.as_str(),
        plan.billing_cycle.as_str(),
        unit_price,
        dates.term_start,
        dates.term_end,
        dates.current_period_start,
        dates.current_period_end
    )
    .fetch_one(conn)
    .await
}

/// Makes the subscription one of another offer with `quantity` seats, its price and refundable
/// seats (a move down a matrix path at the renewal, in the renewal's transaction).
pub async fn change_offer(
    conn: &mut PgConnection,
    customer_id: CustomerId,
    id: SubscriptionId,
    (offer_id, quantity): (&str, i32),
    (unit_price, windows): (Option<i64>, &SeatWindows),
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE subscriptions
            SET offer_id = $3, quantity = $4, unit_price_minor = $5, seat_windows = $6,
                version = version + 1, updated_at = now()
          WHERE customer_id = $1 AND id = $2",
        customer_id.as_uuid(),
        id.as_uuid(),
        offer_id,
        quantity,
        unit_price,
        windows as &SeatWindows
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Starts a new-commerce subscription's renewed term: its price, its cancellation window and its
/// refundable seats (in the renewal's transaction, which bumped its version).
pub async fn start_new_commerce_term(
    conn: &mut PgConnection,
    customer_id: CustomerId,
    id: SubscriptionId,
    (unit_price, window_ends_at): (Option<i64>, DateTime<Utc>),
    windows: &SeatWindows,
) -> Result<Subscription, sqlx::Error> {
    sqlx::query_as!(
        Subscription,
        r#"UPDATE subscriptions
         SET unit_price_minor = $3, cancellation_window_ends_at = $4, seat_windows = $5
         WHERE customer_id = $1 AND id = $2
         RETURNING id AS "id: SubscriptionId", customer_id AS "customer_id: CustomerId", offer_id, channel AS "channel: Channel",
                   partner_id AS "partner_id: PartnerId", quantity,
                   status AS "status: SubscriptionStatus", billing_cycle AS "billing_cycle: BillingCycle",
                   term_start, term_end, current_period_start, current_period_end,
                   upgraded_to_id AS "upgraded_to_id: SubscriptionId",
                   upgraded_from_id AS "upgraded_from_id: SubscriptionId", version, auto_renew,
                   created_at, updated_at, commerce AS "commerce: Commerce",
                   term_duration AS "term_duration: TermDuration", unit_price_minor AS unit_price,
                   cancellation_window_ends_at, seat_windows AS "seat_windows: SeatWindows",
                   migrated_from_id AS "migrated_from_id: SubscriptionId""#,
        customer_id.as_uuid(),
        id.as_uuid(),
        unit_price,
        window_ends_at,
        windows as &SeatWindows
    )
    .fetch_one(conn)
    .await
}

/// Partner-sold subscriptions whose term ended on or before `today` and that are still live
/// (active or suspended), oldest term end first: the renewal worker's queue. Other channels'
/// subscriptions are synced by the platform role, not renewed here.
pub async fn due_for_renewal(
    pool: &PgPool,
    today: NaiveDate,
    limit: i64,
) -> Result<Vec<(CustomerId, SubscriptionId)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT customer_id AS "customer_id: CustomerId", id AS "id: SubscriptionId"
           FROM subscriptions
           WHERE term_end <= $1 AND status IN ('active', 'suspended') AND channel = 'partner'
           ORDER BY term_end, id
           LIMIT $2"#,
        today,
        limit
    )
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|r| (r.customer_id, r.id)).collect())
}

/// Locks the subscription if its term has ended on or before `today`, it is still live, and no
/// other worker holds it (`SKIP LOCKED`); the caller holds the customer's row first.
pub async fn lock_due(
    conn: &mut PgConnection,
    customer_id: CustomerId,
    id: SubscriptionId,
    today: NaiveDate,
) -> Result<Option<Subscription>, sqlx::Error> {
    sqlx::query_as!(
        Subscription,
        r#"SELECT id AS "id: SubscriptionId", customer_id AS "customer_id: CustomerId", offer_id, channel AS "channel: Channel",
                   partner_id AS "partner_id: PartnerId", quantity,
                   status AS "status: SubscriptionStatus", billing_cycle AS "billing_cycle: BillingCycle",
                   term_start, term_end, current_period_start, current_period_end,
                   upgraded_to_id AS "upgraded_to_id: SubscriptionId",
                   upgraded_from_id AS "upgraded_from_id: SubscriptionId", version, auto_renew,
                   created_at, updated_at, commerce AS "commerce: Commerce",
                   term_duration AS "term_duration: TermDuration", unit_price_minor AS unit_price,
                   cancellation_window_ends_at, seat_windows AS "seat_windows: SeatWindows",
                   migrated_from_id AS "migrated_from_id: SubscriptionId"
         FROM subscriptions
         WHERE customer_id = $1 AND id = $2 AND term_end <= $3
           AND status IN ('active', 'suspended') AND channel = 'partner'
         FOR UPDATE SKIP LOCKED"#,
        customer_id.as_uuid(),
        id.as_uuid(),
        today
    )
    .fetch_optional(conn)
    .await
}

/// Stores a new-commerce subscription's refundable seats (in the transaction that changes its
/// seats, which bumps its version).
pub async fn set_seat_windows(
    conn: &mut PgConnection,
    customer_id: CustomerId,
    id: SubscriptionId,
    windows: &SeatWindows,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE subscriptions SET seat_windows = $3 WHERE customer_id = $1 AND id = $2",
        customer_id.as_uuid(),
        id.as_uuid(),
        windows as &SeatWindows
    )
    .execute(conn)
    .await?;
    Ok(())
}
