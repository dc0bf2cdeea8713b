//! The renewals pipeline (docs/renewals.md): which term ends a partner asks about, and the flags
//! a person acts on before each renewal.
//!
//! The rules:
//! - **window**: `termEndFrom` defaults to today, `termEndTo` to 30 days after `termEndFrom`; the
//!   window may not end before it starts, nor span more than 400 days;
//! - **flags**: `unused_seats` when fewer licenses are assigned than there are seats,
//!   `no_scheduled_change` when nothing is scheduled for the renewal, `auto_renew_off` when the
//!   term will not renew, `window_open` while the purchase or renewal window still allows a
//!   cancellation with a refund.

use chrono::{DateTime, Days, NaiveDate, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::ErrorCode;

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

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
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
