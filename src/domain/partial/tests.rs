use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use proptest::prelude::*;
use uuid::Uuid;

use super::*;
use crate::domain::catalog::{
    Catalog, Market, Offer, OfferFamily, OfferKind, UpgradePath, UpgradeType,
};
use crate::domain::eligibility::{AdminRights, FailureCode, UpgradeFacts};
use crate::domain::reassignment::{ReassignmentCode, ReassignmentPlan};
use crate::domain::subscription::{BillingCycle, Channel, any_status};
use crate::domain::upgrade::{
    Evaluation, SourceTerms, UpgradeCase, evaluate, evaluate_partial, partial_option,
};

fn offer(id: &str, family: Option<&str>, services: &[&str], price: i64) -> Offer {
    Offer {
        id: id.into(),
        name: format!("Offer {id}"),
        kind: OfferKind::Base,
        family_id: family.map(Into::into),
        seat_cap: Some(300),
        services: services.iter().map(|s| s.to_string()).collect(),
        monthly_prices: BTreeMap::from([("US".to_owned(), price)]),
        attaches_to: BTreeSet::new(),
    }
}

/// `basic` (in the family) moves to `standard` (same family, with transfer), `e3` (no family,
/// upgrade only) or `e1` (loses Bookings); `apps` (outside the family) moves to `standard`;
/// `apps-business` is in the family and conflicts with nothing `standard` adds to `apps`.
fn catalog() -> Catalog {
    let path = |source: &str, target: &str, upgrade_type| UpgradePath {
        source_offer_id: source.into(),
        target_offer_id: target.into(),
        upgrade_type,
    };
    let transfer = UpgradeType::UpgradeWithLicenseTransfer;
    Catalog::new(
        vec![Market {
            code: "US".into(),
            name: "United States".into(),
            currency: "USD".into(),
            currency_minor_units: 2,
        }],
        vec![OfferFamily {
            id: "business".into(),
            name: "Business".into(),
            seat_cap: Some(40),
        }],
        vec![
            offer("basic", Some("business"), &["EXCHANGE", "BOOKINGS"], 600),
            offer(
                "standard",
                Some("business"),
                &["EXCHANGE", "BOOKINGS", "DESKTOP"],
                1250,
            ),
            offer("apps", None, &["DESKTOP"], 825),
            offer("apps-business", Some("business"), &["DESKTOP"], 825),
            offer("e1", None, &["EXCHANGE"], 1000),
            offer("e3", None, &["EXCHANGE", "BOOKINGS", "DESKTOP"], 2300),
        ],
        vec![
            path("basic", "standard", transfer),
            path("basic", "e1", transfer),
            path("basic", "e3", UpgradeType::UpgradeOnly),
            path("apps", "standard", transfer),
        ],
    )
    .unwrap()
}

fn now() -> DateTime<Utc> {
    "2026-11-24T12:00:00Z".parse().unwrap()
}

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn subscription(offer: &str, quantity: i64) -> SubscriptionFacts {
    SubscriptionFacts {
        offer_id: offer.into(),
        status: SubscriptionStatus::Active,
        quantity,
        channel: Channel::Partner,
    }
}

fn user(n: u128) -> UserId {
    UserId(Uuid::from_u128(n))
}

/// Holder `n` got its license `n` days before now (1 is the most recent).
fn holder(n: u128) -> LicenseHolder {
    LicenseHolder {
        user_id: user(n),
        display_name: format!("User {n}"),
        email: format!("user{n}@example.com"),
        assigned_at: now() - Duration::days(i64::try_from(n).unwrap()),
        disabled_services: BTreeSet::new(),
        other_services: BTreeSet::new(),
    }
}

fn holders(count: u128) -> Vec<LicenseHolder> {
    (1..=count).map(holder).collect()
}

struct Case {
    catalog: Catalog,
    source: SubscriptionFacts,
    others: Vec<SubscriptionFacts>,
    holders: Vec<LicenseHolder>,
    rights: Vec<AdminRights>,
}

