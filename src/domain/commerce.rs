//! New commerce (docs/new-commerce.md; the plans sold are [`super::plan`]): dated prices and the
//! price a subscription locks, the 168-hour cancellation windows, and the money of a seat
//! reduction, a cancellation and a longer term. Legacy subscriptions keep the rules of
//! [`super::billing`] and [`super::lifecycle`]; nothing here applies to them.
//!
//! The rules, after Partner Center's published policies:
//! - **monthly-term premium**: a P1M term's price per seat per month is 20 % above the P1Y one,
//!   rounded half to even to the minor unit;
//! - **price in force**: of a dated price list, the latest entry that took effect on or before
//!   the day;
//! - **windows**: a purchase, each renewal and each seat increase open a window of 168 hours for
//!   the seats they added; a window is open while its end is in the future;
//! - **latest windows first**: a seat reduction takes its seats from the windows opened last, and
//!   may remove at most the seats of open windows;
//! - **inherited windows**: seats a partial upgrade moves out take their open windows (those
//!   closing last) to the subscription it creates, which opens none of its own;
//! - **cancellation window**: cancelling needs the purchase (or renewal) window still open;
//! - **daily refund**: seats removed (or a subscription cancelled) inside their window are
//!   refunded over the unused days of the paid period, from today inclusive, rounded once, half
//!   to even;
//! - **existing target's term**: under new commerce an upgrade into an existing subscription
//!   needs that subscription's term at least as long as the source's (`target_term_shorter`) and
//!   ending no earlier (`target_ends_before_source`), both reported when both fail;
//! - **longer terms only**: mid-term a plan may only change to a longer term (P1M → P1Y → P3Y),
//!   keeping its billing cycle when the new term sells it, else taking the longest cycle it does.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::billing::{Billing, remaining, round_half_even};
use super::codes::ErrorCode;
use super::eligibility::{Failure, FailureCode};
use super::plan::{BillingCycle, PLANS, Plan, TermDuration};

/// **Monthly-term premium**: a P1M term's price per seat per month from the P1Y one, 20 % above
/// it, rounded half to even to the minor unit.
pub fn monthly_term_price(annual_term_price: i64) -> i64 {
    i64::try_from(round_half_even(i128::from(annual_term_price) * 6, 5)).unwrap_or(i64::MAX)
}

/// One entry of a dated price list: the price per seat per month that takes effect on a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DatedPrice {
    pub effective_from: NaiveDate,
    pub monthly_unit_price: i64,
}

/// **Price in force**: the price of the latest entry that took effect on or before `on`; `None`
/// before the first one.
pub fn price_in_force(prices: &[DatedPrice], on: NaiveDate) -> Option<i64> {
    prices
        .iter()
        .filter(|p| p.effective_from <= on)
        .max_by_key(|p| p.effective_from)
        .map(|p| p.monthly_unit_price)
}

/// How long a purchase, a renewal or a seat increase may be undone with a refund.
pub const CANCELLATION_WINDOW: Duration = Duration::hours(168);

/// Seats that can still be removed for a refund, until `allowed_until`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SeatWindow {
    pub quantity: i64,
    pub allowed_until: DateTime<Utc>,
}

impl SeatWindow {
    /// **Windows**: the window `quantity` seats added at `opened_at` open.
    pub fn opened(quantity: i64, opened_at: DateTime<Utc>) -> Self {
        SeatWindow {
            quantity,
            allowed_until: opened_at + CANCELLATION_WINDOW,
        }
    }

    /// Whether the window is still open at `now`.
    pub fn is_open(&self, now: DateTime<Utc>) -> bool {
        now < self.allowed_until
    }
}

/// A subscription's seat windows, as stored with it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SeatWindows(pub Vec<SeatWindow>);

/// The windows still open at `now`, the one closing first first (`refundableQuantity`).
pub fn refundable(windows: &[SeatWindow], now: DateTime<Utc>) -> Vec<SeatWindow> {
    let mut open: Vec<SeatWindow> = windows
        .iter()
        .copied()
        .filter(|w| w.is_open(now) && w.quantity > 0)
        .collect();
    open.sort_by_key(|w| w.allowed_until);
    open
}

/// A seat reduction beyond the seats of the open windows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "Under new commerce seats can only be removed within 168 hours of being added: {refundable} \
     of the {quantity} seats still can, so the subscription can go down to {lowest} seats now. \
     Schedule the seat change for the renewal instead."
)]
pub struct SeatReductionNotAllowed {
    pub quantity: i64,
    pub refundable: i64,
    pub lowest: i64,
}

