use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use uuid::Uuid;

use super::*;
use crate::domain::catalog::OfferKind;

fn services(codes: &[&str]) -> BTreeSet<String> {
    codes.iter().map(|s| s.to_string()).collect()
}

fn offer(id: &str, codes: &[&str]) -> Offer {
    Offer {
        id: id.into(),
        name: id.into(),
        kind: OfferKind::Base,
        family_id: None,
        seat_cap: None,
        services: services(codes),
        monthly_prices: BTreeMap::new(),
        attaches_to: BTreeSet::new(),
    }
}

fn basic() -> Offer {
    offer("basic", &["EXCHANGE", "TEAMS", "BOOKINGS"])
}

fn e1() -> Offer {
    offer("e1", &["EXCHANGE", "TEAMS"])
}

fn e3() -> Offer {
    offer("e3", &["EXCHANGE", "TEAMS", "BOOKINGS", "OFFICE_DESKTOP"])
}

/// The n-th holder, licensed n minutes after the first.
fn holder(n: u32) -> LicenseHolder {
    LicenseHolder {
        user_id: UserId(Uuid::from_u128(u128::from(n) + 1)),
        display_name: format!("User {n}"),
        email: format!("user{n}@example.com"),
        assigned_at: "2026-11-01T09:00:00Z".parse::<DateTime<Utc>>().unwrap()
            + chrono::Duration::minutes(i64::from(n)),
        disabled_services: BTreeSet::new(),
        other_services: BTreeSet::new(),
    }
}

fn codes(account: &AccountToReassign) -> Vec<(ReassignmentCode, Option<&str>)> {
    account
        .reasons
        .iter()
        .map(|r| (r.code, r.service.as_deref()))
        .collect()
}

const TRANSFER: UpgradeType = UpgradeType::UpgradeWithLicenseTransfer;

