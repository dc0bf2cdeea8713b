//! Changing a subscription after purchase: its seats or its status (docs/subscriptions.md, "Seats, status
//! and add-ons"), under the same locks, `If-Match` and `Idempotency-Key` as upgrades, each change in
//! the history.

use sqlx::PgConnection;

use super::idempotency::{Answered, Scope, StoredAnswer};
use super::subscription_steps::{cancel_scheduled_for, seat_billing, seat_change};
use super::subscriptions::check_precondition;
use super::{Actor, App, lock_subscription, snapshot};
use crate::db;
use crate::domain::billing::Billing;
use crate::domain::commerce::{self, PaidPeriod, SeatWindow, SeatWindows};
use crate::domain::lifecycle;
use crate::domain::plan::{Commerce, TermDuration};
use crate::domain::records::{
    AddOn, ChangeKind, Customer, LicenseAssignment, Precondition, Subscription,
};
use crate::domain::renewal::ImmediateChange;
use crate::domain::subscription::{self, SubscriptionStatus};
use crate::domain::{Catalog, CustomerId, ErrorCode, SubscriptionId};
use crate::error::Error;

/// One change to a subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Quantity(i64),
    Status(SubscriptionStatus),
    /// Renew at the term end, or expire then.
    AutoRenew(bool),
    /// New commerce: a longer term, starting now.
    Term(TermDuration),
}

/// What changed.
#[derive(Debug, Clone)]
pub struct ChangeOutcome {
    pub subscription: Subscription,
    /// For a seat change: what it does to the current period's bill.
    pub billing: Option<Billing>,
    /// For a cancellation: the licenses it removed from users.
    pub released_licenses: Vec<LicenseAssignment>,
    /// For a cancellation: the active add-ons it cancelled.
    pub cancelled_add_ons: Vec<AddOn>,
}

impl ChangeOutcome {
    /// The outcome of a change that changed nothing (yet).
    pub(super) fn unchanged(subscription: &Subscription) -> Self {
        ChangeOutcome {
            subscription: subscription.clone(),
            billing: None,
            released_licenses: Vec::new(),
            cancelled_add_ons: Vec::new(),
        }
    }
}

/// A change, the subscription it applies to, and its conditions.
#[derive(Debug, Clone)]
pub struct ChangeRequest {
    pub customer_id: CustomerId,
    pub subscription_id: SubscriptionId,
    pub change: Change,
    pub precondition: Option<Precondition>,
}

impl App {
    /// Changes a subscription's seats, status or auto-renewal in a keyed write: `answer` makes,
    /// in the transaction, the answer to store under `scope`'s key; a retry with the key gets
    /// the stored answer and changes nothing.
    pub async fn change_subscription(
        &self,
        actor: &Actor,
        request: &ChangeRequest,
        scope: Option<&Scope>,
        answer: impl FnOnce(&ChangeOutcome) -> Result<StoredAnswer, Error>,
    ) -> Result<Answered, Error> {
        self.keyed(scope, async |conn| {
            answer(&apply(conn, self.catalog(), actor, request).await?)
        })
        .await
    }
}

/// Applies the change in the caller's transaction, after locking the customer then the
/// subscription; asking for what already holds changes nothing.
pub async fn apply(
    conn: &mut PgConnection,
    catalog: &Catalog,
    actor: &Actor,
    request: &ChangeRequest,
) -> Result<ChangeOutcome, Error> {
    let (customer_id, subscription_id) = (request.customer_id, request.subscription_id);
    let (customer, before) = lock_subscription(conn, actor, customer_id, subscription_id).await?;
    check_precondition(request.precondition.as_ref(), &before)?;
    let outcome = match request.change {
        Change::Quantity(quantity) => {
            change_quantity(conn, catalog, &customer, &before, quantity).await?
        }
        Change::Status(status) => {
            change_status(conn, catalog, (&customer, &before), status).await?
        }
        Change::AutoRenew(auto_renew) => change_auto_renew(conn, &before, auto_renew).await?,
        Change::Term(term) => change_plan(conn, catalog, (&customer, &before), term).await?,
    };
    if outcome.subscription.version != before.version {
        let (kind, immediate) = match request.change {
            Change::Quantity(_) => (ChangeKind::QuantityChange, ImmediateChange::Seats),
            Change::Status(_) => (ChangeKind::StatusChange, ImmediateChange::Status),
            Change::AutoRenew(on) => (ChangeKind::AutoRenewChange, ImmediateChange::AutoRenew(on)),
            Change::Term(_) => (ChangeKind::PlanChange, ImmediateChange::Plan),
        };
        record(conn, actor, kind, &before, &outcome).await?;
        cancel_scheduled_for(conn, actor, &before, immediate).await?;
    }
    Ok(outcome)
}

