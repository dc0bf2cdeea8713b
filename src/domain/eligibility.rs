//! Upgrade eligibility (README, "Upgrades"): every condition of the article that fails, each with a
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
}

impl FailureCode {
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
        }
    }
}

/// One failing condition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Failure {
    pub code: FailureCode,
    pub message: String,
    /// What the partner can do about it.
    pub remedy: String,
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
/// seats; empty when the upgrade is eligible.
pub fn check(facts: &UpgradeFacts<'_>, target_offer_id: &str, quantity: i64) -> Vec<Failure> {
    let catalog = facts.catalog;
    let mut failures = Vec::new();
    let mut fail = |code, message: String, remedy: &str| {
        failures.push(Failure {
            code,
            message,
            remedy: remedy.to_owned(),
        })
    };
    let source = facts.source;
    if source.status != SubscriptionStatus::Active {
        fail(
            FailureCode::SubscriptionNotActive,
            format!(
                "The subscription is {}, not active.",
                source.status.as_str()
            ),
            "Reactivate the subscription first; cancelled and upgraded subscriptions cannot be upgraded.",
        );
    }
    if catalog.paths_from(&source.offer_id).next().is_none() {
        fail(
            FailureCode::NoUpgradePaths,
            format!(
                "{} has no upgrade paths.",
                offer_name(catalog, &source.offer_id)
            ),
            "Buy the richer offer as a new subscription instead.",
        );
    }
    let target = catalog.offer(target_offer_id);
    let allowed = catalog.path(&source.offer_id, target_offer_id).is_some()
        && target.is_some_and(|t| t.is_sold_in(facts.market));
    if !allowed {
        fail(
            FailureCode::TargetOfferNotAllowed,
            format!(
                "{} cannot be upgraded to {target_offer_id} for a customer in {}.",
                offer_name(catalog, &source.offer_id),
                facts.market
            ),
            "Choose one of the targets listed for this subscription.",
        );
    }
    let Some(target) = target else {
        return failures;
    };
    if !facts
        .admin_rights
        .iter()
        .any(|r| r.covers(target, facts.now))
    {
        fail(
            FailureCode::DelegatedAdminMissing,
            format!(
                "You hold no active delegated admin relationship covering the services of {}.",
                target.name
            ),
            "Request delegated admin privileges for the customer and these services.",
        );
    }
    let live_others = || facts.others.iter().filter(|s| s.is_live());
    let source_services = catalog.offer(&source.offer_id).map(|o| &o.services);
    let added: BTreeSet<&String> = target
        .services
        .iter()
        .filter(|s| source_services.is_none_or(|src| !src.contains(*s)))
        .collect();
    let mut overlap: Vec<(&String, Channel)> = Vec::new();
    for other in live_others() {
        let Some(offer) = catalog.offer(&other.offer_id) else {
            continue;
        };
        overlap.extend(
            offer
                .services
                .iter()
                .filter(|s| added.contains(s))
                .map(|s| (s, other.channel)),
        );
    }
    if !overlap.is_empty() {
        let services: BTreeSet<&str> = overlap.iter().map(|(s, _)| s.as_str()).collect();
        let elsewhere = overlap.iter().any(|(_, c)| *c == Channel::Other);
        fail(
            FailureCode::ConflictingServices,
            format!(
                "The customer already has {} in another subscription{}.",
                services.into_iter().collect::<Vec<_>>().join(", "),
                if elsewhere {
                    ", bought through another channel"
                } else {
                    ""
                }
            ),
            "Cancel the subscription that includes these services first.",
        );
    }
    if let Some(owned) = live_others().find(|s| s.offer_id == target.id) {
        let through = if owned.channel == Channel::Other {
            " through another partner or channel"
        } else {
            ""
        };
        fail(
            FailureCode::TargetAlreadyOwned,
            format!("The customer already has {}{through}.", target.name),
            "Cancel the existing subscription first, or add licenses to it instead.",
        );
    }
    if facts.active_add_ons > 0 {
        fail(
            FailureCode::AddOnsPresent,
            format!(
                "The subscription has {} active add-on(s).",
                facts.active_add_ons
            ),
            "Cancel the add-ons, upgrade, then buy them again for the new subscription.",
        );
    }
    if let Some(reason) = seat_limit(facts, target, quantity) {
        fail(
            FailureCode::SeatLimitExceeded,
            reason,
            "Choose a quantity within the target's seat cap.",
        );
    }
    failures
}

fn seat_limit(facts: &UpgradeFacts<'_>, target: &Offer, quantity: i64) -> Option<String> {
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
    let held: i64 = facts
        .others
        .iter()
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
