//! What happens at a term's end (docs/subscriptions.md, "Renewals"): an active subscription with `autoRenew` on
//! starts a new term of the same length, with the billing period of that term that contains the
//! day it is renewed; one with `autoRenew` off, or suspended at its term end, expires (final).
//! Cancelled, upgraded and expired subscriptions have no term end any more.

use chrono::NaiveDate;

use super::ErrorCode;
use super::catalog::Catalog;
use super::plan::{Commerce, Plan};
use super::subscription::{BillingDates, SubscriptionStatus, billing_dates};

/// The outcome of a term's end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TermEnd {
    /// A new term starts where the last one ended.
    Renew(BillingDates),
    /// The subscription becomes `expired`: no new term.
    Expire,
}

/// What a subscription's term end does, on `today` (on or after the term end); `None` when the
/// subscription has no term to end (cancelled, upgraded, expired) or its term has not ended yet.
pub fn at_term_end(
    status: SubscriptionStatus,
    auto_renew: bool,
    plan: Plan,
    term_end: NaiveDate,
    today: NaiveDate,
) -> Option<TermEnd> {
    if today < term_end {
        return None;
    }
    match status {
        SubscriptionStatus::Active if auto_renew => {
            // The new term starts where the last ended; its period is the one containing today
            // (or its first, when the renewal is late by more than a term: the next pass
            // renews again, one term at a time).
            billing_dates(plan, term_end, today, None)
                .ok()
                .map(TermEnd::Renew)
        }
        SubscriptionStatus::Active | SubscriptionStatus::Suspended => Some(TermEnd::Expire),
        SubscriptionStatus::Cancelled
        | SubscriptionStatus::Upgraded
        | SubscriptionStatus::Expired
        | SubscriptionStatus::Migrated => None,
    }
}

/// Why nothing can be scheduled for the subscription's term end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleRefusal {
    #[error("only an active subscription can schedule a change; this one is {}", .0.as_str())]
    NotActive(SubscriptionStatus),
    #[error("auto-renewal is off, so the term end brings no renewal to apply a change with")]
    AutoRenewOff,
    #[error("the subscription already has a scheduled change; undo it first")]
    AlreadyScheduled,
}

impl ScheduleRefusal {
    /// The stable code.
    pub fn code(&self) -> ErrorCode {
        match self {
            ScheduleRefusal::NotActive(_) => ErrorCode::SubscriptionNotActive,
            ScheduleRefusal::AutoRenewOff => ErrorCode::AutoRenewOff,
            ScheduleRefusal::AlreadyScheduled => ErrorCode::ScheduledChangeExists,
        }
    }
}

super::codes::refusal!(ScheduleRefusal);

/// Whether a change can be scheduled for the term end: the subscription is active, renews, and
/// has no scheduled change yet (the change itself is then checked as if made now).
pub fn check_schedulable(
    status: SubscriptionStatus,
    auto_renew: bool,
    already_scheduled: bool,
) -> Result<(), ScheduleRefusal> {
    if status != SubscriptionStatus::Active {
        Err(ScheduleRefusal::NotActive(status))
    } else if !auto_renew {
        Err(ScheduleRefusal::AutoRenewOff)
    } else if already_scheduled {
        Err(ScheduleRefusal::AlreadyScheduled)
    } else {
        Ok(())
    }
}

/// Which way a next-term instruction naming an offer moves the subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfferMove {
    /// Along one of the source's paths (or nowhere allowed: the upgrade's conditions say why).
    Upgrade,
    /// **Down a matrix path** (new commerce, at the renewal only): to an offer that lists the
    /// subscription's offer among its upgrade sources.
    Downgrade,
}

/// Whether moving from `source` to `target` at the renewal is a move down a matrix path: only
/// under new commerce, and only when it is not also an upgrade path.
pub fn offer_move(catalog: &Catalog, commerce: Commerce, source: &str, target: &str) -> OfferMove {
    let down = catalog.path(target, source).is_some() && catalog.path(source, target).is_none();
    if down && commerce == Commerce::New {
        OfferMove::Downgrade
    } else {
        OfferMove::Upgrade
    }
}

/// **Right-sizing at the renewal** (`quantity: "assigned"`): the seats of the next term when
/// `assigned` licenses are assigned on the renewal day: one seat per license, and at least one
/// (a subscription cannot renew with none).
pub fn right_sized(assigned: i64) -> i64 {
    assigned.max(1)
}

/// An immediate change of a subscription, as far as its scheduled change is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImmediateChange {
    Upgrade,
    PartialUpgrade,
    Seats,
    Status,
    AutoRenew(bool),
    AddOnPurchase,
    /// A longer term started now (new commerce).
    Plan,
    /// A migration to new commerce now (the legacy subscription ends).
    Migration,
}

