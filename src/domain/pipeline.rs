//! The renewals pipeline (docs/renewals.md): which term ends a partner asks about, and the flags
//! a person acts on before each renewal.
//!
//! The rules:
//! - **window**: `termEndFrom` defaults to today, `termEndTo` to 30 days after `termEndFrom`; the
//!   window may not end before it starts, nor span more than 400 days;
//! - **flags**: `unused_seats` when fewer licenses are assigned than there are seats,
//!   `no_scheduled_change` when nothing is scheduled for the renewal, `auto_renew_off` when the
//!   term will not renew, `window_open` while the purchase or renewal window still allows a
//!   cancellation with a refund;
//! - **next term**: the offer and plan a term renews on are the subscription's, except that a
//!   scheduled upgrade or downgrade renews on its target offer, and a scheduled change that sets
//!   a term duration or billing cycle (a quantity change under new commerce, a migration) renews
//!   on those; the next term's unit price is the price in force on the term end for them;
//! - **notice due**: a notice `days_before` a moment (a term end, or the end of a purchase or
//!   renewal window) is due from that many days before it until the moment itself, and only if
//!   the subscription was already in that term (or window) then: one bought, renewed or opened
//!   inside an offset gets only the offsets still ahead. Renewal notices go out at the offsets
//!   `RENEWAL_NOTICE_DAYS` lists (default 30, 7 and 1 days); the window notice one day before.

use chrono::{DateTime, Days, Duration, NaiveDate, NaiveTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::ErrorCode;
use super::plan::Plan;
use super::records::{ScheduledChange, ScheduledKind};

/// The offer and plan of the term that follows `current` (the subscription's offer and plan), given
/// the change scheduled for the renewal.
pub fn next_term<'a>(
    (offer_id, plan): (&'a str, Plan),
    scheduled: Option<&'a ScheduledChange>,
) -> (&'a str, Plan) {
    let Some(change) = scheduled else {
        return (offer_id, plan);
    };
    let offer_id = match (change.kind, change.target_offer_id.as_deref()) {
        (ScheduledKind::Upgrade | ScheduledKind::Downgrade, Some(target)) => target,
        _ => offer_id,
    };
    let plan = Plan::new(
        change.term_duration.unwrap_or(plan.term_duration),
        change.billing_cycle.unwrap_or(plan.billing_cycle),
    );
    (offer_id, plan)
}

/// The default window's length, in days from its start.
pub const DEFAULT_WINDOW_DAYS: u64 = 30;
/// The longest window, in days.
pub const MAX_WINDOW_DAYS: i64 = 400;

/// The term ends asked about, both days included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TermEndWindow {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// A window that ends before it starts or spans more than 400 days.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "termEndTo ({to}) must be on or after termEndFrom ({from}) and at most {MAX_WINDOW_DAYS} days \
     after it."
)]
pub struct InvalidTermEndWindow {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl InvalidTermEndWindow {
    pub fn code(&self) -> ErrorCode {
        ErrorCode::InvalidTermEndWindow
    }
}

super::codes::refusal!(InvalidTermEndWindow);

/// **Window**: the window a request asks for, with its defaults filled in.
pub fn window(
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    today: NaiveDate,
) -> Result<TermEndWindow, InvalidTermEndWindow> {
    let from = from.unwrap_or(today);
    let to = match to {
        Some(to) => to,
        None => from
            .checked_add_days(Days::new(DEFAULT_WINDOW_DAYS))
            .unwrap_or(NaiveDate::MAX),
    };
    let span = (to - from).num_days();
    if (0..=MAX_WINDOW_DAYS).contains(&span) {
        Ok(TermEndWindow { from, to })
    } else {
        Err(InvalidTermEndWindow { from, to })
    }
}

/// Something about an upcoming renewal a person acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RenewalFlag {
    /// Fewer licenses are assigned than there are seats: the renewal would pay for unused seats.
    UnusedSeats,
    /// Nothing is scheduled for the renewal.
    NoScheduledChange,
    /// Auto-renewal is off: the subscription ends with its term.
    AutoRenewOff,
    /// The purchase or renewal window is still open: it can be cancelled with a refund.
    WindowOpen,
}

