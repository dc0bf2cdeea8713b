//! Upgrade eligibility (docs/upgrades.md): every condition of the article that fails, each with a
//! stable code, a message and what to do about it. Pure: the caller loads the facts.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::catalog::{Catalog, Offer};
use super::subscription::{Channel, MAX_QUANTITY, SubscriptionStatus};

/// The conditions of the article, one code each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FailureCode {
    SubscriptionNotActive,
    NoUpgradePaths,
    TargetOfferNotAllowed,
    DelegatedAdminMissing,
    ConflictingServices,
    TargetAlreadyOwned,
    AddOnsPresent,
    SeatLimitExceeded,
    /// New commerce, into an existing target: its term is shorter than the source's.
    TargetTermShorter,
    /// New commerce, into an existing target: its term ends before the source's.
    TargetEndsBeforeSource,
}

impl FailureCode {
    /// Every condition, in the article's order, then new commerce's.
    pub const ALL: [FailureCode; 10] = [
        FailureCode::SubscriptionNotActive,
        FailureCode::NoUpgradePaths,
        FailureCode::TargetOfferNotAllowed,
        FailureCode::DelegatedAdminMissing,
        FailureCode::ConflictingServices,
        FailureCode::TargetAlreadyOwned,
        FailureCode::AddOnsPresent,
        FailureCode::SeatLimitExceeded,
        FailureCode::TargetTermShorter,
        FailureCode::TargetEndsBeforeSource,
    ];

    /// The stable wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureCode::SubscriptionNotActive => "subscription_not_active",
            FailureCode::NoUpgradePaths => "no_upgrade_paths",
            FailureCode::TargetOfferNotAllowed => "target_offer_not_allowed",
            FailureCode::DelegatedAdminMissing => "delegated_admin_missing",
            FailureCode::ConflictingServices => "conflicting_services",
            FailureCode::TargetAlreadyOwned => "target_already_owned",
            FailureCode::AddOnsPresent => "add_ons_present",
            FailureCode::SeatLimitExceeded => "seat_limit_exceeded",
            FailureCode::TargetTermShorter => "target_term_shorter",
            FailureCode::TargetEndsBeforeSource => "target_ends_before_source",
        }
    }
}

/// One failing condition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Failure {
    pub code: FailureCode,
    pub message: String,
    /// What the partner can do about it.
    pub remedy: &'static str,
}

/// A subscription of the customer as the rules see it (any channel).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionFacts {
    pub offer_id: String,
    pub status: SubscriptionStatus,
    pub quantity: i64,
    pub channel: Channel,
}

impl SubscriptionFacts {
    fn is_live(&self) -> bool {
        matches!(
            self.status,
            SubscriptionStatus::Active | SubscriptionStatus::Suspended
        )
    }
}

/// A delegated admin relationship of the calling partner with the customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminRights {
    pub active: bool,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// `None` grants every service.
    pub services: Option<BTreeSet<String>>,
}

impl AdminRights {
    /// Whether the relationship grants rights for every service of `offer` at `now`.
    pub fn covers(&self, offer: &Offer, now: DateTime<Utc>) -> bool {
        let in_effect = self.active && self.starts_at <= now && now < self.ends_at;
        in_effect
            && self
                .services
                .as_ref()
                .is_none_or(|granted| offer.services.is_subset(granted))
    }
}

/// Everything the rules look at for one source subscription.
#[derive(Debug, Clone)]
pub struct UpgradeFacts<'a> {
    pub catalog: &'a Catalog,
    pub market: &'a str,
    pub source: &'a SubscriptionFacts,
    /// The customer's other subscriptions, every channel.
    pub others: &'a [SubscriptionFacts],
    pub admin_rights: &'a [AdminRights],
    pub active_add_ons: usize,
    pub now: DateTime<Utc>,
}

/// Every condition that keeps `source` from being upgraded to `target_offer_id` with `quantity`
/// seats, in the order of the article; empty when the upgrade is eligible. Conditions about the
/// target are checked only when the catalog has it.
pub fn check(facts: &UpgradeFacts<'_>, target_offer_id: &str, quantity: i64) -> Vec<Failure> {
    let mut failures: Vec<Failure> = [
        subscription_not_active(facts),
        no_upgrade_paths(facts),
        target_offer_not_allowed(facts, target_offer_id),
    ]
    .into_iter()
    .flatten()
    .collect();
    if let Some(target) = facts.catalog.offer(target_offer_id) {
        failures.extend(
            [
                delegated_admin_missing(facts, target),
                conflicting_services(facts, target),
                target_already_owned(facts, target),
                add_ons_present(facts),
                seat_limit_exceeded(facts, target, quantity, None),
            ]
            .into_iter()
            .flatten(),
        );
    }
    failures
}

