//! The writes of an upgrade: the target created (co-terminous, or on a renewal's fresh term),
//! the source retired, the licenses moved, the upgrade row with its answer, and the history.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use super::result::UpgradeResult;
use crate::db;
use crate::db::subscriptions::NewSubscription;
use crate::db::upgrades::NewUpgrade;
use crate::domain::billing;
use crate::domain::commerce::{self, CANCELLATION_WINDOW, SeatWindow, SeatWindows};
use crate::domain::plan::{Commerce, Plan};
use crate::domain::records::{ChangeKind, Subscription};
use crate::domain::subscription::{BillingDates, Channel, SubscriptionStatus};
use crate::domain::upgrade::EligibleUpgrade;
use crate::domain::{ErrorCode, SubscriptionId, UpgradeId};
use crate::error::Error;
use crate::service::{Actor, now, snapshot, today};

/// The terms of a target created now: from the upgrade's effective date to the source's period
/// and term ends (co-terminous).
pub(super) fn coterminous(source: &Subscription, upgrade: &EligibleUpgrade) -> BillingDates {
    let starts = upgrade
        .billing
        .as_ref()
        .map_or_else(|| effective_date(source), |b| b.effective_date);
    BillingDates {
        term_start: starts,
        term_end: source.term_end,
        current_period_start: starts,
        current_period_end: source.current_period_end,
    }
}

/// How a target starts: its dates, its plan and, under new commerce, its cancellation windows.
#[derive(Debug, Clone)]
pub(in crate::service) struct TargetStart {
    pub dates: BillingDates,
    pub plan: Plan,
    /// When its purchase (or renewal) window closes.
    pub window: Option<DateTime<Utc>>,
    /// Its refundable seats.
    pub seat_windows: SeatWindows,
}

impl TargetStart {
    /// Mid-term, co-terminous with the source and on its plan: the target opens no window of its
    /// own but inherits the source's, with `seat_windows` for the seats it takes.
    pub fn inherited(
        source: &Subscription,
        dates: BillingDates,
        seat_windows: Vec<SeatWindow>,
    ) -> Self {
        TargetStart {
            dates,
            plan: source.plan(),
            window: source.cancellation_window_ends_at,
            seat_windows: SeatWindows(seat_windows),
        }
    }

    /// On a renewal's fresh term, on `plan`: under new commerce the renewal opens a window for
    /// every seat, from the start of its first day (whenever the worker gets to it).
    pub fn renewal(source: &Subscription, dates: BillingDates, plan: Plan, quantity: i64) -> Self {
        let opened = dates.term_start.and_time(NaiveTime::MIN).and_utc();
        let new_commerce = source.commerce == Commerce::New;
        TargetStart {
            dates,
            plan,
            window: new_commerce.then_some(opened + CANCELLATION_WINDOW),
            seat_windows: SeatWindows(if new_commerce {
                vec![SeatWindow::opened(quantity, opened)]
            } else {
                Vec::new()
            }),
        }
    }
}

/// Creates the co-terminous target, retires the source and moves the transferred licenses.
pub(super) async fn create_target(
    conn: &mut PgConnection,
    actor: &Actor,
    source: &Subscription,
    upgrade: &EligibleUpgrade,
) -> Result<(Subscription, Subscription), Error> {
    let windows = commerce::cap_windows(&source.seat_windows.0, now(), upgrade.quantity);
    let start = TargetStart::inherited(source, coterminous(source, upgrade), windows);
    create_target_with(conn, actor, source, upgrade, start).await
}

/// Creates the target as `start` says, retires the source and moves the transferred licenses.
pub(super) async fn create_target_with(
    conn: &mut PgConnection,
    actor: &Actor,
    source: &Subscription,
    upgrade: &EligibleUpgrade,
    start: TargetStart,
) -> Result<(Subscription, Subscription), Error> {
    let customer_id = source.customer_id;
    let quantity = i32::try_from(upgrade.quantity).map_err(Error::internal)?;
    let offer = (upgrade.target_offer_id.as_str(), quantity);
    let new = new_target(conn, actor, source, offer, start).await?;
    let target = db::subscriptions::create(
        conn,
        &NewSubscription {
            upgraded_from_id: Some(source.id),
            ..new
        },
    )
    .await
    .map_err(already_upgraded)?
    .as_of(today());
    // The retired source keeps, stored, the term and period it was upgraded in.
    let replaced = (target.id, SubscriptionStatus::Upgraded);
    let retired =
        db::subscriptions::mark_replaced(conn, (customer_id, source.id), replaced, &source.dates())
            .await
            .map_err(already_upgraded)?;
    move_licenses(conn, source, target.id, upgrade).await?;
    Ok((target, retired))
}