impl Case {
    fn new(source: SubscriptionFacts, holders: Vec<LicenseHolder>) -> Self {
        Case {
            catalog: catalog(),
            source,
            others: Vec::new(),
            holders,
            rights: vec![AdminRights {
                active: true,
                starts_at: now() - Duration::days(1),
                ends_at: now() + Duration::days(1),
                services: None,
            }],
        }
    }

    fn with_others(mut self, others: Vec<SubscriptionFacts>) -> Self {
        self.others = others;
        self
    }

    fn evaluate(
        &self,
        target: &str,
        request: &PartialRequest<'_>,
    ) -> Result<Evaluation, PartialRefusal> {
        self.with(|case| evaluate_partial(case, target, request))
    }

    fn with<R>(&self, f: impl FnOnce(&UpgradeCase<'_>) -> R) -> R {
        let case = UpgradeCase {
            facts: UpgradeFacts {
                catalog: &self.catalog,
                market: "US",
                source: &self.source,
                others: &self.others,
                admin_rights: &self.rights,
                active_add_ons: 0,
                now: now(),
            },
            terms: SourceTerms {
                commerce: crate::domain::plan::Commerce::Legacy,
                term_duration: crate::domain::plan::TermDuration::P1Y,
                unit_price: None,
                cycle: BillingCycle::Monthly,
                term_start: day("2026-09-01"),
                term_end: day("2027-09-01"),
                period_start: day("2026-11-01"),
                period_end: day("2026-12-01"),
            },
            prices: &crate::domain::upgrade::PlanPrices::default(),
            holders: &self.holders,
            today: now().date_naive(),
        };
        f(&case)
    }

    fn moving(&self, target: &str, quantity: i64) -> Result<Evaluation, PartialRefusal> {
        self.evaluate(target, &request(quantity, None, None))
    }
}

fn request<'a>(
    quantity: i64,
    users: Option<&'a [UserId]>,
    into: Option<&'a ExistingTarget>,
) -> PartialRequest<'a> {
    PartialRequest {
        quantity,
        users,
        into,
    }
}

fn transferred(plan: &ReassignmentPlan) -> Vec<UserId> {
    plan.transfers.iter().map(|t| t.user_id).collect()
}

fn failure_codes(evaluation: &Evaluation) -> Vec<FailureCode> {
    evaluation.failures.iter().map(|f| f.code).collect()
}

/// Rule `seats_moved`: 1 ≤ N < M.
#[test]
fn seats_moved_is_at_least_one_and_below_the_source() {
    let case = Case::new(subscription("basic", 25), holders(5));
    let cases = [
        (0, Err(PartialRefusal::QuantityOutOfRange)),
        (-3, Err(PartialRefusal::QuantityOutOfRange)),
        (
            25,
            Err(PartialRefusal::NotBelowSource {
                source_quantity: 25,
            }),
        ),
        (
            26,
            Err(PartialRefusal::NotBelowSource {
                source_quantity: 25,
            }),
        ),
        (1, Ok((24, 1))),
        (24, Ok((1, 24))),
    ];
    for (quantity, expected) in cases {
        let got = case.moving("standard", quantity).map(|e| {
            e.partial
                .map(|p| (p.source_quantity, p.target_quantity))
                .unwrap()
        });
        assert_eq!(got, expected, "N = {quantity}");
    }
    assert_eq!(
        PartialRefusal::QuantityOutOfRange.code(),
        ErrorCode::InvalidQuantity
    );
    assert_eq!(
        PartialRefusal::NotBelowSource { source_quantity: 1 }.code(),
        ErrorCode::PartialQuantityTooLarge
    );
}

