//! Which users an upgrade moves to the target automatically, and which accounts the partner must
//! reassign by hand, with every reason (docs/upgrades.md).
//!
//! Each user holding a license from the source is either transferred or listed, never both:
//! - `upgrade_only_path`: the path creates a new subscription and moves nobody;
//! - `seat_shortage`: the holders are ranked by when they got their license (then by user id), and
//!   those ranked beyond the target's quantity are left over;
//! - `conflicting_license`: the user holds another license with a service the target also brings;
//! - `service_removed`: the user loses a service of the source that was enabled for them;
//! - `already_licensed_on_target` (partial upgrades into an existing subscription): the user named
//!   to move already holds a license of that subscription, so keeps the source's.
//!
//! A move down a matrix path at the renewal keeps every license on the subscription and lists
//! the users who lose a service (`service_removed`).
//!
//! A transferred user keeps the services they had switched off, where the target has them.

use std::collections::BTreeSet;

use super::catalog::{Offer, UpgradeType};
use super::ids::UserId;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

/// A user holding a license from the source subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenseHolder {
    pub user_id: UserId,
    pub display_name: String,
    pub email: String,
    pub assigned_at: DateTime<Utc>,
    /// Services of the source switched off for this user.
    pub disabled_services: BTreeSet<String>,
    /// Services enabled for the user through licenses from the customer's other live
    /// subscriptions.
    pub other_services: BTreeSet<String>,
}

/// Why an account needs its license reassigned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReassignmentCode {
    UpgradeOnlyPath,
    SeatShortage,
    ConflictingLicense,
    ServiceRemoved,
    AlreadyLicensedOnTarget,
}

/// One reason, naming the service where there is one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReassignmentReason {
    pub code: ReassignmentCode,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    pub detail: String,
}

/// An account the partner must reassign by hand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountToReassign {
    #[schema(value_type = Uuid)]
    pub user_id: UserId,
    pub display_name: String,
    pub email: String,
    pub reasons: Vec<ReassignmentReason>,
}

/// A license that moves to the target, with the services that stay switched off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    pub user_id: UserId,
    pub disabled_services: Vec<String>,
}

/// The outcome for every holder of a source license.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReassignmentPlan {
    pub transfers: Vec<Transfer>,
    pub accounts: Vec<AccountToReassign>,
}

/// Plans the licenses of an upgrade from `source` to `target` with `quantity` seats.
pub fn plan(
    source: &Offer,
    target: &Offer,
    upgrade_type: UpgradeType,
    quantity: i64,
    holders: &[LicenseHolder],
) -> ReassignmentPlan {
    let mut ranked: Vec<&LicenseHolder> = holders.iter().collect();
    ranked.sort_by_key(|h| (h.assigned_at, h.user_id));
    let seats = usize::try_from(quantity).unwrap_or(0);
    let mut plan = ReassignmentPlan::default();
    for (rank, holder) in ranked.into_iter().enumerate() {
        let standing = Standing {
            left_over: rank >= seats,
            on_target: false,
        };
        plan.add(
            target,
            holder,
            reasons(source, target, upgrade_type, standing, holder),
        );
    }
    plan
}

/// Plans the licenses of a partial upgrade: each of `movers` moves to `target` unless a reason
/// keeps it on the source (`on_target`: users already licensed on an existing target); the
/// source's other holders stay where they are and are not in the plan.
pub fn plan_movers(
    source: &Offer,
    target: &Offer,
    upgrade_type: UpgradeType,
    movers: &[&LicenseHolder],
    on_target: &BTreeSet<UserId>,
) -> ReassignmentPlan {
    let mut plan = ReassignmentPlan::default();
    for holder in movers {
        let reasons = reasons_to_stay(source, target, upgrade_type, holder, on_target);
        plan.add(target, holder, reasons);
    }
    plan
}

/// Why `holder` cannot move to `target` automatically; empty when it can.
pub fn reasons_to_stay(
    source: &Offer,
    target: &Offer,
    upgrade_type: UpgradeType,
    holder: &LicenseHolder,
    on_target: &BTreeSet<UserId>,
) -> Vec<ReassignmentReason> {
    let standing = Standing {
        left_over: false,
        on_target: on_target.contains(&holder.user_id),
    };
    reasons(source, target, upgrade_type, standing, holder)
}

