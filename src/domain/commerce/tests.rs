//! Table tests of the new-commerce rules, one per rule of the module documentation, named after it.

use chrono::{DateTime, NaiveDate, Utc};

use super::*;
use crate::domain::plan::{Commerce, Plan, TermDuration, check_plan};

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

#[test]
fn plans_sold_are_p1m_monthly_p1y_monthly_or_annual_and_p3y_monthly_annual_or_triennial() {
    use BillingCycle::{Annual, Monthly, Triennial};
    use TermDuration::{P1M, P1Y, P3Y};
    let table = [
        (P1M, Monthly, true),
        (P1M, Annual, false),
        (P1M, Triennial, false),
        (P1Y, Monthly, true),
        (P1Y, Annual, true),
        (P1Y, Triennial, false),
        (P3Y, Monthly, true),
        (P3Y, Annual, true),
        (P3Y, Triennial, true),
    ];
    for (term, cycle, sold) in table {
        let checked = check_plan(term, cycle);
        assert_eq!(checked.is_ok(), sold, "{term:?} {cycle:?}");
        if let Err(refused) = checked {
            assert_eq!(refused.code(), ErrorCode::InvalidPlan);
            let text = refused.to_string();
            assert!(
                text.contains("P1M billed monthly") && text.contains("P3Y billed triennial"),
                "the refusal lists the plans sold: {text}"
            );
        }
    }
}

#[test]
fn monthly_term_premium_is_twenty_percent_rounded_half_to_even() {
    // (P1Y price, P1M price): 1.2 x, rounded to the minor unit, ties to even.
    let table = [
        (600, 720),
        (1_000, 1_200),
        (1_250, 1_500),
        (2_200, 2_640),
        (1, 1), // 1.2 -> 1
        (2, 2), // 2.4 -> 2
        (3, 4), // 3.6 -> 4
        (5, 6), // 6.0
        (7, 8), // 8.4 -> 8
        (0, 0),
    ];
    for (annual, monthly) in table {
        assert_eq!(monthly_term_price(annual), monthly, "{annual}");
    }
    // 6 p / 5 leaves fifths, never a half: no tie to break, and the migration's (6 p + 2) / 5
    // in integers gives the same for every price.
    for annual in 0..10_000 {
        assert_eq!(monthly_term_price(annual), (annual * 6 + 2) / 5, "{annual}");
    }
}

#[test]
fn price_in_force_is_the_latest_entry_in_effect_on_the_day() {
    let prices = [
        DatedPrice {
            effective_from: day("2026-01-01"),
            monthly_unit_price: 600,
        },
        DatedPrice {
            effective_from: day("2027-04-01"),
            monthly_unit_price: 700,
        },
        DatedPrice {
            effective_from: day("2026-07-01"),
            monthly_unit_price: 650,
        },
    ];
    let table = [
        ("2025-12-31", None),
        ("2026-01-01", Some(600)),
        ("2026-06-30", Some(600)),
        ("2026-07-01", Some(650)),
        ("2027-03-31", Some(650)),
        ("2027-04-01", Some(700)),
        ("2030-01-01", Some(700)),
    ];
    for (on, price) in table {
        assert_eq!(price_in_force(&prices, day(on)), price, "{on}");
    }
    assert_eq!(price_in_force(&[], day("2026-01-01")), None);
}

#[test]
fn windows_last_168_hours_from_the_purchase_renewal_or_seat_increase() {
    let bought = at("2026-03-02T10:00:00Z");
    let window = SeatWindow::opened(10, bought);
    assert_eq!(window.allowed_until, at("2026-03-09T10:00:00Z"));
    let table = [
        ("2026-03-02T10:00:00Z", true),
        ("2026-03-09T09:59:59Z", true),
        ("2026-03-09T10:00:00Z", false),
        ("2026-04-01T00:00:00Z", false),
    ];
    for (now, open) in table {
        assert_eq!(window.is_open(at(now)), open, "{now}");
    }
}

