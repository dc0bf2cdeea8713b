//! **Migration from legacy** (docs/migrations.md): a legacy subscription moves to new commerce,
//! replaced by a new-commerce subscription of the same offer on the plan the partner chooses.
//! Who may move, and what the move now is billed.

use chrono::NaiveDate;

use super::billing::{self, Billing, Proration};
use super::codes::ErrorCode;
use super::plan::{BillingCycle, Commerce};
use super::subscription::SubscriptionStatus;

/// Why a subscription cannot move to new commerce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MigrationRefusal {
    #[error("only a legacy subscription moves to new commerce; this one is already new commerce")]
    NotLegacy,
    #[error("only an active subscription moves to new commerce; this one is {}", .0.as_str())]
    NotActive(SubscriptionStatus),
}

impl MigrationRefusal {
    /// The stable code.
    pub fn code(&self) -> ErrorCode {
        match self {
            MigrationRefusal::NotLegacy => ErrorCode::MigrationNotAllowed,
            MigrationRefusal::NotActive(_) => ErrorCode::SubscriptionNotActive,
        }
    }
}

super::codes::refusal!(MigrationRefusal);

/// **Only an active legacy subscription migrates**: a new-commerce one has nothing to move to,
/// and a suspended, cancelled, upgraded, expired or migrated one is not live to move.
pub fn check_migration(
    commerce: Commerce,
    status: SubscriptionStatus,
) -> Result<(), MigrationRefusal> {
    if commerce != Commerce::Legacy {
        Err(MigrationRefusal::NotLegacy)
    } else if status != SubscriptionStatus::Active {
        Err(MigrationRefusal::NotActive(status))
    } else {
        Ok(())
    }
}

/// The legacy subscription a migration ends, as billing sees it.
#[derive(Debug, Clone)]
pub struct LegacySource {
    pub cycle: BillingCycle,
    pub term_start: NaiveDate,
    /// Its current period `[start, end)`.
    pub period: (NaiveDate, NaiveDate),
    pub quantity: i64,
    pub monthly_unit_price: i64,
}

/// The new-commerce subscription that replaces it, from `first_period` (its first day and the
/// exclusive end of its first billing period).
#[derive(Debug, Clone)]
pub struct NewCommerceTarget {
    pub quantity: i64,
    /// The price in force on its first day, per seat per month.
    pub monthly_unit_price: i64,
    pub period_months: u32,
    pub first_period: (NaiveDate, NaiveDate),
}

/// **A migration now is billed as an upgrade is, by each side's own rules**: the legacy source
/// is credited under the legacy rules (in full within the first month of its term, otherwise
/// daily over the unused days of its current period), and the new-commerce subscription, whose
/// term starts that day, is charged its first billing period in full at the price in force that
/// day.
pub fn bill(
    currency: &str,
    source: &LegacySource,
    target: &NewCommerceTarget,
    today: NaiveDate,
) -> Billing {
    let credit = billing::prorate(&Proration {
        commerce: Commerce::Legacy,
        currency: currency.to_owned(),
        cycle: source.cycle,
        term_start: source.term_start,
        period_start: source.period.0,
        period_end: source.period.1,
        source_quantity: source.quantity,
        source_monthly_unit_price: source.monthly_unit_price,
        target_quantity: 0,
        target_monthly_unit_price: 0,
        today,
    });
    let charge = billing::full_period(
        currency,
        target.monthly_unit_price,
        target.quantity,
        target.period_months,
        target.first_period,
    )
    .charge;
    Billing {
        charge,
        net: charge - credit.credit,
        ..credit
    }
}

#[cfg(test)]
mod tests;
