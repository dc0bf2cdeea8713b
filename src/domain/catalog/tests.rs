use super::*;

fn market(code: &str, currency: &str) -> Market {
    Market {
        code: code.into(),
        name: code.into(),
        currency: currency.into(),
        currency_minor_units: 2,
    }
}

fn offer(id: &str, kind: OfferKind, markets: &[&str], seat_cap: Option<u32>) -> Offer {
    Offer {
        id: id.into(),
        name: id.to_uppercase(),
        kind,
        family_id: None,
        seat_cap,
        services: ["EXCHANGE".to_string()].into(),
        monthly_prices: markets.iter().map(|m| (m.to_string(), 100)).collect(),
        attaches_to: BTreeSet::new(),
    }
}

fn path(source: &str, target: &str) -> UpgradePath {
    UpgradePath {
        source_offer_id: source.into(),
        target_offer_id: target.into(),
        upgrade_type: UpgradeType::UpgradeWithLicenseTransfer,
    }
}

/// A global plan, a plan sold only in IN and one sold everywhere, like the India rule's shape.
fn india_shaped_catalog() -> Catalog {
    Catalog::new(
        vec![market("US", "USD"), market("IN", "INR")],
        vec![],
        vec![
            offer("basic", OfferKind::Base, &["US"], Some(300)),
            offer("standard", OfferKind::Base, &["US"], Some(300)),
            offer("basic-india", OfferKind::Base, &["IN"], Some(300)),
            offer("standard-india", OfferKind::Base, &["IN"], Some(300)),
            offer("e3", OfferKind::Base, &["US", "IN"], None),
        ],
        vec![
            path("basic", "standard"),
            path("basic", "e3"),
            path("basic-india", "standard-india"),
            path("basic-india", "e3"),
        ],
    )
    .expect("valid catalog")
}

#[test]
fn path_markets_are_where_both_ends_are_sold() {
    let catalog = india_shaped_catalog();
    let markets_of = |s: &str, t: &str| catalog.path_markets(catalog.path(s, t).unwrap());

    assert_eq!(markets_of("basic", "standard"), vec!["US"]);
    assert_eq!(markets_of("basic", "e3"), vec!["US"]);
    assert_eq!(markets_of("basic-india", "standard-india"), vec!["IN"]);
    assert_eq!(markets_of("basic-india", "e3"), vec!["IN"]);
}

#[test]
fn paths_from_keeps_matrix_order_and_only_that_source() {
    let catalog = india_shaped_catalog();
    let targets: Vec<_> = catalog
        .paths_from("basic-india")
        .map(|p| p.target_offer_id.as_str())
        .collect();
    assert_eq!(targets, vec!["standard-india", "e3"]);
    assert_eq!(catalog.paths_from("e3").count(), 0);
    assert!(catalog.path("basic-india", "standard").is_none());
}

#[test]
fn seat_cap_is_inclusive_and_absent_cap_means_uncapped() {
    let capped = offer("basic", OfferKind::Base, &["US"], Some(300));
    let uncapped = offer("e3", OfferKind::Base, &["US"], None);
    let cases = [
        (&capped, 1, true),
        (&capped, 300, true),
        (&capped, 301, false),
        (&uncapped, 1_000_000, true),
    ];
    for (offer, quantity, fits) in cases {
        assert_eq!(
            offer.fits_seat_cap(quantity),
            fits,
            "{} x {quantity}",
            offer.id
        );
    }
}

#[test]
fn an_offer_is_sold_exactly_where_it_has_a_price() {
    let catalog = india_shaped_catalog();
    let basic = catalog.offer("basic").unwrap();
    assert!(basic.is_sold_in("US"));
    assert!(!basic.is_sold_in("IN"));
    assert_eq!(basic.monthly_price_in("US"), Some(100));
    assert_eq!(basic.monthly_price_in("IN"), None);
}

#[test]
fn catalog_refuses_dangling_references() {
    let us = || vec![market("US", "USD")];
    let base = |id: &str| offer(id, OfferKind::Base, &["US"], None);
    let mut add_on = offer("audio", OfferKind::AddOn, &["US"], None);
    add_on.attaches_to.insert("missing".into());
    let mut in_family = base("fam");
    in_family.family_id = Some("nowhere".into());

    let cases: Vec<(&str, Result<Catalog, CatalogError>)> = vec![
        (
            "price in unknown market",
            Catalog::new(
                us(),
                vec![],
                vec![offer("x", OfferKind::Base, &["IT"], None)],
                vec![],
            ),
        ),
        (
            "unknown family",
            Catalog::new(us(), vec![], vec![in_family], vec![]),
        ),
        (
            "path to unknown offer",
            Catalog::new(us(), vec![], vec![base("a")], vec![path("a", "b")]),
        ),
        (
            "path to an add-on",
            Catalog::new(
                us(),
                vec![],
                vec![base("a"), offer("audio", OfferKind::AddOn, &["US"], None)],
                vec![path("a", "audio")],
            ),
        ),
        (
            "add-on attached to unknown base",
            Catalog::new(us(), vec![], vec![add_on], vec![]),
        ),
    ];
    for (name, result) in cases {
        assert!(result.is_err(), "{name} should be refused");
    }
}

#[test]
fn wire_names_round_trip() {
    for kind in [OfferKind::Base, OfferKind::AddOn] {
        assert_eq!(OfferKind::parse(kind.as_str()), Some(kind));
    }
    for ty in [
        UpgradeType::UpgradeWithLicenseTransfer,
        UpgradeType::UpgradeOnly,
    ] {
        assert_eq!(UpgradeType::parse(ty.as_str()), Some(ty));
    }
    assert_eq!(UpgradeType::parse("upgrade"), None);
}

/// Each offer's services as bits over the catalog's codes in code order, past one 64-bit word:
/// the names read back from the bits are the offer's own, sorted.
#[test]
fn service_sets_hold_each_offers_services_whatever_their_number() {
    let code = |n: usize| format!("SERVICE_{n:03}");
    let with = |id: &str, services: &[usize]| Offer {
        services: services.iter().map(|&n| code(n)).collect(),
        ..offer(id, OfferKind::Base, &["US"], None)
    };
    let many: Vec<usize> = (0..70).collect();
    let catalog = Catalog::new(
        vec![market("US", "USD")],
        vec![],
        vec![
            with("all", &many),
            with("few", &[69, 3, 64]),
            with("none", &[]),
        ],
        vec![],
    )
    .expect("valid catalog");

    let names = |id: &str| -> Vec<String> {
        let set = catalog.service_set(id).unwrap();
        let words: Vec<u64> = (0..set.words()).map(|w| set.word(w)).collect();
        catalog.service_names(&words).map(str::to_owned).collect()
    };
    assert_eq!(
        names("all"),
        many.iter().map(|&n| code(n)).collect::<Vec<_>>()
    );
    assert_eq!(names("few"), vec![code(3), code(64), code(69)]);
    assert!(names("none").is_empty());
    assert_eq!(catalog.service_set("all").unwrap().words(), 2);
    assert!(catalog.service_set("missing").is_none());
    assert_eq!(catalog.service_codes().len(), 70);
}
