//! Migration from legacy (docs/migrations.md): a legacy subscription moves to new commerce, now
//! or, as a scheduled change of kind `migration`, at its term end. A new-commerce subscription of
//! the same offer, on the plan the partner chooses and at the price in force on its first day,
//! replaces it: the licenses and the active add-ons move to it as they are, the legacy one
//! becomes `migrated`, the two link to each other, and both histories record it. One path, shared
//! by the request, the job item and the renewal worker.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use sqlx::PgConnection;

use super::idempotency::{Answered, Scope, StoredAnswer};
use super::subscription_steps::{cancel_scheduled_for, check_seats};
use super::subscriptions::check_precondition;
use super::{Actor, App, lock_subscription, now, snapshot, today};
use crate::db;
use crate::db::subscriptions::NewSubscription;
use crate::domain::billing::Billing;
use crate::domain::commerce::{CANCELLATION_WINDOW, SeatWindow, SeatWindows};
use crate::domain::migration::{self, LegacySource, NewCommerceTarget};
use crate::domain::plan::{self, BillingCycle, Commerce, Plan, TermDuration};
use crate::domain::records::{ChangeKind, Customer, Precondition, Subscription};
use crate::domain::renewal::ImmediateChange;
use crate::domain::subscription::{BillingDates, Channel, SubscriptionStatus, billing_dates};
use crate::domain::{Catalog, CustomerId, ErrorCode, SubscriptionId};
use crate::error::Error;

/// A migration to perform now (or to preview, for a dry run).
#[derive(Debug, Clone)]
pub struct MigrationRequest {
    pub customer_id: CustomerId,
    pub subscription_id: SubscriptionId,
    pub term_duration: TermDuration,
    pub billing_cycle: BillingCycle,
    /// Seats of the new subscription; the legacy one's when absent.
    pub quantity: Option<i64>,
    pub precondition: Option<Precondition>,
    pub dry_run: bool,
}

/// A migration performed now (or, for a dry run, the one that would be).
#[derive(Debug, Clone)]
pub struct Migration {
    /// The legacy subscription: `migrated` once done, as it was for a dry run.
    pub source: Subscription,
    /// The new-commerce subscription; `None` for a dry run.
    pub target: Option<Subscription>,
    pub plan: Plan,
    pub quantity: i64,
    /// The new subscription's price per seat per month, in force on its first day.
    pub unit_price: i64,
    pub dates: BillingDates,
    pub licenses_moved: u64,
    pub add_ons_moved: u64,
    /// The legacy credit and the new subscription's first period; `None` when the legacy price
    /// is not listed in the customer's market.
    pub billing: Option<Billing>,
    pub dry_run: bool,
}

impl App {
    /// Migrates the subscription now (or previews it) in a keyed write: `answer` makes, in the
    /// transaction, the answer to store under `scope`'s key.
    pub async fn migrate(
        &self,
        actor: &Actor,
        request: &MigrationRequest,
        scope: Option<&Scope>,
        answer: impl FnOnce(Migration) -> Result<StoredAnswer, Error>,
    ) -> Result<Answered, Error> {
        self.keyed(scope, async |conn| {
            answer(perform(conn, self.catalog(), actor, request).await?)
        })
        .await
    }
}

/// Migrates the subscription now in the caller's transaction, after locking the customer then
/// the subscription: only an active legacy one, on a plan sold, with seats the seat rules allow
/// (at least its licenses, the family caps, its add-ons' seats).
pub async fn perform(
    conn: &mut PgConnection,
    catalog: &Catalog,
    actor: &Actor,
    request: &MigrationRequest,
) -> Result<Migration, Error> {
    let ids = (request.customer_id, request.subscription_id);
    let (customer, before) = lock_subscription(conn, actor, ids.0, ids.1).await?;
    check_precondition(request.precondition.as_ref(), &before)?;
    migration::check_migration(before.commerce, before.status)?;
    let plan = plan::check_plan(request.term_duration, request.billing_cycle)?;
    let quantity = request.quantity.unwrap_or(i64::from(before.quantity));
    check_seats(conn, catalog, &customer, &before, quantity).await?;
    let today = today();
    let dates = billing_dates(plan, today, today, None)?;
    let unit_price = price(conn, &before, plan, today).await?;
    let billing = bill(
        catalog,
        &customer,
        &before,
        (unit_price, quantity, plan, &dates),
    );
    let mut migrated = Migration {
        source: before.clone(),
        target: None,
        plan,
        quantity,
        unit_price,
        dates,
        licenses_moved: u64::try_from(db::licenses::count(conn, ids.0, ids.1).await?)
            .unwrap_or_default(),
        add_ons_moved: u64::try_from(db::add_ons::active(conn, ids.0, ids.1).await?.len())
            .unwrap_or_default(),
        billing,
        dry_run: request.dry_run,
    };
    if request.dry_run {
        return Ok(migrated);
    }
    let term = NewTerm {
        plan,
        quantity,
        dates,
        unit_price,
        opened: now(),
    };
    let replaced = replace(conn, actor, &before, &term, migrated.billing.as_ref()).await?;
    cancel_scheduled_for(conn, actor, &before, ImmediateChange::Migration).await?;
    migrated.source = replaced.retired;
    migrated.target = Some(replaced.target);
    migrated.licenses_moved = replaced.licenses_moved;
    migrated.add_ons_moved = replaced.add_ons_moved;
    Ok(migrated)
}

/// The new-commerce term a migration starts.
#[derive(Debug, Clone)]
pub(super) struct NewTerm {
    pub plan: Plan,
    pub quantity: i64,
    pub dates: BillingDates,
    pub unit_price: i64,
    /// When its purchase window opens (168 hours for every seat).
    pub opened: DateTime<Utc>,
}