/// Whether an immediate change cancels the subscription's scheduled change, and the reason its
/// history entry and event give: every change mid-term does (as in Partner Center), except
/// switching auto-renewal on, which leaves the term end as it was.
pub fn cancels_scheduled(change: ImmediateChange) -> Option<&'static str> {
    match change {
        ImmediateChange::Upgrade => Some("an immediate upgrade"),
        ImmediateChange::PartialUpgrade => Some("a partial upgrade"),
        ImmediateChange::Seats => Some("a seat change"),
        ImmediateChange::Status => Some("a status change"),
        ImmediateChange::AutoRenew(false) => Some("auto-renewal switched off"),
        ImmediateChange::AutoRenew(true) => None,
        ImmediateChange::AddOnPurchase => Some("an add-on purchase"),
        ImmediateChange::Plan => Some("a plan change"),
        ImmediateChange::Migration => Some("a migration to new commerce"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn right_sizing_takes_one_seat_per_license_assigned_and_never_fewer_than_one() {
        for (assigned, seats) in [(0, 1), (1, 1), (2, 2), (7, 7), (300, 300)] {
            assert_eq!(right_sized(assigned), seats, "{assigned} licenses");
        }
    }

    /// A legacy term: one year, billed every `cycle`.
    fn legacy(cycle: crate::domain::subscription::BillingCycle) -> Plan {
        Plan::new(crate::domain::plan::TermDuration::P1Y, cycle)
    }

    /// Every rule of scheduling, by name.
    #[test]
    fn a_change_is_scheduled_only_on_an_active_renewing_subscription_without_one() {
        use SubscriptionStatus::{Active, Cancelled, Expired, Suspended, Upgraded};
        let cases = [
            ((Active, true, false), Ok(())),
            ((Active, false, false), Err(ScheduleRefusal::AutoRenewOff)),
            ((Active, true, true), Err(ScheduleRefusal::AlreadyScheduled)),
            (
                (Suspended, true, false),
                Err(ScheduleRefusal::NotActive(Suspended)),
            ),
            (
                (Cancelled, true, false),
                Err(ScheduleRefusal::NotActive(Cancelled)),
            ),
            (
                (Upgraded, true, false),
                Err(ScheduleRefusal::NotActive(Upgraded)),
            ),
            (
                (Expired, false, false),
                Err(ScheduleRefusal::NotActive(Expired)),
            ),
        ];
        for ((status, auto_renew, already), expected) in cases {
            assert_eq!(
                check_schedulable(status, auto_renew, already),
                expected,
                "{status:?} autoRenew={auto_renew} already={already}"
            );
        }
    }

    /// Every immediate change mid-term cancels a scheduled change, saying which.
    #[test]
    fn an_immediate_change_cancels_the_scheduled_one_with_its_reason() {
        use ImmediateChange::{AddOnPurchase, AutoRenew, PartialUpgrade, Seats, Status, Upgrade};
        let cases = [
            (Upgrade, Some("an immediate upgrade")),
            (PartialUpgrade, Some("a partial upgrade")),
            (Seats, Some("a seat change")),
            (Status, Some("a status change")),
            (AutoRenew(false), Some("auto-renewal switched off")),
            (AutoRenew(true), None),
            (AddOnPurchase, Some("an add-on purchase")),
        ];
        for (change, reason) in cases {
            assert_eq!(cancels_scheduled(change), reason, "{change:?}");
        }
    }

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn renewed(term: (&str, &str), period: (&str, &str)) -> Option<TermEnd> {
        Some(TermEnd::Renew(BillingDates {
            term_start: day(term.0),
            term_end: day(term.1),
            current_period_start: day(period.0),
            current_period_end: day(period.1),
        }))
    }

    /// Every rule of a term's end, by name.
    #[test]
    fn a_term_end_renews_an_active_auto_renewing_subscription_and_expires_the_rest() {
        use crate::domain::subscription::BillingCycle::{Annual, Monthly};
        use SubscriptionStatus::{Active, Cancelled, Expired, Suspended, Upgraded};
        let end = "2026-11-01";
        let cases = [
            // Active with autoRenew: a new term from the old term's end, first period.
            (
                (Active, true, Monthly, "2026-11-01"),
                renewed(("2026-11-01", "2027-11-01"), ("2026-11-01", "2026-12-01")),
            ),
            (
                (Active, true, Annual, "2026-11-01"),
                renewed(("2026-11-01", "2027-11-01"), ("2026-11-01", "2027-11-01")),
            ),
            // Renewed late: the new term's period containing the day of the renewal.
            (
                (Active, true, Monthly, "2027-01-15"),
                renewed(("2026-11-01", "2027-11-01"), ("2027-01-01", "2027-02-01")),
            ),
            // autoRenew off, or suspended at the term end: expired.
            (
                (Active, false, Monthly, "2026-11-01"),
                Some(TermEnd::Expire),
            ),
            (
                (Suspended, true, Monthly, "2026-11-01"),
                Some(TermEnd::Expire),
            ),
            (
                (Suspended, false, Annual, "2026-12-01"),
                Some(TermEnd::Expire),
            ),
            // No term to end.
            ((Cancelled, true, Monthly, "2026-11-01"), None),
            ((Upgraded, true, Monthly, "2026-11-01"), None),
            ((Expired, false, Monthly, "2026-11-01"), None),
            // The term has not ended yet.
            ((Active, true, Monthly, "2026-10-31"), None),
            ((Suspended, false, Monthly, "2026-10-31"), None),
        ];
        for ((status, auto_renew, cycle, today), expected) in cases {
            assert_eq!(
                at_term_end(status, auto_renew, legacy(cycle), day(end), day(today)),
                expected,
                "{status:?} autoRenew={auto_renew} {cycle:?} on {today}"
            );
        }
    }
}
