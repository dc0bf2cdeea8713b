//! What is known about a customer and what it bought, as persistence stores it and the services
//! hand it on: the read models every layer shares. Plain data; the rules live beside them.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::add_on::AddOnStatus;
use super::commerce::SeatWindows;
use super::ids::{
    AddOnId, CustomerId, PartnerId, ScheduledChangeId, SubscriptionId, UpgradeId, UserId,
    WebhookEndpointId,
};
use super::plan::{Commerce, Plan, TermDuration};
use super::subscription::{self, BillingCycle, BillingDates, Channel, SubscriptionStatus};

/// A customer of a partner.
#[derive(Debug, Clone)]
pub struct Customer {
    pub id: CustomerId,
    pub name: String,
    pub market_code: String,
    pub created_at: DateTime<Utc>,
}

/// The recorded status of a delegated admin relationship.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RelationshipStatus {
    Active,
    Expired,
    Terminated,
}

impl RelationshipStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            RelationshipStatus::Active => "active",
            RelationshipStatus::Expired => "expired",
            RelationshipStatus::Terminated => "terminated",
        }
    }

    /// Parses the stored name.
    pub fn parse(value: &str) -> Option<Self> {
        [Self::Active, Self::Expired, Self::Terminated]
            .into_iter()
            .find(|s| s.as_str() == value)
    }
}

/// A delegated admin relationship (GDAP-like) of a partner with a customer.
#[derive(Debug, Clone)]
pub struct DelegatedAdminRelationship {
    pub id: Uuid,
    pub customer_id: CustomerId,
    pub partner_id: PartnerId,
    pub status: RelationshipStatus,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// Grants every service; `services` is then empty.
    pub all_services: bool,
    pub services: Vec<String>,
    pub created_at: DateTime<Utc>,
}

/// A user account in a customer's directory.
#[derive(Debug, Clone)]
pub struct User {
    pub id: UserId,
    pub customer_id: CustomerId,
    pub display_name: String,
    pub email: String,
    pub created_at: DateTime<Utc>,
}

/// A subscription of a customer, of any channel.
#[derive(Debug, Clone, Deserialize)]
pub struct Subscription {
    pub id: SubscriptionId,
    pub customer_id: CustomerId,
    pub offer_id: String,
    pub channel: Channel,
    /// The partner that sold it (channel `partner` only).
    pub partner_id: Option<PartnerId>,
    pub quantity: i32,
    pub status: SubscriptionStatus,
    pub billing_cycle: BillingCycle,
    pub term_start: NaiveDate,
    pub term_end: NaiveDate,
    pub current_period_start: NaiveDate,
    pub current_period_end: NaiveDate,
    pub upgraded_to_id: Option<SubscriptionId>,
    pub upgraded_from_id: Option<SubscriptionId>,
    /// Bumped by every change; the `ETag` is made of it.
    pub version: i64,
    /// Whether the subscription renews at its term end (otherwise it expires).
    pub auto_renew: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub commerce: Commerce,
    pub term_duration: TermDuration,
    /// New commerce: the price per seat per month locked for the term (minor units).
    #[serde(rename = "unit_price_minor")]
    pub unit_price: Option<i64>,
    /// New commerce: when the purchase's (or last renewal's) cancellation window closes.
    pub cancellation_window_ends_at: Option<DateTime<Utc>>,
    /// New commerce: the seats refundable when the row was last written.
    pub seat_windows: SeatWindows,
    /// The legacy subscription this one replaced when it moved to new commerce.
    pub migrated_from_id: Option<SubscriptionId>,
}

impl Subscription {
    /// Its billing plan.
    pub fn plan(&self) -> Plan {
        Plan::new(self.term_duration, self.billing_cycle)
    }

    /// The subscription's entity tag (its `ETag`): it changes with every write to it.
    pub fn entity_tag(&self) -> String {
        format!("\"{}-{}\"", self.id.as_uuid().simple(), self.version)
    }

    /// Its term and current billing period.
    pub fn dates(&self) -> BillingDates {
        BillingDates {
            term_start: self.term_start,
            term_end: self.term_end,
            current_period_start: self.current_period_start,
            current_period_end: self.current_period_end,
        }
    }

    /// The subscription as it is on `on`: its term and billing period are the ones containing
    /// that day ([`subscription::current_terms`]); everything else, the version and so the entity
    /// tag included, is as stored.
    /// A subscription that does not auto-renew never moves past its term: until the renewal
    /// worker expires it, it stays in the term's last period.
    pub fn as_of(mut self, on: NaiveDate) -> Self {
        let on = match self.term_end.pred_opt() {
            Some(last_day) if !self.auto_renew => on.min(last_day),
            _ => on,
        };
        let current = subscription::current_terms(self.plan(), self.dates(), self.status, on);
        self.term_start = current.term_start;
        self.term_end = current.term_end;
        self.current_period_start = current.current_period_start;
        self.current_period_end = current.current_period_end;
        self
    }
}