impl NewTerm {
    /// A migration at the renewal: the new term starts on the legacy term's end, on `plan`, its
    /// window opened at the start of that day (whenever the worker gets to it).
    pub fn at_renewal(plan: Plan, quantity: i64, dates: BillingDates, unit_price: i64) -> Self {
        let opened = dates.term_start.and_time(NaiveTime::MIN).and_utc();
        NewTerm {
            plan,
            quantity,
            dates,
            unit_price,
            opened,
        }
    }
}

/// What a migration wrote.
#[derive(Debug, Clone)]
pub(super) struct Replaced {
    pub target: Subscription,
    pub retired: Subscription,
    pub licenses_moved: u64,
    pub add_ons_moved: u64,
}

/// Replaces the legacy subscription (its customer and row locked by the caller) by a new-commerce
/// one of the same offer starting `term`: moves its licenses and active add-ons, marks it
/// `migrated` (keeping its term as it was), and records the migration in both histories (the
/// legacy one's `migration`, the new one's `created`, as an upgrade's target's).
pub(super) async fn replace(
    conn: &mut PgConnection,
    actor: &Actor,
    before: &Subscription,
    term: &NewTerm,
    billing: Option<&Billing>,
) -> Result<Replaced, Error> {
    let (customer_id, dates) = (before.customer_id, &term.dates);
    let new = NewSubscription {
        customer_id,
        offer_id: &before.offer_id,
        channel: Channel::Partner,
        partner_id: Some(actor.partner_id),
        quantity: i32::try_from(term.quantity).map_err(Error::internal)?,
        status: SubscriptionStatus::Active,
        billing_cycle: term.plan.billing_cycle,
        term_start: dates.term_start,
        term_end: dates.term_end,
        current_period_start: dates.current_period_start,
        current_period_end: dates.current_period_end,
        upgraded_from_id: None,
        auto_renew: before.auto_renew,
        commerce: Commerce::New,
        term_duration: term.plan.term_duration,
        unit_price: Some(term.unit_price),
        cancellation_window_ends_at: Some(term.opened + CANCELLATION_WINDOW),
        seat_windows: SeatWindows(vec![SeatWindow::opened(term.quantity, term.opened)]),
        migrated_from_id: Some(before.id),
    };
    let target = db::subscriptions::create(conn, &new)
        .await
        .map_err(already_migrated)?
        .as_of(today());
    let link = (target.id, SubscriptionStatus::Migrated);
    let retired =
        db::subscriptions::mark_replaced(conn, (customer_id, before.id), link, &before.dates())
            .await
            .map_err(already_migrated)?;
    let licenses_moved = db::licenses::move_all(conn, customer_id, before.id, target.id).await?;
    let add_ons_moved = db::add_ons::move_active(conn, customer_id, before.id, target.id).await?;
    let moved = serde_json::json!({
        "licensesMoved": licenses_moved,
        "addOnsMoved": add_ons_moved,
        "billing": billing,
    });
    let mut after = snapshot(&retired);
    after["migration"] = moved.clone();
    let ids = (customer_id, before.id);
    let kind = ChangeKind::Migration;
    actor
        .record_change(conn, ids, kind, Some(snapshot(before)), Some(after))
        .await?;
    let mut created = snapshot(&target);
    created["migration"] = moved;
    let ids = (customer_id, target.id);
    actor
        .record_change(conn, ids, ChangeKind::Created, None, Some(created))
        .await?;
    Ok(Replaced {
        target,
        retired,
        licenses_moved,
        add_ons_moved,
    })
}

/// The offer's price per seat per month on `plan` in force on `on` in the customer's market: a
/// new-commerce subscription cannot start without one.
pub(super) async fn price(
    conn: &mut PgConnection,
    before: &Subscription,
    plan: Plan,
    on: NaiveDate,
) -> Result<i64, Error> {
    let offer = (before.customer_id, before.offer_id.as_str());
    db::catalog::price_in_force(conn, offer, plan, on)
        .await?
        .ok_or_else(|| {
            Error::new(
                ErrorCode::OfferNotSoldInMarket,
                format!(
                    "No new-commerce price of {} on {} billed {} is listed in the customer's \
                     market for {on}.",
                    before.offer_id,
                    plan.term_duration.as_str(),
                    plan.billing_cycle.as_str()
                ),
            )
        })
}

/// The bill of a migration now: the legacy credit and the new subscription's first period.
fn bill(
    catalog: &Catalog,
    customer: &Customer,
    before: &Subscription,
    (unit_price, quantity, plan, dates): (i64, i64, Plan, &BillingDates),
) -> Option<Billing> {
    let market = catalog.market(&customer.market_code)?;
    let legacy_price = catalog
        .offer(&before.offer_id)?
        .monthly_price_in(&customer.market_code)?;
    let source = LegacySource {
        cycle: before.billing_cycle,
        term_start: before.term_start,
        period: (before.current_period_start, before.current_period_end),
        quantity: i64::from(before.quantity),
        monthly_unit_price: legacy_price,
    };
    let target = NewCommerceTarget {
        quantity,
        monthly_unit_price: unit_price,
        period_months: plan.billing_cycle.period_months(),
        first_period: (dates.current_period_start, dates.current_period_end),
    };
    Some(migration::bill(&market.currency, &source, &target, today()))
}

/// The database's own guard against a second migration or replacement.
fn already_migrated(error: sqlx::Error) -> Error {
    match db::violated_constraint(&error) {
        Some(
            "subscriptions_migrated_from_key"
            | "subscriptions_upgraded_to_key"
            | "subscriptions_upgraded_link",
        ) => Error::new(
            ErrorCode::SubscriptionAlreadyUpgraded,
            "The subscription has already been replaced.",
        ),
        _ => error.into(),
    }
}
