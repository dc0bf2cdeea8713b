//! Upgrades (README, "Upgrades"): listing a subscription's options, performing one, and
//! reading them back. Every answer comes from `domain::upgrade::evaluate` over facts loaded here.

use chrono::NaiveDate;
use serde::Serialize;
use sqlx::{PgConnection, PgPool};
use utoipa::ToSchema;
use uuid::Uuid;

mod facts;
mod partial;

use facts::Facts;
pub use partial::{PartialAsk, PartialOption, PartialResult};

use super::scheduled;
use super::{Actor, customer_not_found, lock_subscription, snapshot, subscription_not_found};
use crate::db;
use crate::db::subscriptions::NewSubscription;
use crate::db::upgrades::NewUpgrade;
use crate::domain::billing::{self, Billing};
use crate::domain::reassignment::AccountToReassign;
use crate::domain::records::{ChangeKind, PerformedUpgrade, Subscription};
use crate::domain::renewal::ImmediateChange;
use crate::domain::subscription::{BillingDates, Channel, SubscriptionStatus};
use crate::domain::upgrade::{self, EligibleUpgrade, Evaluation};
use crate::domain::{Catalog, CustomerId, ErrorCode, PartnerId, SubscriptionId, UpgradeType};
use crate::error::Error;

use super::subscriptions::check_precondition;
use crate::domain::records::Precondition;

/// What the caller asks for.
#[derive(Debug, Clone)]
pub struct UpgradeRequest {
    pub target_offer_id: String,
    /// Seats of the target of a whole upgrade; the source's when absent.
    pub quantity: Option<i64>,
    /// Present for a partial upgrade.
    pub partial: Option<PartialAsk>,
    pub dry_run: bool,
    pub precondition: Option<Precondition>,
}

/// The result of an upgrade, as answered and as stored.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpgradeResult {
    /// `null` for a dry run.
    pub upgrade_id: Option<Uuid>,
    pub source_subscription_id: Uuid,
    /// `null` for a dry run.
    pub target_subscription_id: Option<Uuid>,
    pub source_offer_id: String,
    pub target_offer_id: String,
    pub upgrade_type: UpgradeType,
    /// Seats the target gains: all of its seats for a whole upgrade, the seats moved for a
    /// partial one.
    pub quantity: i64,
    /// How many users' licenses moved to the target.
    pub transferred_users: usize,
    /// The users whose licenses moved to the target.
    pub transferred_user_ids: Vec<Uuid>,
    /// Accounts the partner must reassign by hand, with every reason.
    pub accounts_requiring_reassignment: Vec<AccountToReassign>,
    /// `null` only when the catalog has no price for an offer in the customer's market.
    pub billing: Option<Billing>,
    /// The seats of both subscriptions after a partial upgrade; `null` for a whole one.
    pub partial: Option<PartialResult>,
    pub dry_run: bool,
}

/// One target of the subscription's paths: the whole upgrade with the current quantity, and
/// whether a partial one is possible.
#[derive(Debug, Clone)]
pub struct UpgradeOption {
    pub whole: Evaluation,
    pub partial: PartialOption,
}

/// Every upgrade option of the subscription, evaluated with its current quantity, and whether a
/// partial upgrade to each target is possible: one query, then the pure rules.
pub async fn options(
    pool: &PgPool,
    catalog: &Catalog,
    partner_id: PartnerId,
    customer_id: CustomerId,
    subscription_id: SubscriptionId,
) -> Result<Vec<UpgradeOption>, Error> {
    let mut conn = pool.acquire().await?;
    let mut row = db::upgrades::facts(&mut conn, partner_id, customer_id, subscription_id)
        .await?
        .ok_or_else(|| customer_not_found(customer_id))?;
    drop(conn);
    let source = row
        .source
        .take()
        .ok_or_else(|| subscription_not_found(subscription_id))?
        .0
        .as_of(super::today());
    let facts = Facts::new(row, &source, partner_id)?;
    let case = facts.case(catalog);
    Ok(upgrade::evaluate_all(&case)
        .into_iter()
        .map(|whole| UpgradeOption {
            partial: partial::option(&facts, &case, &whole.target_offer_id),
            whole,
        })
        .collect())
}

