//! Subscriptions: their states, billing cycles and terms, and the rules a new one must satisfy.

use chrono::{Months, NaiveDate};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ErrorCode;
use super::catalog::{Catalog, OfferKind};

/// Where a subscription is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SubscriptionStatus {
    Active,
    Suspended,
    Cancelled,
    /// Replaced by the subscription it was upgraded to.
    Upgraded,
    /// Its term ended without a renewal (auto-renew off, or suspended at the term end): final.
    Expired,
}

impl SubscriptionStatus {
    /// The database name.
    pub fn as_str(self) -> &'static str {
        match self {
            SubscriptionStatus::Active => "active",
            SubscriptionStatus::Suspended => "suspended",
            SubscriptionStatus::Cancelled => "cancelled",
            SubscriptionStatus::Upgraded => "upgraded",
            SubscriptionStatus::Expired => "expired",
        }
    }

    /// Parses the database name.
    pub fn parse(value: &str) -> Option<Self> {
        [
            Self::Active,
            Self::Suspended,
            Self::Cancelled,
            Self::Upgraded,
            Self::Expired,
        ]
        .into_iter()
        .find(|s| s.as_str() == value)
    }
}

/// How often the subscription is billed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BillingCycle {
    Monthly,
    Annual,
}

impl BillingCycle {
    /// The database name.
    pub fn as_str(self) -> &'static str {
        match self {
            BillingCycle::Monthly => "monthly",
            BillingCycle::Annual => "annual",
        }
    }

    /// Parses the database name.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "monthly" => Some(BillingCycle::Monthly),
            "annual" => Some(BillingCycle::Annual),
            _ => None,
        }
    }

    /// Months in one billing period.
    pub fn period_months(self) -> u32 {
        match self {
            BillingCycle::Monthly => 1,
            BillingCycle::Annual => 12,
        }
    }
}

/// Who sold the subscription: the partner itself, or another partner or channel (multichannel).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Partner,
    Other,
}

impl Channel {
    /// The database name.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Partner => "partner",
            Channel::Other => "other",
        }
    }

    /// Parses the database name.
    pub fn parse(value: &str) -> Option<Self> {
        [Channel::Partner, Channel::Other]
            .into_iter()
            .find(|c| c.as_str() == value)
    }
}

/// Most seats any subscription may have, whatever the offer: far above any real tenant, and
/// within the database's integer column.
pub const MAX_QUANTITY: i64 = 1_000_000;

/// Every subscription is a one-year commitment (the common New Commerce term), billed monthly
/// or annually within it.
pub const TERM_MONTHS: u32 = 12;

/// A subscription's term and current billing period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BillingDates {
    pub term_start: NaiveDate,
    pub term_end: NaiveDate,
    pub current_period_start: NaiveDate,
    pub current_period_end: NaiveDate,
}

/// Why a new subscription cannot be recorded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NewSubscriptionError {
    #[error("offer {0:?} is not in the catalog")]
    UnknownOffer(String),
    #[error("offer {0:?} is an add-on; buy it through the base subscription's add-ons")]
    OfferIsAddOn(String),
    #[error("offer {offer:?} is not sold in market {market}")]
    NotSoldInMarket { offer: String, market: String },
    #[error("quantity must be between 1 and {MAX_QUANTITY}")]
    InvalidQuantity,
    #[error("{0}")]
    SeatLimitExceeded(String),
    #[error("{0}")]
    InvalidBillingPeriod(String),
}

impl NewSubscriptionError {
    /// The stable problem code.
    pub fn code(&self) -> ErrorCode {
        match self {
            NewSubscriptionError::UnknownOffer(_) => ErrorCode::UnknownOffer,
            NewSubscriptionError::OfferIsAddOn(_) => ErrorCode::OfferIsAddOn,
            NewSubscriptionError::NotSoldInMarket { .. } => ErrorCode::OfferNotSoldInMarket,
            NewSubscriptionError::InvalidQuantity => ErrorCode::InvalidQuantity,
            NewSubscriptionError::SeatLimitExceeded(_) => ErrorCode::SeatLimitExceeded,
            NewSubscriptionError::InvalidBillingPeriod(_) => ErrorCode::InvalidBillingPeriod,
        }
    }
}

