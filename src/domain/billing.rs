//! What an upgrade does to the bill (docs/upgrades.md). The article bills an upgrade as
//! cancelling the source and buying the target, so the source's current period is credited and the
//! target is charged over the same remaining days.
//!
//! The rules, after Partner Center's published scenarios:
//! - the upgrade takes effect on `today`, clamped into the source's current period (synced data
//!   whose period has not rolled over yet is billed as on its last day);
//! - remaining days = days from the effective date (inclusive) to the period end (exclusive);
//! - credit: within the first month of a legacy term, the whole period price (a cancellation then
//!   is refunded in full); afterwards, and always under new commerce (**no first-month full
//!   credit**), the period price × remaining days ÷ days in the period;
//! - charge: the target's period price × remaining days ÷ days in the period;
//! - a period price is monthly unit price × seats × the cycle's months (1, 12 or 36); under new
//!   commerce the source's unit price is its locked price and the target's the price in force
//!   today on the source's plan (the caller passes them);
//! - **rounding**: credit and charge are each computed exactly and rounded once, half to even, to
//!   the currency's minor unit; net = charge − credit, so it needs no rounding of its own.
//!
//! Previews and real upgrades call the same function.

use chrono::{Months, NaiveDate};
use serde::Serialize;
use utoipa::ToSchema;

use super::plan::{BillingCycle, Commerce};

/// The inputs of one proration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proration {
    pub commerce: Commerce,
    pub currency: String,
    pub cycle: BillingCycle,
    pub term_start: NaiveDate,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    /// Source seats and monthly price per seat, in minor units.
    pub source_quantity: i64,
    pub source_monthly_unit_price: i64,
    /// Target seats and monthly price per seat, in minor units.
    pub target_quantity: i64,
    pub target_monthly_unit_price: i64,
    pub today: NaiveDate,
}

/// Credit, charge and net of an upgrade, in the currency's minor units.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Billing {
    /// ISO 4217 code of the customer's market.
    pub currency: String,
    /// Credited for the unused part of the source's current period.
    pub credit: i64,
    /// Charged for the target over the same remaining days.
    pub charge: i64,
    /// `charge - credit`; negative when the customer is owed money.
    pub net: i64,
    /// The day the upgrade takes effect.
    pub effective_date: NaiveDate,
    /// The current period's end (exclusive), shared by source and target.
    pub period_end: NaiveDate,
    /// Days from the effective date to the period end.
    pub remaining_days: i64,
    /// Days in the current period.
    pub period_days: i64,
    /// Whether the source is credited in full (upgrade within the first month of its term).
    pub full_credit: bool,
}

/// Prorates an upgrade. See the module documentation for the rules.
pub fn prorate(input: &Proration) -> Billing {
    let Remaining {
        effective_date,
        remaining_days,
        period_days,
    } = remaining(input.period_start, input.period_end, input.today);
    let months = i128::from(input.cycle.period_months());
    let source_period =
        i128::from(input.source_monthly_unit_price) * i128::from(input.source_quantity) * months;
    let target_period =
        i128::from(input.target_monthly_unit_price) * i128::from(input.target_quantity) * months;
    let first_month_ends = input
        .term_start
        .checked_add_months(Months::new(1))
        .unwrap_or(input.term_start);
    let full_credit = input.commerce == Commerce::Legacy && effective_date < first_month_ends;
    let credit = if full_credit {
        source_period
    } else {
        share(source_period, remaining_days, period_days)
    };
    let charge = share(target_period, remaining_days, period_days);
    let credit = saturate(credit);
    let charge = saturate(charge);
    Billing {
        currency: input.currency.clone(),
        credit,
        charge,
        net: charge - credit,
        effective_date,
        period_end: input.period_end,
        remaining_days,
        period_days,
        full_credit,
    }
}

/// Where a change falls in the current period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Remaining {
    /// `today`, clamped into the period.
    pub effective_date: NaiveDate,
    /// Days from the effective date (inclusive) to the period end (exclusive).
    pub remaining_days: i64,
    /// Days in the period (at least 1).
    pub period_days: i64,
}

/// The days of the period `[start, end)` left from `today`.
pub fn remaining(start: NaiveDate, end: NaiveDate, today: NaiveDate) -> Remaining {
    let period_days = (end - start).num_days().max(1);
    let last_day = end.pred_opt().unwrap_or(start).max(start);
    let effective_date = today.clamp(start, last_day);
    Remaining {
        effective_date,
        remaining_days: (end - effective_date).num_days().clamp(0, period_days),
        period_days,
    }
}

/// The bill of a change scheduled for a renewal: no proration, no credit, the offer's whole first
/// period from the renewal (`period`: its start and exclusive end), `quantity` seats at
/// `monthly_unit_price`, `period_months` months.
pub fn full_period(
    currency: &str,
    monthly_unit_price: i64,
    quantity: i64,
    period_months: u32,
    period: (NaiveDate, NaiveDate),
) -> Billing {
    let charge =
        saturate(i128::from(monthly_unit_price) * i128::from(quantity) * i128::from(period_months));
    let days = (period.1 - period.0).num_days();
    Billing {
        currency: currency.to_owned(),
        credit: 0,
        charge,
        net: charge,
        effective_date: period.0,
        period_end: period.1,
        remaining_days: days,
        period_days: days,
        full_credit: false,
    }
}

/// `amount × days ÷ period_days`, rounded half to even.
fn share(amount: i128, days: i64, period_days: i64) -> i128 {
    round_half_even(amount * i128::from(days), i128::from(period_days))
}

/// `numerator ÷ denominator` rounded to the nearest integer, ties to the even one.
pub fn round_half_even(numerator: i128, denominator: i128) -> i128 {
    assert!(denominator > 0, "the denominator is a positive day count");
    let quotient = numerator.div_euclid(denominator);
    let twice_remainder = 2 * numerator.rem_euclid(denominator);
    match twice_remainder.cmp(&denominator) {
        std::cmp::Ordering::Greater => quotient + 1,
        std::cmp::Ordering::Equal => quotient + (quotient & 1),
        std::cmp::Ordering::Less => quotient,
    }
}

/// Amounts are bounded by seat and price limits far below `i64::MAX`; saturate rather than wrap.
fn saturate(amount: i128) -> i64 {
    i64::try_from(amount).unwrap_or(if amount < 0 { i64::MIN } else { i64::MAX })
}

#[cfg(test)]
mod tests;
