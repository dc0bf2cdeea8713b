//! The renewal worker each instance runs (README "Renewals"): at a term's end an active,
//! auto-renewing subscription starts a new term; one with auto-renewal off, or suspended, expires.
//! Each subscription is handled in its own transaction under the lock order every change takes
//! (customer, then subscription; the subscription with `SKIP LOCKED`, so instances share the
//! queue), and the term is rolled in the same transaction that records it: a term ends exactly
//! once, whatever the number of instances and crashes.

use std::future::Future;
use std::time::Duration;

use chrono::{NaiveDate, Utc};
use sqlx::{PgConnection, PgPool};

use super::idempotency::in_transaction;
use super::lifecycle::{self, ChangeOutcome};
use super::{Actor, FirstPass};
use crate::db;
use crate::domain::records::{ChangeKind, Subscription};
use crate::domain::renewal::{self, TermEnd};
use crate::domain::subscription::SubscriptionStatus;
use crate::domain::{CustomerId, SubscriptionId};
use crate::error::Error;
use crate::telemetry;

/// Subscriptions looked at per pass.
const BATCH: i64 = 100;

/// How often the worker looks for ended terms.
#[derive(Debug, Clone)]
pub struct RenewalSettings {
    pub poll: Duration,
}

/// Every `poll` (the first time one `poll` after start-up), ends the terms that are due, until
/// `shutdown` completes.
pub async fn run(pool: PgPool, settings: RenewalSettings, shutdown: impl Future<Output = ()>) {
    super::every(
        settings.poll,
        FirstPass::AfterOneInterval,
        shutdown,
        || async {
            match end_due_terms(&pool, Utc::now().date_naive()).await {
                Ok(0) => {}
                Ok(count) => tracing::info!(count, "terms ended"),
                Err(error) => tracing::warn!(%error, "renewals could not reach the database"),
            }
        },
    )
    .await;
}

/// One pass over the subscriptions whose term ended by `today`; how many terms it ended.
pub async fn end_due_terms(pool: &PgPool, today: NaiveDate) -> Result<usize, Error> {
    let mut ended = 0;
    for subscription in db::subscriptions::due_for_renewal(pool, today, BATCH).await? {
        let outcome =
            in_transaction(pool, async |conn| end_term(conn, subscription, today).await).await;
        match outcome {
            Ok(Some(kind)) => {
                ended += 1;
                telemetry::metrics::record_term_end(match kind {
                    ChangeKind::Renewal => "renewed",
                    _ => "expired",
                });
            }
            Ok(None) => {}
            // A row held too long by a request, or a database fault: the next pass retries.
            Err(error) => tracing::warn!(%error, "a term end was left for the next pass"),
        }
    }
    Ok(ended)
}

/// Ends one term, unless another worker holds it or already ended it.
async fn end_term(
    conn: &mut PgConnection,
    (customer_id, id): (CustomerId, SubscriptionId),
    today: NaiveDate,
) -> Result<Option<ChangeKind>, Error> {
    if !db::customers::lock(conn, customer_id).await? {
        return Ok(None);
    }
    let Some(before) = db::subscriptions::lock_due(conn, customer_id, id, today).await? else {
        return Ok(None);
    };
    let end = renewal::at_term_end(
        before.status,
        before.auto_renew,
        before.billing_cycle,
        before.term_end,
        today,
    );
    let (kind, outcome) = match end {
        Some(TermEnd::Renew(term)) => {
            let renewed = db::subscriptions::renew(conn, customer_id, id, &term).await?;
            (ChangeKind::Renewal, ChangeOutcome::unchanged(&renewed))
        }
        Some(TermEnd::Expire) => {
            let expired = lifecycle::end(conn, &before, SubscriptionStatus::Expired).await?;
            (ChangeKind::Expiry, expired)
        }
        None => return Ok(None),
    };
    lifecycle::record(conn, &actor(&before)?, kind, &before, &outcome).await?;
    Ok(Some(kind))
}

/// The worker acts for the partner that sold the subscription; the request id names the term.
fn actor(subscription: &Subscription) -> Result<Actor, Error> {
    let partner_id = subscription
        .partner_id
        .ok_or_else(|| Error::internal("a partner subscription without its partner"))?;
    Ok(Actor {
        partner_id,
        user_id: "renewal-worker".to_owned(),
        roles: vec!["system".to_owned()],
        request_id: format!("term-end-{}-{}", subscription.id, subscription.term_end),
    })
}
