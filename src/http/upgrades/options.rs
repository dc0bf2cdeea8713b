//! How the listing shows each target: the whole upgrade with the subscription's quantity, and
//! whether a partial one is possible.

use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::billing::Billing;
use crate::domain::catalog::BaseOfferId;
use crate::domain::eligibility::Failure;
use crate::domain::reassignment::AccountToReassign;
use crate::domain::{ErrorCode, SubscriptionId, UpgradeType};
use crate::service::upgrades::{self, PartialOption};

/// One target of the subscription's upgrade paths, evaluated with the subscription's quantity.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpgradeOption {
    #[schema(value_type = BaseOfferId)]
    target_offer_id: String,
    target_offer_name: Option<String>,
    upgrade_type: Option<UpgradeType>,
    /// Whether the upgrade may go ahead now.
    eligible: bool,
    /// Seats the preview assumes (the subscription's own).
    quantity: i64,
    /// Every failing condition; empty when eligible.
    failures: Vec<Failure>,
    /// What the upgrade would do to the bill; `null` when an offer has no price in the market.
    billing_preview: Option<Billing>,
    /// Users whose licenses would move automatically.
    transferred_users: usize,
    /// Accounts that would need their licenses reassigned, with every reason.
    accounts_requiring_reassignment: Vec<AccountToReassign>,
    /// Whether part of the seats could move to this target instead.
    partial_upgrade: PartialUpgradeOption,
}

/// Whether a partial upgrade to the target is possible now: moving one seat (the rule picking the
/// user), into the partner's existing subscription of the target offer when it has one.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PartialUpgradeOption {
    possible: bool,
    /// The partner's subscription of the target offer that would grow (send it as
    /// `targetSubscriptionId`); `null` when a new one would be created.
    target_subscription_id: Option<Uuid>,
    /// Every failing condition; empty when possible (or when `refusal` says why not).
    failures: Vec<Failure>,
    /// Why a partial upgrade request would be refused before its conditions, if it would.
    refusal: Option<PartialRefusalView>,
}

/// A refusal's stable code and what a person reads.
#[derive(Debug, Serialize, ToSchema)]
pub struct PartialRefusalView {
    code: ErrorCode,
    detail: String,
}

impl From<PartialOption> for PartialUpgradeOption {
    fn from(option: PartialOption) -> Self {
        let (failures, refusal) = match option.outcome {
            Ok(failures) => (failures, None),
            Err(refusal) => (
                Vec::new(),
                Some(PartialRefusalView {
                    code: refusal.code(),
                    detail: refusal.to_string(),
                }),
            ),
        };
        PartialUpgradeOption {
            possible: failures.is_empty() && refusal.is_none(),
            target_subscription_id: option.into.map(SubscriptionId::as_uuid),
            failures,
            refusal,
        }
    }
}

impl From<upgrades::UpgradeOption> for UpgradeOption {
    fn from(option: upgrades::UpgradeOption) -> Self {
        let evaluation = option.whole;
        let eligible = evaluation.eligible();
        let plan = evaluation.reassignment.unwrap_or_default();
        UpgradeOption {
            target_offer_id: evaluation.target_offer_id,
            target_offer_name: evaluation.target_offer_name,
            upgrade_type: evaluation.upgrade_type,
            eligible,
            quantity: evaluation.quantity,
            failures: evaluation.failures,
            billing_preview: evaluation.billing,
            transferred_users: plan.transfers.len(),
            accounts_requiring_reassignment: plan.accounts,
            partial_upgrade: option.partial.into(),
        }
    }
}
