use chrono::NaiveDate;

use super::*;

fn day(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

#[test]
fn only_an_active_legacy_subscription_migrates() {
    use SubscriptionStatus::*;
    for status in [Active, Suspended, Cancelled, Upgraded, Expired, Migrated] {
        let legacy = check_migration(Commerce::Legacy, status);
        let expected = if status == Active {
            Ok(())
        } else {
            Err(MigrationRefusal::NotActive(status))
        };
        assert_eq!(legacy, expected, "{status:?}");
        assert_eq!(
            check_migration(Commerce::New, status),
            Err(MigrationRefusal::NotLegacy),
            "a new-commerce subscription has nothing to move to, {status:?}"
        );
    }
    assert_eq!(
        MigrationRefusal::NotLegacy.code(),
        ErrorCode::MigrationNotAllowed
    );
    assert_eq!(
        MigrationRefusal::NotActive(Suspended).code(),
        ErrorCode::SubscriptionNotActive
    );
}

fn monthly_source(term_start: &str, period: (&str, &str)) -> LegacySource {
    LegacySource {
        cycle: BillingCycle::Monthly,
        term_start: day(term_start),
        period: (day(period.0), day(period.1)),
        quantity: 5,
        monthly_unit_price: 600,
    }
}

fn monthly_target(first_day: &str, quantity: i64, price: i64) -> NewCommerceTarget {
    let start = day(first_day);
    NewCommerceTarget {
        quantity,
        monthly_unit_price: price,
        period_months: 1,
        first_period: (
            start,
            start.checked_add_months(chrono::Months::new(1)).unwrap(),
        ),
    }
}

#[test]
fn a_migration_after_the_first_month_credits_the_legacy_period_daily_and_charges_a_full_new_period()
{
    let source = monthly_source("2026-01-10", ("2026-03-10", "2026-04-10"));
    let target = monthly_target("2026-03-20", 5, 720);
    let bill = bill("USD", &source, &target, day("2026-03-20"));
    // 5 seats x 600 for a 31-day period, 21 days unused: 3000 x 21 / 31 = 2032.26 -> 2032.
    assert_eq!(bill.credit, 2032);
    assert!(!bill.full_credit);
    // The new subscription's first month in full: 5 x 720.
    assert_eq!(bill.charge, 3600);
    assert_eq!(bill.net, 3600 - 2032);
    assert_eq!(
        (bill.remaining_days, bill.period_days, bill.period_end),
        (21, 31, day("2026-04-10"))
    );
    assert_eq!(bill.effective_date, day("2026-03-20"));
}

#[test]
fn a_migration_in_the_legacy_terms_first_month_credits_its_period_in_full() {
    let source = monthly_source("2026-03-10", ("2026-03-10", "2026-04-10"));
    let target = monthly_target("2026-03-15", 8, 720);
    let bill = bill("USD", &source, &target, day("2026-03-15"));
    assert!(bill.full_credit);
    assert_eq!(bill.credit, 5 * 600);
    assert_eq!(bill.charge, 8 * 720);
    assert_eq!(bill.net, 8 * 720 - 5 * 600);
}

#[test]
fn an_annual_legacy_period_is_credited_by_its_days_and_an_annual_plan_charged_twelve_months() {
    let source = LegacySource {
        cycle: BillingCycle::Annual,
        term_start: day("2026-01-10"),
        period: (day("2026-01-10"), day("2027-01-10")),
        quantity: 2,
        monthly_unit_price: 1000,
    };
    let target = NewCommerceTarget {
        quantity: 2,
        monthly_unit_price: 900,
        period_months: 12,
        first_period: (day("2026-07-10"), day("2027-07-10")),
    };
    let bill = bill("EUR", &source, &target, day("2026-07-10"));
    // 2 x 1000 x 12 = 24000 over 365 days, 184 unused: 4416000 / 365 = 12098.6 -> 12099.
    assert_eq!(bill.credit, 12099);
    assert_eq!(bill.charge, 2 * 900 * 12);
    assert_eq!(bill.net, 21600 - 12099);
    assert_eq!(bill.currency, "EUR");
}
