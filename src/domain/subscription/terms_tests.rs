//! The term and billing period a subscription is in on a given day (docs/subscriptions.md, "Billing periods and
//! terms"): every rule of the derivation, by name.

use super::*;

fn date(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

/// A legacy term: one year, billed every `cycle`.
fn legacy(cycle: BillingCycle) -> Plan {
    Plan::new(crate::domain::plan::TermDuration::P1Y, cycle)
}

/// One row of the derivation table: cycle, status, stored (term start, term end, period start,
/// period end), the day, and the expected (term start, term end, period start, period end).
type TermCase<'a> = (
    &'a str,
    BillingCycle,
    SubscriptionStatus,
    [&'a str; 4],
    &'a str,
    [&'a str; 4],
);

fn dates([term_start, term_end, start, end]: [&str; 4]) -> BillingDates {
    BillingDates {
        term_start: date(term_start),
        term_end: date(term_end),
        current_period_start: date(start),
        current_period_end: date(end),
    }
}

fn assert_current_terms(cases: &[TermCase]) {
    for &(rule, cycle, status, stored, on, expected) in cases {
        assert_eq!(
            current_terms(legacy(cycle), dates(stored), status, date(on)),
            dates(expected),
            "{rule}"
        );
    }
}

#[test]
fn current_period_is_the_step_of_the_term_containing_the_day() {
    use BillingCycle::Monthly;
    use SubscriptionStatus::Active;
    let jan = ["2026-01-15", "2027-01-15", "2026-01-15", "2026-02-15"];
    assert_current_terms(&[
        (
            "stored period still runs",
            Monthly,
            Active,
            jan,
            "2026-02-14",
            jan,
        ),
        (
            "a day before the term starts keeps the stored dates",
            Monthly,
            Active,
            jan,
            "2025-12-01",
            jan,
        ),
        (
            "exactly on a period boundary the next period starts",
            Monthly,
            Active,
            jan,
            "2026-02-15",
            ["2026-01-15", "2027-01-15", "2026-02-15", "2026-03-15"],
        ),
        (
            "later in the same term, the monthly step containing the day",
            Monthly,
            Active,
            jan,
            "2026-11-24",
            ["2026-01-15", "2027-01-15", "2026-11-15", "2026-12-15"],
        ),
        (
            "the last day of the term is in its last period",
            Monthly,
            Active,
            jan,
            "2027-01-14",
            ["2026-01-15", "2027-01-15", "2026-12-15", "2027-01-15"],
        ),
    ]);
}

#[test]
fn after_the_term_end_the_renewed_terms_step_from_the_start() {
    use BillingCycle::{Annual, Monthly};
    use SubscriptionStatus::Active;
    let jan = ["2026-01-15", "2027-01-15", "2026-01-15", "2026-02-15"];
    assert_current_terms(&[
        (
            "on the term end the renewed term and its first period start",
            Monthly,
            Active,
            jan,
            "2027-01-15",
            ["2027-01-15", "2028-01-15", "2027-01-15", "2027-02-15"],
        ),
        (
            "thirteen months later: the second term, its second period",
            Monthly,
            Active,
            jan,
            "2027-02-20",
            ["2027-01-15", "2028-01-15", "2027-02-15", "2027-03-15"],
        ),
        (
            "after many terms, still steps from the start",
            Monthly,
            Active,
            jan,
            "2046-07-01",
            ["2046-01-15", "2047-01-15", "2046-06-15", "2046-07-15"],
        ),
        (
            "annual: the period is the term, renewed after 25 months",
            Annual,
            Active,
            ["2024-03-10", "2025-03-10", "2024-03-10", "2025-03-10"],
            "2026-04-10",
            ["2026-03-10", "2027-03-10", "2026-03-10", "2027-03-10"],
        ),
        (
            "suspended subscriptions move with time too",
            Monthly,
            SubscriptionStatus::Suspended,
            jan,
            "2026-03-01",
            ["2026-01-15", "2027-01-15", "2026-02-15", "2026-03-15"],
        ),
    ]);
}

#[test]
fn month_ends_clamp_in_each_month_without_drifting() {
    use BillingCycle::Monthly;
    use SubscriptionStatus::Active;
    let end = ["2026-01-31", "2027-01-31", "2026-01-31", "2026-02-28"];
    let leap = ["2024-02-29", "2025-02-28", "2024-02-29", "2024-03-29"];
    assert_current_terms(&[
        (
            "01-31 clamps to 02-28",
            Monthly,
            Active,
            end,
            "2026-02-28",
            ["2026-01-31", "2027-01-31", "2026-02-28", "2026-03-31"],
        ),
        (
            "after February the 31st comes back",
            Monthly,
            Active,
            end,
            "2026-04-15",
            ["2026-01-31", "2027-01-31", "2026-03-31", "2026-04-30"],
        ),
        (
            "a 30-day month clamps to the 30th",
            Monthly,
            Active,
            end,
            "2026-05-01",
            ["2026-01-31", "2027-01-31", "2026-04-30", "2026-05-31"],
        ),
        (
            "a leap-day start renews on 02-28 and keeps the 29th elsewhere",
            Monthly,
            Active,
            leap,
            "2025-03-30",
            ["2025-02-28", "2026-02-28", "2025-03-29", "2025-04-29"],
        ),
        (
            "a leap-day start is on the 29th again in the next leap year",
            Monthly,
            Active,
            leap,
            "2028-03-01",
            ["2028-02-29", "2029-02-28", "2028-02-29", "2028-03-29"],
        ),
    ]);
}

#[test]
fn final_subscriptions_and_odd_stored_periods_keep_what_is_stored() {
    use BillingCycle::{Annual, Monthly};
    use SubscriptionStatus::{Active, Cancelled, Upgraded};
    let old = ["2020-05-01", "2021-05-01", "2020-09-01", "2020-10-01"];
    assert_current_terms(&[
        (
            "cancelled keeps stored",
            Monthly,
            Cancelled,
            old,
            "2026-11-24",
            old,
        ),
        (
            "upgraded keeps stored",
            Annual,
            Upgraded,
            old,
            "2026-11-24",
            old,
        ),
        (
            "an upgrade's target: the shorter first term steps from its source's start",
            Monthly,
            Active,
            ["2026-03-20", "2026-09-01", "2026-03-20", "2026-04-01"],
            "2026-06-10",
            ["2026-03-20", "2026-09-01", "2026-06-01", "2026-07-01"],
        ),
        (
            "an upgrade's target renews for a full term from its source's anniversary",
            Monthly,
            Active,
            ["2026-03-20", "2026-09-01", "2026-03-20", "2026-04-01"],
            "2026-09-05",
            ["2026-09-01", "2027-09-01", "2026-09-01", "2026-10-01"],
        ),
        (
            "a synced period off the steps is followed by a shorter one, never overlapped",
            Monthly,
            Active,
            ["2026-01-01", "2027-01-01", "2026-03-10", "2026-04-10"],
            "2026-04-20",
            ["2026-01-01", "2027-01-01", "2026-04-10", "2026-05-01"],
        ),
    ]);
}

#[test]
fn terms_at_the_edges_of_the_accepted_dates_are_derived_without_overflow() {
    use BillingCycle::{Annual, Monthly};
    use SubscriptionStatus::Active;
    assert_current_terms(&[
        (
            "a 1970 start is in its 57th term in 2026",
            Monthly,
            Active,
            ["1970-01-01", "1971-01-01", "1970-01-01", "1970-02-01"],
            "2026-11-24",
            ["2026-01-01", "2027-01-01", "2026-11-01", "2026-12-01"],
        ),
        (
            "the last accepted start, a day in its last period",
            Annual,
            Active,
            ["2999-12-31", "3000-12-31", "2999-12-31", "3000-12-31"],
            "3000-12-30",
            ["2999-12-31", "3000-12-31", "2999-12-31", "3000-12-31"],
        ),
        (
            "a 1970 start seen on the last accepted day",
            Monthly,
            Active,
            ["1970-01-01", "1971-01-01", "1970-01-01", "1970-02-01"],
            "2999-12-31",
            ["2999-01-01", "3000-01-01", "2999-12-01", "3000-01-01"],
        ),
    ]);
}

#[test]
fn every_day_after_the_stored_period_is_inside_the_derived_term_and_period() {
    let stored = [
        ["2024-01-31", "2025-01-31", "2024-01-31", "2024-02-29"],
        ["2024-02-29", "2025-02-28", "2024-02-29", "2024-03-29"],
        ["2024-03-20", "2024-09-01", "2024-03-20", "2024-04-01"],
        ["2024-01-01", "2025-01-01", "2024-03-10", "2024-04-10"],
    ];
    for cycle in [BillingCycle::Monthly, BillingCycle::Annual] {
        for dates_stored in stored {
            let stored = dates(dates_stored);
            let mut on = stored.current_period_end;
            let mut previous = stored;
            while on < date("2028-01-01") {
                let got = current_terms(legacy(cycle), stored, SubscriptionStatus::Active, on);
                let what = format!("{cycle:?} {dates_stored:?} on {on}");
                assert!(got.term_start <= on && on < got.term_end, "{what}: {got:?}");
                assert!(
                    got.current_period_start <= on && on < got.current_period_end,
                    "{what}: {got:?}"
                );
                assert!(
                    got.term_start <= got.current_period_start,
                    "{what}: {got:?}"
                );
                assert!(got.current_period_end <= got.term_end, "{what}: {got:?}");
                // A leap-day start clamps to 02-28 and ends on 02-29 in a leap year: 366 days.
                assert!(
                    (got.term_end - got.term_start).num_days() <= 366,
                    "{what}: {got:?}"
                );
                assert!(
                    got.current_period_start >= previous.current_period_start,
                    "{what}: periods only move forward"
                );
                previous = got;
                on = on.succ_opt().unwrap();
            }
        }
    }
}
