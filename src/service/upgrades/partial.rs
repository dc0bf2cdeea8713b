//! Partial upgrades (docs/upgrades.md, "Partial upgrades"): part of the source's seats, with the users the
//! partner names (or the rule picks), move to a new co-terminous subscription of the target
//! offer or to the customer's existing one; the source keeps the rest and stays active. The same
//! locks, checks, answer, record, history and events as a whole upgrade.

use std::collections::{BTreeMap, BTreeSet};

use sqlx::PgConnection;

use super::facts::Facts;
use super::result::{PartialResult, UpgradeResult, result_of};
use super::write::{TargetStart, coterminous, move_licenses, new_target, record, upgraded};
use crate::db;
use crate::domain::commerce::{self, SeatWindows, Term};
use crate::domain::eligibility::{Failure, SubscriptionFacts};
use crate::domain::partial::{ExistingTarget, PartialRefusal, PartialRequest, PartialSeats};
use crate::domain::plan::Commerce;
use crate::domain::records::{ChangeKind, Subscription};
use crate::domain::renewal::ImmediateChange;
use crate::domain::subscription::SubscriptionStatus;
use crate::domain::upgrade::{self, EligibleUpgrade, Evaluation, UpgradeCase};
use crate::domain::{Catalog, ErrorCode, SubscriptionId, UserId};
use crate::error::Error;
use crate::service::subscription_steps::cancel_scheduled_for;
use crate::service::{Actor, now, snapshot, today};

/// What a partial upgrade asks for.
#[derive(Debug, Clone)]
pub struct PartialAsk {
    /// Seats to move.
    pub quantity: i64,
    /// The users to move; `None` lets the rule pick them.
    pub users: Option<Vec<UserId>>,
    /// The customer's existing subscription of the target offer to grow.
    pub target_subscription_id: Option<SubscriptionId>,
}

/// Whether a partial upgrade to one target is possible now, as the listing shows it.
#[derive(Debug, Clone)]
pub struct PartialOption {
    /// The partner's subscription of the target offer a partial upgrade would grow (name it as
    /// `targetSubscriptionId`); `None`: a new one would be created.
    pub into: Option<SubscriptionId>,
    /// The failing conditions of moving one seat (empty: possible), or why such a request is
    /// refused.
    pub outcome: Result<Vec<Failure>, PartialRefusal>,
}

/// Whether a partial upgrade of one seat to `target_offer_id` is possible: into the partner's
/// active subscription of that offer when it has one, otherwise into a new one. The users
/// already licensed on that subscription are not loaded for the listing, so it assumes none of
/// the source's holders is.
pub(super) fn option(
    facts: &Facts,
    case: &UpgradeCase<'_>,
    (whole, terms): (&Evaluation, &BTreeMap<SubscriptionId, Term>),
) -> PartialOption {
    let owned = facts.own_active(&whole.target_offer_id);
    let existing = owned.map(|(id, subscription)| ExistingTarget {
        subscription: subscription.clone(),
        licensed_users: BTreeSet::new(),
        term: terms.get(&id).copied(),
        unit_price: None,
    });
    PartialOption {
        into: owned.map(|(id, _)| id),
        outcome: upgrade::partial_option(case, whole, existing.as_ref()),
    }
}

/// New commerce: the terms of the partner's active subscriptions of the source's targets, which a
/// partial upgrade into one checks (`target_term_shorter`, `target_ends_before_source`); none for
/// a legacy source (one query, only when there is such a subscription).
pub(super) async fn target_terms(
    conn: &mut PgConnection,
    (catalog, facts): (&Catalog, &Facts),
    source: &Subscription,
) -> Result<BTreeMap<SubscriptionId, Term>, Error> {
    if source.commerce != Commerce::New {
        return Ok(BTreeMap::new());
    }
    let ids: Vec<SubscriptionId> = catalog
        .paths_from(&source.offer_id)
        .filter_map(|path| facts.own_active(&path.target_offer_id).map(|(id, _)| id))
        .collect();
    if ids.is_empty() {
        return Ok(BTreeMap::new());
    }
    let today = today();
    let targets = db::subscriptions::find_many(conn, source.customer_id, &ids).await?;
    Ok(targets
        .into_iter()
        .map(|t| t.as_of(today))
        .map(|t| (t.id, term_of(&t)))
        .collect())
}

fn term_of(subscription: &Subscription) -> Term {
    Term {
        duration: subscription.term_duration,
        end: subscription.term_end,
    }
}