/// Rule `named_users`: none twice, at most N, each licensed on the source.
#[test]
fn named_users_are_distinct_at_most_n_and_licensed_on_the_source() {
    let case = Case::new(subscription("basic", 25), holders(5));
    let cases: [(&[UserId], i64, Result<(), PartialRefusal>); 5] = [
        (&[user(1), user(2)], 2, Ok(())),
        (
            &[user(1), user(1)],
            3,
            Err(PartialRefusal::DuplicateUser(user(1))),
        ),
        (
            &[user(1), user(2), user(3)],
            2,
            Err(PartialRefusal::TooManyUsers {
                users: 3,
                quantity: 2,
            }),
        ),
        (
            &[user(1), user(77), user(78)],
            3,
            Err(PartialRefusal::NotLicensed(vec![user(77), user(78)])),
        ),
        (&[], 2, Ok(())),
    ];
    for (users, quantity, expected) in cases {
        let got = case
            .evaluate("standard", &request(quantity, Some(users), None))
            .map(|_| ());
        assert_eq!(got, expected, "{users:?} with N = {quantity}");
    }
    let codes = [
        PartialRefusal::DuplicateUser(user(1)).code(),
        PartialRefusal::TooManyUsers {
            users: 2,
            quantity: 1,
        }
        .code(),
        PartialRefusal::NotLicensed(vec![]).code(),
    ];
    assert_eq!(
        codes,
        [
            ErrorCode::DuplicateUser,
            ErrorCode::TooManyUsers,
            ErrorCode::UserNotLicensed
        ]
    );
}

/// Rule `existing_target`: of the target offer, active; not counted as already owned or as a
/// conflict; its seats grow by N.
#[test]
fn an_existing_target_is_of_the_target_offer_active_and_grows() {
    let standing = subscription("standard", 4);
    let owned =
        Case::new(subscription("basic", 20), holders(5)).with_others(vec![standing.clone()]);
    let into = ExistingTarget {
        subscription: standing.clone(),
        licensed_users: BTreeSet::new(),
        term: None,
        unit_price: None,
    };
    let grown = owned
        .evaluate("standard", &request(6, None, Some(&into)))
        .unwrap();
    assert_eq!(failure_codes(&grown), vec![]);
    assert_eq!(
        grown.partial,
        Some(PartialSeats {
            seats_moved: 6,
            source_quantity: 14,
            target_quantity: 10
        })
    );
    let new_one = owned.moving("standard", 6).unwrap();
    assert_eq!(
        failure_codes(&new_one),
        vec![
            FailureCode::ConflictingServices,
            FailureCode::TargetAlreadyOwned
        ],
        "without naming it, the owned subscription counts"
    );

    let other_offer = ExistingTarget {
        subscription: subscription("e1", 4),
        licensed_users: BTreeSet::new(),
        term: None,
        unit_price: None,
    };
    assert_eq!(
        owned
            .evaluate("standard", &request(6, None, Some(&other_offer)))
            .unwrap_err()
            .code(),
        ErrorCode::TargetSubscriptionMismatch
    );
    let suspended = ExistingTarget {
        subscription: SubscriptionFacts {
            status: SubscriptionStatus::Suspended,
            ..standing
        },
        licensed_users: BTreeSet::new(),
        term: None,
        unit_price: None,
    };
    assert_eq!(
        owned.evaluate("standard", &request(6, None, Some(&suspended))),
        Err(PartialRefusal::TargetNotActive(
            SubscriptionStatus::Suspended
        ))
    );
}