impl SeatReductionNotAllowed {
    pub fn code(&self) -> ErrorCode {
        ErrorCode::SeatReductionNotAllowed
    }
}

super::codes::refusal!(SeatReductionNotAllowed);

/// **Latest windows first**: the open windows left after going from `quantity` seats down to
/// `new_quantity` at `now`, or the refusal when the seats removed are more than those of the open
/// windows. Closed windows are dropped.
pub fn reduce_seats(
    windows: &[SeatWindow],
    now: DateTime<Utc>,
    quantity: i64,
    new_quantity: i64,
) -> Result<Vec<SeatWindow>, SeatReductionNotAllowed> {
    let mut open = refundable(windows, now);
    let refundable: i64 = open.iter().map(|w| w.quantity).sum::<i64>().min(quantity);
    let mut removing = quantity - new_quantity;
    if removing > refundable {
        return Err(SeatReductionNotAllowed {
            quantity,
            refundable,
            lowest: (quantity - refundable).max(1),
        });
    }
    while removing > 0 {
        let Some(latest) = open.last_mut() else { break };
        let taken = latest.quantity.min(removing);
        latest.quantity -= taken;
        removing -= taken;
        if latest.quantity == 0 {
            open.pop();
        }
    }
    Ok(open)
}

/// The open windows of a subscription left with `quantity` seats after seats left it without a
/// refund (moved by a partial upgrade): the seats that left are taken from the windows closing
/// last, so the refundable seats never exceed the seats there are.
pub fn cap_windows(windows: &[SeatWindow], now: DateTime<Utc>, quantity: i64) -> Vec<SeatWindow> {
    let mut open = refundable(windows, now);
    let mut excess = open.iter().map(|w| w.quantity).sum::<i64>() - quantity.max(0);
    while excess > 0 {
        let Some(latest) = open.last_mut() else { break };
        let taken = latest.quantity.min(excess);
        latest.quantity -= taken;
        excess -= taken;
        if latest.quantity == 0 {
            open.pop();
        }
    }
    open
}

/// **Inherited windows**: seats moved out of a subscription that is left with `quantity` seats
/// take their windows with them: the open windows split into those left (`cap_windows`) and
/// those taken, which the subscription a partial upgrade creates inherits (it gets no window of
/// its own).
pub fn split_windows(
    windows: &[SeatWindow],
    now: DateTime<Utc>,
    quantity: i64,
) -> (Vec<SeatWindow>, Vec<SeatWindow>) {
    let left = cap_windows(windows, now, quantity);
    let taken = refundable(windows, now)
        .into_iter()
        .filter_map(|open| {
            let kept: i64 = left
                .iter()
                .filter(|w| w.allowed_until == open.allowed_until)
                .map(|w| w.quantity)
                .sum();
            let quantity = open.quantity - kept;
            (quantity > 0).then_some(SeatWindow { quantity, ..open })
        })
        .collect();
    (left, taken)
}

/// A cancellation after the purchase (or renewal) window closed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "Under new commerce a subscription can only be cancelled within 168 hours of its purchase or \
     renewal{}. Turn autoRenew off so that it ends with its term instead.",
    closed_at.map(|at| format!("; this one's window closed at {}", at.to_rfc3339())).unwrap_or_default()
)]
pub struct CancellationWindowClosed {
    pub closed_at: Option<DateTime<Utc>>,
}

impl CancellationWindowClosed {
    pub fn code(&self) -> ErrorCode {
        ErrorCode::CancellationWindowClosed
    }
}

super::codes::refusal!(CancellationWindowClosed);

/// **Cancellation window**: cancelling at `now` needs the purchase or renewal window
/// (`cancellation_allowed_until`) still open.
pub fn check_cancellation(
    cancellation_allowed_until: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(), CancellationWindowClosed> {
    match cancellation_allowed_until {
        Some(until) if now < until => Ok(()),
        closed_at => Err(CancellationWindowClosed { closed_at }),
    }
}

/// `cancellationAllowedUntil` as shown: the purchase or renewal window's end while it is open.
pub fn cancellation_allowed_until(
    window_end: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    window_end.filter(|until| now < *until)
}

/// What is paid for: `seats` at `monthly_unit_price` for the paid period `[start, end)` billed
/// every `cycle`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaidPeriod<'a> {
    pub currency: &'a str,
    pub cycle: BillingCycle,
    pub monthly_unit_price: i64,
    pub period: (NaiveDate, NaiveDate),
}

