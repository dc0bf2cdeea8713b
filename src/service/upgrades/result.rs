//! An upgrade's answer, as sent and as stored: what a whole upgrade, a partial one and the
//! writes of both fill in. Below them all, so none of them reaches back up for it.

use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::billing::Billing;
use crate::domain::catalog::{BaseOfferId, OfferId};
use crate::domain::reassignment::AccountToReassign;
use crate::domain::records::Subscription;
use crate::domain::upgrade::EligibleUpgrade;
use crate::domain::{UpgradeId, UpgradeType, UserId};

/// The result of an upgrade, as answered and as stored.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpgradeResult {
    /// `null` for a dry run.
    #[schema(value_type = Option<Uuid>)]
    pub upgrade_id: Option<UpgradeId>,
    pub source_subscription_id: Uuid,
    /// `null` for a dry run.
    pub target_subscription_id: Option<Uuid>,
    #[schema(value_type = BaseOfferId)]
    pub source_offer_id: String,
    #[schema(value_type = OfferId)]
    pub target_offer_id: String,
    pub upgrade_type: UpgradeType,
    /// Seats the target gains: all of its seats for a whole upgrade, the seats moved for a
    /// partial one.
    pub quantity: i64,
    /// How many users' licenses moved to the target.
    pub transferred_users: usize,
    /// The users whose licenses moved to the target.
    #[schema(value_type = Vec<Uuid>)]
    pub transferred_user_ids: Vec<UserId>,
    /// Accounts the partner must reassign by hand, with every reason.
    pub accounts_requiring_reassignment: Vec<AccountToReassign>,
    /// `null` only when the catalog has no price for an offer in the customer's market.
    pub billing: Option<Billing>,
    /// The seats of both subscriptions after a partial upgrade; `null` for a whole one.
    pub partial: Option<PartialResult>,
    pub dry_run: bool,
}

/// The seats of both subscriptions after a partial upgrade.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PartialResult {
    /// Seats moved from the source to the target.
    pub seats_moved: i64,
    /// The source's seats after the upgrade.
    pub source_quantity: i64,
    /// The target's seats after the upgrade.
    pub target_quantity: i64,
    /// Whether the target existed (and grew) rather than being created.
    pub target_existed: bool,
}

/// The answer of upgrading `source` as `upgrade` says, before anything is written: no upgrade
/// or target id yet, not a dry run, whole.
pub(super) fn result_of(source: &Subscription, upgrade: &EligibleUpgrade) -> UpgradeResult {
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