/// Rule `seat_caps`: both subscriptions count toward the family cap after the change, and the
/// target's own cap holds on its new seats.
#[test]
fn seat_caps_count_the_source_and_the_target_after_the_change() {
    // Inside the family the seats only move: 30 of basic + 10 elsewhere stay at 40 = the cap.
    let inside = Case::new(subscription("basic", 30), holders(0))
        .with_others(vec![subscription("standard", 10)]);
    let into = ExistingTarget {
        subscription: subscription("standard", 10),
        licensed_users: BTreeSet::new(),
        term: None,
        unit_price: None,
    };
    let within = inside
        .evaluate("standard", &request(29, None, Some(&into)))
        .unwrap();
    assert_eq!(failure_codes(&within), vec![]);

    // From outside the family, the moved seats join it: 35 held + 6 > 40.
    let outside = Case::new(subscription("apps", 10), holders(0))
        .with_others(vec![subscription("apps-business", 35)]);
    let cases = [(5, vec![]), (6, vec![FailureCode::SeatLimitExceeded])];
    for (quantity, expected) in cases {
        let evaluation = outside.moving("standard", quantity).unwrap();
        assert_eq!(failure_codes(&evaluation), expected, "N = {quantity}");
    }

    // The target's own cap, on the subscription that grows.
    let big = Case::new(subscription("basic", 100), holders(0));
    let nearly_full = ExistingTarget {
        subscription: subscription("e3", 295),
        licensed_users: BTreeSet::new(),
        term: None,
        unit_price: None,
    };
    let big = big.with_others(vec![nearly_full.subscription.clone()]);
    let over = big
        .evaluate("e3", &request(6, None, Some(&nearly_full)))
        .unwrap();
    assert_eq!(failure_codes(&over), vec![FailureCode::SeatLimitExceeded]);
    let fits = big
        .evaluate("e3", &request(5, None, Some(&nearly_full)))
        .unwrap();
    assert_eq!(failure_codes(&fits), vec![]);
}

/// Rule `movers`: the named users; otherwise those who can move first, then by license time,
/// then by user id.
#[test]
fn movers_are_the_named_users_or_the_earliest_licensed_who_can_move() {
    let case = Case::new(subscription("basic", 25), holders(5));
    let moved = |users: Option<&[UserId]>, quantity| {
        let evaluation = case
            .evaluate("standard", &request(quantity, users, None))
            .unwrap();
        transferred(&evaluation.reassignment.unwrap())
    };
    assert_eq!(moved(None, 2), vec![user(5), user(4)], "earliest licensed");
    assert_eq!(
        moved(Some(&[user(1), user(3)]), 4),
        vec![user(1), user(3)],
        "the named ones, even with seats to spare"
    );
    assert_eq!(
        moved(None, 10),
        vec![user(5), user(4), user(3), user(2), user(1)]
    );

    let e1 = case.moving("e1", 2).unwrap().reassignment.unwrap();
    assert_eq!(
        e1.accounts.len(),
        2,
        "to e1 everybody loses Bookings: nobody can move, the earliest are picked and listed"
    );
    let conflicted = Case::new(subscription("basic", 25), {
        let mut all = holders(3);
        all[2].other_services = BTreeSet::from(["DESKTOP".to_owned()]);
        all
    });
    let plan = conflicted
        .moving("standard", 2)
        .unwrap()
        .reassignment
        .unwrap();
    assert_eq!(
        transferred(&plan),
        vec![user(2), user(1)],
        "user 3 would conflict, so those who can move go first"
    );
}

