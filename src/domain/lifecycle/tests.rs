use std::collections::{BTreeMap, BTreeSet};

use super::*;
use crate::domain::catalog::{Market, OfferFamily, OfferKind};

use SubscriptionStatus::{Active, Cancelled, Suspended, Upgraded};

#[test]
fn status_transitions_follow_the_state_machine() {
    let all = [Active, Suspended, Cancelled, Upgraded];
    let allowed = [
        (Active, Active),
        (Active, Suspended),
        (Active, Cancelled),
        (Suspended, Suspended),
        (Suspended, Active),
        (Suspended, Cancelled),
        (Cancelled, Cancelled),
    ];
    for from in all {
        for to in all {
            assert_eq!(
                transition(from, to).is_ok(),
                allowed.contains(&(from, to)),
                "{from:?} -> {to:?}"
            );
        }
    }
}

#[test]
fn an_invalid_transition_names_both_states() {
    let error = transition(Cancelled, Active).unwrap_err();
    assert_eq!(
        error.to_string(),
        "a cancelled subscription cannot become active"
    );
}

#[test]
fn an_invalid_transition_from_a_vowel_reads_an() {
    let error = transition(Upgraded, Active).unwrap_err();
    assert_eq!(
        error.to_string(),
        "an upgraded subscription cannot become active"
    );
}

fn offer(id: &str, family: bool, cap: Option<u32>) -> Offer {
    Offer {
        id: id.into(),
        name: id.into(),
        kind: OfferKind::Base,
        family_id: family.then(|| "biz".to_owned()),
        seat_cap: cap,
        services: BTreeSet::new(),
        monthly_prices: BTreeMap::from([("US".to_owned(), 600)]),
        attaches_to: BTreeSet::new(),
    }
}

fn catalog() -> Catalog {
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
        vec![offer("basic", true, Some(300)), offer("e3", false, None)],
        vec![],
    )
    .unwrap()
}

fn change(offer_id: &str, quantity: i64) -> Result<(), QuantityError> {
    change_with(offer_id, quantity, |_| {})
}

fn change_with(
    offer_id: &str,
    quantity: i64,
    adjust: impl FnOnce(&mut SeatChange<'_>),
) -> Result<(), QuantityError> {
    let catalog = catalog();
    let mut seat_change = SeatChange {
        offer: catalog.offer(offer_id).unwrap(),
        status: Active,
        quantity,
        assigned: 0,
        family_seats_elsewhere: 0,
        add_on_seats: 0,
    };
    adjust(&mut seat_change);
    check_quantity(&catalog, &seat_change)
}

fn code(result: Result<(), QuantityError>) -> Option<&'static str> {
    result.err().map(|e| e.code().as_str())
}

#[test]
fn quantity_is_between_one_and_the_caps() {
    let cases = [
        ("basic", 0, Some("invalid_quantity")),
        ("basic", -5, Some("invalid_quantity")),
        ("basic", 1, None),
        ("basic", 300, None),
        ("basic", 301, Some("seat_limit_exceeded")),
        ("e3", 5_000, None),
        ("e3", MAX_QUANTITY, None),
        ("e3", MAX_QUANTITY + 1, Some("invalid_quantity")),
    ];
    for (offer, quantity, expected) in cases {
        assert_eq!(
            code(change(offer, quantity)),
            expected,
            "{offer} {quantity}"
        );
    }
}

#[test]
fn the_family_cap_counts_the_customers_other_subscriptions_of_the_family() {
    let elsewhere = |held| move |c: &mut SeatChange<'_>| c.family_seats_elsewhere = held;
    assert_eq!(code(change_with("basic", 200, elsewhere(100))), None);
    assert_eq!(
        code(change_with("basic", 201, elsewhere(100))),
        Some("seat_limit_exceeded")
    );
    assert_eq!(
        code(change_with("e3", 201, elsewhere(300))),
        None,
        "not in the family"
    );
}

#[test]
fn quantity_never_goes_below_the_assigned_licenses() {
    let assigned = |n| move |c: &mut SeatChange<'_>| c.assigned = n;
    assert_eq!(code(change_with("basic", 4, assigned(4))), None);
    assert_eq!(
        code(change_with("basic", 3, assigned(4))),
        Some("quantity_below_assigned_licenses")
    );
}

#[test]
fn quantity_never_goes_below_an_active_add_ons_quantity() {
    let add_on = |n| move |c: &mut SeatChange<'_>| c.add_on_seats = n;
    assert_eq!(code(change_with("basic", 4, add_on(4))), None);
    assert_eq!(
        code(change_with("basic", 3, add_on(4))),
        Some("quantity_below_add_on_quantity")
    );
}

#[test]
fn only_an_active_subscription_changes_seats() {
    for status in [Suspended, Cancelled, Upgraded] {
        assert_eq!(
            code(change_with("basic", 5, |c| c.status = status)),
            Some("subscription_not_active"),
            "{status:?}"
        );
    }
}

/// Business Basic at 6.00 USD, monthly, in the November period, changed on 24 November.
fn proration(old: i64, new: i64) -> SeatProration {
    SeatProration {
        currency: "USD".into(),
        cycle: BillingCycle::Monthly,
        period_start: "2026-11-01".parse().unwrap(),
        period_end: "2026-12-01".parse().unwrap(),
        monthly_unit_price: 600,
        old_quantity: old,
        new_quantity: new,
        today: "2026-11-24".parse().unwrap(),
    }
}

#[test]
fn added_seats_are_charged_and_removed_seats_credited_for_the_remaining_days() {
    // 7 of 30 days left: 5 seats × 600 × 7/30 = 700.
    let added = prorate_seats(&proration(10, 15));
    assert_eq!((added.charge, added.credit, added.net), (700, 0, 700));
    // 2 × 600 × 7/30 = 280.
    let removed = prorate_seats(&proration(10, 8));
    assert_eq!(
        (removed.charge, removed.credit, removed.net),
        (0, 280, -280)
    );
    let same = prorate_seats(&proration(10, 10));
    assert_eq!((same.charge, same.credit), (0, 0));
}

#[test]
fn a_seat_change_on_an_annual_cycle_prices_twelve_months() {
    let billing = prorate_seats(&SeatProration {
        cycle: BillingCycle::Annual,
        period_start: "2026-09-01".parse().unwrap(),
        period_end: "2027-09-01".parse().unwrap(),
        ..proration(10, 11)
    });
    // 1 seat × 7200 × 281/365 = 5543.01 → 5543.
    assert_eq!(billing.charge, 5543);
}
