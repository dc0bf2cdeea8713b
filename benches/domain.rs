//! Microbenchmarks of the pure domain core: `upgrade::evaluate_all` of a Microsoft 365 Business
//! Basic subscription, i.e. eligibility, the license reassignment plan and the proration for every
//! target of its upgrade paths (Business Standard, Office 365 E1, E3 and E5).
//!
//! The customer holds N other subscriptions (N = 10, 100, 1,000, 10,000: a deterministic mix of
//! offers, statuses and channels, add-ons included), and the source has N/10 license holders (at
//! least one) with some services switched off and some services licensed elsewhere, so that the
//! reassignment plan does real work. The catalog is the one seeded by
//! `migrations/20261124090100_catalog_seed.sql`, rebuilt here in Rust. Throughput is N elements, so
//! criterion also reports the cost per subscription: it should stay flat as N grows (linear cost).
//!
//! Run with (the crate's sqlx macros need the committed `.sqlx/` data):
//!
//! ```text
//! SQLX_OFFLINE=true cargo bench --bench domain
//! SQLX_OFFLINE=true cargo bench --bench domain -- --warm-up-time 1 --measurement-time 3
//! ```

use std::collections::BTreeSet;
use std::hint::black_box;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use uuid::Uuid;

use subscription_upgrades::domain::eligibility::{AdminRights, SubscriptionFacts, UpgradeFacts};
use subscription_upgrades::domain::plan::{Commerce, TermDuration};
use subscription_upgrades::domain::reassignment::LicenseHolder;
use subscription_upgrades::domain::subscription::{BillingCycle, Channel, SubscriptionStatus};
use subscription_upgrades::domain::upgrade::{PlanPrices, SourceTerms, UpgradeCase, evaluate_all};
use subscription_upgrades::domain::{
    Catalog, Market, Offer, OfferFamily, OfferKind, UpgradePath, UpgradeType, UserId,
};

/// Sizes of the customer: how many other subscriptions it holds.
const SIZES: [usize; 4] = [10, 100, 1_000, 10_000];

const SOURCE: &str = "m365-business-basic";
const MARKET: &str = "US";
/// The benchmark's sources are legacy: no new-commerce prices.
static NO_PRICES: PlanPrices = PlanPrices(std::collections::BTreeMap::new());