async fn change_quantity(
    conn: &mut PgConnection,
    catalog: &Catalog,
    customer: &Customer,
    before: &Subscription,
    quantity: i64,
) -> Result<ChangeOutcome, Error> {
    let offer = catalog
        .offer(&before.offer_id)
        .ok_or_else(|| Error::internal(format!("offer {} not in catalog", before.offer_id)))?;
    let change = seat_change(conn, customer, before, offer, quantity).await?;
    lifecycle::check_quantity(catalog, &change)?;
    let old_quantity = i64::from(before.quantity);
    // New commerce bills at the price locked for the term, and may remove only refundable seats.
    let unit_price = match before.commerce {
        Commerce::New => before.unit_price,
        Commerce::Legacy => offer.monthly_price_in(&customer.market_code),
    };
    let billing = seat_billing(
        catalog,
        customer,
        before,
        unit_price,
        old_quantity,
        quantity,
    )?;
    let new_quantity = i32::try_from(quantity).map_err(Error::internal)?;
    if before.commerce == Commerce::New && new_quantity != before.quantity {
        let windows = seat_windows_after(before, quantity)?;
        db::subscriptions::set_seat_windows(conn, customer.id, before.id, &windows).await?;
    }
    let subscription = if new_quantity == before.quantity {
        before.clone()
    } else {
        db::subscriptions::update(
            conn,
            customer.id,
            before.id,
            (new_quantity, before.status),
            None,
        )
        .await?
        .as_of(super::today())
    };
    Ok(ChangeOutcome {
        billing,
        ..ChangeOutcome::unchanged(&subscription)
    })
}

/// A longer term for a new-commerce subscription, starting today: priced at the price in force
/// for the new plan, its unused paid days credited daily and the new plan's first period charged
/// (`commerce::extend_term`). Anything else mid-term (a shorter or the same term, any change of a
/// legacy subscription's plan) is 422 `plan_change_not_allowed`.
async fn change_plan(
    conn: &mut PgConnection,
    catalog: &Catalog,
    (customer, before): (&Customer, &Subscription),
    term: TermDuration,
) -> Result<ChangeOutcome, Error> {
    let current = before.plan();
    let plan = match before.commerce {
        Commerce::New => commerce::change_term(current, term)?,
        Commerce::Legacy => {
            return Err(Error::new(
                ErrorCode::PlanChangeNotAllowed,
                "A legacy subscription keeps its one-year term; its plan changes when it moves to \
                 new commerce at its renewal.",
            ));
        }
    };
    if before.status != SubscriptionStatus::Active {
        return Err(Error::new(
            ErrorCode::SubscriptionNotActive,
            format!(
                "The subscription is {}; only an active one can change its plan.",
                before.status.as_str()
            ),
        ));
    }
    let today = super::today();
    let dates = subscription::billing_dates(plan, today, today, None)?;
    let offer = (before.customer_id, before.offer_id.as_str());
    let price = db::catalog::price_in_force(conn, offer, plan, today).await?;
    let market = catalog.market(&customer.market_code);
    let billing = match (market, before.unit_price, price) {
        (Some(market), Some(locked), Some(price)) => {
            let paid = PaidPeriod {
                currency: &market.currency,
                cycle: before.billing_cycle,
                monthly_unit_price: locked,
                period: (before.current_period_start, before.current_period_end),
            };
            let seats = i64::from(before.quantity);
            Some(commerce::extend_term(
                &paid,
                seats,
                today,
                (price, plan.billing_cycle),
            ))
        }
        _ => None,
    };
    let (customer_id, id) = (before.customer_id, before.id);
    let changed = db::subscriptions::change_plan(conn, customer_id, id, (plan, price), &dates)
        .await?
        .as_of(today);
    Ok(ChangeOutcome {
        billing,
        ..ChangeOutcome::unchanged(&changed)
    })
}

/// A new-commerce subscription's refundable seats after going to `quantity` seats now: an
/// increase opens a window for the seats it adds; a reduction takes seats from the windows
/// closing last, and is refused beyond the refundable seats (remedy: schedule it).
fn seat_windows_after(before: &Subscription, quantity: i64) -> Result<SeatWindows, Error> {
    let (now, old) = (super::now(), i64::from(before.quantity));
    let windows = &before.seat_windows.0;
    Ok(SeatWindows(if quantity > old {
        let mut open = commerce::refundable(windows, now);
        open.push(SeatWindow::opened(quantity - old, now));
        open
    } else {
        commerce::reduce_seats(windows, now, old, quantity)?
    }))
}