/// Performs the upgrade (or, for a dry run, evaluates it exactly as if performing it) in the
/// caller's transaction: locks the customer then the subscription, re-checks every condition on
/// what is committed, and writes the target, the retired source, the moved licenses, the upgrade
/// record and both history entries.
pub async fn perform(
    conn: &mut PgConnection,
    catalog: &Catalog,
    actor: &Actor,
    (customer_id, subscription_id): (CustomerId, SubscriptionId),
    request: &UpgradeRequest,
) -> Result<UpgradeResult, Error> {
    let (_, source) = lock_subscription(conn, actor, customer_id, subscription_id).await?;
    check_precondition(request.precondition.as_ref(), &source)?;
    if let Some(target) = source.upgraded_to_id {
        return Err(Error::new(
            ErrorCode::SubscriptionAlreadyUpgraded,
            format!("The subscription has already been upgraded, to subscription {target}."),
        ));
    }
    if let Some(ask) = &request.partial {
        return partial::perform(conn, catalog, actor, &source, request, ask).await;
    }
    let quantity = request.quantity.unwrap_or(i64::from(source.quantity));
    let upgrade = eligible(
        conn,
        catalog,
        actor,
        &source,
        &request.target_offer_id,
        quantity,
    )
    .await?;
    let mut result = result_of(&source, &upgrade);
    result.dry_run = request.dry_run;
    if !request.dry_run {
        let target = create_target(conn, actor, &source, &upgrade).await?;
        record_whole(conn, actor, &source, target, &mut result).await?;
        scheduled::cancel_for(conn, actor, &source, ImmediateChange::Upgrade).await?;
    }
    Ok(result)
}

/// The upgrade of `source` to `target_offer_id` with `quantity` seats, when every condition
/// allows it on what is committed now; otherwise every failing condition (422).
pub(super) async fn eligible(
    conn: &mut PgConnection,
    catalog: &Catalog,
    actor: &Actor,
    source: &Subscription,
    target_offer_id: &str,
    quantity: i64,
) -> Result<EligibleUpgrade, Error> {
    let facts = Facts::load(conn, actor.partner_id, source).await?;
    upgrade::evaluate(&facts.case(catalog), target_offer_id, quantity)
        .into_eligible()
        .map_err(Error::NotEligible)
}

fn result_of(source: &Subscription, upgrade: &EligibleUpgrade) -> UpgradeResult {
    UpgradeResult {
        upgrade_id: None,
        source_subscription_id: source.id.as_uuid(),
        target_subscription_id: None,
        source_offer_id: source.offer_id.clone(),
        target_offer_id: upgrade.target_offer_id.clone(),
        upgrade_type: upgrade.upgrade_type,
        quantity: upgrade.quantity,
        transferred_users: upgrade.plan.transfers.len(),
        transferred_user_ids: upgrade.plan.transfers.iter().map(|t| t.user_id).collect(),
        accounts_requiring_reassignment: upgrade.plan.accounts.clone(),
        billing: upgrade.billing.clone(),
        partial: None,
        dry_run: false,
    }
}

