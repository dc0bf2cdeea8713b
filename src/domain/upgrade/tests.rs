use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;

use super::*;
use crate::domain::UserId;
use crate::domain::catalog::{Catalog, Market, Offer, OfferKind, UpgradePath};
use crate::domain::eligibility::{AdminRights, FailureCode, SubscriptionFacts};
use crate::domain::reassignment::LicenseHolder;
use crate::domain::subscription::{Channel, SubscriptionStatus, any_status};

fn offer(id: &str, services: &[&str], price: i64) -> Offer {
    Offer {
        id: id.into(),
        name: format!("Offer {id}"),
        kind: OfferKind::Base,
        family_id: None,
        seat_cap: Some(300),
        services: services.iter().map(|s| s.to_string()).collect(),
        monthly_prices: BTreeMap::from([("US".to_owned(), price)]),
        attaches_to: BTreeSet::new(),
    }
}

fn catalog() -> Catalog {
    let path = |target: &str, upgrade_type| UpgradePath {
        source_offer_id: "basic".into(),
        target_offer_id: target.into(),
        upgrade_type,
    };
    Catalog::new(
        vec![Market {
            code: "US".into(),
            name: "United States".into(),
            currency: "USD".into(),
            currency_minor_units: 2,
        }],
        vec![],
        vec![
            offer("basic", &["EXCHANGE", "BOOKINGS"], 600),
            offer("e1", &["EXCHANGE"], 1000),
            offer("e3", &["EXCHANGE", "BOOKINGS", "OFFICE_DESKTOP"], 2300),
        ],
        vec![
            path("e1", UpgradeType::UpgradeWithLicenseTransfer),
            path("e3", UpgradeType::UpgradeOnly),
        ],
    )
    .unwrap()
}

fn now() -> DateTime<Utc> {
    "2026-11-24T12:00:00Z".parse().unwrap()
}

fn rights() -> AdminRights {
    AdminRights {
        active: true,
        starts_at: now() - Duration::days(1),
        ends_at: now() + Duration::days(1),
        services: None,
    }
}

fn terms() -> SourceTerms {
    SourceTerms {
        commerce: crate::domain::plan::Commerce::Legacy,
        term_duration: crate::domain::plan::TermDuration::P1Y,
        unit_price: None,
        cycle: BillingCycle::Monthly,
        term_start: "2026-09-01".parse().unwrap(),
        term_end: "2027-09-01".parse().unwrap(),
        period_start: "2026-11-01".parse().unwrap(),
        period_end: "2026-12-01".parse().unwrap(),
    }
}

fn holder() -> LicenseHolder {
    LicenseHolder {
        user_id: UserId(uuid::Uuid::from_u128(1)),
        display_name: "Ada".into(),
        email: "ada@example.com".into(),
        assigned_at: now() - Duration::days(3),
        disabled_services: BTreeSet::new(),
        other_services: BTreeSet::new(),
    }
}

fn with_case<T>(
    source: SubscriptionFacts,
    others: &[SubscriptionFacts],
    add_ons: usize,
    run: impl FnOnce(&UpgradeCase<'_>) -> T,
) -> T {
    let catalog = catalog();
    let rights = [rights()];
    let holders = [holder()];
    let case = UpgradeCase {
        facts: UpgradeFacts {
            catalog: &catalog,
            market: "US",
            source: &source,
            others,
            admin_rights: &rights,
            active_add_ons: add_ons,
            now: now(),
        },
        terms: terms(),
        prices: &crate::domain::upgrade::PlanPrices::default(),
        holders: &holders,
        today: now().date_naive(),
    };
    run(&case)
}

fn basic(quantity: i64) -> SubscriptionFacts {
    SubscriptionFacts {
        offer_id: "basic".into(),
        status: SubscriptionStatus::Active,
        quantity,
        channel: Channel::Partner,
    }
}

#[test]
fn every_target_of_the_paths_is_listed_with_its_type_and_previews() {
    let listed = with_case(basic(10), &[], 0, evaluate_all);
    let summary: Vec<(&str, Option<UpgradeType>, bool)> = listed
        .iter()
        .map(|e| (e.target_offer_id.as_str(), e.upgrade_type, e.eligible()))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("e1", Some(UpgradeType::UpgradeWithLicenseTransfer), true),
            ("e3", Some(UpgradeType::UpgradeOnly), true),
        ]
    );
    let e1 = &listed[0];
    assert_eq!(e1.target_offer_name.as_deref(), Some("Offer e1"));
    assert_eq!(e1.quantity, 10, "the source's quantity");
    // 7 of 30 days: credit 6000 × 7/30 = 1400, charge 10000 × 7/30 = 2333.33.
    let billing = e1.billing.as_ref().unwrap();
    assert_eq!((billing.credit, billing.charge), (1400, 2333));
    let plan = e1.reassignment.as_ref().unwrap();
    assert_eq!(plan.accounts.len(), 1, "Ada loses Bookings");
    assert!(
        listed[1]
            .reassignment
            .as_ref()
            .unwrap()
            .transfers
            .is_empty()
    );
}

