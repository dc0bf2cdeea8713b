use std::collections::{BTreeMap, BTreeSet};

use chrono::Duration;

use super::*;
use crate::domain::catalog::{Market, OfferFamily, OfferKind, UpgradePath, UpgradeType};

fn offer(id: &str, family: bool, services: &[&str], markets: &[&str]) -> Offer {
    Offer {
        id: id.into(),
        name: id.into(),
        kind: OfferKind::Base,
        family_id: family.then(|| "biz".to_owned()),
        seat_cap: family.then_some(300),
        services: services.iter().map(|s| s.to_string()).collect(),
        monthly_prices: markets
            .iter()
            .map(|m| (m.to_string(), 100))
            .collect::<BTreeMap<_, _>>(),
        attaches_to: BTreeSet::new(),
    }
}

fn catalog() -> Catalog {
    let market = |code: &str| Market {
        code: code.into(),
        name: code.into(),
        currency: "USD".into(),
        currency_minor_units: 2,
    };
    let path = |s: &str, t: &str| UpgradePath {
        source_offer_id: s.into(),
        target_offer_id: t.into(),
        upgrade_type: UpgradeType::UpgradeWithLicenseTransfer,
    };
    Catalog::new(
        vec![market("US"), market("IN")],
        vec![OfferFamily {
            id: "biz".into(),
            name: "Business".into(),
            seat_cap: Some(300),
        }],
        vec![
            offer("basic", true, &["EXCHANGE", "TEAMS", "BOOKINGS"], &["US"]),
            offer(
                "standard",
                true,
                &["EXCHANGE", "TEAMS", "BOOKINGS", "OFFICE_DESKTOP"],
                &["US"],
            ),
            offer("apps", true, &["OFFICE_DESKTOP"], &["US"]),
            offer("e1", false, &["EXCHANGE", "TEAMS"], &["US", "IN"]),
            offer(
                "e3",
                false,
                &["EXCHANGE", "TEAMS", "BOOKINGS", "OFFICE_DESKTOP"],
                &["US", "IN"],
            ),
            offer(
                "standard-india",
                true,
                &["EXCHANGE", "OFFICE_DESKTOP"],
                &["IN"],
            ),
        ],
        vec![
            path("basic", "standard"),
            path("basic", "e1"),
            path("basic", "e3"),
        ],
    )
    .unwrap()
}

fn sub(
    offer: &str,
    status: SubscriptionStatus,
    quantity: i64,
    channel: Channel,
) -> SubscriptionFacts {
    SubscriptionFacts {
        offer_id: offer.into(),
        status,
        quantity,
        channel,
    }
}

fn all_rights(now: DateTime<Utc>) -> AdminRights {
    AdminRights {
        active: true,
        starts_at: now - Duration::days(30),
        ends_at: now + Duration::days(30),
        services: None,
    }
}

/// Builds the facts for a Business Basic source of 10 seats in the US, checks an upgrade.
struct Case {
    source: SubscriptionFacts,
    others: Vec<SubscriptionFacts>,
    rights: Vec<AdminRights>,
    add_ons: usize,
    market: &'static str,
}

impl Case {
    fn new() -> Self {
        Case {
            source: sub("basic", SubscriptionStatus::Active, 10, Channel::Partner),
            others: vec![],
            rights: vec![all_rights(now())],
            add_ons: 0,
            market: "US",
        }
    }

    fn codes(&self, target: &str, quantity: i64) -> Vec<FailureCode> {
        self.failing(check, target, quantity)
    }

    /// The failing conditions of moving this case's source down to `target` at its renewal.
    fn downgrade_codes(&self, target: &str, quantity: i64) -> Vec<FailureCode> {
        self.failing(check_downgrade, target, quantity)
    }

