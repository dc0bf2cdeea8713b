//! Add-ons on a base subscription (docs/subscriptions.md): which add-on attaches to
//! which base offer, how many of it, and how an add-on changes once bought.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ErrorCode;
use super::catalog::{Catalog, Offer, OfferKind};
use super::subscription::{MAX_QUANTITY, SubscriptionStatus};

/// Where an add-on is in its life: bought, then possibly cancelled (final).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AddOnStatus {
    Active,
    Cancelled,
}

impl AddOnStatus {
    /// The database name.
    pub fn as_str(self) -> &'static str {
        match self {
            AddOnStatus::Active => "active",
            AddOnStatus::Cancelled => "cancelled",
        }
    }

    /// Parses the database name.
    pub fn parse(value: &str) -> Option<Self> {
        [Self::Active, Self::Cancelled]
            .into_iter()
            .find(|s| s.as_str() == value)
    }
}

/// Why an add-on purchase or change is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddOnError {
    #[error("offer {0:?} is not in the catalog")]
    UnknownOffer(String),
    #[error("quantity must be between 1 and {MAX_QUANTITY}")]
    InvalidQuantity,
    #[error("offer {0:?} is not an add-on; buy it as a subscription")]
    NotAnAddOn(String),
    #[error("add-ons can be bought or changed only on an active subscription; this one is {}", .0.as_str())]
    BaseNotActive(SubscriptionStatus),
    #[error("offer {offer:?} is not sold in market {market}")]
    NotSoldInMarket { offer: String, market: String },
    #[error("{add_on} does not attach to {base}; it attaches to: {allowed}")]
    NotAttachable {
        add_on: String,
        base: String,
        allowed: String,
    },
    #[error(
        "an add-on cannot have more seats than its base subscription: {quantity} asked, the subscription has {base}"
    )]
    ExceedsBase { quantity: i64, base: i64 },
    #[error(
        "the subscription already has an active {0} add-on; change its quantity instead of buying another"
    )]
    AlreadyActive(String),
    #[error("the add-on is cancelled; a cancelled add-on cannot change (buy a new one)")]
    NotActive,
}

impl AddOnError {
    /// The stable problem code.
    pub fn code(&self) -> ErrorCode {
        match self {
            AddOnError::UnknownOffer(_) => ErrorCode::UnknownOffer,
            AddOnError::InvalidQuantity => ErrorCode::InvalidQuantity,
            AddOnError::NotAnAddOn(_) => ErrorCode::OfferNotAddOn,
            AddOnError::BaseNotActive(_) => ErrorCode::SubscriptionNotActive,
            AddOnError::NotSoldInMarket { .. } => ErrorCode::OfferNotSoldInMarket,
            AddOnError::NotAttachable { .. } => ErrorCode::AddOnNotAttachable,
            AddOnError::ExceedsBase { .. } => ErrorCode::AddOnQuantityExceedsBase,
            AddOnError::AlreadyActive(_) => ErrorCode::AddOnAlreadyActive,
            AddOnError::NotActive => ErrorCode::AddOnNotActive,
        }
    }
}

super::codes::refusal!(AddOnError);

/// The base subscription an add-on is bought for or belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Base<'a> {
    pub offer_id: &'a str,
    pub status: SubscriptionStatus,
    pub quantity: i64,
    /// The customer's market.
    pub market: &'a str,
}

/// Checks a purchase of `quantity` seats of add-on `add_on_id` for `base`, which already has the
/// active add-ons `active` (offer ids): the offer is a known add-on sold in the customer's market
/// that the catalog attaches to the base offer; the base is active; 1 ≤ quantity ≤ the base's
/// seats; and the base has no active add-on of the same offer. Answers the add-on's offer.
pub fn check_purchase<'c>(
    catalog: &'c Catalog,
    base: &Base<'_>,
    add_on_id: &str,
    quantity: i64,
    active: &[String],
) -> Result<&'c Offer, AddOnError> {
    let offer = catalog
        .offer(add_on_id)
        .ok_or_else(|| AddOnError::UnknownOffer(add_on_id.to_owned()))?;
    if !(1..=MAX_QUANTITY).contains(&quantity) {
        return Err(AddOnError::InvalidQuantity);
    }
    if offer.kind != OfferKind::AddOn {
        return Err(AddOnError::NotAnAddOn(add_on_id.to_owned()));
    }
    if base.status != SubscriptionStatus::Active {
        return Err(AddOnError::BaseNotActive(base.status));
    }
    if !offer.is_sold_in(base.market) {
        return Err(AddOnError::NotSoldInMarket {
            offer: add_on_id.to_owned(),
            market: base.market.to_owned(),
        });
    }
    if !offer.attaches_to.contains(base.offer_id) {
        let allowed: Vec<&str> = offer.attaches_to.iter().map(String::as_str).collect();
        return Err(AddOnError::NotAttachable {
            add_on: offer.name.clone(),
            base: base.offer_id.to_owned(),
            allowed: allowed.join(", "),
        });
    }
    if quantity > base.quantity {
        return Err(AddOnError::ExceedsBase {
            quantity,
            base: base.quantity,
        });
    }
    if active.iter().any(|id| id == add_on_id) {
        return Err(AddOnError::AlreadyActive(offer.name.clone()));
    }
    Ok(offer)
}

/// One change to a bought add-on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddOnChange {
    Quantity(i64),
    Status(AddOnStatus),
}

/// Checks a change to an add-on in `status` on `base`. A new quantity needs an active add-on on
/// an active base and stays within 1 and the base's seats. Cancelling is always allowed (also on
/// a suspended base), and asking for the current status changes nothing; a cancelled add-on
/// never becomes active again.
pub fn check_change(
    base: &Base<'_>,
    status: AddOnStatus,
    change: AddOnChange,
) -> Result<(), AddOnError> {
    match change {
        AddOnChange::Status(to) if to == status || to == AddOnStatus::Cancelled => Ok(()),
        AddOnChange::Status(_) => Err(AddOnError::NotActive),
        AddOnChange::Quantity(quantity) => {
            if !(1..=MAX_QUANTITY).contains(&quantity) {
                return Err(AddOnError::InvalidQuantity);
            }
            if status != AddOnStatus::Active {
                return Err(AddOnError::NotActive);
            }
            if base.status != SubscriptionStatus::Active {
                return Err(AddOnError::BaseNotActive(base.status));
            }
            if quantity > base.quantity {
                return Err(AddOnError::ExceedsBase {
                    quantity,
                    base: base.quantity,
                });
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests;
