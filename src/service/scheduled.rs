//! Changes scheduled for the term end (docs/subscriptions.md, "Scheduled changes"): an upgrade, a
//! seat change or (new commerce) a move down a matrix path and the next term's plan, which the
//! renewal worker applies with the renewal. At most one per subscription, only while it is
//! active and renews, checked now with the same rules as an immediate change; undone on request,
//! cancelled by any immediate change of the subscription, each with its history entry and event.

use chrono::NaiveDate;
use sqlx::PgConnection;

use super::idempotency::{Answered, Scope, StoredAnswer};
use super::subscription_steps::{cancel_scheduled, check_seats, notice, price_from, record_note};
use super::subscriptions::check_precondition;
use super::upgrades::{self, PartialAsk};
use super::{Actor, App, lock_subscription};
use crate::db;
use crate::db::scheduled::NewScheduledChange;
use crate::domain::billing::{self, Billing};
use crate::domain::migration;
use crate::domain::plan::{self, BillingCycle, Commerce, Plan, TermDuration};
use crate::domain::reassignment::AccountToReassign;
use crate::domain::records::{
    ChangeKind, Customer, Precondition, ScheduledChange, ScheduledKind, Subscription,
};
use crate::domain::renewal::{OfferMove, check_schedulable, offer_move, right_sized};
use crate::domain::subscription::billing_dates;
use crate::domain::{Catalog, CustomerId, ErrorCode, SubscriptionId};
use crate::error::Error;

/// What to schedule: an upgrade or, new commerce, a move down a matrix path (with
/// `target_offer_id`; `quantity` defaults to the current seats), a partial upgrade (with
/// `target_offer_id` and `partial`) or a seat change (`quantity` only); new commerce, with any of
/// them, the next term's plan.
#[derive(Debug, Clone)]
pub struct ScheduleRequest {
    pub customer_id: CustomerId,
    pub subscription_id: SubscriptionId,
    pub target_offer_id: Option<String>,
    pub quantity: Option<i64>,
    /// `quantity: "assigned"`: the seats are the licenses assigned at the renewal (at least 1);
    /// `quantity` is then `None`.
    pub quantity_assigned: bool,
    pub partial: Option<PartialAsk>,
    /// New commerce: the next term's duration and billing cycle (each defaults to the current).
    pub term_duration: Option<TermDuration>,
    pub billing_cycle: Option<BillingCycle>,
    /// A legacy subscription's migration to new commerce at its term end, on the plan
    /// `term_duration` and `billing_cycle` name (both needed).
    pub migrate: bool,
    pub precondition: Option<Precondition>,
    pub dry_run: bool,
}

/// A scheduled change (or, for a dry run, the one that would be), with when it applies and the
/// bill of the renewal it comes with.
#[derive(Debug, Clone)]
pub struct Scheduled {
    /// `None` for a dry run.
    pub change: Option<ScheduledChange>,
    pub subscription_id: SubscriptionId,
    pub kind: ScheduledKind,
    pub target_offer_id: Option<String>,
    /// Seats after the change; for a partial upgrade, the seats that move. Right-sized: the
    /// licenses assigned now, at least 1.
    pub quantity: i64,
    /// The seats follow the licenses assigned at the renewal.
    pub quantity_assigned: bool,
    /// For a partial upgrade: what else it asks for.
    pub partial: Option<PartialAsk>,
    /// The term end it applies on.
    pub effective_date: NaiveDate,
    /// The next term's price per seat per month in force on the renewal day, as the price list
    /// stands now; `None` when unknown.
    pub next_unit_price: Option<i64>,
    /// The first period after the renewal, in full; `None` when the price is unknown.
    pub billing: Option<Billing>,
    /// New commerce: the next term's plan, when it changes.
    pub plan: Option<Plan>,
    /// A move down a matrix path: the users who lose a service, as things stand now.
    pub accounts: Option<Vec<AccountToReassign>>,
}

impl App {
    /// Schedules a change (or previews it, for a dry run) in a keyed write: `answer` makes, in
    /// the transaction, the answer to store under `scope`'s key; a retry with the key gets the
    /// stored answer and schedules nothing.
    pub async fn schedule_change(
        &self,
        actor: &Actor,
        request: &ScheduleRequest,
        scope: Option<&Scope>,
        answer: impl FnOnce(Scheduled) -> Result<StoredAnswer, Error>,
    ) -> Result<Answered, Error> {
        self.keyed(scope, async |conn| {
            answer(schedule(conn, self.catalog(), actor, request).await?)
        })
        .await
    }