/// A change's condition (`If-Match`): it goes ahead only while the subscription is as the caller
/// last saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Precondition {
    /// `*`: the subscription exists.
    Any,
    /// One of these entity tags (strong comparison).
    Tags(Vec<String>),
}

impl Precondition {
    /// Whether the subscription, as it is now, satisfies the condition.
    pub fn holds(&self, subscription: &Subscription) -> bool {
        match self {
            Precondition::Any => true,
            Precondition::Tags(tags) => tags.contains(&subscription.entity_tag()),
        }
    }
}

/// A user's license from a subscription.
#[derive(Debug, Clone)]
pub struct LicenseAssignment {
    pub subscription_id: SubscriptionId,
    pub user_id: UserId,
    pub display_name: String,
    pub email: String,
    pub disabled_services: Vec<String>,
    pub assigned_at: DateTime<Utc>,
}

/// An add-on bought on a subscription.
#[derive(Debug, Clone)]
pub struct AddOn {
    pub id: AddOnId,
    pub customer_id: CustomerId,
    pub subscription_id: SubscriptionId,
    pub offer_id: String,
    pub quantity: i32,
    pub status: AddOnStatus,
    pub created_at: DateTime<Utc>,
    pub cancelled_at: Option<DateTime<Utc>>,
}

/// What kind of change a history entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// A purchase, a synced subscription, or an upgrade's target.
    Created,
    Upgrade,
    /// Part of the seats moved to another subscription (on the source and on the target).
    PartialUpgrade,
    QuantityChange,
    StatusChange,
    AddOnPurchase,
    AddOnQuantityChange,
    AddOnCancel,
    /// `autoRenew` switched on or off.
    AutoRenewChange,
    /// A new term started at the end of the last one.
    Renewal,
    /// The term ended without a renewal.
    Expiry,
    /// An upgrade or a seat change was scheduled for the term end.
    ChangeScheduled,
    /// The scheduled change was undone, or cancelled by an immediate change (the reason says).
    ScheduledChangeCancelled,
    /// The scheduled change was applied with the renewal.
    ScheduledChangeApplied,
    /// The scheduled change was no longer allowed at the term end; the subscription renewed as
    /// it was.
    ScheduledChangeFailed,
    /// New commerce: a longer term started now (`termDuration`, `billingCycle`, price).
    PlanChange,
    /// A legacy subscription moved to new commerce (on the legacy one, now `migrated`, and on
    /// its replacement).
    Migration,
}

impl ChangeKind {
    /// Every kind.
    pub const ALL: [ChangeKind; 17] = [
        ChangeKind::Created,
        ChangeKind::Upgrade,
        ChangeKind::PartialUpgrade,
        ChangeKind::QuantityChange,
        ChangeKind::StatusChange,
        ChangeKind::AddOnPurchase,
        ChangeKind::AddOnQuantityChange,
        ChangeKind::AddOnCancel,
        ChangeKind::AutoRenewChange,
        ChangeKind::Renewal,
        ChangeKind::Expiry,
        ChangeKind::ChangeScheduled,
        ChangeKind::ScheduledChangeCancelled,
        ChangeKind::ScheduledChangeApplied,
        ChangeKind::ScheduledChangeFailed,
        ChangeKind::PlanChange,
        ChangeKind::Migration,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Created => "created",
            ChangeKind::Upgrade => "upgrade",
            ChangeKind::PartialUpgrade => "partial_upgrade",
            ChangeKind::QuantityChange => "quantity_change",
            ChangeKind::StatusChange => "status_change",
            ChangeKind::AddOnPurchase => "add_on_purchase",
            ChangeKind::AddOnQuantityChange => "add_on_quantity_change",
            ChangeKind::AddOnCancel => "add_on_cancel",
            ChangeKind::AutoRenewChange => "auto_renew_change",
            ChangeKind::Renewal => "renewal",
            ChangeKind::Expiry => "expiry",
            ChangeKind::ChangeScheduled => "change_scheduled",
            ChangeKind::ScheduledChangeCancelled => "scheduled_change_cancelled",
            ChangeKind::ScheduledChangeApplied => "scheduled_change_applied",
            ChangeKind::ScheduledChangeFailed => "scheduled_change_failed",
            ChangeKind::PlanChange => "plan_change",
            ChangeKind::Migration => "migration",
        }
    }

    /// Parses the stored name.
    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == value)
    }
}