#[test]
fn refundable_quantity_lists_the_open_windows_closing_first_first() {
    let windows = [
        SeatWindow::opened(5, at("2026-03-04T00:00:00Z")),
        SeatWindow::opened(10, at("2026-03-01T00:00:00Z")),
        SeatWindow::opened(3, at("2026-02-01T00:00:00Z")),
        SeatWindow::opened(0, at("2026-03-05T00:00:00Z")),
    ];
    let open = refundable(&windows, at("2026-03-06T00:00:00Z"));
    assert_eq!(
        open,
        [
            SeatWindow::opened(10, at("2026-03-01T00:00:00Z")),
            SeatWindow::opened(5, at("2026-03-04T00:00:00Z")),
        ]
    );
    assert!(refundable(&windows, at("2026-03-12T00:00:00Z")).is_empty());
}

#[test]
fn latest_windows_first_a_reduction_takes_the_newest_seats_and_no_more_than_are_refundable() {
    // Bought 10 on 03-01, added 5 on 03-04 and 2 on 03-05; 17 seats.
    let windows = [
        SeatWindow::opened(10, at("2026-03-01T00:00:00Z")),
        SeatWindow::opened(5, at("2026-03-04T00:00:00Z")),
        SeatWindow::opened(2, at("2026-03-05T00:00:00Z")),
    ];
    let open_all = at("2026-03-06T00:00:00Z");
    let after_first = at("2026-03-08T00:00:00Z"); // the purchase window has closed
    // (now, quantity, new quantity, windows left or the lowest quantity allowed)
    type Left = Result<Vec<(i64, &'static str)>, i64>;
    let table: [(DateTime<Utc>, i64, i64, Left); 7] = [
        (
            open_all,
            17,
            16,
            Ok(vec![(10, "03-01"), (5, "03-04"), (1, "03-05")]),
        ),
        (open_all, 17, 15, Ok(vec![(10, "03-01"), (5, "03-04")])),
        (open_all, 17, 12, Ok(vec![(10, "03-01"), (2, "03-04")])),
        (open_all, 17, 1, Ok(vec![(1, "03-01")])),
        (after_first, 17, 10, Ok(vec![])),
        (after_first, 17, 9, Err(10)),
        (at("2026-03-20T00:00:00Z"), 17, 16, Err(17)),
    ];
    for (now, quantity, new_quantity, expected) in table {
        let got = reduce_seats(&windows, now, quantity, new_quantity);
        match expected {
            Ok(left) => {
                let left: Vec<SeatWindow> = left
                    .into_iter()
                    .map(|(q, d)| SeatWindow::opened(q, at(&format!("2026-{d}T00:00:00Z"))))
                    .collect();
                assert_eq!(got, Ok(left), "{now} {quantity} -> {new_quantity}");
            }
            Err(lowest) => {
                let refused = got.expect_err("refused");
                assert_eq!(refused.lowest, lowest, "{now} {quantity} -> {new_quantity}");
                assert_eq!(refused.code(), ErrorCode::SeatReductionNotAllowed);
                assert!(refused.to_string().contains("Schedule the seat change"));
            }
        }
    }
}

#[test]
fn cancellation_window_cancelling_needs_the_purchase_or_renewal_window_open() {
    let until = at("2026-03-09T10:00:00Z");
    let table = [
        (Some(until), "2026-03-09T09:59:59Z", true),
        (Some(until), "2026-03-09T10:00:00Z", false),
        (None, "2026-03-01T00:00:00Z", false),
    ];
    for (window, now, allowed) in table {
        let checked = check_cancellation(window, at(now));
        assert_eq!(checked.is_ok(), allowed, "{now}");
        if let Err(refused) = checked {
            assert_eq!(refused.code(), ErrorCode::CancellationWindowClosed);
            assert!(refused.to_string().contains("Turn autoRenew off"));
        }
    }
    assert_eq!(
        cancellation_allowed_until(Some(until), at("2026-03-05T00:00:00Z")),
        Some(until)
    );
    assert_eq!(
        cancellation_allowed_until(Some(until), at("2026-03-10T00:00:00Z")),
        None
    );
}

#[test]
fn daily_refund_is_the_period_price_over_the_unused_days_from_today() {
    let paid = |cycle, price, period: (&str, &str)| PaidPeriod {
        currency: "EUR",
        cycle,
        monthly_unit_price: price,
        period: (day(period.0), day(period.1)),
    };
    // (paid period, seats, today, credit computed by hand, remaining days, period days)
    let table = [
        // Monthly, 31-day March, cancelled on day 3 (03-03): 29 days left of 31.
        // 10 seats x 600 = 6,000; 6,000 x 29 / 31 = 5,612.90... -> 5,613.
        (
            paid(BillingCycle::Monthly, 600, ("2026-03-01", "2026-04-01")),
            10,
            "2026-03-03",
            5_613,
            29,
            31,
        ),
        // Annual, 365 days, 2 seats removed on day 2: 364 days left.
        // 2 x 1,000 x 12 = 24,000; 24,000 x 364 / 365 = 23,934.24... -> 23,934.
        (
            paid(BillingCycle::Annual, 1_000, ("2026-03-01", "2027-03-01")),
            2,
            "2026-03-02",
            23_934,
            364,
            365,
        ),
        // Triennial, 1,096 days (2028 is a leap year), 1 seat on day 1: everything back.
        // 1 x 700 x 36 = 25,200.
        (
            paid(BillingCycle::Triennial, 700, ("2026-03-01", "2029-03-01")),
            1,
            "2026-03-01",
            25_200,
            1_096,
            1_096,
        ),
        // A tie rounds to even: 1 x 3 x 1 = 3 over 2 days, 1 left: 1.5 -> 2.
        (
            paid(BillingCycle::Monthly, 3, ("2026-03-01", "2026-03-03")),
            1,
            "2026-03-02",
            2,
            1,
            2,
        ),
        // 1 x 5 over 2 days, 1 left: 2.5 -> 2.
        (
            paid(BillingCycle::Monthly, 5, ("2026-03-01", "2026-03-03")),
            1,
            "2026-03-02",
            2,
            1,
            2,
        ),
    ];
    for (paid, seats, today, credit, left, days) in table {
        let billing = refund(&paid, seats, day(today));
        assert_eq!(billing.credit, credit, "{paid:?} {today}");
        assert_eq!(billing.charge, 0);
        assert_eq!(billing.net, -credit);
        assert_eq!(billing.remaining_days, left);
        assert_eq!(billing.period_days, days);
        assert!(!billing.full_credit);
    }
}

#[test]
fn longer_terms_only_a_term_may_get_longer_mid_term_and_nothing_else() {
    use BillingCycle::{Annual, Monthly, Triennial};
    use TermDuration::{P1M, P1Y, P3Y};
    // (current plan, requested term, the new plan or refused)
    let table = [
        (Plan::new(P1M, Monthly), P1Y, Some(Plan::new(P1Y, Monthly))),
        (Plan::new(P1M, Monthly), P3Y, Some(Plan::new(P3Y, Monthly))),
        (Plan::new(P1Y, Annual), P3Y, Some(Plan::new(P3Y, Annual))),
        (Plan::new(P1Y, Monthly), P3Y, Some(Plan::new(P3Y, Monthly))),
        (Plan::new(P1M, Monthly), P1M, None),
        (Plan::new(P1Y, Annual), P1M, None),
        (Plan::new(P1Y, Annual), P1Y, None),
        (Plan::new(P3Y, Triennial), P1Y, None),
        (Plan::new(P3Y, Monthly), P3Y, None),
    ];
    for (current, term, expected) in table {
        let changed = change_term(current, term);
        assert_eq!(
            changed.as_ref().ok(),
            expected.as_ref(),
            "{current} -> {term:?}"
        );
        if let Err(refused) = changed {
            assert_eq!(refused.code(), ErrorCode::PlanChangeNotAllowed);
            assert!(refused.to_string().contains("Schedule the plan change"));
        }
    }
}

#[test]
fn existing_targets_term_must_be_as_long_and_end_no_earlier_both_reported() {
    use TermDuration::{P1M, P1Y, P3Y};
    let term = |duration, end: &str| Term {
        duration,
        end: day(end),
    };
    let source = term(P1Y, "2027-03-01");
    let codes = |target| -> Vec<&'static str> {
        existing_target_failures(source, target)
            .iter()
            .map(|f| f.code.as_str())
            .collect()
    };
    assert!(codes(term(P1Y, "2027-03-01")).is_empty());
    assert!(codes(term(P3Y, "2029-01-01")).is_empty());
    assert_eq!(codes(term(P1M, "2027-03-01")), ["target_term_shorter"]);
    assert_eq!(
        codes(term(P3Y, "2027-02-28")),
        ["target_ends_before_source"]
    );
    assert_eq!(
        codes(term(P1M, "2026-04-01")),
        ["target_term_shorter", "target_ends_before_source"]
    );
}

