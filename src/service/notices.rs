//! The notices the renewal worker sends on each pass (docs/renewals.md, "Notices"):
//! `subscription.renewal_upcoming` at each configured offset before a term end, and
//! `subscription.cancellation_window_closing` a day before a purchase or renewal window closes.
//! Each goes out exactly once per subscription, term (or window) and offset: the notice's row and
//! its event commit in one transaction, and the row's key refuses a second one, whatever the
//! number of instances, restarts and crashes. A pass serves partners in turn (each one's first
//! notice, then each one's second, …), so one partner's backlog does not hold back another's.

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use super::idempotency::in_transaction;
use crate::db;
use crate::db::notices::{Due, Noticed};
use crate::domain::webhook::{Event, NoticeSubject};
use crate::error::Error;
use crate::telemetry;

/// Partners served per pass and kind of notice.
const PARTNERS: i64 = 1_000;
/// Notices per partner per pass and kind of notice.
const PER_PARTNER: i64 = 50;

/// One pass: sends every notice due at `now` (the renewal notices `days` before each term end,
/// and the window notices); how many it sent.
pub async fn send_due(pool: &PgPool, days: &[u16], now: DateTime<Utc>) -> Result<usize, Error> {
    let mut sent = 0;
    let kinds = days.iter().map(|&days| Due::Renewal { days });
    for due in kinds.chain([Due::Window]) {
        let mut queues = Vec::new();
        for partner in db::notices::partners(pool, due, now, PARTNERS).await? {
            let noticed = db::notices::due(pool, due, (partner, now), PER_PARTNER).await?;
            queues.push(noticed.into_iter());
        }
        while !queues.is_empty() {
            let mut round = Vec::with_capacity(queues.len());
            queues.retain_mut(|queue| queue.next().map(|n| round.push(n)).is_some());
            for noticed in round {
                match send(pool, due, &noticed, now).await {
                    Ok(true) => sent += 1,
                    Ok(false) => {}
                    // A database fault: the next pass sends it.
                    Err(error) => tracing::warn!(%error, "a notice was left for the next pass"),
                }
            }
        }
    }
    Ok(sent)
}

/// Sends one notice in its own transaction, unless it is not due or already sent.
async fn send(
    pool: &PgPool,
    due: Due,
    noticed: &Noticed,
    now: DateTime<Utc>,
) -> Result<bool, Error> {
    let Some(notice) = db::notices::notice_of(due, noticed).filter(|n| n.is_due(now)) else {
        return Ok(false);
    };
    let subject = NoticeSubject {
        partner_id: noticed.partner_id,
        customer_id: noticed.customer_id,
        subscription_id: noticed.subscription_id,
        offer_id: &noticed.offer_id,
        quantity: noticed.quantity,
        term_end: noticed.term_end,
        auto_renew: noticed.auto_renew,
    };
    let event = Event::notice(&notice, &subject, Uuid::now_v7(), now);
    let sent = in_transaction(pool, async |conn| {
        Ok(db::notices::send(conn, noticed, &notice, &event).await?)
    })
    .await?;
    if sent {
        telemetry::metrics::record_notice(notice.kind.as_str());
    }
    Ok(sent)
}
