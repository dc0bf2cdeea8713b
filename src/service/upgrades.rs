//! Upgrades (docs/upgrades.md): listing a subscription's options, performing one, and
//! reading them back. Every answer comes from `domain::upgrade::evaluate` over facts loaded here.

use sqlx::PgConnection;
use uuid::Uuid;

mod facts;
pub(super) mod partial;
pub mod recommendations;
mod result;
mod write;

use facts::Facts;
pub use partial::{PartialAsk, PartialOption};
use result::result_of;
pub use result::{PartialResult, UpgradeResult};
pub(super) use write::TargetStart;
use write::{create_target, create_target_with, record_whole};

use super::idempotency::{Answered, Scope, StoredAnswer};
use super::subscription_steps::{cancel_scheduled_for, seat_change};
use super::{Actor, App, customer_not_found, lock_subscription, subscription_not_found};
use crate::db;
use crate::domain::billing::Billing;
use crate::domain::lifecycle;
use crate::domain::records::{Customer, PerformedUpgrade, Subscription};
use crate::domain::renewal::ImmediateChange;
use crate::domain::upgrade::{self, Downgrade, EligibleUpgrade, Evaluation};
use crate::domain::{Catalog, CustomerId, ErrorCode, SubscriptionId, UpgradeId};
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

/// One target of the subscription's paths: the whole upgrade with the current quantity, and
/// whether a partial one is possible.
#[derive(Debug, Clone)]
pub struct UpgradeOption {
    pub whole: Evaluation,
    pub partial: PartialOption,
}

impl App {
    /// Every upgrade option of the subscription, evaluated with its current quantity, and whether a
    /// partial upgrade to each target is possible: one query, then the pure rules.
    pub async fn upgrade_options(
        &self,
        actor: &Actor,
        (customer_id, subscription_id): (CustomerId, SubscriptionId),
    ) -> Result<Vec<UpgradeOption>, Error> {
        let (catalog, partner_id) = (self.catalog().as_ref(), actor.partner_id);
        let mut conn = self.pool().acquire().await?;
        // A source with no upgrade paths lists nothing: the rest of the facts is not decoded.
        let has_paths = |offer_id: &str| catalog.paths_from(offer_id).next().is_some();
        let mut row = db::facts::facts(
            &mut conn,
            db::facts::Freshness::Stored,
            partner_id,
            (customer_id, subscription_id),
            |source| source.is_some_and(|s| has_paths(&s.offer_id)),
        )
        .await?
        .ok_or_else(|| customer_not_found(customer_id))?;
        let source = row
            .source
            .take()
            .ok_or_else(|| subscription_not_found(subscription_id))?
            .as_of(super::today());
        if !has_paths(&source.offer_id) {
            return Ok(Vec::new());
        }
        let prices = facts::plan_prices(&mut conn, [&source]).await?;
        let facts = Facts::new(row, &source, (partner_id, catalog))?.with_prices(prices);
        let terms = partial::target_terms(&mut conn, (catalog, &facts), &source).await?;
        drop(conn);
        let case = facts.case(catalog);
        Ok(upgrade::evaluate_all(&case)
            .into_iter()
            .map(|whole| UpgradeOption {
                partial: partial::option(&facts, &case, (&whole, &terms)),
                whole,
            })
            .collect())
    }

    /// Performs the upgrade (or its dry run) in a keyed write: `answer` makes, in the transaction,
    /// the answer to store under `scope`'s key; a retry with the key gets the stored answer and
    /// upgrades nothing.
    pub async fn perform_upgrade(
        &self,
        actor: &Actor,
        subscription: (CustomerId, SubscriptionId),
        request: &UpgradeRequest,
        scope: Option<&Scope>,
        answer: impl FnOnce(&UpgradeResult) -> Result<StoredAnswer, Error>,
    ) -> Result<Answered, Error> {
        self.keyed(scope, async |conn| {
            answer(&perform(conn, self.catalog(), actor, subscription, request).await?)
        })
        .await
    }

    /// A performed upgrade, if the actor's partner performed it.
    pub async fn upgrade(
        &self,
        actor: &Actor,
        customer_id: CustomerId,
        upgrade_id: UpgradeId,
    ) -> Result<PerformedUpgrade, Error> {
        let (pool, partner_id) = (self.pool(), actor.partner_id);
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

    /// A page of the actor's partner's upgrades for the customer.
    pub async fn upgrades(
        &self,
        actor: &Actor,
        customer_id: CustomerId,
        after: Option<Uuid>,
        limit: i64,
    ) -> Result<Vec<PerformedUpgrade>, Error> {
        let (pool, partner_id) = (self.pool(), actor.partner_id);
        super::visible_customer(pool, partner_id, customer_id).await?;
        Ok(db::upgrades::list_for_partner(pool, customer_id, partner_id, after, limit).await?)
    }
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
        let target = &request.target_offer_id;
        return partial::perform(
            conn,
            catalog,
            actor,
            (&source, target),
            ask,
            request.dry_run,
        )
        .await;
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
        cancel_scheduled_for(conn, actor, &source, ImmediateChange::Upgrade).await?;
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
    let facts = Facts::load(conn, catalog, actor.partner_id, source).await?;
    upgrade::evaluate(&facts.case(catalog), target_offer_id, quantity)
        .into_eligible()
        .map_err(Error::NotEligible)
}

/// The move of `source` down to `target_offer_id` with `quantity` seats at its renewal, when
/// every condition allows it on what is committed now (otherwise every failing condition, 422)
/// and the seat rules do on the target (its caps, the licenses assigned, the add-ons' seats).
pub(super) async fn downgrade_eligible(
    conn: &mut PgConnection,
    (catalog, customer): (&Catalog, &Customer),
    actor: &Actor,
    source: &Subscription,
    (target_offer_id, quantity): (&str, i64),
) -> Result<Downgrade, Error> {
    let facts = Facts::load(conn, catalog, actor.partner_id, source).await?;
    let downgrade = upgrade::evaluate_downgrade(&facts.case(catalog), target_offer_id, quantity)
        .map_err(Error::NotEligible)?;
    let target = catalog
        .offer(target_offer_id)
        .ok_or_else(|| Error::internal(format!("offer {target_offer_id} not in catalog")))?;
    let change = seat_change(conn, customer, source, target, quantity).await?;
    lifecycle::check_quantity(catalog, &change)?;
    Ok(downgrade)
}

/// Performs an upgrade scheduled for the term end, with the renewal: the target starts the
/// renewal's fresh term (not co-terminous) as `start` says, billed for its first period in full.
pub(super) async fn upgrade_at_renewal(
    conn: &mut PgConnection,
    actor: &Actor,
    source: &Subscription,
    upgrade: &EligibleUpgrade,
    (start, billing): (TargetStart, Option<Billing>),
) -> Result<UpgradeResult, Error> {
    let (target, retired) = create_target_with(conn, actor, source, upgrade, start).await?;
    let mut result = result_of(source, upgrade);
    result.billing = billing;
    record_whole(conn, actor, source, (target, retired), &mut result).await?;
    Ok(result)
}