/// Performs the partial upgrade of `source` to `target_offer_id` (or, for a dry run, evaluates
/// it exactly as if performing it) in the caller's transaction, the customer and the source
/// already locked: locks the subscription to grow, re-checks every rule on what is committed, then
/// writes both subscriptions, the moved licenses, the upgrade record and a `partial_upgrade` entry
/// on each. Scheduling one checks it with a dry run; the renewal performs it.
pub(in crate::service) async fn perform(
    conn: &mut PgConnection,
    catalog: &Catalog,
    actor: &Actor,
    (source, target_offer_id): (&Subscription, &str),
    ask: &PartialAsk,
    dry_run: bool,
) -> Result<UpgradeResult, Error> {
    let into = match ask.target_subscription_id {
        Some(id) => Some(lock_target(conn, actor, source, id).await?),
        None => None,
    };
    let existing = match &into {
        Some(target) => Some(existing_target(conn, target).await?),
        None => None,
    };
    let facts = Facts::load(conn, catalog, actor.partner_id, source).await?;
    let partial = PartialRequest {
        quantity: ask.quantity,
        users: ask.users.as_deref(),
        into: existing.as_ref(),
    };
    let upgrade = upgrade::evaluate_partial(&facts.case(catalog), target_offer_id, &partial)?
        .into_eligible()
        .map_err(Error::NotEligible)?;
    let seats = upgrade
        .partial
        .ok_or_else(|| Error::internal("a partial evaluation has its seats"))?;
    let mut result = result_of(source, &upgrade);
    result.partial = Some(PartialResult {
        seats_moved: seats.seats_moved,
        source_quantity: seats.source_quantity,
        target_quantity: seats.target_quantity,
        target_existed: into.is_some(),
    });
    result.dry_run = dry_run;
    if !dry_run {
        write(conn, actor, source, into, (&upgrade, seats), &mut result).await?;
    }
    Ok(result)
}

/// Locks the subscription named to grow, after the source (the customer is locked already);
/// one the partner did not sell this customer is not found, like one that does not exist.
async fn lock_target(
    conn: &mut PgConnection,
    actor: &Actor,
    source: &Subscription,
    id: SubscriptionId,
) -> Result<Subscription, Error> {
    let target =
        db::subscriptions::lock_for_partner(conn, source.customer_id, actor.partner_id, id)
            .await?
            .ok_or_else(|| {
                Error::new(
                    ErrorCode::TargetSubscriptionNotFound,
                    format!("No subscription {id} of this customer is yours."),
                )
            })?;
    Ok(target.as_of(today()))
}

async fn existing_target(
    conn: &mut PgConnection,
    target: &Subscription,
) -> Result<ExistingTarget, Error> {
    let licensed = db::licenses::holders(conn, target.customer_id, target.id).await?;
    Ok(ExistingTarget {
        subscription: SubscriptionFacts {
            offer_id: target.offer_id.clone(),
            status: target.status,
            quantity: i64::from(target.quantity),
            channel: target.channel,
        },
        licensed_users: licensed.into_iter().collect(),
        term: Some(term_of(target)),
        unit_price: target.unit_price,
    })
}

/// Shrinks the source, grows or creates the target, moves the licenses, records the upgrade and
/// both history entries, and cancels what either had scheduled for its term end.
async fn write(
    conn: &mut PgConnection,
    actor: &Actor,
    source: &Subscription,
    into: Option<Subscription>,
    (upgrade, seats): (&EligibleUpgrade, PartialSeats),
    result: &mut UpgradeResult,
) -> Result<(), Error> {
    let (shrunk, target) = resize(conn, actor, source, into.as_ref(), (upgrade, seats)).await?;
    move_licenses(conn, source, target.id, upgrade).await?;
    let upgrade_id = record(conn, actor, source, &target, result).await?;
    for (before, after) in [(Some(source), &shrunk), (into.as_ref(), &target)] {
        let entry = (after.customer_id, after.id);
        let (before, after) = (before.map(snapshot), Some(upgraded(after, upgrade_id)));
        let kind = ChangeKind::PartialUpgrade;
        actor
            .record_change(conn, entry, kind, before, after)
            .await?;
    }
    cancel_scheduled_for(conn, actor, source, ImmediateChange::PartialUpgrade).await?;
    if let Some(existing) = &into {
        cancel_scheduled_for(conn, actor, existing, ImmediateChange::Seats).await?;
    }
    Ok(())
}

/// The source with its remaining seats, and the target grown or created co-terminous.
async fn resize(
    conn: &mut PgConnection,
    actor: &Actor,
    source: &Subscription,
    into: Option<&Subscription>,
    (upgrade, seats): (&EligibleUpgrade, PartialSeats),
) -> Result<(Subscription, Subscription), Error> {
    let customer_id = source.customer_id;
    let active = SubscriptionStatus::Active;
    let remaining = (seats_of(seats.source_quantity)?, active);
    let (left, taken) =
        commerce::split_windows(&source.seat_windows.0, now(), seats.source_quantity);
    if source.commerce == Commerce::New {
        let windows = SeatWindows(left);
        db::subscriptions::set_seat_windows(conn, customer_id, source.id, &windows).await?;
    }
    let shrunk = db::subscriptions::update(conn, customer_id, source.id, remaining, None).await?;
    let target_quantity = seats_of(seats.target_quantity)?;
    let target = match into {
        Some(existing) => {
            let quantity = (target_quantity, active);
            db::subscriptions::update(conn, customer_id, existing.id, quantity, None).await?
        }
        None => {
            let start = TargetStart::inherited(source, coterminous(source, upgrade), taken);
            let offer = (upgrade.target_offer_id.as_str(), target_quantity);
            let new = new_target(conn, actor, source, offer, start).await?;
            db::subscriptions::create(conn, &new).await?
        }
    };
    Ok((shrunk.as_of(today()), target.as_of(today())))
}

fn seats_of(quantity: i64) -> Result<i32, Error> {
    i32::try_from(quantity).map_err(Error::internal)
}
