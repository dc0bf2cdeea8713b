use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;

use super::*;
use crate::domain::catalog::{Market, OfferKind, UpgradePath, UpgradeType};
use crate::domain::eligibility::{AdminRights, FailureCode, SubscriptionFacts, UpgradeFacts};
use crate::domain::reassignment::ReassignmentPlan;
use crate::domain::subscription::{BillingCycle, Channel, SubscriptionStatus};
use crate::domain::upgrade::SourceTerms;

/// An offer of the US market (unpriced there when `price` is `None`).
fn offer(id: &str, services: &[&str], price: Option<i64>) -> Offer {
    Offer {
        id: id.into(),
        name: format!("Offer {id}"),
        kind: OfferKind::Base,
        family_id: None,
        seat_cap: None,
        services: services.iter().map(|s| s.to_string()).collect(),
        monthly_prices: price.map(|p| ("US".to_owned(), p)).into_iter().collect(),
        attaches_to: BTreeSet::new(),
    }
}

/// Business Basic and its targets with the services and US prices of the seeded catalog, plus a
/// target gaining a service at no extra cost and one sold elsewhere only.
fn catalog() -> Catalog {
    let basic = [
        "EXCHANGE",
        "SHAREPOINT",
        "ONEDRIVE",
        "TEAMS",
        "OFFICE_WEB",
        "BOOKINGS",
    ];
    let with = |more: &[&'static str]| [&basic[..], more].concat();
    let path = |target: &str| UpgradePath {
        source_offer_id: "basic".into(),
        target_offer_id: target.into(),
        upgrade_type: UpgradeType::UpgradeWithLicenseTransfer,
    };
    let offers = vec![
        offer("basic", &basic, Some(600)),
        offer("standard", &with(&["OFFICE_DESKTOP"]), Some(1250)),
        offer("e1", &basic[..5], Some(1000)),
        offer(
            "e3",
            &with(&["OFFICE_DESKTOP", "EXCHANGE_ARCHIVING"]),
            Some(2300),
        ),
        offer(
            "e5",
            &with(&[
                "OFFICE_DESKTOP",
                "EXCHANGE_ARCHIVING",
                "TEAMS_PHONE",
                "AUDIO_CONFERENCING",
                "POWER_BI_PRO",
            ]),
            Some(3800),
        ),
        offer("bonus", &with(&["INTUNE"]), Some(600)),
        offer("elsewhere", &with(&["INTUNE"]), None),
    ];
    let market = Market {
        code: "US".into(),
        name: "United States".into(),
        currency: "USD".into(),
        currency_minor_units: 2,
    };
    let paths = ["standard", "e1", "e3", "e5"];
    Catalog::new(vec![market], vec![], offers, paths.map(path).into()).unwrap()
}

/// A gain of `gained` services for `extra` more per seat and month.
fn gain(gained: usize, extra: Option<i64>) -> Gain {
    Gain {
        services: (0..gained).map(|i| format!("S{i:02}")).collect(),
        extra_monthly_cost_per_seat: extra,
    }
}

/// An option: its target, the number of services it gains, its extra cost.
type Candidate = (&'static str, usize, Option<i64>);

/// Each row: a clause of the rule, then an option that ranks above the next one by it. "Free"
/// options gain services at no extra cost (extra ≤ 0).
#[rustfmt::skip]
const RULE: &[(&str, Candidate, Candidate)] = &[
    ("free beats a higher score",                   ("z", 1, Some(0)),       ("a", 50, Some(1))),
    ("free at a saving beats a higher score",       ("z", 1, Some(-500)),    ("a", 50, Some(1))),
    ("free beats a zero score",                     ("z", 1, Some(0)),       ("a", 0, Some(-900))),
    ("free beats unpriced",                         ("z", 1, Some(0)),       ("a", 9, None)),
    ("two free: the lower extra cost first",        ("z", 1, Some(-10)),     ("a", 9, Some(0))),
    ("two free at one cost: the lower id first",    ("a", 1, Some(-10)),     ("b", 9, Some(-10))),
    ("a higher score first",                        ("z", 5, Some(3200)),    ("a", 1, Some(650))),
    ("a higher score first, costing more",          ("z", 2, Some(100)),     ("a", 1, Some(99))),
    ("a higher score first, gaining fewer",         ("z", 1, Some(10)),      ("a", 9, Some(100))),
    ("a positive score beats zero",                 ("z", 1, Some(100_000)), ("a", 0, Some(1))),
    ("gaining nothing at a saving scores zero",     ("z", 1, Some(100_000)), ("a", 0, Some(-100))),
    ("equal scores: the lower extra cost first",    ("z", 1, Some(100)),     ("a", 2, Some(200))),
    ("equal scores and costs: the lower id first",  ("a", 1, Some(100)),     ("b", 1, Some(100))),
    ("zero scores: the lower extra cost first",     ("z", 0, Some(-5)),      ("a", 0, Some(5))),
    ("zero scores at one cost: the lower id first", ("a", 0, Some(5)),       ("b", 0, Some(5))),
    ("priced beats unpriced",                       ("z", 1, Some(100_000)), ("a", 9, None)),
    ("a zero score beats unpriced",                 ("z", 0, Some(100_000)), ("a", 9, None)),
    ("two unpriced: the lower id first",            ("a", 0, None),          ("b", 9, None)),
];

#[test]
fn the_ranking_rule_clause_by_clause() {
    for (clause, (a_id, a_gained, a_extra), (b_id, b_gained, b_extra)) in RULE {
        let (a, b) = (gain(*a_gained, *a_extra), gain(*b_gained, *b_extra));
        assert_eq!(compare((a_id, &a), (b_id, &b)), Ordering::Less, "{clause}");
        assert_eq!(
            compare((b_id, &b), (a_id, &a)),
            Ordering::Greater,
            "{clause}"
        );
    }
}

#[test]
fn the_gain_is_the_targets_new_services_and_the_price_difference_in_the_market() {
    let catalog = catalog();
    // What, the source, the target, the services gained, the extra cost.
    type Case = (
        &'static str,
        &'static str,
        &'static str,
        &'static [&'static str],
        Option<i64>,
    );
    #[rustfmt::skip]
    let cases: &[Case] = &[
        ("a richer target", "basic", "e3", &["EXCHANGE_ARCHIVING", "OFFICE_DESKTOP"], Some(1700)),
        ("a target losing a service gains only what is new", "basic", "e1", &[], Some(400)),
        ("a cheaper target", "e3", "basic", &[], Some(-1700)),
        ("a target at the same price", "basic", "bonus", &["INTUNE"], Some(0)),
        ("a target without a price in the market", "basic", "elsewhere", &["INTUNE"], None),
        ("a source without a price in the market", "elsewhere", "e1", &[], None),
        ("a target missing from the catalog", "basic", "gone", &[], None),
    ];
    for (what, source, target, services, extra) in cases {
        let gain = Gain::of(&catalog, "US", source, target);
        assert_eq!(gain.services, services.to_vec(), "{what}");
        assert_eq!(gain.extra_monthly_cost_per_seat, *extra, "{what}");
    }
    let abroad = Gain::of(&catalog, "IT", "basic", "e3");
    assert_eq!(
        abroad.extra_monthly_cost_per_seat, None,
        "no price in Italy"
    );
}

/// An option to `target`: eligible without failures, blocked with them.
fn option(target: &str, failures: Vec<Failure>) -> Result<EligibleUpgrade, Blocked> {
    if !failures.is_empty() {
        return Err(Blocked {
            target_offer_id: target.into(),
            target_offer_name: Some(format!("Offer {target}")),
            failures,
        });
    }
    Ok(EligibleUpgrade {
        target_offer_id: target.into(),
        upgrade_type: UpgradeType::UpgradeWithLicenseTransfer,
        quantity: 5,
        billing: None,
        plan: ReassignmentPlan::default(),
        partial: None,
    })
}

fn failure(code: FailureCode) -> Failure {
    Failure {
        code,
        message: code.as_str().into(),
        remedy: "do something",
    }
}

#[test]
fn business_basic_in_the_us_ranks_e5_standard_e3_then_e1() {
    let options = ["standard", "e1", "e3", "e5"].map(|target| option(target, vec![]));

    let ranked = rank(&catalog(), "US", "basic", options);

    let order: Vec<(usize, &str, usize, Option<i64>)> = ranked
        .recommended
        .iter()
        .map(|r| {
            let extra = r.gain.extra_monthly_cost_per_seat;
            (
                r.rank,
                r.upgrade.target_offer_id.as_str(),
                r.gain.services.len(),
                extra,
            )
        })
        .collect();
    // 5/3200 > 1/650 > 2/1700 > 0/400.
    assert_eq!(
        order,
        vec![
            (1, "e5", 5, Some(3200)),
            (2, "standard", 1, Some(650)),
            (3, "e3", 2, Some(1700)),
            (4, "e1", 0, Some(400)),
        ]
    );
    assert!(ranked.blocked.is_empty());
}

#[test]
fn blocked_options_keep_their_order_and_every_failure_and_are_not_ranked() {
    let conflict = vec![failure(FailureCode::ConflictingServices)];
    let owned = vec![
        failure(FailureCode::TargetAlreadyOwned),
        failure(FailureCode::SeatLimitExceeded),
    ];
    let options = vec![
        option("e5", conflict.clone()),
        option("e1", vec![]),
        option("standard", owned.clone()),
        option("e3", vec![]),
    ];

    let ranked = rank(&catalog(), "US", "basic", options);

    let recommended: Vec<(usize, &str)> = ranked
        .recommended
        .iter()
        .map(|r| (r.rank, r.upgrade.target_offer_id.as_str()))
        .collect();
    assert_eq!(recommended, vec![(1, "e3"), (2, "e1")]);
    let blocked: Vec<(&str, &[Failure])> = ranked
        .blocked
        .iter()
        .map(|b| (b.target_offer_id.as_str(), b.failures.as_slice()))
        .collect();
    assert_eq!(
        blocked,
        vec![("e5", conflict.as_slice()), ("standard", owned.as_slice())]
    );
    assert_eq!(
        ranked.blocked[0].target_offer_name.as_deref(),
        Some("Offer e5")
    );
}

#[test]
fn an_unpriced_eligible_option_ranks_last_among_the_eligible() {
    let options = vec![option("elsewhere", vec![]), option("e1", vec![])];

    let ranked = rank(&catalog(), "US", "basic", options);

    let last = &ranked.recommended[1];
    assert_eq!(
        (last.rank, last.upgrade.target_offer_id.as_str()),
        (2, "elsewhere")
    );
    assert_eq!(last.gain.extra_monthly_cost_per_seat, None);
}

/// Runs `run` on the case of a Business Basic source with every right, beside `others`.
fn with_case<T>(others: &[SubscriptionFacts], run: impl FnOnce(&UpgradeCase<'_>) -> T) -> T {
    let catalog = catalog();
    let now: DateTime<Utc> = "2026-11-24T12:00:00Z".parse().unwrap();
    let source = basic(Channel::Partner);
    let rights = [AdminRights {
        active: true,
        starts_at: now - Duration::days(1),
        ends_at: now + Duration::days(1),
        services: None,
    }];
    let case = UpgradeCase {
        facts: UpgradeFacts {
            catalog: &catalog,
            market: "US",
            source: &source,
            others,
            admin_rights: &rights,
            active_add_ons: 0,
            now,
        },
        terms: SourceTerms {
            commerce: crate::domain::plan::Commerce::Legacy,
            term_duration: crate::domain::plan::TermDuration::P1Y,
            unit_price: None,
            cycle: BillingCycle::Monthly,
            term_start: "2026-09-01".parse().unwrap(),
            term_end: "2027-09-01".parse().unwrap(),
            period_start: "2026-11-01".parse().unwrap(),
            period_end: "2026-12-01".parse().unwrap(),
        },
        prices: &crate::domain::upgrade::PlanPrices::default(),
        holders: &[],
        today: now.date_naive(),
    };
    run(&case)
}

fn basic(channel: Channel) -> SubscriptionFacts {
    SubscriptionFacts {
        offer_id: "basic".into(),
        status: SubscriptionStatus::Active,
        quantity: 10,
        channel,
    }
}

/// `recommend` works out the plan and bill of the eligible targets only: it must still give
/// exactly the listing's options, whichever are blocked.
#[test]
fn recommend_ranks_exactly_the_eligible_options_of_the_listing() {
    let sold_elsewhere = |offer: &str, channel| SubscriptionFacts {
        offer_id: offer.into(),
        ..basic(channel)
    };
    #[rustfmt::skip]
    let cases: [(&str, Vec<SubscriptionFacts>, &[&str]); 4] = [
        ("nothing else", vec![], &[]),
        // Another live subscription with the desktop apps blocks every target that adds them.
        ("the desktop apps from another channel", vec![sold_elsewhere("standard", Channel::Other)], &["standard", "e3", "e5"]),
        ("E1 already owned", vec![sold_elsewhere("e1", Channel::Partner)], &["e1"]),
        ("E5 from another channel", vec![sold_elsewhere("e5", Channel::Other)], &["standard", "e3", "e5"]),
    ];
    for (name, others, blocked_ids) in cases {
        let (recommended, listing) = with_case(&others, |case| {
            (recommend(case), upgrade::evaluate_all(case))
        });

        let eligible: BTreeMap<&str, (Option<&str>, EligibleUpgrade)> = listing
            .iter()
            .filter(|e| e.eligible())
            .map(|e| {
                let upgrade = e.clone().into_eligible().unwrap();
                (
                    e.target_offer_id.as_str(),
                    (e.target_offer_name.as_deref(), upgrade),
                )
            })
            .collect();
        assert_eq!(recommended.recommended.len(), eligible.len(), "{name}");
        for r in &recommended.recommended {
            let (listed_name, listed) = &eligible[r.upgrade.target_offer_id.as_str()];
            assert_eq!(&r.upgrade, listed, "{name}");
            assert_eq!(r.target_offer_name.as_deref(), *listed_name, "{name}");
        }
        let failures = |id: &str, name: Option<&str>, failures: &[Failure]| {
            (id.to_owned(), name.map(str::to_owned), failures.to_vec())
        };
        let blocked: Vec<_> = listing
            .iter()
            .filter(|e| !e.eligible())
            .map(|e| {
                failures(
                    &e.target_offer_id,
                    e.target_offer_name.as_deref(),
                    &e.failures,
                )
            })
            .collect();
        let got: Vec<_> = recommended
            .blocked
            .iter()
            .map(|b| {
                failures(
                    &b.target_offer_id,
                    b.target_offer_name.as_deref(),
                    &b.failures,
                )
            })
            .collect();
        assert_eq!(got, blocked, "{name}");
        let ids: Vec<&str> = got.iter().map(|(id, _, _)| id.as_str()).collect();
        assert_eq!(ids, blocked_ids, "{name}");
    }
}

/// Options with distinct target ids, each gaining 0–6 services for an extra cost around zero
/// or without a price.
fn options() -> impl Strategy<Value = Vec<(String, Gain)>> {
    let one = (0usize..7, prop::option::weighted(0.85, -3000i64..3000));
    prop::collection::vec(one, 0..9).prop_map(|gains| {
        gains
            .into_iter()
            .enumerate()
            .map(|(i, (gained, extra))| (format!("t{i}"), gain(gained, extra)))
            .collect()
    })
}

fn sorted(mut options: Vec<(String, Gain)>) -> Vec<String> {
    options.sort_by(|(a, a_gain), (b, b_gain)| compare((a, a_gain), (b, b_gain)));
    options.into_iter().map(|(id, _)| id).collect()
}

proptest! {
    #[test]
    fn the_order_is_total_and_deterministic(
        (options, shuffled) in options().prop_flat_map(|o| (Just(o.clone()), Just(o).prop_shuffle()))
    ) {
        let cmp = |a: &(String, Gain), b: &(String, Gain)| compare((&a.0, &a.1), (&b.0, &b.1));
        for a in &options {
            prop_assert_eq!(cmp(a, a), Ordering::Equal);
            for b in &options {
                prop_assert_eq!(cmp(a, b), cmp(b, a).reverse(), "antisymmetric");
                prop_assert_eq!(cmp(a, b) == Ordering::Equal, a.0 == b.0, "total");
                for c in &options {
                    if cmp(a, b) == Ordering::Less && cmp(b, c) == Ordering::Less {
                        prop_assert_eq!(cmp(a, c), Ordering::Less, "transitive");
                    }
                }
            }
        }
        prop_assert_eq!(sorted(options), sorted(shuffled), "the input order does not matter");
    }
}