/// The seeded catalog: 3 markets, the Business family (300 seats), 11 base offers, 2 add-ons and
/// the article's upgrade matrix.
fn catalog() -> Catalog {
    let market = |code: &str, name: &str, currency: &str| Market {
        code: code.into(),
        name: name.into(),
        currency: currency.into(),
        currency_minor_units: 2,
    };
    let business = "m365-business";
    let offer = |id: &str,
                 name: &str,
                 kind: OfferKind,
                 family: Option<&str>,
                 services: &[&str],
                 prices: &[(&str, i64)],
                 attaches_to: &[&str]| Offer {
        id: id.into(),
        name: name.into(),
        kind,
        family_id: family.map(Into::into),
        seat_cap: family.map(|_| 300),
        services: services.iter().map(|&s| s.into()).collect(),
        monthly_prices: prices.iter().map(|&(m, p)| (m.into(), p)).collect(),
        attaches_to: attaches_to.iter().map(|&b| b.into()).collect(),
    };
    let base = OfferKind::Base;
    let apps = ["OFFICE_DESKTOP", "OFFICE_WEB", "ONEDRIVE"];
    let basic = [
        "EXCHANGE",
        "SHAREPOINT",
        "ONEDRIVE",
        "TEAMS",
        "OFFICE_WEB",
        "BOOKINGS",
    ];
    let standard = [basic.as_slice(), &["OFFICE_DESKTOP"]].concat();
    let premium = [
        standard.as_slice(),
        &[
            "EXCHANGE_ARCHIVING",
            "INTUNE",
            "ENTRA_ID_P1",
            "DEFENDER_BUSINESS",
        ],
    ]
    .concat();
    let e1 = ["EXCHANGE", "SHAREPOINT", "ONEDRIVE", "TEAMS", "OFFICE_WEB"];
    let e3 = [standard.as_slice(), &["EXCHANGE_ARCHIVING"]].concat();
    let e5 = [
        e3.as_slice(),
        &["TEAMS_PHONE", "AUDIO_CONFERENCING", "POWER_BI_PRO"],
    ]
    .concat();
    let audio_bases = [
        "m365-business-basic",
        "m365-business-standard",
        "m365-business-premium",
        "m365-business-basic-india",
        "m365-business-standard-india",
        "o365-e1",
        "o365-e3",
    ];
    let archiving_bases = [
        "m365-business-basic",
        "m365-business-standard",
        "m365-business-basic-india",
        "m365-business-standard-india",
        "o365-e1",
    ];
    #[rustfmt::skip]
    let offers = vec![
        offer("m365-apps-business", "Microsoft 365 Apps for business", base, Some(business), &apps, &[("US", 825), ("IT", 1030)], &[]),
        offer("m365-business-basic", "Microsoft 365 Business Basic", base, Some(business), &basic, &[("US", 600), ("IT", 560)], &[]),
        offer("m365-business-standard", "Microsoft 365 Business Standard", base, Some(business), &standard, &[("US", 1250), ("IT", 1170)], &[]),
        offer("m365-business-premium", "Microsoft 365 Business Premium", base, Some(business), &premium, &[("US", 2200), ("IT", 2060)], &[]),
        offer("m365-apps-enterprise", "Microsoft 365 Apps for enterprise", base, None, &apps, &[("US", 1200), ("IT", 1240), ("IN", 99000)], &[]),
        offer("o365-e1", "Office 365 E1", base, None, &e1, &[("US", 1000), ("IT", 940), ("IN", 75000)], &[]),
        offer("o365-e3", "Office 365 E3", base, None, &e3, &[("US", 2300), ("IT", 2160), ("IN", 190000)], &[]),
        offer("o365-e5", "Office 365 E5", base, None, &e5, &[("US", 3800), ("IT", 3570), ("IN", 310000)], &[]),
        offer("m365-apps-business-india", "Microsoft 365 Apps for business India", base, Some(business), &apps, &[("IN", 69000)], &[]),
        offer("m365-business-basic-india", "Microsoft 365 Business Basic India", base, Some(business), &basic, &[("IN", 14500)], &[]),
        offer("m365-business-standard-india", "Microsoft 365 Business Standard India", base, Some(business), &standard, &[("IN", 77000)], &[]),
        offer("teams-audio-conferencing", "Microsoft Teams Audio Conferencing add-on", OfferKind::AddOn, None, &["AUDIO_CONFERENCING"], &[("US", 400), ("IT", 380), ("IN", 33000)], &audio_bases),
        offer("exchange-online-archiving", "Exchange Online Archiving add-on", OfferKind::AddOn, None, &["EXCHANGE_ARCHIVING"], &[("US", 300), ("IT", 280), ("IN", 25000)], &archiving_bases),
    ];
    let transfer = UpgradeType::UpgradeWithLicenseTransfer;
    let only = UpgradeType::UpgradeOnly;
    #[rustfmt::skip]
    let matrix = [
        ("m365-apps-business", "m365-business-premium", transfer),
        ("m365-apps-business", "m365-apps-enterprise", transfer),
        ("m365-apps-business", "o365-e3", only),
        ("m365-apps-business", "o365-e5", only),
        ("m365-business-standard", "o365-e3", transfer),
        ("m365-business-standard", "o365-e5", transfer),
        ("m365-business-basic", "m365-business-standard", transfer),
        ("m365-business-basic", "o365-e1", transfer),
        ("m365-business-basic", "o365-e3", transfer),
        ("m365-business-basic", "o365-e5", only),
        ("m365-apps-business-india", "m365-business-standard-india", transfer),
        ("m365-apps-business-india", "m365-apps-enterprise", transfer),
        ("m365-apps-business-india", "o365-e3", only),
        ("m365-apps-business-india", "o365-e5", only),
        ("m365-business-basic-india", "m365-business-standard-india", transfer),
        ("m365-business-basic-india", "o365-e1", transfer),
        ("m365-business-basic-india", "o365-e3", transfer),
        ("m365-business-basic-india", "o365-e5", only),
    ];
    let paths = matrix
        .into_iter()
        .map(|(source, target, upgrade_type)| UpgradePath {
            source_offer_id: source.into(),
            target_offer_id: target.into(),
            upgrade_type,
        })
        .collect();
    Catalog::new(
        vec![
            market("IN", "India", "INR"),
            market("IT", "Italy", "EUR"),
            market("US", "United States", "USD"),
        ],
        vec![OfferFamily {
            id: business.into(),
            name: "Microsoft 365 Business".into(),
            seat_cap: Some(300),
        }],
        offers,
        paths,
    )
    .expect("the seeded catalog is consistent")
}

/// A deterministic stream of pseudo-random numbers (SplitMix64), so every run sees the same data.
struct Mix(u64);

impl Mix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        let len = u64::try_from(items.len()).expect("a short list");
        items[usize::try_from(self.next() % len).expect("an index")]
    }

    fn below(&mut self, bound: i64) -> i64 {
        i64::try_from(self.next() % bound.unsigned_abs()).expect("a small number")
    }
}

fn now() -> DateTime<Utc> {
    "2026-11-24T12:00:00Z".parse().expect("a valid timestamp")
}

fn date(value: &str) -> NaiveDate {
    value.parse().expect("a valid date")
}

/// Everything one evaluation borrows, owned.
struct Customer {
    source: SubscriptionFacts,
    others: Vec<SubscriptionFacts>,
    rights: Vec<AdminRights>,
    holders: Vec<LicenseHolder>,
}