/// The terms of a target created now: from the upgrade's effective date to the source's period
/// and term ends (co-terminous).
fn coterminous(source: &Subscription, upgrade: &EligibleUpgrade) -> BillingDates {
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

/// Creates the co-terminous target, retires the source and moves the transferred licenses.
async fn create_target(
    conn: &mut PgConnection,
    actor: &Actor,
    source: &Subscription,
    upgrade: &EligibleUpgrade,
) -> Result<(Subscription, Subscription), Error> {
    let terms = coterminous(source, upgrade);
    create_target_with(conn, actor, source, upgrade, &terms).await
}

/// Performs an upgrade scheduled for the term end, with the renewal: the target starts the
/// new `terms` (a fresh term, not co-terminous), billed for its first period in full.
pub(super) async fn upgrade_at_renewal(
    conn: &mut PgConnection,
    actor: &Actor,
    source: &Subscription,
    upgrade: &EligibleUpgrade,
    (terms, billing): (&BillingDates, Option<Billing>),
) -> Result<UpgradeResult, Error> {
    let (target, retired) = create_target_with(conn, actor, source, upgrade, terms).await?;
    let mut result = result_of(source, upgrade);
    result.billing = billing;
    record_whole(conn, actor, source, (target, retired), &mut result).await?;
    Ok(result)
}

/// Creates the target on `terms`, retires the source and moves the transferred licenses.
async fn create_target_with(
    conn: &mut PgConnection,
    actor: &Actor,
    source: &Subscription,
    upgrade: &EligibleUpgrade,
    terms: &BillingDates,
) -> Result<(Subscription, Subscription), Error> {
    let customer_id = source.customer_id;
    let quantity = i32::try_from(upgrade.quantity).map_err(Error::internal)?;
    let new = new_target(actor, source, &upgrade.target_offer_id, quantity, terms);
    let target = db::subscriptions::create(
        conn,
        &NewSubscription {
            upgraded_from_id: Some(source.id),
            ..new
        },
    )
    .await
    .map_err(already_upgraded)?
    .as_of(super::today());
    // The retired source keeps, stored, the term and period it was upgraded in.
    let retired =
        db::subscriptions::mark_upgraded(conn, customer_id, source.id, target.id, &source.dates())
            .await
            .map_err(already_upgraded)?;
    move_licenses(conn, source, target.id, upgrade).await?;
    Ok((target, retired))
}

/// A target of `offer_id` for the source's customer, sold by the actor, on `terms`, renewing as
/// the source does.
fn new_target<'a>(
    actor: &Actor,
    source: &Subscription,
    offer_id: &'a str,
    quantity: i32,
    terms: &BillingDates,
) -> NewSubscription<'a> {
    NewSubscription {
        customer_id: source.customer_id,
        offer_id,
        channel: Channel::Partner,
        partner_id: Some(actor.partner_id),
        quantity,
        status: SubscriptionStatus::Active,
        billing_cycle: source.billing_cycle,
        term_start: terms.term_start,
        term_end: terms.term_end,
        current_period_start: terms.current_period_start,
        current_period_end: terms.current_period_end,
        upgraded_from_id: None,
        auto_renew: source.auto_renew,
    }
}

/// Moves the plan's transferred licenses from the source to the target.
async fn move_licenses(
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
async fn record_whole(
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
async fn record(
    conn: &mut PgConnection,
    actor: &Actor,
    source: &Subscription,
    target: &Subscription,
    result: &mut UpgradeResult,
) -> Result<Uuid, Error> {
    let quantity = i32::try_from(result.quantity).map_err(Error::internal)?;
    let upgrade_id = Uuid::now_v7();
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
fn upgraded(row: &Subscription, upgrade_id: Uuid) -> serde_json::Value {
    let mut after = snapshot(row);
    after["upgradeId"] = serde_json::json!(upgrade_id);
    after
}

/// The day an upgrade without billing data takes effect: today, within the current period.
fn effective_date(source: &Subscription) -> NaiveDate {
    billing::remaining(
        source.current_period_start,
        source.current_period_end,
        super::today(),
    )
    .effective_date
}

/// The database's own guard against a double upgrade, should the locks ever be bypassed.
fn already_upgraded(error: sqlx::Error) -> Error {
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

/// A performed upgrade, if this partner performed it.
pub async fn find(
    pool: &PgPool,
    partner_id: PartnerId,
    customer_id: CustomerId,
    upgrade_id: Uuid,
) -> Result<PerformedUpgrade, Error> {
    super::visible_customer(pool, partner_id, customer_id).await?;
    db::upgrades::find_for_partner(pool, customer_id, partner_id, upgrade_id)
        .await?
        .ok_or_else(|| {
            Error::new(
                ErrorCode::UpgradeNotFound,
                format!("No upgrade {upgrade_id} of this customer is yours."),
            )
        })
}

/// A page of the partner's upgrades for the customer.
pub async fn list(
    pool: &PgPool,
    partner_id: PartnerId,
    customer_id: CustomerId,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<PerformedUpgrade>, Error> {
    super::visible_customer(pool, partner_id, customer_id).await?;
    Ok(db::upgrades::list_for_partner(pool, customer_id, partner_id, after, limit).await?)
}