/// Rule `movers_reasons`: a mover with a reason keeps its source license and is listed with every
/// reason; the new reason `already_licensed_on_target` for a user already on the subscription
/// that grows.
#[test]
fn movers_with_a_reason_stay_and_are_listed() {
    let case = Case::new(subscription("basic", 25), holders(3));
    let reasons = |target: &str, into: Option<&ExistingTarget>, users: &[UserId]| {
        let evaluation = case
            .evaluate(target, &request(2, Some(users), into))
            .unwrap();
        let plan = evaluation.reassignment.unwrap();
        let listed: Vec<(UserId, Vec<ReassignmentCode>)> = plan
            .accounts
            .iter()
            .map(|a| (a.user_id, a.reasons.iter().map(|r| r.code).collect()))
            .collect();
        (transferred(&plan), listed)
    };
    assert_eq!(
        reasons("e3", None, &[user(1)]),
        (
            vec![],
            vec![(user(1), vec![ReassignmentCode::UpgradeOnlyPath])]
        )
    );
    assert_eq!(
        reasons("e1", None, &[user(1)]),
        (
            vec![],
            vec![(user(1), vec![ReassignmentCode::ServiceRemoved])]
        )
    );
    let into = ExistingTarget {
        subscription: subscription("standard", 3),
        licensed_users: BTreeSet::from([user(2)]),
        term: None,
        unit_price: None,
    };
    let owned = Case::new(subscription("basic", 25), holders(3))
        .with_others(vec![into.subscription.clone()]);
    let evaluation = owned
        .evaluate(
            "standard",
            &request(2, Some(&[user(1), user(2)]), Some(&into)),
        )
        .unwrap();
    let plan = evaluation.reassignment.unwrap();
    assert_eq!(transferred(&plan), vec![user(1)]);
    assert_eq!(plan.accounts.len(), 1);
    assert_eq!(
        plan.accounts[0].reasons[0].code,
        ReassignmentCode::AlreadyLicensedOnTarget
    );
}

/// Rule `source_seats`: the licenses left on the source fit the seats it keeps.
#[test]
fn the_source_keeps_at_least_as_many_seats_as_licenses() {
    // 10 seats, 8 licensed: moving 4 leaves 6 seats, so at least 2 licensed users must move.
    let case = Case::new(subscription("basic", 10), holders(8));
    let cases: [(&[UserId], Result<(), PartialRefusal>); 3] = [
        (&[user(1), user(2)], Ok(())),
        (
            &[user(1)],
            Err(PartialRefusal::SourceBelowLicenses {
                seats: 6,
                licenses: 7,
            }),
        ),
        (
            &[],
            Err(PartialRefusal::SourceBelowLicenses {
                seats: 6,
                licenses: 8,
            }),
        ),
    ];
    for (users, expected) in cases {
        let got = case
            .evaluate("standard", &request(4, Some(users), None))
            .map(|_| ());
        assert_eq!(got, expected, "{users:?}");
    }
    assert_eq!(
        case.moving("standard", 4).map(|_| ()),
        Ok(()),
        "the rule picks 4"
    );
    // Upgrade-only paths move nobody: the source must have free seats for those who stay.
    assert_eq!(
        case.moving("e3", 4).unwrap_err().code(),
        ErrorCode::QuantityBelowAssignedLicenses
    );
    assert!(
        case.moving("e3", 2).is_ok(),
        "10 − 2 = 8 seats for 8 licenses"
    );
}

/// Billing: credit for N source seats and charge for N target seats over the same remaining days.
#[test]
fn billing_credits_and_charges_the_moved_seats_only() {
    let case = Case::new(subscription("basic", 25), holders(0));
    let billing = case.moving("standard", 10).unwrap().billing.unwrap();
    // 7 of 30 days left: 10 × 600 × 7/30 = 1400 credit, 10 × 1250 × 7/30 = 2916.67 charge.
    assert_eq!(
        (billing.credit, billing.charge, billing.net),
        (1400, 2917, 1517)
    );
    assert_eq!(billing.remaining_days, 7);
}

prop_compose! {
    /// Any subscription of the catalog's offers (or one it lacks), of any status and channel,
    /// with quantities around the family's cap.
    fn any_subscription()(
        offer in prop_oneof![
            Just("basic"), Just("standard"), Just("apps"), Just("apps-business"), Just("e1"),
            Just("e3"), Just("retired"),
        ],
        status in any_status(),
        quantity in 1i64..45,
        other_channel in any::<bool>(),
    ) -> SubscriptionFacts {
        SubscriptionFacts {
            offer_id: offer.into(),
            status,
            quantity,
            channel: if other_channel { Channel::Other } else { Channel::Partner },
        }
    }
}

