//! The renewal worker each instance runs (docs/subscriptions.md, "Renewals"): at a term's end an active,
//! auto-renewing subscription starts a new term; one with auto-renewal off, or suspended, expires.
//! Each subscription is handled in its own transaction under the lock order every change takes
//! (customer, then subscription; the subscription with `SKIP LOCKED`, so instances share the
//! queue), and the term is rolled in the same transaction that records it: a term ends exactly
//! once, whatever the number of instances and crashes.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::{NaiveDate, NaiveTime, Utc};
use sqlx::{PgConnection, PgPool};

use super::idempotency::in_transaction;
use super::lifecycle::{self, ChangeOutcome};
use super::migrations::{self, NewTerm};
use super::subscription_steps::{check_seats, notice, price_from, record_note};
use super::upgrades::{self, PartialAsk, TargetStart};
use super::{Actor, FirstPass};
use crate::db;
use crate::domain::billing::{self, Billing};
use crate::domain::commerce::{CANCELLATION_WINDOW, SeatWindow, SeatWindows};
use crate::domain::plan::{Commerce, Plan};
use crate::domain::records::{ChangeKind, Customer, ScheduledChange, ScheduledKind, Subscription};
use crate::domain::renewal::{self, TermEnd};
use crate::domain::subscription::{BillingDates, SubscriptionStatus, billing_dates};
use crate::domain::{Catalog, CustomerId, SubscriptionId};
use crate::error::Error;
use crate::telemetry;

/// Subscriptions looked at per pass.
const BATCH: i64 = 100;

/// How often the worker looks for ended terms, the catalog the scheduled changes it applies
/// are checked against, and the days before a term end its renewal notices go out.
#[derive(Debug, Clone)]
pub struct RenewalSettings {
    pub poll: Duration,
    pub catalog: Arc<Catalog>,
    pub notice_days: Vec<u16>,
}

/// Every `poll` (the first time one `poll` after start-up), ends the terms that are due, then
/// sends the notices that are due ([`super::notices`]), until `shutdown` completes.
pub async fn run(pool: PgPool, settings: RenewalSettings, shutdown: impl Future<Output = ()>) {
    super::every(
        settings.poll,
        FirstPass::AfterOneInterval,
        shutdown,
        || async {
            match end_due_terms(&pool, &settings.catalog, Utc::now().date_naive()).await {
                Ok(0) => {}
                Ok(count) => tracing::info!(count, "terms ended"),
                Err(error) => tracing::warn!(%error, "renewals could not reach the database"),
            }
            match super::notices::send_due(&pool, &settings.notice_days, Utc::now()).await {
                Ok(0) => {}
                Ok(count) => tracing::info!(count, "notices sent"),
                Err(error) => tracing::warn!(%error, "notices could not reach the database"),
            }
        },
    )
    .await;
}