/// What the flags look at for one subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RenewalFacts {
    pub quantity: i64,
    pub licenses_assigned: i64,
    pub scheduled: bool,
    pub auto_renew: bool,
    /// When its purchase or renewal window closes, if it has one.
    pub cancellation_window_ends_at: Option<DateTime<Utc>>,
}

/// **Flags**: every flag that applies, in a fixed order.
pub fn flags(facts: &RenewalFacts, now: DateTime<Utc>) -> Vec<RenewalFlag> {
    [
        (
            facts.licenses_assigned < facts.quantity,
            RenewalFlag::UnusedSeats,
        ),
        (!facts.scheduled, RenewalFlag::NoScheduledChange),
        (!facts.auto_renew, RenewalFlag::AutoRenewOff),
        (
            facts
                .cancellation_window_ends_at
                .is_some_and(|end| now < end),
            RenewalFlag::WindowOpen,
        ),
    ]
    .into_iter()
    .filter_map(|(applies, flag)| applies.then_some(flag))
    .collect()
}

/// The renewal notices' default offsets, in days before the term end.
pub const DEFAULT_NOTICE_DAYS: [u16; 3] = [30, 7, 1];
/// The window notice's offset: one day before the window closes.
pub const WINDOW_NOTICE_DAYS: u16 = 1;

/// A notice sent ahead of something a partner must act on before it happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NoticeKind {
    /// The term ends (and renews, or expires) soon.
    RenewalUpcoming,
    /// The purchase or renewal window closes soon: after it, no cancellation with a refund.
    CancellationWindowClosing,
}

impl NoticeKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeKind::RenewalUpcoming => "renewal_upcoming",
            NoticeKind::CancellationWindowClosing => "cancellation_window_closing",
        }
    }

    /// The webhook event it is sent as.
    pub fn event_type(self) -> &'static str {
        match self {
            NoticeKind::RenewalUpcoming => "subscription.renewal_upcoming",
            NoticeKind::CancellationWindowClosing => "subscription.cancellation_window_closing",
        }
    }
}

/// One notice: of what, before which moment, how many days ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Notice {
    pub kind: NoticeKind,
    pub due_at: DateTime<Utc>,
    pub days_before: u16,
    /// Since when the subscription has been in this term (or window).
    pub opened_at: DateTime<Utc>,
}

impl Notice {
    /// The renewal notice `days_before` a term ending on `term_end`, of a subscription bought at
    /// `created_at` whose term started on `term_start`.
    pub fn renewal(
        (term_start, term_end): (NaiveDate, NaiveDate),
        created_at: DateTime<Utc>,
        days_before: u16,
    ) -> Self {
        let midnight = |day: NaiveDate| day.and_time(NaiveTime::MIN).and_utc();
        Notice {
            kind: NoticeKind::RenewalUpcoming,
            due_at: midnight(term_end),
            days_before,
            opened_at: created_at.max(midnight(term_start)),
        }
    }

    /// The notice one day before a cancellation window closing at `ends_at` (opened 168 hours
    /// earlier).
    pub fn window(ends_at: DateTime<Utc>) -> Self {
        Notice {
            kind: NoticeKind::CancellationWindowClosing,
            due_at: ends_at,
            days_before: WINDOW_NOTICE_DAYS,
            opened_at: ends_at - super::commerce::CANCELLATION_WINDOW,
        }
    }

    /// When it becomes due.
    pub fn from(&self) -> DateTime<Utc> {
        self.due_at - Duration::days(i64::from(self.days_before))
    }

