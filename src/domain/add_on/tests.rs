use std::collections::BTreeSet;

use super::*;
use crate::domain::catalog::Market;

use SubscriptionStatus::{Active, Cancelled, Suspended, Upgraded};

fn offer(id: &str, kind: OfferKind, markets: &[&str], attaches_to: &[&str]) -> Offer {
    Offer {
        id: id.into(),
        name: id.into(),
        kind,
        family_id: None,
        seat_cap: None,
        services: BTreeSet::new(),
        monthly_prices: markets.iter().map(|m| ((*m).to_owned(), 400)).collect(),
        attaches_to: attaches_to.iter().map(|b| (*b).to_owned()).collect(),
    }
}

fn catalog() -> Catalog {
    let market = |code: &str| Market {
        code: code.into(),
        name: code.into(),
        currency: "USD".into(),
        currency_minor_units: 2,
    };
    Catalog::new(
        vec![market("US"), market("IN")],
        vec![],
        vec![
            offer("basic", OfferKind::Base, &["US", "IN"], &[]),
            offer("e5", OfferKind::Base, &["US", "IN"], &[]),
            offer("audio", OfferKind::AddOn, &["US", "IN"], &["basic"]),
            offer("archiving", OfferKind::AddOn, &["US"], &["basic"]),
        ],
        vec![],
    )
    .unwrap()
}

fn base(status: SubscriptionStatus) -> Base<'static> {
    Base {
        offer_id: "basic",
        status,
        quantity: 10,
        market: "US",
    }
}

fn purchase(base: &Base<'_>, add_on: &str, quantity: i64, active: &[&str]) -> Option<&'static str> {
    let active: Vec<String> = active.iter().map(|a| (*a).to_owned()).collect();
    check_purchase(&catalog(), base, add_on, quantity, &active)
        .err()
        .map(|e| e.code().as_str())
}

#[test]
fn an_add_on_attaches_only_to_the_base_offers_the_catalog_allows() {
    assert_eq!(purchase(&base(Active), "audio", 5, &[]), None);
    let e5 = Base {
        offer_id: "e5",
        ..base(Active)
    };
    assert_eq!(
        purchase(&e5, "audio", 5, &[]),
        Some("add_on_not_attachable")
    );
}

#[test]
fn only_add_on_offers_can_be_bought_as_add_ons() {
    assert_eq!(
        purchase(&base(Active), "e5", 5, &[]),
        Some("offer_not_add_on")
    );
    assert_eq!(
        purchase(&base(Active), "nope", 5, &[]),
        Some("unknown_offer")
    );
}

#[test]
fn an_add_on_is_sold_only_in_its_markets() {
    let india = Base {
        market: "IN",
        ..base(Active)
    };
    assert_eq!(purchase(&india, "audio", 5, &[]), None);
    assert_eq!(
        purchase(&india, "archiving", 5, &[]),
        Some("offer_not_sold_in_market")
    );
}

#[test]
fn an_add_on_quantity_is_at_least_one_and_never_exceeds_the_base_quantity() {
    let cases = [
        (0, Some("invalid_quantity")),
        (-1, Some("invalid_quantity")),
        (MAX_QUANTITY + 1, Some("invalid_quantity")),
        (1, None),
        (10, None),
        (11, Some("add_on_quantity_exceeds_base")),
    ];
    for (quantity, expected) in cases {
        assert_eq!(
            purchase(&base(Active), "audio", quantity, &[]),
            expected,
            "{quantity}"
        );
    }
}

#[test]
fn add_ons_are_bought_only_for_an_active_subscription() {
    for status in [Suspended, Cancelled, Upgraded] {
        assert_eq!(
            purchase(&base(status), "audio", 5, &[]),
            Some("subscription_not_active"),
            "{status:?}"
        );
    }
}

#[test]
fn a_subscription_holds_one_active_add_on_per_offer() {
    assert_eq!(
        purchase(&base(Active), "audio", 5, &["audio"]),
        Some("add_on_already_active")
    );
    assert_eq!(purchase(&base(Active), "archiving", 5, &["audio"]), None);
}

fn change(base: &Base<'_>, status: AddOnStatus, change: AddOnChange) -> Option<&'static str> {
    check_change(base, status, change)
        .err()
        .map(|e| e.code().as_str())
}

#[test]
fn an_add_on_quantity_change_keeps_it_between_one_and_the_base_quantity() {
    let cases = [
        (0, Some("invalid_quantity")),
        (1, None),
        (10, None),
        (11, Some("add_on_quantity_exceeds_base")),
    ];
    for (quantity, expected) in cases {
        assert_eq!(
            change(
                &base(Active),
                AddOnStatus::Active,
                AddOnChange::Quantity(quantity)
            ),
            expected,
            "{quantity}"
        );
    }
    assert_eq!(
        change(
            &base(Suspended),
            AddOnStatus::Active,
            AddOnChange::Quantity(2)
        ),
        Some("subscription_not_active")
    );
    assert_eq!(
        change(
            &base(Active),
            AddOnStatus::Cancelled,
            AddOnChange::Quantity(2)
        ),
        Some("add_on_not_active")
    );
}

#[test]
fn an_add_on_is_cancelled_once_and_for_good() {
    use AddOnStatus::{Active as On, Cancelled as Off};
    let cases = [
        (On, On, None),
        (On, Off, None),
        (Off, Off, None),
        (Off, On, Some("add_on_not_active")),
    ];
    for (from, to, expected) in cases {
        assert_eq!(
            change(&base(Active), from, AddOnChange::Status(to)),
            expected,
            "{from:?} -> {to:?}"
        );
    }
    assert_eq!(
        change(&base(Suspended), On, AddOnChange::Status(Off)),
        None,
        "cancelling works on a suspended base"
    );
}
