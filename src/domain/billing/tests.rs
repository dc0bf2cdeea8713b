use chrono::NaiveDate;
use proptest::prelude::*;

use super::*;

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

/// Business Basic (6.00 USD) to Business Standard (12.50 USD), 10 seats each, monthly, in the
/// November period of a term that began in September.
fn basic_to_standard(today: &str) -> Proration {
    Proration {
        commerce: Commerce::Legacy,
        currency: "USD".into(),
        cycle: BillingCycle::Monthly,
        term_start: day("2026-09-01"),
        period_start: day("2026-11-01"),
        period_end: day("2026-12-01"),
        source_quantity: 10,
        source_monthly_unit_price: 600,
        target_quantity: 10,
        target_monthly_unit_price: 1250,
        today: day(today),
    }
}

#[test]
fn credit_and_charge_are_pro_rata_by_remaining_days_after_the_first_month() {
    let billing = prorate(&basic_to_standard("2026-11-24"));
    // 7 of 30 days remain: credit 6000 × 7/30 = 1400, charge 12500 × 7/30 = 2916.67 → 2917.
    assert_eq!(
        (billing.credit, billing.charge, billing.net),
        (1400, 2917, 1517)
    );
    assert_eq!((billing.remaining_days, billing.period_days), (7, 30));
    assert_eq!(billing.effective_date, day("2026-11-24"));
    assert!(!billing.full_credit);
    assert_eq!(billing.currency, "USD");
}

#[test]
fn credit_is_in_full_within_the_first_month_of_the_term() {
    let mut input = basic_to_standard("2026-09-10");
    input.period_start = day("2026-09-01");
    input.period_end = day("2026-10-01");
    let billing = prorate(&input);
    // The whole September price comes back; Standard is charged for 21 of 30 days.
    assert!(billing.full_credit);
    assert_eq!(
        (billing.credit, billing.charge, billing.net),
        (6000, 8750, 2750)
    );
}

#[test]
fn the_first_month_ends_on_the_same_day_of_the_next_month() {
    let mut input = basic_to_standard("2026-09-30");
    input.period_start = day("2026-09-01");
    input.period_end = day("2026-10-01");
    assert!(prorate(&input).full_credit);
    input.term_start = day("2026-08-30");
    assert!(
        !prorate(&input).full_credit,
        "30 August + 1 month = 30 September"
    );
}

#[test]
fn annual_periods_price_twelve_months() {
    let input = Proration {
        commerce: Commerce::Legacy,
        cycle: BillingCycle::Annual,
        period_start: day("2026-09-01"),
        period_end: day("2027-09-01"),
        ..basic_to_standard("2026-11-24")
    };
    let billing = prorate(&input);
    // 281 of 365 days remain: 72000 × 281/365 = 55430.14 → 55430; 150000 × 281/365 = 115479.45.
    assert_eq!((billing.remaining_days, billing.period_days), (281, 365));
    assert_eq!(
        (billing.credit, billing.charge, billing.net),
        (55430, 115479, 60049)
    );
}

#[test]
fn the_upgrade_day_counts_as_remaining() {
    let first = prorate(&basic_to_standard("2026-11-01"));
    assert_eq!(first.remaining_days, 30);
    assert_eq!(first.credit, 6000, "nothing of the period was used");
    let last = prorate(&basic_to_standard("2026-11-30"));
    assert_eq!(last.remaining_days, 1);
    assert_eq!((last.credit, last.charge), (200, 417));
}

#[test]
fn a_date_outside_the_current_period_is_clamped_into_it() {
    let early = prorate(&basic_to_standard("2026-10-15"));
    assert_eq!(early.effective_date, day("2026-11-01"));
    assert_eq!(early.remaining_days, 30);
    let late = prorate(&basic_to_standard("2027-01-15"));
    assert_eq!(late.effective_date, day("2026-11-30"));
    assert_eq!(late.remaining_days, 1);
}