/// One recorded change to a subscription.
#[derive(Debug, Clone)]
pub struct HistoryEntry {
    pub id: Uuid,
    pub subscription_id: SubscriptionId,
    pub change_kind: ChangeKind,
    pub before_state: Option<serde_json::Value>,
    pub after_state: Option<serde_json::Value>,
    pub actor_user_id: String,
    pub actor_roles: Vec<String>,
    pub request_id: String,
    pub occurred_at: DateTime<Utc>,
}

/// A performed upgrade, with the answer given to the caller.
#[derive(Debug, Clone)]
pub struct PerformedUpgrade {
    pub id: UpgradeId,
    pub customer_id: CustomerId,
    pub partner_id: PartnerId,
    pub source_subscription_id: SubscriptionId,
    pub target_subscription_id: SubscriptionId,
    /// Whether part of the source's seats moved (the source stayed active).
    pub partial: bool,
    /// Seats the target gained: all of its seats for a whole upgrade.
    pub quantity: i32,
    pub result: serde_json::Value,
    pub actor_user_id: String,
    pub actor_roles: Vec<String>,
    pub request_id: String,
    pub performed_at: DateTime<Utc>,
}

/// Whether an endpoint is sent its events. A disabled one still collects them, to be sent once
/// it is enabled again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EndpointStatus {
    Enabled,
    Disabled,
}

impl EndpointStatus {
    /// The database name.
    pub fn as_str(self) -> &'static str {
        match self {
            EndpointStatus::Enabled => "enabled",
            EndpointStatus::Disabled => "disabled",
        }
    }

    /// Parses the database name.
    pub fn parse(value: &str) -> Option<Self> {
        [Self::Enabled, Self::Disabled]
            .into_iter()
            .find(|s| s.as_str() == value)
    }
}

/// What a scheduled change does at the term end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ScheduledKind {
    /// Upgrade to `targetOfferId` with the renewal.
    Upgrade,
    /// Move `quantity` seats to `targetOfferId` right after the renewal.
    PartialUpgrade,
    /// New commerce: renew as `targetOfferId`, an offer with an upgrade path to this one, with
    /// `quantity` seats; the subscription and its licenses stay, and users who lose a service are
    /// listed.
    Downgrade,
    /// Renew with `quantity` seats (and, new commerce, on `termDuration` and `billingCycle`).
    Quantity,
    /// A legacy subscription: replaced at its term end by a new-commerce one of the same offer,
    /// on `termDuration` and `billingCycle`, with `quantity` seats.
    Migration,
}

impl ScheduledKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ScheduledKind::Upgrade => "upgrade",
            ScheduledKind::PartialUpgrade => "partial_upgrade",
            ScheduledKind::Downgrade => "downgrade",
            ScheduledKind::Quantity => "quantity",
            ScheduledKind::Migration => "migration",
        }
    }

    /// Parses the stored name.
    pub fn parse(value: &str) -> Option<Self> {
        [
            Self::Upgrade,
            Self::PartialUpgrade,
            Self::Downgrade,
            Self::Quantity,
            Self::Migration,
        ]
        .into_iter()
        .find(|k| k.as_str() == value)
    }
}

/// An upgrade or seat change scheduled for a subscription's term end (at most one).
#[derive(Debug, Clone)]
pub struct ScheduledChange {
    pub id: ScheduledChangeId,
    pub subscription_id: SubscriptionId,
    pub kind: ScheduledKind,
    /// For an upgrade: the offer it goes to.
    pub target_offer_id: Option<String>,
    /// Seats after the change (for an upgrade, the target's; for a partial one, the seats moved).
    pub quantity: i32,
    /// For a partial upgrade: the users named to move (`None`: the rule picks them).
    pub users: Option<Vec<UserId>>,
    /// For a partial upgrade: the existing subscription to grow.
    pub target_subscription_id: Option<SubscriptionId>,
    pub created_at: DateTime<Utc>,
    /// New commerce, a seat change: the next term's plan, when it changes (both set, or neither).
    pub term_duration: Option<TermDuration>,
    pub billing_cycle: Option<BillingCycle>,
    /// The seats are the licenses assigned at the renewal, at least 1 (`quantity` holds the
    /// count when the change was scheduled).
    pub quantity_assigned: bool,
}

impl ScheduledChange {
    /// The next term's plan, when the change sets one.
    pub fn plan(&self) -> Option<Plan> {
        Some(Plan::new(self.term_duration?, self.billing_cycle?))
    }
}

/// A partner's webhook endpoint (its secret stays in the database).
#[derive(Debug, Clone)]
pub struct WebhookEndpoint {
    pub id: WebhookEndpointId,
    pub url: String,
    pub events: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub status: EndpointStatus,
    pub disabled_reason: Option<String>,
    pub disabled_at: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests;