/// Every condition that keeps `source` from moving down to `target_offer_id` with `quantity` seats
/// at its renewal (new commerce, SPEC's next-term instructions): it must be active, the target
/// must list the source's offer among its upgrade sources and be sold in the customer's market,
/// the partner must administer the target's services, no add-on may be attached, and the seats
/// must fit the target's caps. Empty when the move may go ahead.
pub fn check_downgrade(
    facts: &UpgradeFacts<'_>,
    target_offer_id: &str,
    quantity: i64,
) -> Vec<Failure> {
    let catalog = facts.catalog;
    let source = &facts.source.offer_id;
    let target = catalog
        .offer(target_offer_id)
        .filter(|t| t.is_sold_in(facts.market) && catalog.path(target_offer_id, source).is_some());
    let mut failures: Vec<Failure> = subscription_not_active(facts).into_iter().collect();
    let Some(target) = target else {
        failures.push(failure(
            FailureCode::TargetOfferNotAllowed,
            format!(
                "{} cannot move down to {target_offer_id} for a customer in {}: only an offer that \
                 lists it among its upgrade sources can.",
                offer_name(catalog, source),
                facts.market
            ),
            "Choose an offer with an upgrade path to this subscription's offer.",
        ));
        return failures;
    };
    failures.extend(
        [
            delegated_admin_missing(facts, target),
            add_ons_present(facts),
            seat_limit_exceeded(facts, target, quantity, None),
        ]
        .into_iter()
        .flatten(),
    );
    failures
}

fn failure(code: FailureCode, message: String, remedy: &'static str) -> Failure {
    Failure {
        code,
        message,
        remedy,
    }
}

/// Only an active subscription can be upgraded.
fn subscription_not_active(facts: &UpgradeFacts<'_>) -> Option<Failure> {
    let status = facts.source.status;
    (status != SubscriptionStatus::Active).then(|| {
        failure(
            FailureCode::SubscriptionNotActive,
            format!("The subscription is {}, not active.", status.as_str()),
            "Reactivate the subscription first; cancelled and upgraded subscriptions cannot be upgraded.",
        )
    })
}

/// The source's offer must have at least one upgrade path.
fn no_upgrade_paths(facts: &UpgradeFacts<'_>) -> Option<Failure> {
    let source = &facts.source.offer_id;
    facts.catalog.paths_from(source).next().is_none().then(|| {
        failure(
            FailureCode::NoUpgradePaths,
            format!(
                "{} has no upgrade paths.",
                offer_name(facts.catalog, source)
            ),
            "Buy the richer offer as a new subscription instead.",
        )
    })
}

/// The target must be one of the source's paths and sold in the customer's market.
fn target_offer_not_allowed(facts: &UpgradeFacts<'_>, target_offer_id: &str) -> Option<Failure> {
    let catalog = facts.catalog;
    let source = &facts.source.offer_id;
    let allowed = catalog.path(source, target_offer_id).is_some()
        && catalog
            .offer(target_offer_id)
            .is_some_and(|t| t.is_sold_in(facts.market));
    (!allowed).then(|| {
        failure(
            FailureCode::TargetOfferNotAllowed,
            format!(
                "{} cannot be upgraded to {target_offer_id} for a customer in {}.",
                offer_name(catalog, source),
                facts.market
            ),
            "Choose one of the targets listed for this subscription.",
        )
    })
}

/// The partner needs delegated admin rights, in effect now, over every service of the target.
fn delegated_admin_missing(facts: &UpgradeFacts<'_>, target: &Offer) -> Option<Failure> {
    let covered = facts
        .admin_rights
        .iter()
        .any(|r| r.covers(target, facts.now));
    (!covered).then(|| {
        failure(
            FailureCode::DelegatedAdminMissing,
            format!(
                "You hold no active delegated admin relationship covering the services of {}.",
                target.name
            ),
            "Request delegated admin privileges for the customer and these services.",
        )
    })
}