#[test]
fn ties_round_half_to_even_on_the_final_amount() {
    // A two-day period with one day left: each amount is exactly half its period price.
    let two_days = |source_price, target_price| Proration {
        commerce: Commerce::Legacy,
        period_start: day("2026-11-01"),
        period_end: day("2026-11-03"),
        source_quantity: 1,
        source_monthly_unit_price: source_price,
        target_quantity: 1,
        target_monthly_unit_price: target_price,
        ..basic_to_standard("2026-11-02")
    };
    let billing = prorate(&two_days(1, 3));
    assert_eq!((billing.credit, billing.charge), (0, 2), "0.5 → 0, 1.5 → 2");
    let billing = prorate(&two_days(5, 7));
    assert_eq!((billing.credit, billing.charge), (2, 4), "2.5 → 2, 3.5 → 4");
}

#[test]
fn round_half_even_table() {
    let cases: [(i128, i128, i128); 10] = [
        (0, 7, 0),
        (1, 3, 0),
        (2, 3, 1),
        (1, 2, 0),
        (3, 2, 2),
        (5, 2, 2),
        (7, 2, 4),
        (-1, 2, 0),
        (-3, 2, -2),
        (-5, 3, -2),
    ];
    for (numerator, denominator, expected) in cases {
        assert_eq!(
            round_half_even(numerator, denominator),
            expected,
            "{numerator}/{denominator}"
        );
    }
}

#[test]
fn periods_at_the_edges_of_the_accepted_dates_prorate_like_any_other() {
    // (term start, period start, period end, today) → (effective date, remaining, period days,
    // full credit): a period long past is billed as on its last day, one far ahead as on its
    // first; both fall within their term's first month.
    let cases = [
        (
            ("1970-01-01", "1970-01-01", "1970-02-01", "2026-11-24"),
            ("1970-01-31", 1, 31, true),
        ),
        (
            ("2999-12-31", "2999-12-31", "3000-01-31", "2026-11-24"),
            ("2999-12-31", 31, 31, true),
        ),
        (
            ("2999-12-31", "2999-12-31", "3000-12-31", "2026-11-24"),
            ("2999-12-31", 365, 365, true),
        ),
    ];
    for ((term_start, start, end, today), (effective, remaining, days, full)) in cases {
        let input = Proration {
            commerce: Commerce::Legacy,
            term_start: day(term_start),
            period_start: day(start),
            period_end: day(end),
            ..basic_to_standard(today)
        };
        let billing = prorate(&input);
        let got = (
            billing.effective_date,
            billing.remaining_days,
            billing.period_days,
            billing.full_credit,
        );
        assert_eq!(
            got,
            (day(effective), remaining, days, full),
            "{start}..{end}"
        );
        assert!(
            billing.charge <= 12_500 && billing.credit <= 6_000,
            "{billing:?}"
        );
    }
}

#[test]
fn a_smaller_target_quantity_is_charged_for_its_own_seats() {
    let mut input = basic_to_standard("2026-11-24");
    input.target_quantity = 4;
    // 5000 × 7/30 = 1166.67 → 1167.
    assert_eq!(prorate(&input).charge, 1167);
}

prop_compose! {
    fn any_proration()(
        cycle in prop_oneof![Just(BillingCycle::Monthly), Just(BillingCycle::Annual)],
        term_offset in 0i64..400,
        period_offset in 0i64..330,
        period_len in 1i64..=366,
        today_offset in -40i64..800,
        source_quantity in 1i64..=1_000_000,
        target_quantity in 1i64..=1_000_000,
        source_price in 0i64..=10_000_000,
        target_price in 0i64..=10_000_000,
    ) -> Proration {
        let term_start = day("2025-01-01") + chrono::Duration::days(term_offset);
        let period_start = term_start + chrono::Duration::days(period_offset);
        Proration {
        commerce: Commerce::Legacy,
            currency: "EUR".into(),
            cycle,
            term_start,
            period_start,
            period_end: period_start + chrono::Duration::days(period_len),
            source_quantity,
            source_monthly_unit_price: source_price,
            target_quantity,
            target_monthly_unit_price: target_price,
            today: term_start + chrono::Duration::days(today_offset),
        }
    }
}

