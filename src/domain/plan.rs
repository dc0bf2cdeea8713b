//! A subscription's billing plan: under which commerce rules it is billed, its term duration
//! and billing cycle, and which plans are sold (docs/new-commerce.md). Plain types every rule
//! reads; the rules themselves are in [`super::commerce`], [`super::billing`] and
//! [`super::subscription`].

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::codes::ErrorCode;

/// Under which commerce rules a subscription is billed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Commerce {
    /// New commerce: the default for every purchase.
    New,
    /// License-based commerce, as subscriptions bought before new commerce were billed.
    Legacy,
}

impl Commerce {
    /// The database name.
    pub fn as_str(self) -> &'static str {
        match self {
            Commerce::New => "new",
            Commerce::Legacy => "legacy",
        }
    }

    /// Parses the database name.
    pub fn parse(value: &str) -> Option<Self> {
        [Commerce::New, Commerce::Legacy]
            .into_iter()
            .find(|c| c.as_str() == value)
    }
}

/// How long a subscription's term lasts (ISO 8601 durations, as Partner Center names them).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
pub enum TermDuration {
    /// One month.
    P1M,
    /// One year.
    P1Y,
    /// Three years.
    P3Y,
}

impl TermDuration {
    /// Every duration, shortest first.
    pub const ALL: [TermDuration; 3] = [TermDuration::P1M, TermDuration::P1Y, TermDuration::P3Y];

    /// The database (and wire) name.
    pub fn as_str(self) -> &'static str {
        match self {
            TermDuration::P1M => "P1M",
            TermDuration::P1Y => "P1Y",
            TermDuration::P3Y => "P3Y",
        }
    }

    /// Parses the database name.
    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == value)
    }

    /// Months in one term.
    pub fn months(self) -> u32 {
        match self {
            TermDuration::P1M => 1,
            TermDuration::P1Y => 12,
            TermDuration::P3Y => 36,
        }
    }
}

/// A billing plan: a term and how often it is billed.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    pub term_duration: TermDuration,
    pub billing_cycle: BillingCycle,
}

impl Plan {
    pub const fn new(term_duration: TermDuration, billing_cycle: BillingCycle) -> Self {
        Plan {
            term_duration,
            billing_cycle,
        }
    }
}

impl std::fmt::Display for Plan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} billed {}",
            self.term_duration.as_str(),
            self.billing_cycle.as_str()
        )
    }
}

/// Every plan sold, shortest term first.
pub const PLANS: [Plan; 6] = [
    Plan::new(TermDuration::P1M, BillingCycle::Monthly),
    Plan::new(TermDuration::P1Y, BillingCycle::Monthly),
    Plan::new(TermDuration::P1Y, BillingCycle::Annual),
    Plan::new(TermDuration::P3Y, BillingCycle::Monthly),
    Plan::new(TermDuration::P3Y, BillingCycle::Annual),
    Plan::new(TermDuration::P3Y, BillingCycle::Triennial),
];

/// A term and cycle that are not sold together.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{plan} is not sold; the plans sold are {}", plans_sold())]
pub struct PlanNotSold {
    pub plan: Plan,
}

impl PlanNotSold {
    pub fn code(&self) -> ErrorCode {
        ErrorCode::InvalidPlan
    }
}

super::codes::refusal!(PlanNotSold);

/// The plans sold, as a person reads them.
pub fn plans_sold() -> String {
    PLANS.map(|p| p.to_string()).join(", ")
}

/// **Plans sold** (P1M monthly; P1Y monthly or annual; P3Y monthly, annual or triennial): `term` billed every `cycle`, when that plan is sold.
pub fn check_plan(term: TermDuration, cycle: BillingCycle) -> Result<Plan, PlanNotSold> {
    let plan = Plan::new(term, cycle);
    if PLANS.contains(&plan) {
        Ok(plan)
    } else {
        Err(PlanNotSold { plan })
    }
}

/// How often the subscription is billed.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum BillingCycle {
    Monthly,
    Annual,
    /// Every three years: a P3Y new-commerce term only.
    Triennial,
}

impl BillingCycle {
    /// The database name.
    pub fn as_str(self) -> &'static str {
        match self {
            BillingCycle::Monthly => "monthly",
            BillingCycle::Annual => "annual",
            BillingCycle::Triennial => "triennial",
        }
    }

    /// Parses the database name.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "monthly" => Some(BillingCycle::Monthly),
            "annual" => Some(BillingCycle::Annual),
            "triennial" => Some(BillingCycle::Triennial),
            _ => None,
        }
    }

    /// Months in one billing period.
    pub fn period_months(self) -> u32 {
        match self {
            BillingCycle::Monthly => 1,
            BillingCycle::Annual => 12,
            BillingCycle::Triennial => 36,
        }
    }
}

/// A dated price list as loaded: from `effectiveFrom`, each listed offer's price per seat per
/// month in a market on a plan.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PriceList {
    pub effective_from: chrono::NaiveDate,
    pub prices: Vec<ListedPrice>,
}

/// One price of a [`PriceList`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListedPrice {
    pub offer_id: String,
    pub market: String,
    pub term_duration: TermDuration,
    pub billing_cycle: BillingCycle,
    /// In the market's minor units.
    pub monthly_unit_price: i64,
}

/// Why a price list cannot be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PriceListError {
    #[error("prices[{0}]: {1}")]
    PlanNotSold(usize, PlanNotSold),
    #[error("prices[{0}]: a price is at least 0 and at most 100,000,000 minor units")]
    PriceOutOfRange(usize),
    #[error("prices[{0}]: the same offer, market and plan is listed twice")]
    Duplicate(usize),
}

/// Checks a price list: every plan sold, every price in range, each offer, market and plan once.
/// (Whether each offer is sold in each market is the catalog's to say, when it is stored.)
pub fn check_price_list(list: &PriceList) -> Result<(), PriceListError> {
    let mut seen = std::collections::BTreeSet::new();
    for (n, price) in list.prices.iter().enumerate() {
        check_plan(price.term_duration, price.billing_cycle)
            .map_err(|e| PriceListError::PlanNotSold(n, e))?;
        if !(0..=100_000_000).contains(&price.monthly_unit_price) {
            return Err(PriceListError::PriceOutOfRange(n));
        }
        let key = (
            price.offer_id.as_str(),
            price.market.as_str(),
            price.term_duration,
            price.billing_cycle,
        );
        if !seen.insert(key) {
            return Err(PriceListError::Duplicate(n));
        }
    }
    Ok(())
}

/// A price in force: an offer's price per seat per month in a market on a plan, and the day it
/// took effect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanPrice {
    pub offer_id: String,
    pub market_code: String,
    pub term_duration: TermDuration,
    pub billing_cycle: BillingCycle,
    pub effective_from: chrono::NaiveDate,
    pub monthly_unit_price: i64,
}
