//! **Co-terming** (docs/new-commerce.md, "Co-terming"): at purchase, a new-commerce
//! subscription's first term may end on a date of the partner's choosing instead of a full term
//! later, so that a customer's subscriptions renew together. Which dates are allowed, and what the
//! shorter first term's first period is billed.

use chrono::{Datelike, Months, NaiveDate};
use serde::Serialize;
use utoipa::ToSchema;

use super::billing::{self, Billing};
use super::codes::ErrorCode;
use super::ids::SubscriptionId;
use super::plan::Plan;
use super::subscription::first_full_period;

/// Why a term end is allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TermEndReason {
    /// The last day of a calendar month within the first term.
    CalendarMonthEnd,
    /// The term end of an active new-commerce subscription of the customer, with the same term
    /// duration, sold by the partner (`subscriptionId`).
    SubscriptionTermEnd,
}

/// A term end a purchase may ask for, and why.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AllowedTermEnd {
    pub date: NaiveDate,
    pub reason: TermEndReason,
    /// For `subscription_term_end`: the subscription that ends then.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<uuid::Uuid>)]
    pub subscription_id: Option<SubscriptionId>,
}

/// **Allowed term ends** of a first term of `plan` starting on `term_start`: every last day of a
/// calendar month after the start and no later than the full term's end, and the term end, in
/// that range, of each of `anchors` (the customer's active new-commerce subscriptions of the same
/// term duration sold by the partner); by date, then reason.
pub fn allowed_term_ends(
    plan: Plan,
    term_start: NaiveDate,
    anchors: &[(SubscriptionId, NaiveDate)],
) -> Vec<AllowedTermEnd> {
    let full_end = term_start
        .checked_add_months(Months::new(plan.term_duration.months()))
        .unwrap_or(term_start);
    let within = |date: NaiveDate| date > term_start && date <= full_end;
    let mut allowed: Vec<AllowedTermEnd> = month_ends(term_start, full_end)
        .filter(|date| within(*date))
        .map(|date| AllowedTermEnd {
            date,
            reason: TermEndReason::CalendarMonthEnd,
            subscription_id: None,
        })
        .collect();
    allowed.extend(
        anchors
            .iter()
            .filter(|(_, end)| within(*end))
            .map(|(id, end)| AllowedTermEnd {
                date: *end,
                reason: TermEndReason::SubscriptionTermEnd,
                subscription_id: Some(*id),
            }),
    );
    allowed.sort();
    allowed.dedup();
    allowed
}

/// The last day of each calendar month from `from`'s through `to`'s.
fn month_ends(from: NaiveDate, to: NaiveDate) -> impl Iterator<Item = NaiveDate> {
    let first = from.with_day(1).unwrap_or(from);
    (0..)
        .map_while(move |k| first.checked_add_months(Months::new(k)))
        .take_while(move |month| *month <= to)
        .filter_map(|month| {
            month
                .checked_add_months(Months::new(1))
                .and_then(|next| next.pred_opt())
        })
}

/// `customTermEndDate` is not one of the allowed term ends.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{date} is not an allowed term end: a new-commerce first term may end on the last day of a \
     calendar month within it, or on the term end of an active new-commerce subscription of the \
     customer with the same term duration sold by you; allowedDates lists them"
)]
pub struct CustomTermEndNotAllowed {
    pub date: NaiveDate,
    pub allowed: Vec<AllowedTermEnd>,
}

impl CustomTermEndNotAllowed {
    /// The stable code.
    pub fn code(&self) -> ErrorCode {
        ErrorCode::CustomTermEndNotAllowed
    }
}

/// **Only an allowed date** may end a first term.
pub fn check_term_end(
    date: NaiveDate,
    allowed: Vec<AllowedTermEnd>,
) -> Result<(), CustomTermEndNotAllowed> {
    if allowed.iter().any(|a| a.date == date) {
        Ok(())
    } else {
        Err(CustomTermEndNotAllowed { date, allowed })
    }
}

/// **A shorter first term is billed pro rata, daily**: its first billing period runs from
/// `term_start` to the end of the whole period (counted back from `term_end`) it falls in, and is
/// charged that period's price for the days it has: `price × seats × months × days ÷ period days`,
/// rounded half to even. The periods after it are whole ones.
pub fn first_period_bill(
    currency: &str,
    (monthly_unit_price, quantity): (i64, i64),
    plan: Plan,
    (term_start, term_end): (NaiveDate, NaiveDate),
) -> Billing {
    let (full_start, end) = first_full_period(plan, term_start, term_end);
    let whole = billing::full_period(
        currency,
        monthly_unit_price,
        quantity,
        plan.billing_cycle.period_months(),
        (full_start, end),
    );
    let days = (end - term_start).num_days();
    let period_days = whole.period_days.max(1);
    let charge = billing::round_half_even(
        i128::from(whole.charge) * i128::from(days),
        i128::from(period_days),
    );
    let charge = i64::try_from(charge).unwrap_or(i64::MAX);
    Billing {
        charge,
        net: charge,
        effective_date: term_start,
        remaining_days: days,
        ..whole
    }
}

#[cfg(test)]
mod tests;