#[test]
fn an_ineligible_target_still_shows_what_it_would_cost_and_whom_it_would_affect() {
    let listed = with_case(basic(10), &[], 1, evaluate_all);
    assert!(listed.iter().all(|e| !e.eligible()));
    assert!(
        listed
            .iter()
            .all(|e| e.billing.is_some() && e.reassignment.is_some())
    );
}

#[test]
fn a_target_off_the_catalog_has_no_type_and_no_previews() {
    let evaluation = with_case(basic(10), &[], 0, |case| evaluate(case, "nope", 10));
    assert_eq!(evaluation.target_offer_name, None);
    assert_eq!(evaluation.upgrade_type, None);
    assert_eq!((evaluation.billing, evaluation.reassignment), (None, None));
    let codes: Vec<FailureCode> = evaluation.failures.iter().map(|f| f.code).collect();
    assert_eq!(codes, vec![FailureCode::TargetOfferNotAllowed]);
}

#[test]
fn the_requested_quantity_drives_the_charge_and_the_seat_plan() {
    let evaluation = with_case(basic(10), &[], 0, |case| evaluate(case, "e1", 0));
    assert!(!evaluation.eligible());
    assert_eq!(evaluation.billing.unwrap().charge, 0);
    let plan = evaluation.reassignment.unwrap();
    assert!(plan.transfers.is_empty());
}

prop_compose! {
    fn any_subscription()(
        offer in prop_oneof![Just("basic"), Just("e1"), Just("e3")],
        status in any_status(),
        quantity in 1i64..400,
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
    /// An independent reading of the eligibility conditions (docs/upgrades.md): when the
    /// evaluation says eligible, each condition holds on its own.
    #[test]
    fn an_eligible_upgrade_has_no_failing_condition(
        source in any_subscription(),
        others in proptest::collection::vec(any_subscription(), 0..4),
        add_ons in 0usize..2,
        target in prop_oneof![Just("basic"), Just("e1"), Just("e3"), Just("unknown")],
        quantity in -1i64..400,
    ) {
        let catalog = catalog();
        let evaluation = with_case(source.clone(), &others, add_ons, |case| evaluate(case, target, quantity));
        prop_assert_eq!(evaluation.eligible(), evaluation.failures.is_empty());
        let live = |s: &&SubscriptionFacts| matches!(s.status, SubscriptionStatus::Active | SubscriptionStatus::Suspended);
        let added: BTreeSet<&String> = catalog.offer(target).map(|t| {
            t.services.iter().filter(|s| !catalog.offer(&source.offer_id).unwrap().services.contains(*s)).collect()
        }).unwrap_or_default();
        let holds = source.status == SubscriptionStatus::Active
            && source.offer_id == "basic"
            && catalog.path(&source.offer_id, target).is_some()
            && !others.iter().filter(live).any(|o| o.offer_id == target)
            && !others.iter().filter(live).any(|o| catalog.offer(&o.offer_id).unwrap().services.iter().any(|s| added.contains(s)))
            && add_ons == 0
            && (1..=300).contains(&quantity);
        prop_assert_eq!(evaluation.eligible(), holds, "{:?}", evaluation.failures);
        if evaluation.eligible() {
            prop_assert!(evaluation.billing.is_some() && evaluation.reassignment.is_some());
        }
        prop_assert_eq!(evaluation.clone().into_eligible().is_ok(), evaluation.eligible());
    }

    #[test]
    fn failure_codes_are_unique_and_in_the_order_of_the_spec(
        source in any_subscription(),
        others in proptest::collection::vec(any_subscription(), 0..4),
        add_ons in 0usize..2,
        quantity in -1i64..400,
    ) {
        let evaluation = with_case(source, &others, add_ons, |case| evaluate(case, "e3", quantity));
        let codes: Vec<FailureCode> = evaluation.failures.iter().map(|f| f.code).collect();
        let mut sorted = codes.clone();
        sorted.sort();
        sorted.dedup();
        prop_assert_eq!(codes, sorted);
    }
}
