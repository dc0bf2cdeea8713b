//! Subscriptions: their states, billing cycles and terms, and the rules a new one must satisfy.

use chrono::{Datelike, Months, NaiveDate};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ErrorCode;
use super::catalog::{Catalog, OfferKind};
pub use super::plan::BillingCycle;
use super::plan::Plan;

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
    /// A legacy subscription replaced by the new-commerce one it moved to: final.
    Migrated,
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
            SubscriptionStatus::Migrated => "migrated",
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
            Self::Migrated,
        ]
        .into_iter()
        .find(|s| s.as_str() == value)
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

super::codes::refusal!(NewSubscriptionError);

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
/// the plan's term duration; without an explicit period, the current period is the one of the term that
/// contains `today` (the first one when the term has not started, the last when it has ended).
pub fn billing_dates(
    plan: Plan,
    term_start: NaiveDate,
    today: NaiveDate,
    requested_period: Option<(NaiveDate, NaiveDate)>,
) -> Result<BillingDates, NewSubscriptionError> {
    let invalid = |m: &str| NewSubscriptionError::InvalidBillingPeriod(m.to_owned());
    let (cycle, term_months) = (plan.billing_cycle, plan.term_duration.months());
    let term_end = term_start
        .checked_add_months(Months::new(term_months))
        .ok_or_else(|| invalid("termStart is out of range"))?;
    let (current_period_start, current_period_end) = match requested_period {
        Some((start, end)) => {
            if end <= start {
                return Err(invalid("currentPeriodEnd must be after currentPeriodStart"));
            }
            if start < term_start || end > term_end {
                return Err(invalid(&format!(
                    "the current period must lie within the term (termStart plus {term_months} \
                     months)"
                )));
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

/// **Co-terming**: a first term from `term_start` to `term_end`, shorter than the plan's (a
/// custom term end). Its billing periods are counted back from `term_end` (each boundary a whole
/// number of periods before it, never chained, so a month-end term end keeps its month ends), so
/// the last period ends on it and the first is the shorter one. The current period is the one
/// containing `today` (the first before the term starts, the last once it has ended).
pub fn shortened_first_term(
    plan: Plan,
    term_start: NaiveDate,
    term_end: NaiveDate,
    today: NaiveDate,
) -> BillingDates {
    let (start, end) = step_back_containing(plan, (term_start, term_end), today);
    BillingDates {
        term_start,
        term_end,
        current_period_start: start.max(term_start),
        current_period_end: end,
    }
}

/// The whole billing period, counted back from `term_end`, that a shortened first term's first
/// day falls in: the term's first period is its part from `term_start`.
pub fn first_full_period(
    plan: Plan,
    term_start: NaiveDate,
    term_end: NaiveDate,
) -> (NaiveDate, NaiveDate) {
    step_back_containing(plan, (term_start, term_end), term_start)
}

/// The period `[end − (k + 1) × period, end − k × period)` that contains `on`, `on` kept within
/// the term.
fn step_back_containing(
    plan: Plan,
    (term_start, term_end): (NaiveDate, NaiveDate),
    on: NaiveDate,
) -> (NaiveDate, NaiveDate) {
    let months = plan.billing_cycle.period_months();
    let boundary = |k: u32| {
        term_end
            .checked_sub_months(Months::new(k.saturating_mul(months)))
            .unwrap_or(NaiveDate::MIN)
    };
    let last_day = term_end.pred_opt().unwrap_or(term_end);
    let on = on.max(term_start).min(last_day);
    let mut k = 0;
    loop {
        let start = boundary(k + 1);
        if on >= start || start == NaiveDate::MIN {
            return (start, boundary(k));
        }
        k += 1;
    }
}

/// The term and billing period a subscription is in on `on`, derived from what is stored (SPEC
/// section 12: periods move with time, terms renew by default). Nothing is written: the stored
/// row stays as it was bought (or last changed), and every read derives from it.
///
/// The rules:
/// - **final keeps stored**: a cancelled or upgraded subscription keeps its stored term and period;
/// - **stored period still runs**: while `on` is before the stored period's end (including any
///   day before the term starts), the stored term and period are current;
/// - **terms renew**: after the stored term, the term containing `on` is one of the steps of the
///   plan's term duration (12 months for a legacy term) from the term's nominal start (its start
///   for a full term; a term duration before its end for the shorter first term of an upgrade's
///   target, which shares its source's term);
/// - **periods step**: the current period is the step of the billing cycle from the nominal start
///   that contains `on`, starting no earlier than the stored period's end (so a synced period
///   that was not on a step is followed by a shorter one, never overlapped);
/// - steps are counted from the nominal start, never chained, so a month-end start clamps in each
///   month (01-31, 02-28, 03-31) and never drifts.
pub fn current_terms(
    plan: Plan,
    stored: BillingDates,
    status: SubscriptionStatus,
    on: NaiveDate,
) -> BillingDates {
    let live = matches!(
        status,
        SubscriptionStatus::Active | SubscriptionStatus::Suspended
    );
    if !live || on < stored.current_period_end {
        return stored;
    }
    let term_months = plan.term_duration.months();
    let nominal = nominal_start(stored.term_start, stored.term_end, term_months);
    let (term_start, term_end) = if on < stored.term_end {
        (stored.term_start, stored.term_end)
    } else {
        step_containing(nominal, term_months, 1, None, on)
    };
    let (period_start, current_period_end) = step_containing(
        nominal,
        plan.billing_cycle.period_months(),
        0,
        Some(term_end),
        on,
    );
    BillingDates {
        term_start,
        term_end,
        current_period_start: period_start.max(stored.current_period_end).max(term_start),
        current_period_end,
    }
}

/// The day the term's steps are counted from: the term start when the term is a full one, else
/// (an upgrade's target, whose first term ends with its source's) a term duration before its end.
fn nominal_start(term_start: NaiveDate, term_end: NaiveDate, term_months: u32) -> NaiveDate {
    let full = term_start.checked_add_months(Months::new(term_months)) == Some(term_end);
    if full {
        term_start
    } else {
        term_end
            .checked_sub_months(Months::new(term_months))
            .map_or(term_start, |d| d.min(term_start))
    }
}

fn period_containing(
    cycle: BillingCycle,
    term_start: NaiveDate,
    term_end: NaiveDate,
    today: NaiveDate,
) -> (NaiveDate, NaiveDate) {
    step_containing(term_start, cycle.period_months(), 0, Some(term_end), today)
}

/// The step `[origin + k × step, origin + (k + 1) × step)` (months; `k >= first`) that contains
/// `on`, or the first one when `on` is before it. With `limit`, boundaries are capped at it and the
/// last step is the one ending there (a period never leaves its term).
fn step_containing(
    origin: NaiveDate,
    step: u32,
    first: u32,
    limit: Option<NaiveDate>,
    on: NaiveDate,
) -> (NaiveDate, NaiveDate) {
    let cap = |d: NaiveDate| limit.map_or(d, |l| d.min(l));
    let boundary = |k: u32| {
        origin
            .checked_add_months(Months::new(k.saturating_mul(step)))
            .map_or_else(|| limit.unwrap_or(NaiveDate::MAX), cap)
    };
    // Start the search a month before `on` (or before the limit's last day), not at the origin.
    let near = limit
        .and_then(|l| l.pred_opt())
        .map_or(on, |last| on.min(last));
    let months_before =
        (near.year() - origin.year()) * 12 + near.month0() as i32 - origin.month0() as i32;
    let mut k = u32::try_from(months_before - 1)
        .map_or(0, |m| m / step)
        .max(first);
    loop {
        let (start, end) = (boundary(k), boundary(k + 1));
        if on < end || limit.is_some_and(|l| end >= l) || end == NaiveDate::MAX {
            return (start, end);
        }
        k += 1;
    }
}

/// Any status the eligibility rules tell apart in property tests: the two live ones and two that
/// are not (test builds only).
#[cfg(test)]
pub(crate) fn any_status() -> impl proptest::strategy::Strategy<Value = SubscriptionStatus> {
    use proptest::prelude::{Just, prop_oneof};
    prop_oneof![
        Just(SubscriptionStatus::Active),
        Just(SubscriptionStatus::Suspended),
        Just(SubscriptionStatus::Cancelled),
        Just(SubscriptionStatus::Upgraded),
    ]
}

#[cfg(test)]
mod terms_tests;
#[cfg(test)]
mod tests;
