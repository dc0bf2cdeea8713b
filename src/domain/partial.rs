//! Partial upgrades (docs/upgrades.md, "Partial upgrades"): of a source with M seats, N < M move to the
//! target and the source keeps M − N and stays active. Pure: the caller loads the facts. The
//! rules, each with a table test of its name:
//!
//! - `seats_moved`: 1 ≤ N < M (`invalid_quantity` below 1, `partial_quantity_too_large` from M);
//! - `named_users`: none twice, at most N, each holding a license of the source
//!   (`duplicate_user`, `too_many_users`, `user_not_licensed`);
//! - `existing_target`: a subscription named to grow is of the target offer and active
//!   (`target_subscription_mismatch`, `subscription_not_active`); `target_already_owned` and
//!   `conflicting_services` do not count it, and its seats grow by N;
//! - `seat_caps`: the caps hold after the change: the target's own cap on its new seats, the family
//!   cap over every live subscription with the source's and the target's new seats both counted
//!   (`seat_limit_exceeded` among the eligibility failures, with every other failing condition);
//! - `movers`: the named users; without a list, the first N holders of a source license ranked:
//!   those who can move automatically first, then by license time, then by user id;
//! - `movers_reasons`: a mover moves to the target unless a reason keeps it (`upgrade_only_path`,
//!   `conflicting_license`, `service_removed` as for a whole upgrade, `already_licensed_on_target`);
//!   then it keeps its source license and is listed with every reason. Users who are not movers
//!   keep their source license and are not listed;
//! - `source_seats`: the source keeps at least as many seats as the licenses left on it
//!   (`quantity_below_assigned_licenses`);
//! - billing: credit for N source seats and charge for N target seats over the same remaining
//!   days, with the calculator of every upgrade.

use std::collections::BTreeSet;

use super::codes::ErrorCode;
use super::commerce::Term;
use super::eligibility::SubscriptionFacts;
use super::ids::UserId;
use super::reassignment::{self, LicenseHolder};
use super::subscription::{MAX_QUANTITY, SubscriptionStatus};

/// The customer's subscription of the target offer, sold by this partner, that a partial upgrade
/// grows instead of creating one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExistingTarget {
    pub subscription: SubscriptionFacts,
    /// Users holding a license of it.
    pub licensed_users: BTreeSet<UserId>,
    /// Its term, checked against a new-commerce source's (`None`: not known, as in the listing,
    /// which does not load it).
    pub term: Option<Term>,
    /// New commerce: its locked price, which the seats moved into it are charged at.
    pub unit_price: Option<i64>,
}

/// What a partial upgrade asks for.
#[derive(Debug, Clone, Copy)]
pub struct PartialRequest<'a> {
    /// Seats to move (N).
    pub quantity: i64,
    /// The users to move; `None` lets the rule pick them.
    pub users: Option<&'a [UserId]>,
    /// The existing subscription to grow; the case's `others` must leave it out.
    pub into: Option<&'a ExistingTarget>,
}

/// The seats of both subscriptions after a partial upgrade.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartialSeats {
    pub seats_moved: i64,
    pub source_quantity: i64,
    pub target_quantity: i64,
}

/// Why a partial upgrade request is refused before its conditions are looked at, or after them
/// when the source would keep fewer seats than licenses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PartialRefusal {
    #[error("a partial upgrade moves at least 1 seat and at most {MAX_QUANTITY}")]
    QuantityOutOfRange,
    #[error(
        "a partial upgrade moves fewer seats than the source's {source_quantity}; send a quantity below it, or leave out `partial` to upgrade the whole subscription"
    )]
    NotBelowSource { source_quantity: i64 },
    #[error("user {0} is listed twice")]
    DuplicateUser(UserId),
    #[error("{users} users are listed to move with {quantity} seats; list at most {quantity}")]
    TooManyUsers { users: usize, quantity: i64 },
    #[error("these users hold no license of the source subscription: {}", join(.0))]
    NotLicensed(Vec<UserId>),
    #[error("the subscription to grow is of {actual}, not of the target offer {expected}")]
    TargetMismatch { expected: String, actual: String },
    #[error("the subscription to grow is {}, not active", .0.as_str())]
    TargetNotActive(SubscriptionStatus),
    #[error(
        "the source would keep {seats} seats but {licenses} licenses; move more of its licensed users, or unassign some first"
    )]
    SourceBelowLicenses { seats: i64, licenses: i64 },
}

impl PartialRefusal {
    /// The stable problem code.
    pub fn code(&self) -> ErrorCode {
        match self {
            PartialRefusal::QuantityOutOfRange => ErrorCode::InvalidQuantity,
            PartialRefusal::NotBelowSource { .. } => ErrorCode::PartialQuantityTooLarge,
            PartialRefusal::DuplicateUser(_) => ErrorCode::DuplicateUser,
            PartialRefusal::TooManyUsers { .. } => ErrorCode::TooManyUsers,
            PartialRefusal::NotLicensed(_) => ErrorCode::UserNotLicensed,
            PartialRefusal::TargetMismatch { .. } => ErrorCode::TargetSubscriptionMismatch,
            PartialRefusal::TargetNotActive(_) => ErrorCode::SubscriptionNotActive,
            PartialRefusal::SourceBelowLicenses { .. } => ErrorCode::QuantityBelowAssignedLicenses,
        }
    }
}

