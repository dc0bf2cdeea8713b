//! The pure core: types and rules of the product, with no I/O, no async and no framework.

pub mod add_on;
pub mod billing;
pub mod catalog;
pub mod codes;
pub mod commerce;
pub mod coterm;
pub mod eligibility;
pub mod ids;
pub mod input;
pub mod job;
pub mod lifecycle;
pub mod migration;
pub mod partial;
pub mod pipeline;
pub mod plan;
pub mod policy;
pub mod price_book;
pub mod reassignment;
pub mod recommendation;
pub mod records;
pub mod renewal;
pub mod subscription;
pub mod upgrade;
pub mod webhook;

pub use catalog::{Catalog, Market, Offer, OfferFamily, OfferKind, UpgradePath, UpgradeType};
pub use codes::ErrorCode;
pub use ids::{
    AddOnId, CustomerId, JobId, PartnerId, ScheduledChangeId, SubscriptionId, UpgradeId, UserId,
    WebhookEndpointId,
};
pub use policy::{Operation, Role};