/// One pass over the subscriptions whose term ended by `today`; how many terms it ended.
pub async fn end_due_terms(
    pool: &PgPool,
    catalog: &Catalog,
    today: NaiveDate,
) -> Result<usize, Error> {
    let mut ended = 0;
    for subscription in db::subscriptions::due_for_renewal(pool, today, BATCH).await? {
        let outcome = in_transaction(pool, async |conn| {
            end_term(conn, catalog, subscription, today).await
        })
        .await;
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

/// Ends one term, unless another worker holds it or already ended it; a change scheduled for
/// the term end is applied with the renewal, or recorded as failed and the term renewed as is.
async fn end_term(
    conn: &mut PgConnection,
    catalog: &Catalog,
    (customer_id, id): (CustomerId, SubscriptionId),
    today: NaiveDate,
) -> Result<Option<ChangeKind>, Error> {
    let Some(customer) = db::customers::lock(conn, customer_id).await? else {
        return Ok(None);
    };
    let Some(before) = db::subscriptions::lock_due(conn, customer_id, id, today).await? else {
        return Ok(None);
    };
    let actor = actor(&before)?;
    let end = renewal::at_term_end(
        before.status,
        before.auto_renew,
        before.plan(),
        before.term_end,
        today,
    );
    match end {
        Some(TermEnd::Renew(term)) => {
            let mut scheduled = db::scheduled::remove(conn, customer_id, id).await?;
            if let Some(change) = scheduled.as_mut().filter(|c| c.quantity_assigned) {
                let assigned = db::licenses::count(conn, customer_id, id).await?;
                change.quantity =
                    i32::try_from(renewal::right_sized(assigned)).map_err(Error::internal)?;
            }
            // A next-term plan (new commerce) makes the new term the plan's.
            let next_plan = scheduled.as_ref().and_then(ScheduledChange::plan);
            let default_term = term;
            let (plan, term) = match next_plan {
                Some(plan) => (plan, billing_dates(plan, before.term_end, today, None)?),
                None => (before.plan(), term),
            };
            // An upgrade or a migration replaces the subscription instead of renewing it; one
            // that no longer passes is recorded as failed and the term renews as it was (a
            // legacy term on its own plan, for a failed migration).
            if let Some(change) = scheduled
                .as_ref()
                .filter(|c| matches!(c.kind, ScheduledKind::Upgrade | ScheduledKind::Migration))
            {
                let (on, next) = ((&customer, &before), (&term, plan));
                let replaced = match change.kind {
                    ScheduledKind::Migration => {
                        migrate(conn, catalog, &actor, on, change, next).await?
                    }
                    _ => upgrade(conn, catalog, &actor, on, change, next).await?,
                };
                if replaced {
                    return Ok(Some(ChangeKind::Renewal));
                }
            }
            let (plan, term) = match scheduled.as_ref().map(|c| c.kind) {
                Some(ScheduledKind::Migration) => (before.plan(), default_term),
                _ => (plan, term),
            };
            let renewed = db::subscriptions::renew(conn, customer_id, id, &term, plan).await?;
            let renewed = match renewed.commerce {
                Commerce::New => new_commerce_term(conn, &renewed).await?,
                Commerce::Legacy => renewed,
            };
            let outcome = ChangeOutcome::unchanged(&renewed);
            lifecycle::record(conn, &actor, ChangeKind::Renewal, &before, &outcome).await?;
            match scheduled {
                Some(change) if change.kind == ScheduledKind::Quantity => {
                    seats(conn, catalog, &actor, (&customer, &renewed), &change).await?;
                }
                Some(change) if change.kind == ScheduledKind::Downgrade => {
                    let renewed = renewed.as_of(today);
                    downgrade(conn, catalog, &actor, (&customer, &renewed), &change).await?;
                }
                Some(change) if change.kind == ScheduledKind::PartialUpgrade => {
                    let renewed = renewed.as_of(today);
                    partial_upgrade(conn, catalog, &actor, &renewed, &change).await?;
                }
                _ => {}
            }
            Ok(Some(ChangeKind::Renewal))
        }
        Some(TermEnd::Expire) => {
            let expired = lifecycle::end(conn, &before, SubscriptionStatus::Expired).await?;
            lifecycle::record(conn, &actor, ChangeKind::Expiry, &before, &expired).await?;
            Ok(Some(ChangeKind::Expiry))
        }
        None => Ok(None),
    }
}

/// A renewed new-commerce term: priced at the price in force on its first day, with a new
/// 168-hour cancellation window for every seat, opened at the start of that day (whenever the
/// worker gets to it).
async fn new_commerce_term(
    conn: &mut PgConnection,
    renewed: &Subscription,
) -> Result<Subscription, Error> {
    let (customer_id, id, starts) = (renewed.customer_id, renewed.id, renewed.term_start);
    let offer = (customer_id, renewed.offer_id.as_str());
    let price = db::catalog::price_in_force(conn, offer, renewed.plan(), starts).await?;
    let opened = starts.and_time(NaiveTime::MIN).and_utc();
    let windows = SeatWindows(vec![SeatWindow::opened(
        i64::from(renewed.quantity),
        opened,
    )]);
    let window = (price, opened + CANCELLATION_WINDOW);
    let row = db::subscriptions::start_new_commerce_term(conn, customer_id, id, window, &windows);
    Ok(row.await?)
}

/// A scheduled upgrade at the term end: performed with a fresh term on the next term's `plan`
/// when every condition still allows it (`true`); otherwise recorded as failed with every failing
/// condition (`false`).
async fn upgrade(
    conn: &mut PgConnection,
    catalog: &Catalog,
    actor: &Actor,
    (customer, before): (&Customer, &Subscription),
    change: &ScheduledChange,
    (term, plan): (&BillingDates, Plan),
) -> Result<bool, Error> {
    let target = change.target_offer_id.as_deref().unwrap_or_default();
    let quantity = i64::from(change.quantity);
    let eligible = upgrades::eligible(conn, catalog, actor, before, target, quantity).await;
    let notice = notice(change, before.term_end);
    match eligible {
        Ok(upgrade) => {
            let on = (before, plan);
            let price = price_from(conn, (catalog, customer), on, target, term.term_start);
            let bill = first_period_bill(catalog, customer, (price.await?, plan), quantity, term);
            let start = TargetStart::renewal(before, *term, plan, quantity);
            let result =
                upgrades::upgrade_at_renewal(conn, actor, before, &upgrade, (start, bill)).await?;
            let after =
                serde_json::json!({"scheduledChange": notice, "upgradeId": result.upgrade_id});
            let kind = ChangeKind::ScheduledChangeApplied;
            record_note(conn, actor, before, kind, after).await?;
            Ok(true)
        }
        Err(Error::NotEligible(failures)) => {
            let after = serde_json::json!({"scheduledChange": notice, "failures": failures});
            let kind = ChangeKind::ScheduledChangeFailed;
            record_note(conn, actor, before, kind, after).await?;
            Ok(false)
        }
        Err(other) => Err(other),
    }
}

/// A scheduled migration at the term end: the legacy subscription is replaced by a new-commerce
/// one whose term starts that day on the next term's `plan`, at the price in force then, when the
/// seat rules still allow it (`true`); otherwise recorded as failed with the refusal's code
/// (`false`), and the legacy term renews as it was.
async fn migrate(
    conn: &mut PgConnection,
    catalog: &Catalog,
    actor: &Actor,
    (customer, before): (&Customer, &Subscription),
    change: &ScheduledChange,
    (term, plan): (&BillingDates, Plan),
) -> Result<bool, Error> {
    let quantity = i64::from(change.quantity);
    let notice = notice(change, before.term_end);
    let checked = match check_seats(conn, catalog, customer, before, quantity).await {
        Ok(()) => migrations::price(conn, before, plan, term.term_start).await,
        Err(error) => Err(error),
    };
    match checked {
        Ok(price) => {
            let bill = first_period_bill(catalog, customer, (Some(price), plan), quantity, term);
            let new_term = NewTerm::at_renewal(plan, quantity, *term, price);
            let replaced = migrations::replace(conn, actor, before, &new_term, bill.as_ref());
            let target = replaced.await?.target;
            let after = serde_json::json!({"scheduledChange": notice, "migratedTo": target.id});
            let kind = ChangeKind::ScheduledChangeApplied;
            record_note(conn, actor, before, kind, after).await?;
            Ok(true)
        }
        Err(error) => {
            let (kind, after) = failed(notice, error)?;
            record_note(conn, actor, before, kind, after).await?;
            Ok(false)
        }
    }
}

/// A scheduled partial upgrade, performed right after the renewal (the new term's first day, so
/// the moved seats are credited and the target charged for the whole first period) when every
/// rule still allows it; otherwise recorded as failed with every failing condition or the
/// refusal's code.
async fn partial_upgrade(
    conn: &mut PgConnection,
    catalog: &Catalog,
    actor: &Actor,
    renewed: &Subscription,
    change: &ScheduledChange,
) -> Result<(), Error> {
    let notice = notice(change, renewed.term_start);
    let ask = PartialAsk {
        quantity: i64::from(change.quantity),
        users: change.users.clone(),
        target_subscription_id: change.target_subscription_id,
    };
    let target = change.target_offer_id.as_deref().unwrap_or_default();
    let performed =
        upgrades::partial::perform(conn, catalog, actor, (renewed, target), &ask, false).await;
    let (kind, after) = match performed {
        Ok(result) => (
            ChangeKind::ScheduledChangeApplied,
            serde_json::json!({"scheduledChange": notice, "upgradeId": result.upgrade_id}),
        ),
        Err(error) => failed(notice, error)?,
    };
    record_note(conn, actor, renewed, kind, after).await
}

/// A scheduled move down a matrix path, applied to the renewed subscription when every rule
/// still allows it: it becomes the target offer with the change's seats, priced at the target's
/// price in force on the renewal day, its renewal window covering those seats; every license
/// stays (switched-off services the target lacks are dropped) and the users who lose a service
/// are listed. Otherwise recorded as failed with every failing condition or the refusal's code.
async fn downgrade(
    conn: &mut PgConnection,
    catalog: &Catalog,
    actor: &Actor,
    (customer, renewed): (&Customer, &Subscription),
    change: &ScheduledChange,
) -> Result<(), Error> {
    let notice = notice(change, renewed.term_start);
    let target = change.target_offer_id.as_deref().unwrap_or_default();
    let to = (target, i64::from(change.quantity));
    let eligible = upgrades::downgrade_eligible(conn, (catalog, customer), actor, renewed, to);
    let (kind, after) = match eligible.await {
        Ok(down) => {
            let on = (renewed, renewed.plan());
            let price = price_from(conn, (catalog, customer), on, target, renewed.term_start);
            let price = price.await?;
            let windows = renewal_windows(renewed, down.quantity);
            let (customer_id, id) = (renewed.customer_id, renewed.id);
            let offer = (target, change.quantity);
            db::subscriptions::change_offer(conn, customer_id, id, offer, (price, &windows))
                .await?;
            let services: Vec<String> = catalog
                .offer(target)
                .map(|o| o.services.iter().cloned().collect())
                .unwrap_or_default();
            db::licenses::keep_services(conn, customer_id, id, &services).await?;
            let after = serde_json::json!({
                "scheduledChange": notice,
                "offerId": target,
                "quantity": down.quantity,
                "unitPrice": price,
                "accountsToReassign": down.accounts,
            });
            (ChangeKind::ScheduledChangeApplied, after)
        }
        Err(error) => failed(notice, error)?,
    };
    record_note(conn, actor, renewed, kind, after).await
}

/// The history entry of a scheduled change the renewal could not apply: every failing condition,
/// or the refusal's code as the one failure; any other error is the renewal's own.
fn failed(
    notice: serde_json::Value,
    error: Error,
) -> Result<(ChangeKind, serde_json::Value), Error> {
    let failures = match error {
        Error::NotEligible(failures) => serde_json::json!(failures),
        Error::Refused { code, detail } => serde_json::json!([{"code": code, "message": detail}]),
        other => return Err(other),
    };
    let after = serde_json::json!({"scheduledChange": notice, "failures": failures});
    Ok((ChangeKind::ScheduledChangeFailed, after))
}

/// The seat windows of a renewed subscription with `quantity` seats: the renewal's window covers
/// every seat of the new term (none under legacy commerce).
fn renewal_windows(renewed: &Subscription, quantity: i64) -> SeatWindows {
    match renewed.cancellation_window_ends_at {
        Some(until) if renewed.commerce == Commerce::New => SeatWindows(vec![SeatWindow {
            quantity,
            allowed_until: until,
        }]),
        _ => SeatWindows::default(),
    }
}

/// A scheduled seat change, applied to the renewed subscription when the seat rules still allow
/// it, otherwise recorded as failed with its code.
async fn seats(
    conn: &mut PgConnection,
    catalog: &Catalog,
    actor: &Actor,
    (customer, renewed): (&Customer, &Subscription),
    change: &ScheduledChange,
) -> Result<(), Error> {
    let notice = notice(change, renewed.term_start);
    let quantity = i64::from(change.quantity);
    match check_seats(conn, catalog, customer, renewed, quantity).await {
        Ok(()) => {
            let status = (change.quantity, renewed.status);
            let (customer_id, id) = (renewed.customer_id, renewed.id);
            db::subscriptions::update(conn, customer_id, id, status, None).await?;
            if renewed.commerce == Commerce::New {
                let windows = renewal_windows(renewed, quantity);
                db::subscriptions::set_seat_windows(conn, customer_id, id, &windows).await?;
            }
            let after = serde_json::json!({"scheduledChange": notice, "quantity": quantity});
            let kind = ChangeKind::ScheduledChangeApplied;
            record_note(conn, actor, renewed, kind, after).await
        }
        Err(error) => {
            let (kind, after) = failed(notice, error)?;
            record_note(conn, actor, renewed, kind, after).await
        }
    }
}

/// The target's first period from the renewal, in full (no proration), at `price`.
fn first_period_bill(
    catalog: &Catalog,
    customer: &Customer,
    (price, plan): (Option<i64>, Plan),
    quantity: i64,
    term: &BillingDates,
) -> Option<Billing> {
    let currency = &catalog.market(&customer.market_code)?.currency;
    Some(billing::full_period(
        currency,
        price?,
        quantity,
        plan.billing_cycle.period_months(),
        (term.current_period_start, term.current_period_end),
    ))
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