super::codes::refusal!(PartialRefusal);

fn join(ids: &[UserId]) -> String {
    ids.iter()
        .map(UserId::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Checks the request itself against the source and the subscription to grow (rules
/// `seats_moved`, `named_users`, `existing_target`), and answers the seats after the change.
pub fn check_request(
    source: &SubscriptionFacts,
    target_offer_id: &str,
    holders: &[LicenseHolder],
    request: &PartialRequest<'_>,
) -> Result<PartialSeats, PartialRefusal> {
    let quantity = request.quantity;
    if !(1..=MAX_QUANTITY).contains(&quantity) {
        return Err(PartialRefusal::QuantityOutOfRange);
    }
    if quantity >= source.quantity {
        return Err(PartialRefusal::NotBelowSource {
            source_quantity: source.quantity,
        });
    }
    if let Some(users) = request.users {
        check_named(users, quantity, holders)?;
    }
    let grown = match request.into {
        Some(existing) => {
            let target = &existing.subscription;
            if target.offer_id != target_offer_id {
                return Err(PartialRefusal::TargetMismatch {
                    expected: target_offer_id.to_owned(),
                    actual: target.offer_id.clone(),
                });
            }
            if target.status != SubscriptionStatus::Active {
                return Err(PartialRefusal::TargetNotActive(target.status));
            }
            target.quantity
        }
        None => 0,
    };
    Ok(PartialSeats {
        seats_moved: quantity,
        source_quantity: source.quantity - quantity,
        target_quantity: grown + quantity,
    })
}

fn check_named(
    users: &[UserId],
    quantity: i64,
    holders: &[LicenseHolder],
) -> Result<(), PartialRefusal> {
    let mut seen = BTreeSet::new();
    if let Some(twice) = users.iter().find(|u| !seen.insert(**u)) {
        return Err(PartialRefusal::DuplicateUser(*twice));
    }
    if i64::try_from(users.len()).unwrap_or(i64::MAX) > quantity {
        return Err(PartialRefusal::TooManyUsers {
            users: users.len(),
            quantity,
        });
    }
    let licensed: BTreeSet<UserId> = holders.iter().map(|h| h.user_id).collect();
    let unlicensed: Vec<UserId> = users
        .iter()
        .filter(|u| !licensed.contains(u))
        .copied()
        .collect();
    if unlicensed.is_empty() {
        Ok(())
    } else {
        Err(PartialRefusal::NotLicensed(unlicensed))
    }
}

/// The users who move (rule `movers`): the named ones, in the order named; otherwise the first
/// `quantity` holders, those who can move automatically (`can_move`) first, then by license time,
/// then by user id.
pub fn movers<'h>(
    holders: &'h [LicenseHolder],
    users: Option<&[UserId]>,
    quantity: i64,
    can_move: impl Fn(&LicenseHolder) -> bool,
) -> Vec<&'h LicenseHolder> {
    if let Some(users) = users {
        return users
            .iter()
            .filter_map(|u| holders.iter().find(|h| h.user_id == *u))
            .collect();
    }
    let mut ranked: Vec<(bool, &LicenseHolder)> =
        holders.iter().map(|h| (!can_move(h), h)).collect();
    ranked.sort_by_key(|(stays, h)| (*stays, h.assigned_at, h.user_id));
    let seats = usize::try_from(quantity).unwrap_or(0);
    ranked.into_iter().take(seats).map(|(_, h)| h).collect()
}

/// Rule `source_seats`: the licenses left on the source fit the seats it keeps.
pub fn check_source_seats(
    seats: &PartialSeats,
    holders: usize,
    moved: usize,
) -> Result<(), PartialRefusal> {
    let licenses = i64::try_from(holders.saturating_sub(moved)).unwrap_or(i64::MAX);
    if licenses > seats.source_quantity {
        return Err(PartialRefusal::SourceBelowLicenses {
            seats: seats.source_quantity,
            licenses,
        });
    }
    Ok(())
}

/// Whether `holder` can move to the target automatically (no reason keeps it on the source).
pub fn can_move(
    offers: (&super::catalog::Offer, &super::catalog::Offer),
    upgrade_type: super::catalog::UpgradeType,
    on_target: &BTreeSet<UserId>,
) -> impl Fn(&LicenseHolder) -> bool {
    move |holder| {
        reassignment::reasons_to_stay(offers.0, offers.1, upgrade_type, holder, on_target)
            .is_empty()
    }
}

#[cfg(test)]
mod tests;
