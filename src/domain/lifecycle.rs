//! Changing a subscription after purchase (docs/subscriptions.md): its status as a
//! state machine, its seats within the caps, and what a seat change does to the bill.

use super::ErrorCode;
use super::billing::{Billing, Remaining, remaining, round_half_even};
use super::catalog::{Catalog, Offer};
use super::subscription::{BillingCycle, MAX_QUANTITY, SubscriptionStatus};

/// Why a status change is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} {from} subscription cannot become {to}", article(.from.as_str()), from = .from.as_str(), to = .to.as_str())]
pub struct InvalidTransition {
    pub from: SubscriptionStatus,
    pub to: SubscriptionStatus,
}

/// "a" or "an", as the status that follows is spoken.
fn article(word: &str) -> &'static str {
    if word.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

/// The state machine: `active` ↔ `suspended`, either → `cancelled`; `cancelled` and `upgraded`
/// are final, and only an upgrade makes a subscription `upgraded`. Asking for the current status
/// is allowed and changes nothing.
pub fn transition(
    from: SubscriptionStatus,
    to: SubscriptionStatus,
) -> Result<(), InvalidTransition> {
    use SubscriptionStatus::{Active, Cancelled, Suspended};
    let allowed = from == to && matches!(from, Active | Suspended | Cancelled)
        || matches!(
            (from, to),
            (Active, Suspended) | (Suspended, Active) | (Active | Suspended, Cancelled)
        );
    if allowed {
        Ok(())
    } else {
        Err(InvalidTransition { from, to })
    }
}

/// Why a new quantity is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuantityError {
    #[error("only an active subscription can change seats; this one is {}", .0.as_str())]
    NotActive(SubscriptionStatus),
    #[error("quantity must be between 1 and {MAX_QUANTITY}")]
    OutOfRange,
    #[error("{0}")]
    SeatLimitExceeded(String),
    #[error("{assigned} licenses are assigned; unassign some before going below {assigned} seats")]
    BelowAssigned { assigned: i64 },
    #[error(
        "an active add-on has {add_on_seats} seats; lower or cancel it before going below {add_on_seats} seats"
    )]
    BelowAddOn { add_on_seats: i64 },
}

impl QuantityError {
    /// The stable problem code.
    pub fn code(&self) -> ErrorCode {
        match self {
            QuantityError::NotActive(_) => ErrorCode::SubscriptionNotActive,
            QuantityError::OutOfRange => ErrorCode::InvalidQuantity,
            QuantityError::SeatLimitExceeded(_) => ErrorCode::SeatLimitExceeded,
            QuantityError::BelowAssigned { .. } => ErrorCode::QuantityBelowAssignedLicenses,
            QuantityError::BelowAddOn { .. } => ErrorCode::QuantityBelowAddOnQuantity,
        }
    }
}

super::codes::refusal!(QuantityError);

/// What a seat change is checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeatChange<'a> {
    pub offer: &'a Offer,
    pub status: SubscriptionStatus,
    pub quantity: i64,
    /// Licenses assigned from the subscription.
    pub assigned: i64,
    /// Seats of the offer's family in the customer's other live subscriptions, every channel.
    pub family_seats_elsewhere: i64,
    /// The largest quantity among the subscription's active add-ons (0 without any).
    pub add_on_seats: i64,
}

/// Checks a new quantity: the subscription is active; 1 ≤ quantity ≤ the service maximum and
/// the offer's own cap; the family's cap counts the customer's other live subscriptions of the
/// family; never fewer seats than assigned licenses, nor than an active add-on has.
pub fn check_quantity(catalog: &Catalog, change: &SeatChange<'_>) -> Result<(), QuantityError> {
    if change.status != SubscriptionStatus::Active {
        return Err(QuantityError::NotActive(change.status));
    }
    if !(1..=MAX_QUANTITY).contains(&change.quantity) {
        return Err(QuantityError::OutOfRange);
    }
    let offer = change.offer;
    if let Some(cap) = offer.seat_cap
        && change.quantity > i64::from(cap)
    {
        return Err(QuantityError::SeatLimitExceeded(format!(
            "{} allows at most {cap} seats per subscription.",
            offer.name
        )));
    }
    let family = offer.family_id.as_deref().and_then(|f| catalog.family(f));
    if let Some((family, cap)) = family.and_then(|f| Some((f, f.seat_cap?)))
        && change.family_seats_elsewhere + change.quantity > i64::from(cap)
    {
        return Err(QuantityError::SeatLimitExceeded(format!(
            "{} allows at most {cap} seats per customer across its plans; the customer holds {} in other subscriptions.",
            family.name, change.family_seats_elsewhere
        )));
    }
    if change.quantity < change.assigned {
        return Err(QuantityError::BelowAssigned {
            assigned: change.assigned,
        });
    }
    if change.quantity < change.add_on_seats {
        return Err(QuantityError::BelowAddOn {
            add_on_seats: change.add_on_seats,
        });
    }
    Ok(())
}

/// The inputs of a seat change's billing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeatProration {
    pub currency: String,
    pub cycle: BillingCycle,
    pub period_start: chrono::NaiveDate,
    pub period_end: chrono::NaiveDate,
    pub monthly_unit_price: i64,
    pub old_quantity: i64,
    pub new_quantity: i64,
    pub today: chrono::NaiveDate,
}

/// Added seats are charged, removed seats credited, for the days left in the current period
/// (from today, clamped into the period, to its end), rounded once half to even as for upgrades.
pub fn prorate_seats(input: &SeatProration) -> Billing {
    let Remaining {
        effective_date,
        remaining_days,
        period_days,
    } = remaining(input.period_start, input.period_end, input.today);
    let delta = i128::from(input.new_quantity) - i128::from(input.old_quantity);
    let amount = round_half_even(
        i128::from(input.monthly_unit_price)
            * delta.abs()
            * i128::from(input.cycle.period_months())
            * i128::from(remaining_days),
        i128::from(period_days),
    );
    let amount = i64::try_from(amount).unwrap_or(i64::MAX);
    let (charge, credit) = if delta >= 0 { (amount, 0) } else { (0, amount) };
    Billing {
        currency: input.currency.clone(),
        credit,
        charge,
        net: charge - credit,
        effective_date,
        period_end: input.period_end,
        remaining_days,
        period_days,
        full_credit: false,
    }
}

#[cfg(test)]
mod tests;