/// Suspension keeps the license assignments (the users' services stop while suspended and come
/// back on reactivation); cancellation removes them, and cancels the active add-ons, and says so.
async fn change_status(
    conn: &mut PgConnection,
    catalog: &Catalog,
    (customer, before): (&Customer, &Subscription),
    status: SubscriptionStatus,
) -> Result<ChangeOutcome, Error> {
    let from = before.status;
    lifecycle::transition(from, status).map_err(|e| {
        Error::new(
            ErrorCode::InvalidStatusTransition,
            format!(
                "The subscription is {}; it cannot become {}: {e}.",
                from.as_str(),
                status.as_str()
            ),
        )
    })?;
    if from == status {
        return Ok(ChangeOutcome::unchanged(before));
    }
    if status == SubscriptionStatus::Cancelled {
        if before.commerce == Commerce::New {
            commerce::check_cancellation(before.cancellation_window_ends_at, super::now())?;
        }
        let mut outcome = end(conn, before, status).await?;
        outcome.billing = cancellation_refund(catalog, customer, before);
        return Ok(outcome);
    }
    let mut outcome = ChangeOutcome::unchanged(before);
    outcome.subscription = db::subscriptions::update(
        conn,
        before.customer_id,
        before.id,
        (before.quantity, status),
        None,
    )
    .await?
    .as_of(super::today());
    Ok(outcome)
}

/// What cancelling a new-commerce subscription inside its window refunds: every seat, daily over
/// the unused days of the paid period, at its locked price; `None` for legacy (cancelling a
/// legacy subscription changes no bill here) or when no price is locked.
fn cancellation_refund(
    catalog: &Catalog,
    customer: &Customer,
    before: &Subscription,
) -> Option<Billing> {
    if before.commerce != Commerce::New {
        return None;
    }
    let paid = PaidPeriod {
        currency: &catalog.market(&customer.market_code)?.currency,
        cycle: before.billing_cycle,
        monthly_unit_price: before.unit_price?,
        period: (before.current_period_start, before.current_period_end),
    };
    Some(commerce::refund(
        &paid,
        i64::from(before.quantity),
        super::today(),
    ))
}

/// Ends the subscription (cancelled, or expired at its term end): removes every license
/// assignment and cancels the active add-ons, and says so in the outcome.
pub(super) async fn end(
    conn: &mut PgConnection,
    before: &Subscription,
    status: SubscriptionStatus,
) -> Result<ChangeOutcome, Error> {
    let (customer_id, id) = (before.customer_id, before.id);
    let mut outcome = ChangeOutcome::unchanged(before);
    outcome.released_licenses = db::licenses::release_all(conn, customer_id, id).await?;
    outcome.cancelled_add_ons = db::add_ons::cancel_all(conn, customer_id, id).await?;
    // An ended subscription keeps, stored, the term and period it ended in.
    let ends = before.dates();
    outcome.subscription = db::subscriptions::update(
        conn,
        customer_id,
        id,
        (before.quantity, status),
        Some(&ends),
    )
    .await?
    .as_of(super::today());
    Ok(outcome)
}

/// Auto-renewal can be switched on or off while the subscription can still renew.
async fn change_auto_renew(
    conn: &mut PgConnection,
    before: &Subscription,
    auto_renew: bool,
) -> Result<ChangeOutcome, Error> {
    if !matches!(
        before.status,
        SubscriptionStatus::Active | SubscriptionStatus::Suspended
    ) {
        return Err(Error::new(
            ErrorCode::SubscriptionNotActive,
            format!(
                "Only an active or suspended subscription renews; this one is {}.",
                before.status.as_str()
            ),
        ));
    }
    let mut outcome = ChangeOutcome::unchanged(before);
    if before.auto_renew != auto_renew {
        outcome.subscription =
            db::subscriptions::set_auto_renew(conn, before.customer_id, before.id, auto_renew)
                .await?;
    }
    Ok(outcome)
}

pub(super) async fn record(
    conn: &mut PgConnection,
    actor: &Actor,
    kind: ChangeKind,
    before: &Subscription,
    outcome: &ChangeOutcome,
) -> Result<(), Error> {
    let mut after = snapshot(&outcome.subscription);
    after["billing"] = serde_json::to_value(&outcome.billing).map_err(Error::internal)?;
    after["releasedLicenses"] = outcome
        .released_licenses
        .iter()
        .map(|a| serde_json::json!({"userId": a.user_id, "disabledServices": a.disabled_services}))
        .collect();
    after["cancelledAddOns"] = outcome
        .cancelled_add_ons
        .iter()
        .map(
            |a| serde_json::json!({"addOnId": a.id, "offerId": a.offer_id, "quantity": a.quantity}),
        )
        .collect();
    actor
        .record_change(
            conn,
            (before.customer_id, before.id),
            kind,
            Some(snapshot(before)),
            Some(after),
        )
        .await
}