fn period_price(input: &Proration, unit: i64, quantity: i64) -> i64 {
    unit * quantity * i64::from(input.cycle.period_months())
}

proptest! {
    #[test]
    fn no_credit_exceeds_a_full_period_and_none_is_negative(input in any_proration()) {
        let billing = prorate(&input);
        let full = period_price(&input, input.source_monthly_unit_price, input.source_quantity);
        prop_assert!(0 <= billing.credit && billing.credit <= full);
        let full_target = period_price(&input, input.target_monthly_unit_price, input.target_quantity);
        prop_assert!(0 <= billing.charge && billing.charge <= full_target);
    }

    #[test]
    fn net_is_charge_minus_credit_and_days_stay_in_the_period(input in any_proration()) {
        let billing = prorate(&input);
        prop_assert_eq!(billing.net, billing.charge - billing.credit);
        prop_assert!(1 <= billing.remaining_days && billing.remaining_days <= billing.period_days);
        prop_assert!(input.period_start <= billing.effective_date);
        prop_assert!(billing.effective_date < input.period_end);
    }

    #[test]
    fn rounding_is_off_by_at_most_half_a_minor_unit(input in any_proration()) {
        let billing = prorate(&input);
        let exact = i128::from(period_price(&input, input.target_monthly_unit_price, input.target_quantity))
            * i128::from(billing.remaining_days);
        let error = (i128::from(billing.charge) * i128::from(billing.period_days) - exact).abs();
        prop_assert!(2 * error <= i128::from(billing.period_days));
    }

    #[test]
    fn upgrading_later_never_costs_more(input in any_proration(), later in 1i64..40) {
        let earlier = prorate(&input);
        let mut next = input.clone();
        next.today = input.today + chrono::Duration::days(later);
        let later = prorate(&next);
        prop_assert!(later.charge <= earlier.charge);
    }
}

/// A change scheduled for the renewal is billed the whole first period, without proration.
#[test]
fn a_scheduled_change_is_billed_its_whole_first_period_without_proration() {
    let monthly = full_period("USD", 1000, 7, 1, (day("2027-01-15"), day("2027-02-15")));
    assert_eq!(
        (monthly.credit, monthly.charge, monthly.net),
        (0, 7000, 7000)
    );
    assert_eq!((monthly.remaining_days, monthly.period_days), (31, 31));
    assert_eq!(monthly.effective_date, day("2027-01-15"));
    let annual = full_period("EUR", 940, 3, 12, (day("2027-01-15"), day("2028-01-15")));
    assert_eq!(annual.charge, 940 * 3 * 12);
    assert!(!annual.full_credit);
}

/// **No first-month full credit** under new commerce: an upgrade in the term's first month credits
/// the source daily like any other, where a legacy one credits the whole period.
#[test]
fn new_commerce_credits_daily_even_in_the_first_month() {
    // Basic (6.00) to Standard (12.50), 10 seats, monthly, 2026-09-10 in a term begun 09-01:
    // 21 of 30 days left. Credit 6,000 x 21 / 30 = 4,200; charge 12,500 x 21 / 30 = 8,750.
    let first_month = Proration {
        term_start: day("2026-09-01"),
        period_start: day("2026-09-01"),
        period_end: day("2026-10-01"),
        today: day("2026-09-10"),
        ..basic_to_standard("2026-09-10")
    };
    let legacy = prorate(&first_month);
    assert!(legacy.full_credit);
    assert_eq!(legacy.credit, 6_000);
    let new = prorate(&Proration {
        commerce: Commerce::New,
        ..first_month
    });
    assert!(!new.full_credit);
    assert_eq!((new.credit, new.charge, new.net), (4_200, 8_750, 4_550));
    assert_eq!((new.remaining_days, new.period_days), (21, 30));
}