/// **Daily refund**: the credit for `seats` removed on `today` (a seat reduction inside its
/// window, or a cancellation with every seat): their period price over the unused days of the
/// paid period, from `today` inclusive, rounded once, half to even.
pub fn refund(paid: &PaidPeriod<'_>, seats: i64, today: NaiveDate) -> Billing {
    let left = remaining(paid.period.0, paid.period.1, today);
    let period_price = i128::from(paid.monthly_unit_price)
        * i128::from(seats)
        * i128::from(paid.cycle.period_months());
    let credit = round_half_even(
        period_price * i128::from(left.remaining_days),
        i128::from(left.period_days),
    );
    let credit = i64::try_from(credit).unwrap_or(i64::MAX);
    Billing {
        currency: paid.currency.to_owned(),
        credit,
        charge: 0,
        net: -credit,
        effective_date: left.effective_date,
        period_end: paid.period.1,
        remaining_days: left.remaining_days,
        period_days: left.period_days,
        full_credit: false,
    }
}

/// **Longer terms only**, the bill: a new term starts on `today`; the unused days of the paid
/// period are credited daily at the locked price ([`refund`]), and the new plan's first period is
/// charged in full: `seats` at `new_price` for `new_cycle`'s months.
pub fn extend_term(
    paid: &PaidPeriod<'_>,
    seats: i64,
    today: NaiveDate,
    (new_price, new_cycle): (i64, BillingCycle),
) -> Billing {
    let credited = refund(paid, seats, today);
    let charge = i128::from(new_price) * i128::from(seats) * i128::from(new_cycle.period_months());
    let charge = i64::try_from(charge).unwrap_or(i64::MAX);
    Billing {
        charge,
        net: charge - credited.credit,
        ..credited
    }
}

/// A plan change refused mid-term.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "Mid-term a term can only get longer ({} to {}); {from} cannot become {}. Schedule the plan \
     change for the renewal instead.",
    TermDuration::P1M.as_str(), TermDuration::P3Y.as_str(), to.as_str()
)]
pub struct PlanChangeNotAllowed {
    pub from: Plan,
    pub to: TermDuration,
}

impl PlanChangeNotAllowed {
    pub fn code(&self) -> ErrorCode {
        ErrorCode::PlanChangeNotAllowed
    }
}

super::codes::refusal!(PlanChangeNotAllowed);

/// **Longer terms only**: the plan `current` becomes when its term changes to `term` now; the
/// billing cycle stays when the new term sells it, else it is the longest cycle the term sells.
pub fn change_term(current: Plan, term: TermDuration) -> Result<Plan, PlanChangeNotAllowed> {
    if term <= current.term_duration {
        return Err(PlanChangeNotAllowed {
            from: current,
            to: term,
        });
    }
    let sold = |cycle| PLANS.contains(&Plan::new(term, cycle));
    let cycle = if sold(current.billing_cycle) {
        current.billing_cycle
    } else {
        PLANS
            .iter()
            .rev()
            .find(|p| p.term_duration == term)
            .map_or(BillingCycle::Monthly, |p| p.billing_cycle)
    };
    Ok(Plan::new(term, cycle))
}

/// A subscription's term as the existing-target rule sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Term {
    pub duration: TermDuration,
    pub end: NaiveDate,
}

/// **Existing target's term**: every condition that keeps `source`'s seats from moving into the
/// existing subscription `target` under new commerce; empty when none fails.
pub fn existing_target_failures(source: Term, target: Term) -> Vec<Failure> {
    let mut failures = Vec::new();
    if target.duration < source.duration {
        failures.push(Failure {
            code: FailureCode::TargetTermShorter,
            message: format!(
                "The subscription to grow has a {} term, shorter than the source's {}.",
                target.duration.as_str(),
                source.duration.as_str()
            ),
            remedy: "Grow a subscription of the target offer whose term is at least as long, \
                     or upgrade to a new subscription.",
        });
    }
    if target.end < source.end {
        failures.push(Failure {
            code: FailureCode::TargetEndsBeforeSource,
            message: format!(
                "The subscription to grow ends on {}, before the source's term end {}.",
                target.end, source.end
            ),
            remedy: "Grow a subscription of the target offer that ends no earlier, or upgrade \
                     to a new subscription.",
        });
    }
    failures
}

#[cfg(test)]
mod tests;