#[test]
fn names_are_stored_and_sent_as_partner_center_writes_them() {
    for term in TermDuration::ALL {
        assert_eq!(TermDuration::parse(term.as_str()), Some(term));
        assert_eq!(
            serde_json::to_value(term).unwrap(),
            serde_json::json!(term.as_str())
        );
    }
    for commerce in [Commerce::New, Commerce::Legacy] {
        assert_eq!(Commerce::parse(commerce.as_str()), Some(commerce));
        assert_eq!(
            serde_json::to_value(commerce).unwrap(),
            serde_json::json!(commerce.as_str())
        );
    }
    assert_eq!(TermDuration::parse("P2Y"), None);
    assert_eq!(
        [TermDuration::P1M, TermDuration::P1Y, TermDuration::P3Y].map(TermDuration::months),
        [1, 12, 36]
    );
}

#[test]
fn longer_terms_only_the_bill_credits_the_unused_paid_days_and_charges_the_new_first_period() {
    // 5 seats, P1M billed monthly at 7.20, March (31 days), extended on 03-11 (21 days left) to
    // P3Y billed annually at 6.00: credit 5 x 720 x 21 / 31 = 2,438.7 -> 2,439; charge
    // 5 x 600 x 12 = 36,000.
    let paid = PaidPeriod {
        currency: "USD",
        cycle: BillingCycle::Monthly,
        monthly_unit_price: 720,
        period: (day("2026-03-01"), day("2026-04-01")),
    };
    let billing = extend_term(&paid, 5, day("2026-03-11"), (600, BillingCycle::Annual));
    assert_eq!(
        (billing.credit, billing.charge, billing.net),
        (2_439, 36_000, 33_561)
    );
    assert_eq!((billing.remaining_days, billing.period_days), (21, 31));
}

