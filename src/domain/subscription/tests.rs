use std::collections::{BTreeMap, BTreeSet};

use super::*;
use crate::domain::catalog::{Market, Offer, OfferFamily, OfferKind};

fn date(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

/// A legacy term: one year, billed every `cycle`.
fn legacy(cycle: BillingCycle) -> Plan {
    Plan::new(crate::domain::plan::TermDuration::P1Y, cycle)
}

fn catalog() -> Catalog {
    let offer = |id: &str, kind, family: Option<&str>, cap: Option<u32>, markets: &[&str]| Offer {
        id: id.into(),
        name: id.into(),
        kind,
        family_id: family.map(Into::into),
        seat_cap: cap,
        services: BTreeSet::new(),
        monthly_prices: markets
            .iter()
            .map(|m| (m.to_string(), 100))
            .collect::<BTreeMap<_, _>>(),
        attaches_to: BTreeSet::new(),
    };
    Catalog::new(
        vec![Market {
            code: "US".into(),
            name: "US".into(),
            currency: "USD".into(),
            currency_minor_units: 2,
        }],
        vec![OfferFamily {
            id: "biz".into(),
            name: "Business".into(),
            seat_cap: Some(300),
        }],
        vec![
            offer("basic", OfferKind::Base, Some("biz"), Some(300), &["US"]),
            offer("e3", OfferKind::Base, None, None, &["US"]),
            offer("basic-india", OfferKind::Base, Some("biz"), Some(300), &[]),
            offer("audio", OfferKind::AddOn, None, None, &["US"]),
        ],
        vec![],
    )
    .unwrap()
}

#[test]
fn new_subscription_rules_each_have_their_code() {
    let catalog = catalog();
    let cases: [(&str, i64, i64, Option<&str>); 12] = [
        ("e3", MAX_QUANTITY, 0, None),
        ("e3", MAX_QUANTITY + 1, 0, Some("invalid_quantity")),
        ("basic", 1, 0, None),
        ("basic", 300, 0, None),
        ("basic", 301, 0, Some("seat_limit_exceeded")),
        ("basic", 100, 200, None),
        ("basic", 101, 200, Some("seat_limit_exceeded")),
        ("e3", 100_000, 500, None),
        ("e3", 0, 0, Some("invalid_quantity")),
        ("nope", 1, 0, Some("unknown_offer")),
        ("audio", 1, 0, Some("offer_is_add_on")),
        ("basic-india", 1, 0, Some("offer_not_sold_in_market")),
    ];
    for (offer, quantity, held, expected) in cases {
        let got = check_new(&catalog, "US", offer, quantity, held)
            .err()
            .map(|e| e.code().as_str());
        assert_eq!(got, expected, "{offer} x {quantity} with {held} held");
    }
}

#[test]
fn default_period_is_the_one_containing_today() {
    let cases = [
        (
            BillingCycle::Monthly,
            "2026-01-15",
            "2026-11-24",
            ("2026-11-15", "2026-12-15"),
        ),
        (
            BillingCycle::Monthly,
            "2026-11-24",
            "2026-11-24",
            ("2026-11-24", "2026-12-24"),
        ),
        (
            BillingCycle::Monthly,
            "2026-01-31",
            "2026-02-27",
            ("2026-01-31", "2026-02-28"),
        ),
        (
            BillingCycle::Monthly,
            "2027-01-01",
            "2026-11-24",
            ("2027-01-01", "2027-02-01"),
        ),
        (
            BillingCycle::Monthly,
            "2025-01-01",
            "2026-11-24",
            ("2025-12-01", "2026-01-01"),
        ),
        (
            BillingCycle::Annual,
            "2026-03-01",
            "2026-11-24",
            ("2026-03-01", "2027-03-01"),
        ),
    ];
    assert_default_periods(&cases);
}

/// The edges of the accepted dates: a term that ended long ago keeps its last period; a term
/// starting on the last accepted day ends a year later.
#[test]
fn terms_at_the_edges_of_the_accepted_dates_keep_their_periods() {
    let cases = [
        (
            BillingCycle::Monthly,
            "1970-01-01",
            "2026-11-24",
            ("1970-12-01", "1971-01-01"),
        ),
        (
            BillingCycle::Monthly,
            "2999-12-31",
            "2026-11-24",
            ("2999-12-31", "3000-01-31"),
        ),
        (
            BillingCycle::Annual,
            "2999-12-31",
            "2026-11-24",
            ("2999-12-31", "3000-12-31"),
        ),
    ];
    assert_default_periods(&cases);
}

fn assert_default_periods(cases: &[(BillingCycle, &str, &str, (&str, &str))]) {
    for &(cycle, term_start, today, (start, end)) in cases {
        let dates = billing_dates(legacy(cycle), date(term_start), date(today), None).unwrap();
        assert_eq!(
            (dates.current_period_start, dates.current_period_end),
            (date(start), date(end)),
            "{cycle:?} from {term_start} on {today}"
        );
        assert_eq!(
            dates.term_end,
            date(term_start)
                .checked_add_months(Months::new(12))
                .unwrap()
        );
    }
}

#[test]
fn requested_period_must_lie_within_the_term() {
    let start = date("2026-01-01");
    let ok = billing_dates(
        legacy(BillingCycle::Monthly),
        start,
        start,
        Some((date("2026-11-01"), date("2026-12-01"))),
    );
    assert_eq!(ok.unwrap().current_period_start, date("2026-11-01"));
    let bad = [
        ("2026-12-01", "2026-11-01"),
        ("2026-11-01", "2026-11-01"),
        ("2025-12-01", "2026-01-01"),
        ("2026-12-15", "2027-01-15"),
    ];
    for (from, to) in bad {
        let result = billing_dates(
            legacy(BillingCycle::Monthly),
            start,
            start,
            Some((date(from), date(to))),
        );
        assert_eq!(
            result.unwrap_err().code().as_str(),
            "invalid_billing_period",
            "{from}..{to}"
        );
    }
}

#[test]
fn status_and_cycle_names_round_trip() {
    for status in [
        SubscriptionStatus::Active,
        SubscriptionStatus::Suspended,
        SubscriptionStatus::Cancelled,
        SubscriptionStatus::Upgraded,
    ] {
        assert_eq!(SubscriptionStatus::parse(status.as_str()), Some(status));
    }
    for cycle in [BillingCycle::Monthly, BillingCycle::Annual] {
        assert_eq!(BillingCycle::parse(cycle.as_str()), Some(cycle));
    }
}