/// A target of `offer_id` with `quantity` seats for the source's customer, sold by the actor,
/// renewing as the source does, on the source's commerce model, started as `start` says. Under
/// new commerce it is priced at the price in force on its first day.
pub(super) async fn new_target<'a>(
    conn: &mut PgConnection,
    actor: &Actor,
    source: &'a Subscription,
    (offer_id, quantity): (&'a str, i32),
    start: TargetStart,
) -> Result<NewSubscription<'a>, Error> {
    let (terms, plan) = (&start.dates, start.plan);
    let unit_price = match source.commerce {
        Commerce::New => {
            let offer = (source.customer_id, offer_id);
            db::catalog::price_in_force(conn, offer, plan, terms.term_start).await?
        }
        Commerce::Legacy => None,
    };
    Ok(NewSubscription {
        customer_id: source.customer_id,
        offer_id,
        channel: Channel::Partner,
        partner_id: Some(actor.partner_id),
        quantity,
        status: SubscriptionStatus::Active,
        billing_cycle: plan.billing_cycle,
        term_start: terms.term_start,
        term_end: terms.term_end,
        current_period_start: terms.current_period_start,
        current_period_end: terms.current_period_end,
        upgraded_from_id: None,
        auto_renew: source.auto_renew,
        commerce: source.commerce,
        term_duration: plan.term_duration,
        unit_price,
        cancellation_window_ends_at: start.window,
        seat_windows: start.seat_windows,
        migrated_from_id: None,
    })
}

/// Moves the plan's transferred licenses from the source to the target.
pub(super) async fn move_licenses(
    conn: &mut PgConnection,
    source: &Subscription,
    target_id: SubscriptionId,
    upgrade: &EligibleUpgrade,
) -> Result<(), Error> {
    let transfers: Vec<serde_json::Value> = upgrade
        .plan
        .transfers
        .iter()
        .map(|t| serde_json::json!({"userId": t.user_id, "disabledServices": t.disabled_services}))
        .collect();
    db::licenses::transfer(
        conn,
        source.customer_id,
        source.id,
        target_id,
        &transfers.into(),
    )
    .await?;
    Ok(())
}

/// Records a whole upgrade (with its answer), the source's `upgrade` entry and the target's
/// `created` one.
pub(super) async fn record_whole(
    conn: &mut PgConnection,
    actor: &Actor,
    source: &Subscription,
    (target, retired): (Subscription, Subscription),
    result: &mut UpgradeResult,
) -> Result<(), Error> {
    let upgrade_id = record(conn, actor, source, &target, result).await?;
    let customer_id = source.customer_id;
    actor
        .record_change(
            conn,
            (customer_id, source.id),
            ChangeKind::Upgrade,
            Some(snapshot(source)),
            Some(upgraded(&retired, upgrade_id)),
        )
        .await?;
    actor
        .record_change(
            conn,
            (customer_id, target.id),
            ChangeKind::Created,
            None,
            Some(upgraded(&target, upgrade_id)),
        )
        .await
}

/// Records the upgrade row with its answer (which gains the upgrade's and the target's ids).
pub(super) async fn record(
    conn: &mut PgConnection,
    actor: &Actor,
    source: &Subscription,
    target: &Subscription,
    result: &mut UpgradeResult,
) -> Result<UpgradeId, Error> {
    let quantity = i32::try_from(result.quantity).map_err(Error::internal)?;
    let upgrade_id = UpgradeId(Uuid::now_v7());
    result.upgrade_id = Some(upgrade_id);
    result.target_subscription_id = Some(target.id.as_uuid());
    let stored = serde_json::to_value(&*result).map_err(Error::internal)?;
    db::upgrades::create(
        conn,
        &NewUpgrade {
            id: upgrade_id,
            customer_id: source.customer_id,
            partner_id: actor.partner_id,
            source_subscription_id: source.id,
            target_subscription_id: target.id,
            source_offer_id: &source.offer_id,
            target_offer_id: &target.offer_id,
            upgrade_type: result.upgrade_type.as_str(),
            quantity,
            partial: result.partial.is_some(),
            result: &stored,
            actor_user_id: &actor.user_id,
            actor_roles: &actor.roles,
            request_id: &actor.request_id,
        },
    )
    .await
    .map_err(already_upgraded)?;
    Ok(upgrade_id)
}

/// A subscription's snapshot after an upgrade, naming the upgrade.
pub(super) fn upgraded(row: &Subscription, upgrade_id: UpgradeId) -> serde_json::Value {
    let mut after = snapshot(row);
    after["upgradeId"] = serde_json::json!(upgrade_id);
    after
}

/// The day an upgrade without billing data takes effect: today, within the current period.
pub(super) fn effective_date(source: &Subscription) -> NaiveDate {
    billing::remaining(
        source.current_period_start,
        source.current_period_end,
        today(),
    )
    .effective_date
}

/// The database's own guard against a double upgrade, should the locks ever be bypassed.
pub(super) fn already_upgraded(error: sqlx::Error) -> Error {
    match db::violated_constraint(&error) {
        Some(
            "subscriptions_upgraded_from_key"
            | "subscriptions_upgraded_to_key"
            | "upgrades_source_key",
        ) => Error::new(
            ErrorCode::SubscriptionAlreadyUpgraded,
            "The subscription has already been upgraded.",
        ),
        _ => error.into(),
    }
}