#[test]
fn seats_moved_out_leave_the_windows_closing_last_first() {
    let windows = [
        SeatWindow::opened(10, at("2026-03-01T00:00:00Z")),
        SeatWindow::opened(5, at("2026-03-04T00:00:00Z")),
    ];
    let now = at("2026-03-05T00:00:00Z");
    let quantities = |left: Vec<SeatWindow>| left.iter().map(|w| w.quantity).collect::<Vec<_>>();
    assert_eq!(quantities(cap_windows(&windows, now, 20)), [10, 5]);
    assert_eq!(quantities(cap_windows(&windows, now, 12)), [10, 2]);
    assert_eq!(quantities(cap_windows(&windows, now, 7)), [7]);
    assert!(cap_windows(&windows, at("2026-03-20T00:00:00Z"), 7).is_empty());
}

#[test]
fn inherited_windows_go_with_the_seats_moved_out_closing_last_first() {
    let windows = [
        SeatWindow::opened(10, at("2026-03-01T00:00:00Z")),
        SeatWindow::opened(5, at("2026-03-04T00:00:00Z")),
    ];
    let now = at("2026-03-05T00:00:00Z");
    let quantities = |w: &[SeatWindow]| w.iter().map(|w| w.quantity).collect::<Vec<_>>();
    let table: [(i64, &[i64], &[i64]); 4] = [
        (20, &[10, 5], &[]),
        (12, &[10, 2], &[3]),
        (7, &[7], &[3, 5]),
        (0, &[], &[10, 5]),
    ];
    for (left_with, left, taken) in table {
        let (kept, moved) = split_windows(&windows, now, left_with);
        assert_eq!(quantities(&kept), left, "left with {left_with}");
        assert_eq!(quantities(&moved), taken, "left with {left_with}");
        let ends = |w: &[SeatWindow]| w.iter().map(|w| w.allowed_until).collect::<Vec<_>>();
        assert!(ends(&moved).iter().all(|end| ends(&windows).contains(end)));
    }
    let closed = split_windows(&windows, at("2026-03-20T00:00:00Z"), 3);
    assert!(closed.0.is_empty() && closed.1.is_empty());
}
