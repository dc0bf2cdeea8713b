//! The steps every kind of subscription change shares, whatever the change: cancelling the
//! scheduled change an immediate change overrides, recording a note in the history, checking
//! seats by the rules of a seat change. They sit below `lifecycle`, `scheduled` and `upgrades`
//! so that each of those calls down here and none calls another back.

use chrono::NaiveDate;
use sqlx::PgConnection;

use super::{Actor, snapshot, today};
use crate::db;
use crate::domain::billing::Billing;
use crate::domain::lifecycle::{self, SeatChange, SeatProration};
use crate::domain::plan::{Commerce, Plan};
use crate::domain::records::{ChangeKind, Customer, ScheduledChange, Subscription};
use crate::domain::renewal::{ImmediateChange, cancels_scheduled};
use crate::domain::subscription::SubscriptionStatus;
use crate::domain::{Catalog, Offer};
use crate::error::Error;

/// Cancels the subscription's scheduled change, if it has one, saying why in its history entry
/// and event; whether there was one. Every immediate change calls this in its transaction.
pub(super) async fn cancel_scheduled(
    conn: &mut PgConnection,
    actor: &Actor,
    before: &Subscription,
    reason: &str,
) -> Result<bool, Error> {
    let Some(change) = db::scheduled::remove(conn, before.customer_id, before.id).await? else {
        return Ok(false);
    };
    let after = serde_json::json!({
        "scheduledChange": notice(&change, before.term_end),
        "reason": reason,
    });
    let kind = ChangeKind::ScheduledChangeCancelled;
    record_note(conn, actor, before, kind, after).await?;
    Ok(true)
}

/// Cancels the scheduled change if the immediate `change` cancels it (docs/subscriptions.md, "Scheduled
/// changes"), in the caller's transaction.
pub(super) async fn cancel_scheduled_for(
    conn: &mut PgConnection,
    actor: &Actor,
    before: &Subscription,
    change: ImmediateChange,
) -> Result<(), Error> {
    if let Some(reason) = cancels_scheduled(change) {
        cancel_scheduled(conn, actor, before, reason).await?;
    }
    Ok(())
}

/// The scheduled change as the history and events show it.
pub(super) fn notice(change: &ScheduledChange, effective_date: NaiveDate) -> serde_json::Value {
    let mut notice = serde_json::json!({
        "id": change.id,
        "kind": change.kind,
        "targetOfferId": change.target_offer_id,
        "quantity": change.quantity,
        "users": change.users,
        "targetSubscriptionId": change.target_subscription_id,
        "effectiveDate": effective_date,
    });
    if change.quantity_assigned {
        notice["quantityRule"] = serde_json::json!("assigned");
    }
    if let Some(plan) = change.plan() {
        notice["termDuration"] = serde_json::json!(plan.term_duration);
        notice["billingCycle"] = serde_json::json!(plan.billing_cycle);
    }
    notice
}

/// Records a change that left the subscription's own row as it was (a change scheduled,
/// cancelled, applied or failed): its state before, and `after` saying what happened.
pub(super) async fn record_note(
    conn: &mut PgConnection,
    actor: &Actor,
    subscription: &Subscription,
    kind: ChangeKind,
    after: serde_json::Value,
) -> Result<(), Error> {
    actor
        .record_change(
            conn,
            (subscription.customer_id, subscription.id),
            kind,
            Some(snapshot(subscription)),
            Some(after),
        )
        .await
}

/// Whether the subscription may have `quantity` seats, by the rules of a seat change.
pub(super) async fn check_seats(
    conn: &mut PgConnection,
    catalog: &Catalog,
    customer: &Customer,
    before: &Subscription,
    quantity: i64,
) -> Result<(), Error> {
    let offer = catalog
        .offer(&before.offer_id)
        .ok_or_else(|| Error::internal(format!("offer {} not in catalog", before.offer_id)))?;
    let change = seat_change(conn, customer, before, offer, quantity).await?;
    Ok(lifecycle::check_quantity(catalog, &change)?)
}

/// What the seat rules look at, read in one round trip: the licenses assigned, the family's seats
/// the customer holds in its other live subscriptions, and the largest active add-on (the
/// customer's row is locked).
pub(super) async fn seat_change<'a>(
    conn: &mut PgConnection,
    customer: &Customer,
    before: &Subscription,
    offer: &'a Offer,
    quantity: i64,
) -> Result<SeatChange<'a>, Error> {
    let ids = (customer.id, before.id);
    let (family_seats, assigned, add_on_seats) =
        db::subscriptions::seat_facts(conn, ids, offer.family_id.as_deref()).await?;
    let own_live = matches!(
        before.status,
        SubscriptionStatus::Active | SubscriptionStatus::Suspended
    );
    let own_seats = if own_live && offer.family_id.is_some() {
        i64::from(before.quantity)
    } else {
        0
    };
    Ok(SeatChange {
        offer,
        status: before.status,
        quantity,
        assigned,
        family_seats_elsewhere: family_seats - own_seats,
        add_on_seats,
    })
}

/// What going from `old` to `new` seats at `unit_price` does to the bill of `base`'s current
/// period; `None` when the customer's market or the price is unknown.
pub(super) fn seat_billing(
    catalog: &Catalog,
    customer: &Customer,
    base: &Subscription,
    unit_price: Option<i64>,
    old: i64,
    new: i64,
) -> Result<Option<Billing>, Error> {
    let (Some(market), Some(unit_price)) = (catalog.market(&customer.market_code), unit_price)
    else {
        return Ok(None);
    };
    Ok(Some(lifecycle::prorate_seats(&SeatProration {
        currency: market.currency.clone(),
        cycle: base.billing_cycle,
        period_start: base.current_period_start,
        period_end: base.current_period_end,
        monthly_unit_price: unit_price,
        old_quantity: old,
        new_quantity: new,
        today: today(),
    })))
}

/// The price per seat per month `offer_id` will be billed at from `on` for `subscription`'s
/// customer on `plan`: the price in force that day under new commerce (a renewal re-prices), the
/// catalog's price for legacy; `None` when none is listed.
pub(super) async fn price_from(
    conn: &mut PgConnection,
    (catalog, customer): (&Catalog, &Customer),
    (subscription, plan): (&Subscription, Plan),
    offer_id: &str,
    on: NaiveDate,
) -> Result<Option<i64>, Error> {
    Ok(match subscription.commerce {
        Commerce::New => {
            let offer = (subscription.customer_id, offer_id);
            db::catalog::price_in_force(conn, offer, plan, on).await?
        }
        Commerce::Legacy => catalog
            .offer(offer_id)
            .and_then(|o| o.monthly_price_in(&customer.market_code)),
    })
}