    /// The subscription's scheduled change, if the actor's partner sold it to this (visible)
    /// customer.
    pub async fn scheduled_change(
        &self,
        actor: &Actor,
        customer_id: CustomerId,
        subscription_id: SubscriptionId,
    ) -> Result<(Subscription, ScheduledChange), Error> {
        let pool = self.pool();
        let subscription =
            super::subscriptions::find(pool, actor.partner_id, customer_id, subscription_id)
                .await?;
        let change = db::scheduled::find(pool, customer_id, subscription_id)
            .await?
            .ok_or_else(not_found)?;
        Ok((subscription, change))
    }

    /// Undoes the scheduled change in a transaction of its own, after the usual locks. Undoing
    /// when nothing is scheduled changes nothing: a retried undo answers as the first did.
    pub async fn undo_scheduled_change(
        &self,
        actor: &Actor,
        customer_id: CustomerId,
        subscription_id: SubscriptionId,
    ) -> Result<(), Error> {
        self.transaction(async |conn| {
            let (_, before) = lock_subscription(conn, actor, customer_id, subscription_id).await?;
            cancel_scheduled(conn, actor, &before, "undone by the partner").await?;
            Ok(())
        })
        .await
    }
}

/// Schedules the change in the caller's transaction, after locking the customer then the
/// subscription and checking it as if it were made now (every failing condition of an upgrade).
pub async fn schedule(
    conn: &mut PgConnection,
    catalog: &Catalog,
    actor: &Actor,
    request: &ScheduleRequest,
) -> Result<Scheduled, Error> {
    let ids = (request.customer_id, request.subscription_id);
    let (customer, before) = lock_subscription(conn, actor, ids.0, ids.1).await?;
    check_precondition(request.precondition.as_ref(), &before)?;
    let existing = db::scheduled::find(&mut *conn, ids.0, ids.1).await?;
    check_schedulable(before.status, before.auto_renew, existing.is_some())?;
    let plan = match request.migrate {
        true => Some(migration_plan(&before, request)?),
        false => next_plan(&before, request)?,
    };
    let asked = match request.quantity_assigned {
        true if request.partial.is_some() => {
            return Err(Error::new(
                ErrorCode::InvalidChange,
                "A partial upgrade moves the seats it names: quantity \"assigned\" is for an \
                 upgrade, a move down or a seat change.",
            ));
        }
        true => Some(right_sized(db::licenses::count(conn, ids.0, ids.1).await?)),
        false => request.quantity,
    };
    let mut accounts = None;
    let (kind, quantity) = match (&request.target_offer_id, &request.partial) {
        (None, None) if request.migrate => {
            let quantity = asked.unwrap_or(i64::from(before.quantity));
            check_seats(conn, catalog, &customer, &before, quantity).await?;
            (ScheduledKind::Migration, quantity)
        }
        _ if request.migrate => {
            return Err(Error::new(
                ErrorCode::InvalidChange,
                "A migration keeps the offer and every seat: it takes no targetOfferId or partial.",
            ));
        }
        (Some(target), Some(ask)) => {
            let source = (&before, target.as_str());
            upgrades::partial::perform(conn, catalog, actor, source, ask, true).await?;
            (ScheduledKind::PartialUpgrade, ask.quantity)
        }
        (Some(target), None) => {
            let quantity = asked.unwrap_or(i64::from(before.quantity));
            match offer_move(catalog, before.commerce, &before.offer_id, target) {
                OfferMove::Upgrade => {
                    upgrades::eligible(conn, catalog, actor, &before, target, quantity).await?;
                    (ScheduledKind::Upgrade, quantity)
                }
                OfferMove::Downgrade => {
                    let to = (target.as_str(), quantity);
                    let on = (catalog, &customer);
                    let down = upgrades::downgrade_eligible(conn, on, actor, &before, to).await?;
                    accounts = Some(down.accounts);
                    (ScheduledKind::Downgrade, quantity)
                }
            }
        }
        (None, Some(_)) => {
            return Err(Error::new(
                ErrorCode::InvalidChange,
                "A partial upgrade needs targetOfferId.",
            ));
        }
        (None, None) => {
            let unchanged = plan.map(|_| i64::from(before.quantity));
            let quantity = asked.or(unchanged).ok_or_else(|| {
                Error::new(
                    ErrorCode::InvalidChange,
                    "Send targetOfferId (an upgrade), quantity (a seat change), or termDuration \
                     or billingCycle (the next term's plan).",
                )
            })?;
            check_seats(conn, catalog, &customer, &before, quantity).await?;
            (ScheduledKind::Quantity, quantity)
        }
    };
    let on = (catalog, &customer);
    let (next_unit_price, billing) =
        renewal_bill(conn, on, (&before, plan), (request, kind), quantity).await?;
    let mut scheduled = Scheduled {
        change: None,
        subscription_id: before.id,
        kind,
        target_offer_id: request.target_offer_id.clone(),
        quantity,
        quantity_assigned: request.quantity_assigned,
        partial: request.partial.clone(),
        effective_date: before.term_end,
        next_unit_price,
        billing,
        plan,
        accounts,
    };
    if !request.dry_run {
        let change = store(conn, &before, &scheduled).await?;
        let after = serde_json::json!({"scheduledChange": notice(&change, before.term_end)});
        record_note(conn, actor, &before, ChangeKind::ChangeScheduled, after).await?;
        scheduled.change = Some(change);
    }
    Ok(scheduled)
}