    /// **Notice due**: whether it is due at `now`.
    pub fn is_due(&self, now: DateTime<Utc>) -> bool {
        let from = self.from();
        self.opened_at <= from && from <= now && now < self.due_at
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::{ScheduledChangeId, SubscriptionId};
    use crate::domain::plan::{BillingCycle, TermDuration};

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn scheduled(
        kind: ScheduledKind,
        target: Option<&str>,
        plan: Option<(TermDuration, BillingCycle)>,
    ) -> ScheduledChange {
        ScheduledChange {
            id: ScheduledChangeId(uuid::Uuid::nil()),
            subscription_id: SubscriptionId(uuid::Uuid::nil()),
            kind,
            target_offer_id: target.map(str::to_owned),
            quantity: 5,
            users: None,
            target_subscription_id: None,
            created_at: DateTime::UNIX_EPOCH,
            term_duration: plan.map(|(term, _)| term),
            billing_cycle: plan.map(|(_, cycle)| cycle),
            quantity_assigned: false,
        }
    }

    #[test]
    fn next_term_renews_on_the_scheduled_target_offer_and_plan_when_the_change_sets_them() {
        use BillingCycle::{Annual, Monthly};
        use ScheduledKind::*;
        use TermDuration::{P1M, P1Y, P3Y};
        let current = ("E3", Plan::new(P1Y, Monthly));
        let cases = [
            (None, ("E3", Plan::new(P1Y, Monthly))),
            (
                Some(scheduled(Upgrade, Some("E5"), None)),
                ("E5", Plan::new(P1Y, Monthly)),
            ),
            (
                Some(scheduled(Downgrade, Some("E1"), None)),
                ("E1", Plan::new(P1Y, Monthly)),
            ),
            (
                Some(scheduled(PartialUpgrade, Some("E5"), None)),
                ("E3", Plan::new(P1Y, Monthly)),
            ),
            (
                Some(scheduled(Quantity, None, None)),
                ("E3", Plan::new(P1Y, Monthly)),
            ),
            (
                Some(scheduled(Quantity, None, Some((P3Y, Annual)))),
                ("E3", Plan::new(P3Y, Annual)),
            ),
            (
                Some(scheduled(Migration, None, Some((P1M, Monthly)))),
                ("E3", Plan::new(P1M, Monthly)),
            ),
        ];
        for (change, expected) in cases {
            assert_eq!(next_term(current, change.as_ref()), expected, "{change:?}");
        }
    }

    #[test]
    fn window_defaults_to_the_next_30_days_and_spans_at_most_400() {
        let today = day("2026-12-04");
        let ok = |from: &str, to: &str| {
            Ok(TermEndWindow {
                from: day(from),
                to: day(to),
            })
        };
        let refused = |from: &str, to: &str| {
            Err(InvalidTermEndWindow {
                from: day(from),
                to: day(to),
            })
        };
        let table = [
            ((None, None), ok("2026-12-04", "2027-01-03")),
            ((Some("2027-02-01"), None), ok("2027-02-01", "2027-03-03")),
            ((None, Some("2026-12-04")), ok("2026-12-04", "2026-12-04")),
            (
                (Some("2026-01-01"), Some("2027-02-05")),
                ok("2026-01-01", "2027-02-05"),
            ),
            (
                (Some("2026-01-01"), Some("2027-02-06")),
                refused("2026-01-01", "2027-02-06"),
            ),
            (
                (None, Some("2026-12-03")),
                refused("2026-12-04", "2026-12-03"),
            ),
        ];
        for ((from, to), expected) in table {
            let asked = (from.map(day), to.map(day));
            assert_eq!(window(asked.0, asked.1, today), expected, "{from:?} {to:?}");
        }
        let code = window(Some(day("2026-12-05")), Some(day("2026-12-01")), today)
            .unwrap_err()
            .code();
        assert_eq!(code, ErrorCode::InvalidTermEndWindow);
    }

    #[test]
    fn flags_name_unused_seats_no_scheduled_change_auto_renew_off_and_an_open_window() {
        use RenewalFlag::{AutoRenewOff, NoScheduledChange, UnusedSeats, WindowOpen};
        let now: DateTime<Utc> = "2026-12-04T12:00:00Z".parse().unwrap();
        let base = RenewalFacts {
            quantity: 10,
            licenses_assigned: 10,
            scheduled: true,
            auto_renew: true,
            cancellation_window_ends_at: None,
        };
        let table = [
            (base, vec![]),
            (
                RenewalFacts {
                    licenses_assigned: 9,
                    ..base
                },
                vec![UnusedSeats],
            ),
            (
                RenewalFacts {
                    scheduled: false,
                    auto_renew: false,
                    ..base
                },
                vec![NoScheduledChange, AutoRenewOff],
            ),
            (
                RenewalFacts {
                    cancellation_window_ends_at: Some(now + chrono::Duration::seconds(1)),
                    ..base
                },
                vec![WindowOpen],
            ),
            (
                RenewalFacts {
                    cancellation_window_ends_at: Some(now),
                    ..base
                },
                vec![],
            ),
            (
                RenewalFacts {
                    quantity: 3,
                    licenses_assigned: 0,
                    scheduled: false,
                    auto_renew: false,
                    cancellation_window_ends_at: Some(now + chrono::Duration::days(2)),
                },
                vec![UnusedSeats, NoScheduledChange, AutoRenewOff, WindowOpen],
            ),
        ];
        for (facts, expected) in table {
            assert_eq!(flags(&facts, now), expected, "{facts:?}");
        }
    }
}

#[cfg(test)]
mod notice_tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn notice_due_from_its_offset_until_the_moment_and_only_offsets_still_ahead_when_bought() {
        let term = (day("2026-01-10"), day("2027-01-10"));
        let bought = at("2026-01-10T09:00:00Z");
        let table = [
            // (offset, bought at, now, due?)
            (30, bought, "2026-12-10T23:59:59Z", false),
            (30, bought, "2026-12-11T00:00:00Z", true),
            (30, bought, "2027-01-09T23:59:59Z", true),
            (30, bought, "2027-01-10T00:00:00Z", false),
            (7, bought, "2027-01-03T00:00:00Z", true),
            (1, bought, "2027-01-08T12:00:00Z", false),
            (1, bought, "2027-01-09T00:00:00Z", true),
            // Bought 5 days before the term end: the 30- and 7-day offsets had passed.
            (
                30,
                at("2027-01-05T10:00:00Z"),
                "2027-01-06T00:00:00Z",
                false,
            ),
            (7, at("2027-01-05T10:00:00Z"), "2027-01-06T00:00:00Z", false),
            (1, at("2027-01-05T10:00:00Z"), "2027-01-09T00:00:00Z", true),
        ];
        for (offset, created_at, now, due) in table {
            let notice = Notice::renewal(term, created_at, offset);
            assert_eq!(
                notice.is_due(at(now)),
                due,
                "{offset} days, bought {created_at}, at {now}"
            );
        }
        // A 28-day term: its 30-day offset lies before the term started.
        let february = (day("2027-02-10"), day("2027-03-10"));
        assert!(!Notice::renewal(february, bought, 30).is_due(at("2027-02-15T00:00:00Z")));
        assert!(Notice::renewal(february, bought, 7).is_due(at("2027-03-04T00:00:00Z")));
    }

    #[test]
    fn the_window_notice_is_due_in_the_windows_last_24_hours() {
        let ends = at("2026-12-10T15:30:00Z");
        let notice = Notice::window(ends);
        assert_eq!(
            notice.kind.event_type(),
            "subscription.cancellation_window_closing"
        );
        for (now, due) in [
            ("2026-12-09T15:29:59Z", false),
            ("2026-12-09T15:30:00Z", true),
            ("2026-12-10T15:29:59Z", true),
            ("2026-12-10T15:30:00Z", false),
        ] {
            assert_eq!(notice.is_due(at(now)), due, "{now}");
        }
    }
}
