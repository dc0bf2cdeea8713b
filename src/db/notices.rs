//! Notices ahead of a renewal or of a cancellation window's end (docs/renewals.md, "Notices"):
//! which are due and not sent yet, and sending one, exactly once, with its webhook event.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{PgConnection, PgPool};

use crate::domain::ids::{CustomerId, PartnerId, SubscriptionId};
use crate::domain::pipeline::Notice;
use crate::domain::webhook::Event;

/// A subscription with a notice due, as its event tells it.
#[derive(Debug, Clone)]
pub struct Noticed {
    pub customer_id: CustomerId,
    pub subscription_id: SubscriptionId,
    pub partner_id: PartnerId,
    pub offer_id: String,
    pub quantity: i32,
    pub term_start: NaiveDate,
    pub term_end: NaiveDate,
    pub auto_renew: bool,
    pub created_at: DateTime<Utc>,
    pub cancellation_window_ends_at: Option<DateTime<Utc>>,
}

/// Which notices a pass looks for: the renewal notice `days` before the term end, or the
/// window notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    Renewal { days: u16 },
    Window,
}

/// The partners with a notice of `due` due at `now` and not sent yet, those with the earliest
/// first (at most `limit`).
pub async fn partners(
    pool: &PgPool,
    due: Due,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<PartnerId>, sqlx::Error> {
    let today = now.date_naive();
    match due {
        Due::Renewal { days } => {
            sqlx::query_scalar!(
                r#"SELECT s.partner_id AS "partner_id!: PartnerId"
                     FROM subscriptions s
                    WHERE s.channel = 'partner' AND s.status IN ('active', 'suspended')
                      AND s.term_end > $1 AND s.term_end <= $1 + $2::int
                      AND greatest(s.created_at, s.term_start::timestamp AT TIME ZONE 'UTC')
                          <= (s.term_end - $2::int)::timestamp AT TIME ZONE 'UTC'
                      AND NOT EXISTS (
                          SELECT 1 FROM renewal_notices n
                           WHERE n.customer_id = s.customer_id AND n.subscription_id = s.id
                             AND n.kind = 'renewal_upcoming' AND n.days_before = $2::int
                             AND n.due_at = s.term_end::timestamp AT TIME ZONE 'UTC')
                    GROUP BY s.partner_id
                    ORDER BY min(s.term_end), s.partner_id
                    LIMIT $3"#,
                today,
                i32::from(days),
                limit
            )
            .fetch_all(pool)
            .await
        }
        Due::Window => {
            sqlx::query_scalar!(
                r#"SELECT s.partner_id AS "partner_id!: PartnerId"
                     FROM subscriptions s
                    WHERE s.channel = 'partner' AND s.status IN ('active', 'suspended')
                      AND s.cancellation_window_ends_at > $1
                      AND s.cancellation_window_ends_at <= $1 + interval '1 day'
                      AND NOT EXISTS (
                          SELECT 1 FROM renewal_notices n
                           WHERE n.customer_id = s.customer_id AND n.subscription_id = s.id
                             AND n.kind = 'cancellation_window_closing' AND n.days_before = 1
                             AND n.due_at = s.cancellation_window_ends_at)
                    GROUP BY s.partner_id
                    ORDER BY min(s.cancellation_window_ends_at), s.partner_id
                    LIMIT $2"#,
                now,
                limit
            )
            .fetch_all(pool)
            .await
        }
    }
}

/// One partner's subscriptions with a notice of `due` due at `now` and not sent yet, the
/// earliest first (at most `limit`).
pub async fn due(
    pool: &PgPool,
    due: Due,
    (partner_id, now): (PartnerId, DateTime<Utc>),
    limit: i64,
) -> Result<Vec<Noticed>, sqlx::Error> {
    let today = now.date_naive();
    match due {
        Due::Renewal { days } => {
            sqlx::query_as!(
                Noticed,
                r#"SELECT s.customer_id AS "customer_id: CustomerId", s.id AS "subscription_id: SubscriptionId",
                          s.partner_id AS "partner_id!: PartnerId", s.offer_id, s.quantity,
                          s.term_start, s.term_end, s.auto_renew, s.created_at,
                          s.cancellation_window_ends_at
                     FROM subscriptions s
                    WHERE s.partner_id = $3 AND s.channel = 'partner'
                      AND s.status IN ('active', 'suspended')
                      AND s.term_end > $1 AND s.term_end <= $1 + $2::int
                      AND greatest(s.created_at, s.term_start::timestamp AT TIME ZONE 'UTC')
                          <= (s.term_end - $2::int)::timestamp AT TIME ZONE 'UTC'
                      AND NOT EXISTS (
                          SELECT 1 FROM renewal_notices n
                           WHERE n.customer_id = s.customer_id AND n.subscription_id = s.id
                             AND n.kind = 'renewal_upcoming' AND n.days_before = $2::int
                             AND n.due_at = s.term_end::timestamp AT TIME ZONE 'UTC')
                    ORDER BY s.term_end, s.id
                    LIMIT $4"#,
                today,
                i32::from(days),
                partner_id.as_uuid(),
                limit
            )
            .fetch_all(pool)
            .await
        }
        Due::Window => {
            sqlx::query_as!(
                Noticed,
                r#"SELECT s.customer_id AS "customer_id: CustomerId", s.id AS "subscription_id: SubscriptionId",
                          s.partner_id AS "partner_id!: PartnerId", s.offer_id, s.quantity,
                          s.term_start, s.term_end, s.auto_renew, s.created_at,
                          s.cancellation_window_ends_at
                     FROM subscriptions s
                    WHERE s.partner_id = $2 AND s.channel = 'partner'
                      AND s.status IN ('active', 'suspended')
                      AND s.cancellation_window_ends_at > $1
                      AND s.cancellation_window_ends_at <= $1 + interval '1 day'
                      AND NOT EXISTS (
                          SELECT 1 FROM renewal_notices n
                           WHERE n.customer_id = s.customer_id AND n.subscription_id = s.id
                             AND n.kind = 'cancellation_window_closing' AND n.days_before = 1
                             AND n.due_at = s.cancellation_window_ends_at)
                    ORDER BY s.cancellation_window_ends_at, s.id
                    LIMIT $3"#,
                now,
                partner_id.as_uuid(),
                limit
            )
            .fetch_all(pool)
            .await
        }
    }
}

/// Records `notice` of the subscription as sent, unless it already is (`false` then); when it
/// is new, writes its event and one delivery per endpoint of the partner that wants it, in the
/// caller's transaction, so that the notice and its event commit together.
pub async fn send(
    conn: &mut PgConnection,
    noticed: &Noticed,
    notice: &Notice,
    event: &Event,
) -> Result<bool, sqlx::Error> {
    let recorded = sqlx::query!(
        "INSERT INTO renewal_notices (customer_id, subscription_id, kind, due_at, days_before)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT DO NOTHING",
        noticed.customer_id.as_uuid(),
        noticed.subscription_id.as_uuid(),
        notice.kind.as_str(),
        notice.due_at,
        i32::from(notice.days_before)
    )
    .execute(&mut *conn)
    .await?;
    if recorded.rows_affected() == 0 {
        return Ok(false);
    }
    sqlx::query!(
        "WITH event AS (
             INSERT INTO webhook_events
                 (id, partner_id, customer_id, subscription_id, event_type, payload, occurred_at)
             SELECT $1, $2, $3, $4, $5, $6, $7
              WHERE EXISTS (SELECT 1 FROM webhook_endpoints w
                             WHERE w.partner_id = $2 AND $5 = ANY (w.events))
             RETURNING seq
         )
         INSERT INTO webhook_deliveries (partner_id, endpoint_id, event_seq, subscription_id)
         SELECT $2, w.id, event.seq, $4
           FROM event JOIN webhook_endpoints w ON w.partner_id = $2 AND $5 = ANY (w.events)",
        event.id,
        noticed.partner_id.as_uuid(),
        noticed.customer_id.as_uuid(),
        noticed.subscription_id.as_uuid(),
        event.event_type,
        event.payload,
        event.occurred_at
    )
    .execute(conn)
    .await?;
    Ok(true)
}

/// The notice of `due` for `noticed`, if it has one.
pub fn notice_of(due: Due, noticed: &Noticed) -> Option<Notice> {
    match due {
        Due::Renewal { days } => Some(Notice::renewal(
            (noticed.term_start, noticed.term_end),
            noticed.created_at,
            days,
        )),
        Due::Window => noticed.cancellation_window_ends_at.map(Notice::window),
    }
}