/// A service the target adds must not already be in another live subscription of the customer,
/// of any channel.
fn conflicting_services(facts: &UpgradeFacts<'_>, target: &Offer) -> Option<Failure> {
    let catalog = facts.catalog;
    let target_set = catalog.service_set(&target.id)?;
    let source_set = catalog.service_set(&facts.source.offer_id);
    let words = target_set.words();
    let added = |w: usize| target_set.word(w) & !source_set.map_or(0, |s| s.word(w));
    let mut overlap: Vec<u64> = Vec::new();
    let mut elsewhere = false;
    for other in facts.others.iter().filter(|s| s.is_live()) {
        let Some(set) = catalog.service_set(&other.offer_id) else {
            continue;
        };
        for w in 0..words {
            let hit = set.word(w) & added(w);
            if hit != 0 {
                overlap.resize(words, 0);
                overlap[w] |= hit;
                elsewhere |= other.channel == Channel::Other;
            }
        }
    }
    if overlap.is_empty() {
        return None;
    }
    let services: Vec<&str> = catalog.service_names(&overlap).collect();
    Some(failure(
        FailureCode::ConflictingServices,
        format!(
            "The customer already has {} in another subscription{}.",
            services.join(", "),
            if elsewhere {
                ", bought through another channel"
            } else {
                ""
            }
        ),
        "Cancel the subscription that includes these services first.",
    ))
}

/// The customer must not already hold the target, through any partner or channel.
fn target_already_owned(facts: &UpgradeFacts<'_>, target: &Offer) -> Option<Failure> {
    let owned = facts
        .others
        .iter()
        .find(|s| s.is_live() && s.offer_id == target.id)?;
    let through = if owned.channel == Channel::Other {
        " through another partner or channel"
    } else {
        ""
    };
    Some(failure(
        FailureCode::TargetAlreadyOwned,
        format!("The customer already has {}{through}.", target.name),
        "Cancel the existing subscription first, or add licenses to it instead.",
    ))
}

/// A subscription with active add-ons cannot be upgraded.
fn add_ons_present(facts: &UpgradeFacts<'_>) -> Option<Failure> {
    (facts.active_add_ons > 0).then(|| {
        failure(
            FailureCode::AddOnsPresent,
            format!(
                "The subscription has {} active add-on(s).",
                facts.active_add_ons
            ),
            "Cancel the add-ons, upgrade, then buy them again for the new subscription.",
        )
    })
}

/// The quantity must fit the target's own cap and its family's cap per customer; `also` is counted
/// beside the customer's other subscriptions (a partial upgrade's source, with the seats it keeps).
fn seat_limit_exceeded(
    facts: &UpgradeFacts<'_>,
    target: &Offer,
    quantity: i64,
    also: Option<&SubscriptionFacts>,
) -> Option<Failure> {
    seat_limit(facts, target, quantity, also).map(|reason| {
        failure(
            FailureCode::SeatLimitExceeded,
            reason,
            "Choose a quantity within the target's seat cap.",
        )
    })
}

/// Rule `seat_limit_exceeded` alone for `quantity` seats of the target, with `also` counted
/// beside the customer's other subscriptions; none when the target is not in the catalog.
pub fn seat_limit_with(
    facts: &UpgradeFacts<'_>,
    (target_offer_id, quantity): (&str, i64),
    also: &SubscriptionFacts,
) -> Option<Failure> {
    let target = facts.catalog.offer(target_offer_id)?;
    seat_limit_exceeded(facts, target, quantity, Some(also))
}

fn seat_limit(
    facts: &UpgradeFacts<'_>,
    target: &Offer,
    quantity: i64,
    also: Option<&SubscriptionFacts>,
) -> Option<String> {
    if !(1..=MAX_QUANTITY).contains(&quantity) {
        return Some(format!(
            "The quantity must be between 1 and {MAX_QUANTITY}."
        ));
    }
    if let Some(cap) = target.seat_cap.filter(|&cap| quantity > i64::from(cap)) {
        return Some(format!("{} allows at most {cap} seats.", target.name));
    }
    let family = target
        .family_id
        .as_deref()
        .and_then(|f| facts.catalog.family(f))?;
    let cap = i64::from(family.seat_cap?);
    let in_family = |s: &&SubscriptionFacts| {
        s.is_live()
            && facts
                .catalog
                .offer(&s.offer_id)
                .is_some_and(|o| o.family_id.as_deref() == Some(&family.id))
    };
    let held: i64 = (facts.others.iter())
        .chain(also)
        .filter(in_family)
        .map(|s| s.quantity)
        .sum();
    (held + quantity > cap).then(|| {
        format!("{} allows at most {cap} seats per customer; the customer holds {held} in other subscriptions.", family.name)
    })
}

fn offer_name(catalog: &Catalog, id: &str) -> String {
    catalog
        .offer(id)
        .map_or_else(|| id.to_owned(), |o| o.name.clone())
}

#[cfg(test)]
mod tests;