/// A move down a matrix path at the renewal (new commerce): every holder keeps their license on
/// the subscription; those who lose a service of `source` that was enabled for them, because
/// `target` lacks it, are listed with each service (`service_removed`).
pub fn services_lost(
    source: &Offer,
    target: &Offer,
    holders: &[LicenseHolder],
) -> Vec<AccountToReassign> {
    holders
        .iter()
        .filter_map(|holder| {
            let enabled = source.services.difference(&holder.disabled_services);
            let reasons: Vec<ReassignmentReason> = enabled
                .filter(|s| !target.services.contains(*s))
                .map(|service| ReassignmentReason {
                    code: ReassignmentCode::ServiceRemoved,
                    service: Some(service.clone()),
                    detail: format!(
                        "{} does not include {service}, which the user has from {}.",
                        target.name, source.name
                    ),
                })
                .collect();
            (!reasons.is_empty()).then(|| AccountToReassign {
                user_id: holder.user_id,
                display_name: holder.display_name.clone(),
                email: holder.email.clone(),
                reasons,
            })
        })
        .collect()
}

impl ReassignmentPlan {
    /// The holder is transferred when nothing stands in the way, listed with every reason otherwise.
    fn add(&mut self, target: &Offer, holder: &LicenseHolder, reasons: Vec<ReassignmentReason>) {
        if reasons.is_empty() {
            self.transfers.push(Transfer {
                user_id: holder.user_id,
                disabled_services: holder
                    .disabled_services
                    .intersection(&target.services)
                    .cloned()
                    .collect(),
            });
        } else {
            self.accounts.push(AccountToReassign {
                user_id: holder.user_id,
                display_name: holder.display_name.clone(),
                email: holder.email.clone(),
                reasons,
            });
        }
    }
}

/// Where a holder stands apart from the offers: beyond the target's seats, or already licensed on it.
#[derive(Debug, Clone, Copy)]
struct Standing {
    left_over: bool,
    on_target: bool,
}

fn reasons(
    source: &Offer,
    target: &Offer,
    upgrade_type: UpgradeType,
    standing: Standing,
    holder: &LicenseHolder,
) -> Vec<ReassignmentReason> {
    let mut reasons = Vec::new();
    if upgrade_type == UpgradeType::UpgradeOnly {
        reasons.push(ReassignmentReason {
            code: ReassignmentCode::UpgradeOnlyPath,
            service: None,
            detail: format!(
                "{} to {} is a new subscription: licenses do not move automatically.",
                source.name, target.name
            ),
        });
    }
    if standing.left_over {
        reasons.push(ReassignmentReason {
            code: ReassignmentCode::SeatShortage,
            service: None,
            detail: format!(
                "{} has fewer seats than the source has assigned users; this user was licensed after the ones that fit.",
                target.name
            ),
        });
    }
    if standing.on_target {
        // That license is where the user's target services come from: no other conflict to report.
        reasons.push(already_on_target(source, target));
        return reasons;
    }
    for service in target.services.intersection(&holder.other_services) {
        reasons.push(ReassignmentReason {
            code: ReassignmentCode::ConflictingLicense,
            service: Some(service.clone()),
            detail: format!(
                "The user already has {service} through another license; {} brings it too.",
                target.name
            ),
        });
    }
    let enabled = source.services.difference(&holder.disabled_services);
    for service in enabled.filter(|s| !target.services.contains(*s)) {
        reasons.push(ReassignmentReason {
            code: ReassignmentCode::ServiceRemoved,
            service: Some(service.clone()),
            detail: format!(
                "{} does not include {service}, which the user has from {}.",
                target.name, source.name
            ),
        });
    }
    reasons
}

fn already_on_target(source: &Offer, target: &Offer) -> ReassignmentReason {
    ReassignmentReason {
        code: ReassignmentCode::AlreadyLicensedOnTarget,
        service: None,
        detail: format!(
            "The user already holds a license of this {} subscription; they keep their {} license.",
            target.name, source.name
        ),
    }
}

/// A license of the user from another subscription of the customer, as the services the user has
/// elsewhere are read from it.
#[derive(Debug, Clone, Copy)]
pub struct OtherLicense<'a> {
    pub offer: &'a Offer,
    /// Whether its subscription is active or suspended.
    pub live: bool,
    /// Services of the offer switched off for the user.
    pub disabled: &'a [String],
}

/// The services a user has through other licenses (`LicenseHolder::other_services`): each live
/// license's offer services, less those switched off for the user.
pub fn services_elsewhere<'a>(
    licenses: impl IntoIterator<Item = OtherLicense<'a>>,
) -> BTreeSet<String> {
    licenses
        .into_iter()
        .filter(|license| license.live)
        .flat_map(|license| {
            license
                .offer
                .services
                .iter()
                .filter(|s| !license.disabled.contains(s))
        })
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests;