impl Customer {
    /// A customer with `n` other subscriptions and `n / 10` (at least one) holders on the source.
    fn new(n: usize) -> Self {
        let mut mix = Mix(u64::try_from(n).expect("a small size"));
        // Offers the customer may hold in the US, add-ons included; the source's own offer and
        // the targets come up too, so overlap, ownership and the family cap are all exercised.
        let held = [
            "m365-apps-business",
            "m365-business-basic",
            "m365-business-standard",
            "m365-business-premium",
            "m365-apps-enterprise",
            "o365-e1",
            "o365-e3",
            "o365-e5",
            "teams-audio-conferencing",
            "exchange-online-archiving",
        ];
        let statuses = [
            SubscriptionStatus::Active,
            SubscriptionStatus::Active,
            SubscriptionStatus::Active,
            SubscriptionStatus::Suspended,
            SubscriptionStatus::Cancelled,
            SubscriptionStatus::Upgraded,
        ];
        let others = (0..n)
            .map(|_| SubscriptionFacts {
                offer_id: mix.pick(&held).into(),
                status: mix.pick(&statuses),
                quantity: 1 + mix.below(50),
                channel: if mix.below(4) == 0 {
                    Channel::Other
                } else {
                    Channel::Partner
                },
            })
            .collect();
        let holders: Vec<LicenseHolder> = (0..(n / 10).max(1))
            .map(|i| {
                let disabled: &[&str] = match i % 6 {
                    0 => &["BOOKINGS"],
                    1 => &["TEAMS", "SHAREPOINT"],
                    _ => &[],
                };
                let elsewhere: &[&str] = match i % 5 {
                    0 => &["EXCHANGE_ARCHIVING"],
                    1 => &["OFFICE_DESKTOP", "OFFICE_WEB", "ONEDRIVE"],
                    2 => &["AUDIO_CONFERENCING"],
                    _ => &[],
                };
                let set = |s: &[&str]| s.iter().map(|&s| s.to_owned()).collect::<BTreeSet<_>>();
                LicenseHolder {
                    user_id: UserId(Uuid::from_u128(u128::from(mix.next()))),
                    display_name: format!("User {i}"),
                    email: format!("user{i}@contoso.example"),
                    assigned_at: now() - TimeDelta::minutes(mix.below(2 * 365 * 24 * 60)),
                    disabled_services: set(disabled),
                    other_services: set(elsewhere),
                }
            })
            .collect();
        // Most holders fit the target's seats; the last tenth are left over.
        let quantity = i64::try_from(holders.len() - holders.len() / 10).expect("a small size");
        let day = TimeDelta::days(1);
        let services = ["EXCHANGE", "SHAREPOINT", "ONEDRIVE", "TEAMS", "OFFICE_WEB"];
        Customer {
            source: SubscriptionFacts {
                offer_id: SOURCE.into(),
                status: SubscriptionStatus::Active,
                quantity,
                channel: Channel::Partner,
            },
            others,
            rights: vec![
                AdminRights {
                    active: false,
                    starts_at: now() - day * 400,
                    ends_at: now() - day * 35,
                    services: None,
                },
                AdminRights {
                    active: true,
                    starts_at: now() - day * 30,
                    ends_at: now() + day * 700,
                    services: Some(services.iter().map(|&s| s.to_owned()).collect()),
                },
            ],
            holders,
        }
    }

    fn case<'a>(&'a self, catalog: &'a Catalog) -> UpgradeCase<'a> {
        UpgradeCase {
            facts: UpgradeFacts {
                catalog,
                market: MARKET,
                source: &self.source,
                others: &self.others,
                admin_rights: &self.rights,
                active_add_ons: 0,
                now: now(),
            },
            terms: SourceTerms {
                commerce: Commerce::Legacy,
                term_duration: TermDuration::P1Y,
                unit_price: None,
                cycle: BillingCycle::Monthly,
                term_start: date("2026-09-01"),
                term_end: date("2027-09-01"),
                period_start: date("2026-11-01"),
                period_end: date("2026-12-01"),
            },
            prices: &NO_PRICES,
            holders: &self.holders,
            today: now().date_naive(),
        }
    }
}

fn evaluate_all_by_customer_size(c: &mut Criterion) {
    let catalog = catalog();
    let mut group = c.benchmark_group("evaluate_all");
    for n in SIZES {
        let customer = Customer::new(n);
        let case = customer.case(&catalog);
        let evaluations = evaluate_all(&case);
        assert_eq!(evaluations.len(), 4, "Business Basic has four targets");
        assert!(
            evaluations
                .iter()
                .all(|e| e.billing.is_some() && e.reassignment.is_some()),
            "every target is priced in the US and on a path"
        );
        group.throughput(Throughput::Elements(
            u64::try_from(n).expect("a small size"),
        ));
        group.bench_with_input(BenchmarkId::from_parameter(n), &case, |b, case| {
            b.iter(|| evaluate_all(black_box(case)));
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    // Short defaults, so the whole run takes well under a minute on a shared machine; the
    // command line (`-- --measurement-time 10`, ...) overrides them.
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(20);
    targets = evaluate_all_by_customer_size
}
criterion_main!(benches);