    /// The codes `rule` reports for this case's facts.
    fn failing(
        &self,
        rule: fn(&UpgradeFacts<'_>, &str, i64) -> Vec<Failure>,
        target: &str,
        quantity: i64,
    ) -> Vec<FailureCode> {
        let catalog = catalog();
        let facts = UpgradeFacts {
            catalog: &catalog,
            market: self.market,
            source: &self.source,
            others: &self.others,
            admin_rights: &self.rights,
            active_add_ons: self.add_ons,
            now: now(),
        };
        rule(&facts, target, quantity)
            .into_iter()
            .map(|f| f.code)
            .collect()
    }
}

fn now() -> DateTime<Utc> {
    "2026-11-24T12:00:00Z".parse().unwrap()
}

#[test]
fn an_upgrade_along_a_path_with_rights_and_nothing_in_the_way_is_eligible() {
    assert_eq!(Case::new().codes("e3", 10), vec![]);
}

#[test]
fn subscription_not_active_for_suspended_cancelled_and_upgraded() {
    for status in [
        SubscriptionStatus::Suspended,
        SubscriptionStatus::Cancelled,
        SubscriptionStatus::Upgraded,
    ] {
        let mut case = Case::new();
        case.source.status = status;
        assert_eq!(
            case.codes("e3", 10),
            vec![FailureCode::SubscriptionNotActive],
            "{status:?}"
        );
    }
}

#[test]
fn no_upgrade_paths_when_the_source_has_none() {
    let mut case = Case::new();
    case.source.offer_id = "e3".into();
    assert_eq!(
        case.codes("e1", 10),
        vec![
            FailureCode::NoUpgradePaths,
            FailureCode::TargetOfferNotAllowed
        ]
    );
}

#[test]
fn target_offer_not_allowed_off_the_matrix_or_outside_the_market() {
    assert_eq!(
        Case::new().codes("apps", 10),
        vec![FailureCode::TargetOfferNotAllowed]
    );
    assert_eq!(
        Case::new().codes("unknown", 10),
        vec![FailureCode::TargetOfferNotAllowed]
    );
    let mut india = Case::new();
    india.market = "IN";
    assert!(
        india
            .codes("standard", 10)
            .contains(&FailureCode::TargetOfferNotAllowed)
    );
}

#[test]
fn delegated_admin_missing_when_no_relationship_is_in_effect_or_covers_the_target() {
    let n = now();
    let lapsed = AdminRights {
        ends_at: n - Duration::days(1),
        ..all_rights(n)
    };
    let not_started = AdminRights {
        starts_at: n + Duration::days(1),
        ..all_rights(n)
    };
    let terminated = AdminRights {
        active: false,
        ..all_rights(n)
    };
    let web_only = AdminRights {
        services: Some(["EXCHANGE", "TEAMS", "BOOKINGS"].map(String::from).into()),
        ..all_rights(n)
    };
    for (name, rights, target, missing) in [
        ("none", vec![], "e1", true),
        ("lapsed", vec![lapsed], "e1", true),
        ("not started", vec![not_started], "e1", true),
        ("terminated", vec![terminated], "e1", true),
        (
            "does not cover the desktop apps",
            vec![web_only.clone()],
            "e3",
            true,
        ),
        ("covers every service of E1", vec![web_only], "e1", false),
    ] {
        let mut case = Case::new();
        case.rights = rights;
        assert_eq!(
            case.codes(target, 10)
                .contains(&FailureCode::DelegatedAdminMissing),
            missing,
            "{name}"
        );
    }
}

#[test]
fn conflicting_services_when_another_live_subscription_has_what_the_target_adds() {
    let mut case = Case::new();
    case.others = vec![sub("apps", SubscriptionStatus::Active, 5, Channel::Other)];
    assert_eq!(
        case.codes("standard", 10),
        vec![FailureCode::ConflictingServices]
    );
    assert_eq!(
        case.codes("e1", 10),
        vec![],
        "E1 adds nothing the apps have"
    );
    case.others[0].status = SubscriptionStatus::Cancelled;
    assert_eq!(
        case.codes("standard", 10),
        vec![],
        "cancelled subscriptions do not conflict"
    );
}

#[test]
fn target_already_owned_through_any_channel_says_which() {
    let catalog = catalog();
    for channel in [Channel::Partner, Channel::Other] {
        let others = [sub("e1", SubscriptionStatus::Active, 3, channel)];
        let case = Case::new();
        let facts = UpgradeFacts {
            catalog: &catalog,
            market: "US",
            source: &case.source,
            others: &others,
            admin_rights: &case.rights,
            active_add_ons: 0,
            now: now(),
        };
        let failures = check(&facts, "e1", 10);
        assert_eq!(failures.len(), 1);
        assert_eq!(failures[0].code, FailureCode::TargetAlreadyOwned);
        assert_eq!(
            failures[0].message.contains("another partner or channel"),
            channel == Channel::Other
        );
    }
}

#[test]
fn add_ons_present_while_an_add_on_is_active() {
    let mut case = Case::new();
    case.add_ons = 1;
    assert_eq!(case.codes("e3", 10), vec![FailureCode::AddOnsPresent]);
}

#[test]
fn seat_limit_exceeded_below_one_above_the_cap_or_the_family_cap() {
    let mut case = Case::new();
    for (quantity, over) in [(0, true), (-1, true), (1, false), (300, false), (301, true)] {
        assert_eq!(
            case.codes("standard", quantity)
                .contains(&FailureCode::SeatLimitExceeded),
            over,
            "{quantity}"
        );
    }
    assert_eq!(
        case.codes("e3", MAX_QUANTITY),
        vec![],
        "enterprise offers are capped only by the service-wide maximum"
    );
    assert_eq!(
        case.codes("e3", MAX_QUANTITY + 1),
        vec![FailureCode::SeatLimitExceeded]
    );
    case.others = vec![
        sub("e1", SubscriptionStatus::Active, 1, Channel::Partner),
        sub("basic", SubscriptionStatus::Active, 250, Channel::Other),
    ];
    assert!(
        case.codes("standard", 51)
            .contains(&FailureCode::SeatLimitExceeded)
    );
    assert!(
        !case
            .codes("standard", 50)
            .contains(&FailureCode::SeatLimitExceeded)
    );
}

#[test]
fn every_failing_condition_is_reported_not_just_the_first() {
    let mut case = Case::new();
    case.source.status = SubscriptionStatus::Suspended;
    case.rights = vec![];
    case.others = vec![
        sub("apps", SubscriptionStatus::Active, 5, Channel::Partner),
        sub("standard", SubscriptionStatus::Active, 290, Channel::Other),
    ];
    case.add_ons = 2;

    assert_eq!(
        case.codes("standard", 20),
        vec![
            FailureCode::SubscriptionNotActive,
            FailureCode::DelegatedAdminMissing,
            FailureCode::ConflictingServices,
            FailureCode::TargetAlreadyOwned,
            FailureCode::AddOnsPresent,
            FailureCode::SeatLimitExceeded,
        ]
    );
}

#[test]
fn failure_codes_have_the_spec_names_on_the_wire_and_in_problems() {
    let codes = [
        FailureCode::SubscriptionNotActive,
        FailureCode::NoUpgradePaths,
        FailureCode::TargetOfferNotAllowed,
        FailureCode::DelegatedAdminMissing,
        FailureCode::ConflictingServices,
        FailureCode::TargetAlreadyOwned,
        FailureCode::AddOnsPresent,
        FailureCode::SeatLimitExceeded,
    ];
    let spec = [
        "subscription_not_active",
        "no_upgrade_paths",
        "target_offer_not_allowed",
        "delegated_admin_missing",
        "conflicting_services",
        "target_already_owned",
        "add_ons_present",
        "seat_limit_exceeded",
    ];
    for (code, name) in codes.into_iter().zip(spec) {
        assert_eq!(code.as_str(), name);
        assert_eq!(serde_json::to_value(code).unwrap(), name);
    }
}

#[test]
fn a_move_down_a_matrix_path_needs_a_target_listing_the_source_and_the_upgrades_other_conditions() {
    use FailureCode::{
        AddOnsPresent, DelegatedAdminMissing, SeatLimitExceeded, SubscriptionNotActive,
        TargetOfferNotAllowed,
    };
    let standard = || {
        let mut case = Case::new();
        case.source.offer_id = "standard".into();
        case
    };
    // Standard lists Basic among its sources: Standard may move down to Basic, not sideways to
    // Apps, not to an offer it is itself an upgrade path of nowhere, nor outside the market.
    assert_eq!(standard().downgrade_codes("basic", 10), vec![]);
    assert_eq!(
        standard().downgrade_codes("apps", 10),
        vec![TargetOfferNotAllowed]
    );
    assert_eq!(
        standard().downgrade_codes("unknown", 10),
        vec![TargetOfferNotAllowed]
    );
    let mut india = standard();
    india.market = "IN";
    assert_eq!(
        india.downgrade_codes("basic", 10),
        vec![TargetOfferNotAllowed]
    );
    let mut suspended = standard();
    suspended.source.status = SubscriptionStatus::Suspended;
    assert_eq!(
        suspended.downgrade_codes("basic", 10),
        vec![SubscriptionNotActive]
    );
    let mut everything = standard();
    everything.rights.clear();
    everything.add_ons = 1;
    everything.others = vec![sub("apps", SubscriptionStatus::Active, 295, Channel::Other)];
    assert_eq!(
        everything.downgrade_codes("basic", 10),
        vec![DelegatedAdminMissing, AddOnsPresent, SeatLimitExceeded]
    );
}

#[test]
fn down_a_matrix_path_only_under_new_commerce_and_only_where_no_upgrade_path_goes() {
    use crate::domain::plan::Commerce::{Legacy, New};
    use crate::domain::renewal::{OfferMove, offer_move};
    let catalog = catalog();
    let table = [
        ((New, "standard", "basic"), OfferMove::Downgrade),
        ((New, "e3", "basic"), OfferMove::Downgrade),
        ((Legacy, "standard", "basic"), OfferMove::Upgrade),
        ((New, "basic", "standard"), OfferMove::Upgrade),
        ((New, "standard", "apps"), OfferMove::Upgrade),
        ((New, "standard", "unknown"), OfferMove::Upgrade),
    ];
    for ((commerce, source, target), expected) in table {
        assert_eq!(
            offer_move(&catalog, commerce, source, target),
            expected,
            "{commerce:?} {source} -> {target}"
        );
    }
}