/// Checks that `quantity` seats of `offer_id` may be sold to a customer in `market` who already
/// holds `family_seats_held` seats in the offer's family: the offer is a base offer sold there, and
/// both the offer's own cap and the family's shared cap hold.
pub fn check_new(
    catalog: &Catalog,
    market: &str,
    offer_id: &str,
    quantity: i64,
    family_seats_held: i64,
) -> Result<(), NewSubscriptionError> {
    let offer = catalog
        .offer(offer_id)
        .ok_or_else(|| NewSubscriptionError::UnknownOffer(offer_id.to_owned()))?;
    if offer.kind == OfferKind::AddOn {
        return Err(NewSubscriptionError::OfferIsAddOn(offer_id.to_owned()));
    }
    if !offer.is_sold_in(market) {
        return Err(NewSubscriptionError::NotSoldInMarket {
            offer: offer_id.to_owned(),
            market: market.to_owned(),
        });
    }
    if !(1..=MAX_QUANTITY).contains(&quantity) {
        return Err(NewSubscriptionError::InvalidQuantity);
    }
    if let Some(cap) = offer.seat_cap
        && quantity > i64::from(cap)
    {
        return Err(NewSubscriptionError::SeatLimitExceeded(format!(
            "{} allows at most {cap} seats per subscription",
            offer.name
        )));
    }
    let family = offer.family_id.as_deref().and_then(|f| catalog.family(f));
    if let Some((family, cap)) = family.and_then(|f| Some((f, f.seat_cap?)))
        && family_seats_held + quantity > i64::from(cap)
    {
        return Err(NewSubscriptionError::SeatLimitExceeded(format!(
            "{} allows at most {cap} seats per customer across its plans; the customer already holds {family_seats_held}",
            family.name
        )));
    }
    Ok(())
}

/// The term and current period of a new subscription. The term starts on `term_start` and lasts
/// [`TERM_MONTHS`]; without an explicit period, the current period is the one of the term that
/// contains `today` (the first one when the term has not started, the last when it has ended).
pub fn billing_dates(
    cycle: BillingCycle,
    term_start: NaiveDate,
    today: NaiveDate,
    requested_period: Option<(NaiveDate, NaiveDate)>,
) -> Result<BillingDates, NewSubscriptionError> {
    let invalid = |m: &str| NewSubscriptionError::InvalidBillingPeriod(m.to_owned());
    let term_end = term_start
        .checked_add_months(Months::new(TERM_MONTHS))
        .ok_or_else(|| invalid("termStart is out of range"))?;
    let (current_period_start, current_period_end) = match requested_period {
        Some((start, end)) => {
            if end <= start {
                return Err(invalid("currentPeriodEnd must be after currentPeriodStart"));
            }
            if start < term_start || end > term_end {
                return Err(invalid(
                    "the current period must lie within the term (termStart plus 12 months)",
                ));
            }
            (start, end)
        }
        None => period_containing(cycle, term_start, term_end, today),
    };
    Ok(BillingDates {
        term_start,
        term_end,
        current_period_start,
        current_period_end,
    })
}

fn period_containing(
    cycle: BillingCycle,
    term_start: NaiveDate,
    term_end: NaiveDate,
    today: NaiveDate,
) -> (NaiveDate, NaiveDate) {
    let step = cycle.period_months();
    let boundary = |k: u32| {
        term_start
            .checked_add_months(Months::new(k * step))
            .map_or(term_end, |d| d.min(term_end))
    };
    let mut k = 0;
    loop {
        let (start, end) = (boundary(k), boundary(k + 1));
        if today < end || end >= term_end {
            return (start, end);
        }
        k += 1;
    }
}

#[cfg(test)]
mod tests;