/// What a user has elsewhere: the offer services of each live license, less those switched off.
#[test]
fn services_elsewhere_are_the_live_licenses_services_less_the_disabled_ones() {
    let (basic, e1, e3) = (basic(), e1(), e3());
    let none: [String; 0] = [];
    let bookings = ["BOOKINGS".to_owned()];
    let license = |offer, live, disabled| OtherLicense {
        offer,
        live,
        disabled,
    };
    let cases: [(Vec<OtherLicense<'_>>, BTreeSet<String>); 5] = [
        (vec![], services(&[])),
        (vec![license(&basic, true, &none)], basic.services.clone()),
        (vec![license(&basic, false, &none)], services(&[])),
        (
            vec![license(&basic, true, &bookings), license(&e1, true, &none)],
            services(&["EXCHANGE", "TEAMS"]),
        ),
        (
            vec![license(&basic, true, &bookings), license(&e3, true, &none)],
            e3.services.clone(),
        ),
    ];
    for (licenses, expected) in cases {
        assert_eq!(services_elsewhere(licenses.iter().copied()), expected);
    }
}

#[test]
fn with_license_transfer_every_holder_moves_when_nothing_is_in_the_way() {
    let holders = [holder(0), holder(1)];
    let plan = plan(&basic(), &e3(), TRANSFER, 2, &holders);
    assert_eq!(plan.accounts, vec![]);
    let moved: Vec<UserId> = plan.transfers.iter().map(|t| t.user_id).collect();
    assert_eq!(moved, vec![holders[0].user_id, holders[1].user_id]);
}

#[test]
fn upgrade_only_path_lists_every_holder_and_moves_nobody() {
    let holders = [holder(0), holder(1)];
    let plan = plan(&basic(), &e3(), UpgradeType::UpgradeOnly, 5, &holders);
    assert!(plan.transfers.is_empty());
    assert_eq!(plan.accounts.len(), 2);
    for account in &plan.accounts {
        assert_eq!(
            codes(account),
            vec![(ReassignmentCode::UpgradeOnlyPath, None)]
        );
    }
}

#[test]
fn seat_shortage_leaves_over_the_latest_licensed_users_whatever_the_input_order() {
    // Licensed in the order 0, 1, 2, 3; given shuffled.
    let holders = [holder(2), holder(0), holder(3), holder(1)];
    let plan = plan(&basic(), &e3(), TRANSFER, 2, &holders);
    let moved: Vec<UserId> = plan.transfers.iter().map(|t| t.user_id).collect();
    assert_eq!(moved, vec![holder(0).user_id, holder(1).user_id]);
    let left: Vec<UserId> = plan.accounts.iter().map(|a| a.user_id).collect();
    assert_eq!(left, vec![holder(2).user_id, holder(3).user_id]);
    for account in &plan.accounts {
        assert_eq!(codes(account), vec![(ReassignmentCode::SeatShortage, None)]);
    }
}

#[test]
fn seat_shortage_ties_on_the_license_time_break_by_user_id() {
    let mut a = holder(0);
    let mut b = holder(0);
    a.user_id = UserId(Uuid::from_u128(9));
    b.user_id = UserId(Uuid::from_u128(3));
    let plan = plan(&basic(), &e3(), TRANSFER, 1, &[a.clone(), b.clone()]);
    assert_eq!(plan.transfers[0].user_id, b.user_id);
    assert_eq!(plan.accounts[0].user_id, a.user_id);
}

#[test]
fn conflicting_license_names_each_service_the_target_also_brings() {
    let mut grace = holder(0);
    grace.other_services = services(&["OFFICE_DESKTOP", "TEAMS", "INTUNE"]);
    let plan = plan(&basic(), &e3(), TRANSFER, 5, &[grace]);
    assert!(plan.transfers.is_empty());
    assert_eq!(
        codes(&plan.accounts[0]),
        vec![
            (ReassignmentCode::ConflictingLicense, Some("OFFICE_DESKTOP")),
            (ReassignmentCode::ConflictingLicense, Some("TEAMS")),
        ]
    );
}

#[test]
fn service_removed_only_for_users_who_had_the_service_enabled() {
    let ada = holder(0);
    let mut alan = holder(1);
    alan.disabled_services = services(&["BOOKINGS"]);
    let plan = plan(&basic(), &e1(), TRANSFER, 5, &[ada.clone(), alan.clone()]);
    assert_eq!(plan.accounts.len(), 1);
    assert_eq!(plan.accounts[0].user_id, ada.user_id);
    assert_eq!(
        codes(&plan.accounts[0]),
        vec![(ReassignmentCode::ServiceRemoved, Some("BOOKINGS"))]
    );
    assert_eq!(plan.transfers[0].user_id, alan.user_id);
}

#[test]
fn a_transferred_user_keeps_switched_off_services_the_target_has() {
    let mut user = holder(0);
    user.disabled_services = services(&["TEAMS", "BOOKINGS"]);
    let plan = plan(&basic(), &e3(), TRANSFER, 1, &[user]);
    assert_eq!(
        plan.transfers[0].disabled_services,
        vec!["BOOKINGS".to_owned(), "TEAMS".to_owned()]
    );
}

#[test]
fn every_reason_of_an_account_is_listed_in_a_fixed_order() {
    let mut user = holder(1);
    user.other_services = services(&["EXCHANGE"]);
    let plan = plan(
        &basic(),
        &e1(),
        UpgradeType::UpgradeOnly,
        1,
        &[holder(0), user],
    );
    assert_eq!(
        codes(&plan.accounts[1]),
        vec![
            (ReassignmentCode::UpgradeOnlyPath, None),
            (ReassignmentCode::SeatShortage, None),
            (ReassignmentCode::ConflictingLicense, Some("EXCHANGE")),
            (ReassignmentCode::ServiceRemoved, Some("BOOKINGS")),
        ]
    );
}

#[test]
fn reason_codes_have_the_spec_names() {
    let names: Vec<String> = [
        ReassignmentCode::UpgradeOnlyPath,
        ReassignmentCode::SeatShortage,
        ReassignmentCode::ConflictingLicense,
        ReassignmentCode::ServiceRemoved,
    ]
    .iter()
    .map(|c| {
        serde_json::to_value(c)
            .unwrap()
            .as_str()
            .unwrap()
            .to_owned()
    })
    .collect();
    assert_eq!(
        names,
        [
            "upgrade_only_path",
            "seat_shortage",
            "conflicting_license",
            "service_removed"
        ]
    );
}

const SERVICES: [&str; 5] = ["EXCHANGE", "TEAMS", "BOOKINGS", "OFFICE_DESKTOP", "INTUNE"];

fn any_services() -> impl Strategy<Value = BTreeSet<String>> {
    proptest::sample::subsequence(SERVICES.to_vec(), 0..=SERVICES.len())
        .prop_map(|codes| services(&codes))
}

prop_compose! {
    fn any_holder()(
        id in any::<u128>(),
        minute in 0i64..20,
        disabled in any_services(),
        other in any_services(),
    ) -> LicenseHolder {
        LicenseHolder {
            user_id: UserId(Uuid::from_u128(id)),
            display_name: "User".into(),
            email: "user@example.com".into(),
            assigned_at: "2026-11-01T09:00:00Z".parse::<DateTime<Utc>>().unwrap()
                + chrono::Duration::minutes(minute),
            disabled_services: disabled,
            other_services: other,
        }
    }
}

fn any_holders() -> impl Strategy<Value = Vec<LicenseHolder>> {
    proptest::collection::vec(any_holder(), 0..12).prop_map(|mut holders| {
        // User ids are unique within a subscription's assignments.
        let mut seen = BTreeSet::new();
        holders.retain(|h| seen.insert(h.user_id));
        holders
    })
}

fn any_type() -> impl Strategy<Value = UpgradeType> {
    prop_oneof![Just(TRANSFER), Just(UpgradeType::UpgradeOnly)]
}

proptest! {
    #[test]
    fn every_holder_is_transferred_or_listed_never_both(
        source in any_services(), target in any_services(), kind in any_type(),
        quantity in 0i64..15, holders in any_holders(),
    ) {
        let source = Offer { services: source, ..offer("s", &[]) };
        let target = Offer { services: target, ..offer("t", &[]) };
        let plan = plan(&source, &target, kind, quantity, &holders);
        let moved: BTreeSet<UserId> = plan.transfers.iter().map(|t| t.user_id).collect();
        let listed: BTreeSet<UserId> = plan.accounts.iter().map(|a| a.user_id).collect();
        prop_assert!(moved.is_disjoint(&listed));
        let all: BTreeSet<UserId> = holders.iter().map(|h| h.user_id).collect();
        prop_assert_eq!(moved.union(&listed).copied().collect::<BTreeSet<_>>(), all);
        prop_assert_eq!(plan.transfers.len() + plan.accounts.len(), holders.len());
        prop_assert!(plan.accounts.iter().all(|a| !a.reasons.is_empty()));
    }

    #[test]
    fn no_more_users_move_than_the_target_has_seats_and_none_on_upgrade_only(
        kind in any_type(), quantity in 0i64..15, holders in any_holders(),
    ) {
        let plan = plan(&basic(), &e3(), kind, quantity, &holders);
        prop_assert!(i64::try_from(plan.transfers.len()).unwrap() <= quantity);
        if kind == UpgradeType::UpgradeOnly {
            prop_assert!(plan.transfers.is_empty());
        }
    }

    #[test]
    fn the_plan_does_not_depend_on_the_order_holders_are_given_in(
        quantity in 0i64..15, holders in any_holders(),
    ) {
        let mut reversed = holders.clone();
        reversed.reverse();
        prop_assert_eq!(
            plan(&basic(), &e1(), TRANSFER, quantity, &holders),
            plan(&basic(), &e1(), TRANSFER, quantity, &reversed)
        );
    }

    #[test]
    fn transferred_users_keep_only_services_the_target_has_switched_off(
        quantity in 0i64..15, holders in any_holders(),
    ) {
        let target = e1();
        for transfer in plan(&basic(), &target, TRANSFER, quantity, &holders).transfers {
            prop_assert!(transfer.disabled_services.iter().all(|s| target.services.contains(s)));
        }
    }
}

#[test]
fn a_move_down_lists_only_the_users_losing_a_service_they_had_switched_on() {
    let mut desk = holder(0);
    desk.other_services = services(&["TEAMS"]);
    let mut switched_off = holder(1);
    switched_off.disabled_services = services(&["OFFICE_DESKTOP"]);
    let mut partly = holder(2);
    partly.disabled_services = services(&["TEAMS"]);
    let mut keeps_all = holder(3);
    keeps_all.disabled_services = services(&["BOOKINGS", "OFFICE_DESKTOP"]);
    let accounts = services_lost(&e3(), &e1(), &[desk, switched_off, partly, keeps_all]);
    let listed: Vec<_> = accounts.iter().map(|a| (a.user_id, codes(a))).collect();
    let removed = |service| (ReassignmentCode::ServiceRemoved, Some(service));
    assert_eq!(
        listed,
        vec![
            (
                holder(0).user_id,
                vec![removed("BOOKINGS"), removed("OFFICE_DESKTOP")]
            ),
            (holder(1).user_id, vec![removed("BOOKINGS")]),
            (
                holder(2).user_id,
                vec![removed("BOOKINGS"), removed("OFFICE_DESKTOP")]
            ),
        ]
    );
    assert!(services_lost(&basic(), &basic(), &[holder(0)]).is_empty());
}
