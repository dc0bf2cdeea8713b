use chrono::NaiveDate;
use uuid::Uuid;

use super::*;
use crate::domain::plan::{BillingCycle, TermDuration};
use crate::domain::subscription::shortened_first_term;

fn day(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

fn plan(term: TermDuration, cycle: BillingCycle) -> Plan {
    Plan::new(term, cycle)
}

fn dates(allowed: &[AllowedTermEnd]) -> Vec<(String, TermEndReason)> {
    allowed
        .iter()
        .map(|a| (a.date.to_string(), a.reason))
        .collect()
}

#[test]
fn a_first_term_may_end_on_each_month_end_within_it_and_on_a_matching_subscriptions_term_end() {
    let within = SubscriptionId::from(Uuid::from_u128(1));
    let after = SubscriptionId::from(Uuid::from_u128(2));
    let on_start = SubscriptionId::from(Uuid::from_u128(3));
    let anchors = [
        (within, day("2027-03-15")),
        (after, day("2028-01-01")),
        (on_start, day("2026-12-04")),
    ];
    let p1y = plan(TermDuration::P1Y, BillingCycle::Monthly);
    let allowed = allowed_term_ends(p1y, day("2026-12-04"), &anchors);
    let month_ends = [
        "2026-12-31",
        "2027-01-31",
        "2027-02-28",
        "2027-03-31",
        "2027-04-30",
        "2027-05-31",
        "2027-06-30",
        "2027-07-31",
        "2027-08-31",
        "2027-09-30",
        "2027-10-31",
        "2027-11-30",
    ];
    let mut expected: Vec<(String, TermEndReason)> = month_ends
        .iter()
        .map(|d| (d.to_string(), TermEndReason::CalendarMonthEnd))
        .collect();
    expected.insert(
        3,
        ("2027-03-15".to_owned(), TermEndReason::SubscriptionTermEnd),
    );
    assert_eq!(dates(&allowed), expected);
    assert_eq!(allowed[3].subscription_id, Some(within));
}

#[test]
fn a_monthly_term_has_the_one_month_end_within_it() {
    let p1m = plan(TermDuration::P1M, BillingCycle::Monthly);
    let month_end = |start: &str| dates(&allowed_term_ends(p1m, day(start), &[]));
    let end = |d: &str| vec![(d.to_owned(), TermEndReason::CalendarMonthEnd)];
    assert_eq!(month_end("2026-12-04"), end("2026-12-31"));
    // Bought on a month's last day: the next month's end, a full term.
    assert_eq!(month_end("2026-12-31"), end("2027-01-31"));
    assert_eq!(month_end("2027-01-31"), end("2027-02-28"));
}

#[test]
fn only_an_allowed_date_ends_a_first_term_and_the_refusal_lists_them() {
    let p1y = plan(TermDuration::P1Y, BillingCycle::Annual);
    let allowed = allowed_term_ends(p1y, day("2026-12-04"), &[]);
    assert_eq!(check_term_end(day("2027-06-30"), allowed.clone()), Ok(()));
    for refused in ["2027-06-29", "2027-12-04", "2027-12-31", "2026-11-30"] {
        let error = check_term_end(day(refused), allowed.clone()).unwrap_err();
        assert_eq!(error.code(), ErrorCode::CustomTermEndNotAllowed);
        assert_eq!(error.allowed, allowed, "{refused}");
    }
}

#[test]
fn a_shorter_first_term_counts_its_periods_back_from_its_end() {
    let monthly = plan(TermDuration::P1Y, BillingCycle::Monthly);
    let (start, end) = (day("2026-12-04"), day("2027-06-30"));
    let first = shortened_first_term(monthly, start, end, start);
    assert_eq!(
        (first.current_period_start, first.current_period_end),
        (start, day("2026-12-30"))
    );
    let later = shortened_first_term(monthly, start, end, day("2027-03-01"));
    assert_eq!(
        (later.current_period_start, later.current_period_end),
        (day("2027-02-28"), day("2027-03-30"))
    );
    let last = shortened_first_term(monthly, start, end, day("2027-06-29"));
    assert_eq!(last.current_period_end, end);
    let annual = plan(TermDuration::P1Y, BillingCycle::Annual);
    let whole = shortened_first_term(annual, start, end, start);
    assert_eq!(
        (whole.current_period_start, whole.current_period_end),
        (start, end)
    );
    let p1m = plan(TermDuration::P1M, BillingCycle::Monthly);
    let month = shortened_first_term(p1m, start, day("2026-12-31"), start);
    assert_eq!(month.current_period_end, day("2026-12-31"));
}

#[test]
fn the_shorter_first_period_is_billed_daily_for_its_days() {
    let monthly = plan(TermDuration::P1Y, BillingCycle::Monthly);
    // Its period is [2026-11-30, 2026-12-30): 30 days, 26 of them from 12-04.
    // 5 seats x 12.50: 6250 x 26 / 30 = 5416.67 -> 5417.
    let bill = first_period_bill(
        "USD",
        (1250, 5),
        monthly,
        (day("2026-12-04"), day("2027-06-30")),
    );
    assert_eq!(bill.charge, 5417);
    assert_eq!((bill.remaining_days, bill.period_days), (26, 30));
    assert_eq!((bill.credit, bill.net), (0, 5417));
    assert_eq!(bill.period_end, day("2026-12-30"));

    // Annual: the year [2026-06-30, 2027-06-30) has 365 days, 208 of them from 12-04.
    // 2 seats x 6.00 x 12 = 14400: 14400 x 208 / 365 = 8206.03 -> 8206.
    let annual = plan(TermDuration::P1Y, BillingCycle::Annual);
    let bill = first_period_bill(
        "USD",
        (600, 2),
        annual,
        (day("2026-12-04"), day("2027-06-30")),
    );
    assert_eq!(bill.charge, 8206);
    assert_eq!((bill.remaining_days, bill.period_days), (208, 365));

    // P1M to the month's end: [2026-11-30, 2026-12-31) has 31 days, 27 from 12-04.
    // 4 seats x 7.20 = 2880: 2880 x 27 / 31 = 2508.39 -> 2508.
    let p1m = plan(TermDuration::P1M, BillingCycle::Monthly);
    let bill = first_period_bill("USD", (720, 4), p1m, (day("2026-12-04"), day("2026-12-31")));
    assert_eq!(bill.charge, 2508);
}