async fn store(
    conn: &mut PgConnection,
    before: &Subscription,
    scheduled: &Scheduled,
) -> Result<ScheduledChange, Error> {
    let partial = scheduled.partial.as_ref();
    let new = NewScheduledChange {
        kind: scheduled.kind,
        target_offer_id: scheduled.target_offer_id.as_deref(),
        quantity: i32::try_from(scheduled.quantity).map_err(Error::internal)?,
        users: partial.and_then(|p| p.users.as_deref()),
        target_subscription_id: partial.and_then(|p| p.target_subscription_id),
        plan: scheduled.plan,
        quantity_assigned: scheduled.quantity_assigned,
    };
    db::scheduled::create(conn, before.customer_id, before.id, &new)
        .await
        .map_err(|e| match db::violated_constraint(&e) {
            Some("scheduled_changes_pkey") => Error::new(
                ErrorCode::ScheduledChangeExists,
                "The subscription already has a scheduled change; undo it first.",
            ),
            _ => e.into(),
        })
}

/// The next term's unit price and the renewal's first period in full, for the offer the
/// subscription will have (no proration): the target's price for an upgrade (for a partial one,
/// of the seats that move), its own for a seat change; under new commerce, the price in force on
/// the renewal day.
async fn renewal_bill(
    conn: &mut PgConnection,
    (catalog, customer): (&Catalog, &Customer),
    (before, plan): (&Subscription, Option<Plan>),
    (request, kind): (&ScheduleRequest, ScheduledKind),
    quantity: i64,
) -> Result<(Option<i64>, Option<Billing>), Error> {
    let offer_id = request
        .target_offer_id
        .as_deref()
        .unwrap_or(&before.offer_id);
    let (on, plan) = (before.term_end, plan.unwrap_or(before.plan()));
    let price = if kind == ScheduledKind::Migration {
        let offer = (before.customer_id, offer_id);
        db::catalog::price_in_force(conn, offer, plan, on).await?
    } else {
        price_from(conn, (catalog, customer), (before, plan), offer_id, on).await?
    };
    let (Some(unit), Some(market)) = (price, catalog.market(&customer.market_code)) else {
        return Ok((price, None));
    };
    let Ok(first) = billing_dates(plan, on, on, None) else {
        return Ok((price, None));
    };
    let bill = billing::full_period(
        &market.currency,
        unit,
        quantity,
        plan.billing_cycle.period_months(),
        (first.current_period_start, first.current_period_end),
    );
    Ok((price, Some(bill)))
}

/// The plan a legacy subscription migrates to at its term end: both named, and sold.
fn migration_plan(before: &Subscription, request: &ScheduleRequest) -> Result<Plan, Error> {
    migration::check_migration(before.commerce, before.status)?;
    match (request.term_duration, request.billing_cycle) {
        (Some(term), Some(cycle)) => Ok(plan::check_plan(term, cycle)?),
        _ => Err(Error::new(
            ErrorCode::InvalidChange,
            "A migration needs the new subscription's termDuration and billingCycle.",
        )),
    }
}

/// The next term's plan a request sets, if it changes: new commerce only (a legacy subscription
/// changes its plan when it moves to new commerce), and a plan sold.
fn next_plan(before: &Subscription, request: &ScheduleRequest) -> Result<Option<Plan>, Error> {
    if request.term_duration.is_none() && request.billing_cycle.is_none() {
        return Ok(None);
    }
    if before.commerce == Commerce::Legacy {
        return Err(Error::new(
            ErrorCode::PlanChangeNotAllowed,
            "A legacy subscription keeps its one-year term; its plan changes when it moves to new \
             commerce.",
        ));
    }
    let term = request.term_duration.unwrap_or(before.term_duration);
    let cycle = request.billing_cycle.unwrap_or(before.billing_cycle);
    let plan = plan::check_plan(term, cycle)?;
    Ok((plan != before.plan()).then_some(plan))
}

fn not_found() -> Error {
    Error::new(
        ErrorCode::ScheduledChangeNotFound,
        "The subscription has no scheduled change.",
    )
}
