//! A change scheduled for a subscription's term end, as answered when scheduled (by a request or
//! a term-end job's item) and when read.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::super::idempotency::StoredAnswer;
use super::super::scheduled::Scheduled;
use crate::domain::billing::Billing;
use crate::domain::catalog::OfferId;
use crate::domain::plan::{BillingCycle, TermDuration};
use crate::domain::reassignment::AccountToReassign;
use crate::domain::records::{ScheduledChange, ScheduledKind};
use crate::domain::{CustomerId, SubscriptionId, UserId};
use crate::error::Error;

/// A change scheduled for the term end (or, for a dry run, the one that would be).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScheduledChangeView {
    /// `null` for a dry run.
    id: Option<Uuid>,
    subscription_id: Uuid,
    kind: ScheduledKind,
    /// For an upgrade or a move down a matrix path: the offer it goes to.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<OfferId>)]
    target_offer_id: Option<String>,
    /// Seats after the change; for a partial upgrade, the seats that move. With `quantityRule`
    /// `assigned`, the licenses assigned now (at least 1): the renewal counts them again.
    quantity: i64,
    /// `fixed`: `quantity` seats; `assigned`: as many seats as licenses are assigned at the
    /// renewal, at least 1.
    quantity_rule: QuantityRule,
    /// For a partial upgrade: the users named to move (absent: the rule picks them).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Uuid>>)]
    users: Option<Vec<UserId>>,
    /// For a partial upgrade: the existing subscription that grows.
    #[serde(skip_serializing_if = "Option::is_none")]
    target_subscription_id: Option<Uuid>,
    /// New commerce: the next term's duration, when the change sets the plan.
    #[serde(skip_serializing_if = "Option::is_none")]
    term_duration: Option<TermDuration>,
    /// New commerce: the next term's billing cycle, when the change sets the plan.
    #[serde(skip_serializing_if = "Option::is_none")]
    billing_cycle: Option<BillingCycle>,
    /// A move down a matrix path: the users who would lose a service, as things stand now (the
    /// renewal lists them again when it applies the change).
    #[serde(skip_serializing_if = "Option::is_none")]
    accounts_to_reassign: Option<Vec<AccountToReassign>>,
    /// The term end it is applied on, with the renewal.
    #[serde(serialize_with = "super::date::iso")]
    effective_date: NaiveDate,
    /// The next term's price per seat per month, in minor units, in force on the renewal day
    /// as the price list stands now (of the target offer and the next plan, when the change sets
    /// them); `null` when not known (a stored change read back, or no price listed).
    #[serde(skip_serializing_if = "Option::is_none")]
    next_term_unit_price: Option<i64>,
    /// The renewal's first period in full, without proration; `null` when a price is unknown.
    billing_preview: Option<Billing>,
    /// `null` for a dry run.
    created_at: Option<DateTime<Utc>>,
    dry_run: bool,
}

/// How a scheduled change's seats are counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum QuantityRule {
    /// The seats sent.
    Fixed,
    /// The licenses assigned at the renewal, at least 1.
    Assigned,
}

impl QuantityRule {
    fn of(assigned: bool) -> Self {
        if assigned {
            QuantityRule::Assigned
        } else {
            QuantityRule::Fixed
        }
    }
}

impl ScheduledChangeView {
    /// The seats the change would have if the renewal were today: `assigned` licenses (at least
    /// 1) when they follow the licenses.
    pub fn as_things_stand(mut self, assigned: i64) -> Self {
        if self.quantity_rule == QuantityRule::Assigned {
            self.quantity = crate::domain::renewal::right_sized(assigned);
        }
        self
    }
}

impl From<Scheduled> for ScheduledChangeView {
    fn from(scheduled: Scheduled) -> Self {
        ScheduledChangeView {
            id: scheduled.change.as_ref().map(|c| c.id.as_uuid()),
            subscription_id: scheduled.subscription_id.into(),
            kind: scheduled.kind,
            target_offer_id: scheduled.target_offer_id,
            quantity: scheduled.quantity,
            quantity_rule: QuantityRule::of(scheduled.quantity_assigned),
            users: scheduled.partial.as_ref().and_then(|p| p.users.clone()),
            target_subscription_id: scheduled
                .partial
                .as_ref()
                .and_then(|p| p.target_subscription_id)
                .map(SubscriptionId::as_uuid),
            term_duration: scheduled.plan.map(|p| p.term_duration),
            billing_cycle: scheduled.plan.map(|p| p.billing_cycle),
            accounts_to_reassign: scheduled.accounts,
            effective_date: scheduled.effective_date,
            next_term_unit_price: scheduled.next_unit_price,
            billing_preview: scheduled.billing,
            created_at: scheduled.change.as_ref().map(|c| c.created_at),
            dry_run: scheduled.change.is_none(),
        }
    }
}

impl ScheduledChangeView {
    /// A stored scheduled change of a subscription whose term ends on `term_end`.
    pub fn of(term_end: NaiveDate, change: ScheduledChange) -> Self {
        ScheduledChangeView {
            id: Some(change.id.as_uuid()),
            subscription_id: change.subscription_id.into(),
            kind: change.kind,
            target_offer_id: change.target_offer_id,
            quantity: i64::from(change.quantity),
            quantity_rule: QuantityRule::of(change.quantity_assigned),
            users: change.users,
            target_subscription_id: change.target_subscription_id.map(SubscriptionId::as_uuid),
            term_duration: change.term_duration,
            billing_cycle: change.billing_cycle,
            accounts_to_reassign: None,
            effective_date: term_end,
            next_term_unit_price: None,
            billing_preview: None,
            created_at: Some(change.created_at),
            dry_run: false,
        }
    }
}

/// A scheduled change is created (201) at its location; a dry run is answered 200.
pub fn answer(
    customer_id: CustomerId,
    subscription_id: SubscriptionId,
    scheduled: Scheduled,
) -> Result<StoredAnswer, Error> {
    let dry_run = scheduled.change.is_none();
    let body =
        serde_json::to_vec(&ScheduledChangeView::from(scheduled)).map_err(Error::internal)?;
    Ok(if dry_run {
        StoredAnswer::new(200, body)
    } else {
        StoredAnswer::new(201, body).with_location(format!(
            "/v1/customers/{customer_id}/subscriptions/{subscription_id}/scheduled-change"
        ))
    })
}