proptest! {
    /// Seats are conserved, no user both moves and stays, every mover moves to the target only
    /// when nothing keeps it, and the source's seats cover the licenses left.
    #[test]
    fn a_partial_upgrade_conserves_seats_and_splits_users(
        source_seats in 2i64..40,
        licensed in 0u128..40,
        quantity in 1i64..40,
        named in proptest::collection::vec(1u128..45, 0..8),
        conflicts in proptest::collection::vec(any::<bool>(), 40),
        target in prop_oneof![Just("standard"), Just("e1"), Just("e3")],
    ) {
        let licensed = licensed.min(u128::try_from(source_seats).unwrap());
        let mut all = holders(licensed);
        for (holder, conflict) in all.iter_mut().zip(&conflicts) {
            if *conflict {
                holder.other_services = BTreeSet::from(["DESKTOP".to_owned()]);
            }
        }
        let case = Case::new(subscription("basic", source_seats), all.clone());
        let named: Vec<UserId> = named.into_iter().collect::<BTreeSet<_>>().into_iter().map(user).collect();
        let users = (!named.is_empty()).then_some(named.as_slice());
        let Ok(evaluation) = case.evaluate(target, &request(quantity, users, None)) else {
            return Ok(());
        };
        let seats = evaluation.partial.unwrap();
        prop_assert_eq!(seats.source_quantity + seats.seats_moved, source_seats);
        prop_assert_eq!(seats.target_quantity, quantity);
        let plan = evaluation.reassignment.unwrap();
        let moved: BTreeSet<UserId> = transferred(&plan).into_iter().collect();
        let stayed: BTreeSet<UserId> = all.iter().map(|h| h.user_id).filter(|u| !moved.contains(u)).collect();
        prop_assert!(moved.is_disjoint(&stayed));
        prop_assert_eq!(moved.len() + stayed.len(), all.len());
        prop_assert!(i64::try_from(moved.len()).unwrap() <= quantity);
        if let Some(named) = users {
            prop_assert!(moved.iter().all(|u| named.contains(u)));
        }
        for account in &plan.accounts {
            prop_assert!(!moved.contains(&account.user_id));
            prop_assert!(!account.reasons.is_empty());
        }
        if evaluation.failures.is_empty() {
            prop_assert!(i64::try_from(stayed.len()).unwrap() <= seats.source_quantity);
        }
    }

    /// The listing's partial option (one seat, the rule picking the user) is exactly what
    /// evaluating that partial upgrade answers, failures or refusal, whatever the customer holds:
    /// the option reuses the whole upgrade's failures and checks only the seat caps again.
    #[test]
    fn the_listings_partial_option_is_the_partial_evaluation_of_one_seat(
        source in any_subscription(),
        others in proptest::collection::vec(any_subscription(), 0..5),
        licensed in 0u128..6,
        conflicts in proptest::collection::vec(any::<bool>(), 6),
        target in prop_oneof![Just("standard"), Just("e1"), Just("e3"), Just("apps"), Just("basic"), Just("unknown")],
        into in proptest::option::of(any_subscription()),
        licensed_on_target in proptest::collection::btree_set(1u128..8, 0..3),
    ) {
        let licensed = licensed.min(u128::try_from(source.quantity).unwrap());
        let mut all = holders(licensed);
        for (holder, conflict) in all.iter_mut().zip(&conflicts) {
            if *conflict {
                holder.other_services = BTreeSet::from(["DESKTOP".to_owned()]);
            }
        }
        let existing = into.map(|subscription| ExistingTarget {
            subscription,
            licensed_users: licensed_on_target.into_iter().map(user).collect(),
            term: None,
            unit_price: None,
        });
        let case = Case::new(source.clone(), all).with_others(others);
        let (option, evaluated) = case.with(|case| {
            let whole = evaluate(case, target, source.quantity);
            let option = partial_option(case, &whole, existing.as_ref());
            let evaluated = evaluate_partial(case, target, &request(1, None, existing.as_ref()));
            (option, evaluated.map(|e| e.failures))
        });
        prop_assert_eq!(option, evaluated);
    }
}
