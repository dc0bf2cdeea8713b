//! The seeded upgrade matrix, walked over HTTP: for every market, every base offer sold there and
//! every base offer as a target, the listing and the upgrade agree with the article's table.

use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Api, assert_problem, json_ok, spawn_app};

const TRANSFER: &str = "upgrade_with_license_transfer";
const ONLY: &str = "upgrade_only";

/// The article's matrix as this catalog seeds it: (market, source, target, upgrade type).
fn expected_paths() -> BTreeSet<(&'static str, &'static str, &'static str, &'static str)> {
    let global = [
        ("m365-apps-business", "m365-business-premium", TRANSFER),
        ("m365-apps-business", "m365-apps-enterprise", TRANSFER),
        ("m365-apps-business", "o365-e3", ONLY),
        ("m365-apps-business", "o365-e5", ONLY),
        ("m365-business-standard", "o365-e3", TRANSFER),
        ("m365-business-standard", "o365-e5", TRANSFER),
        ("m365-business-basic", "m365-business-standard", TRANSFER),
        ("m365-business-basic", "o365-e1", TRANSFER),
        ("m365-business-basic", "o365-e3", TRANSFER),
        ("m365-business-basic", "o365-e5", ONLY),
    ];
    let india = [
        (
            "m365-apps-business-india",
            "m365-business-standard-india",
            TRANSFER,
        ),
        ("m365-apps-business-india", "m365-apps-enterprise", TRANSFER),
        ("m365-apps-business-india", "o365-e3", ONLY),
        ("m365-apps-business-india", "o365-e5", ONLY),
        (
            "m365-business-basic-india",
            "m365-business-standard-india",
            TRANSFER,
        ),
        ("m365-business-basic-india", "o365-e1", TRANSFER),
        ("m365-business-basic-india", "o365-e3", TRANSFER),
        ("m365-business-basic-india", "o365-e5", ONLY),
    ];
    let mut paths = BTreeSet::new();
    for market in ["US", "IT"] {
        paths.extend(global.iter().map(|(s, t, k)| (market, *s, *t, *k)));
    }
    paths.extend(india.iter().map(|(s, t, k)| ("IN", *s, *t, *k)));
    paths
}

async fn base_offers(api: &Api<'_>, market: &str) -> Vec<String> {
    let page = json_ok(
        api.get(&format!("/v1/offers?market={market}&limit=200"))
            .await,
    )
    .await;
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["kind"] == "base")
        .map(|o| o["id"].as_str().unwrap().to_owned())
        .collect()
}

fn codes(problem: &Value) -> Vec<&str> {
    problem["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn every_source_target_and_market_of_the_matrix_behaves_as_the_article_says() {
    let app = spawn_app().await;
    let admin = app.admin();
    let expected = expected_paths();
    let mut listed = BTreeSet::new();

    for market in ["US", "IT", "IN"] {
        let offers = base_offers(&admin, market).await;
        for source in &offers {
            // Each source in a customer of its own, so nothing but the matrix is in the way.
            let customer = admin.customer(market).await;
            admin.relationship(&customer, &["*"]).await;
            let subscription = admin.subscription(&customer, source, 1).await;
            let upgrades =
                format!("/v1/customers/{customer}/subscriptions/{subscription}/upgrades");

            let options = json_ok(admin.get(&upgrades).await).await;
            for option in options["items"].as_array().unwrap() {
                assert_eq!(option["eligible"], true, "{market} {source}: {option}");
                listed.insert((
                    market,
                    source.clone(),
                    option["targetOfferId"].as_str().unwrap().to_owned(),
                    option["upgradeType"].as_str().unwrap().to_owned(),
                ));
            }

            for target in &offers {
                let on_path = expected
                    .iter()
                    .any(|(m, s, t, _)| *m == market && s == source && t == target);
                let body = json!({"targetOfferId": target, "dryRun": true});
                let response = admin.post(&upgrades, &body).await;
                if on_path {
                    let result = json_ok(response).await;
                    assert_eq!(result["targetOfferId"], target.as_str());
                    assert_eq!(result["billing"]["currency"], currency(market));
                } else {
                    let problem = assert_problem(
                        response,
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "upgrade_not_eligible",
                    )
                    .await;
                    let has_paths = expected
                        .iter()
                        .any(|(m, s, _, _)| *m == market && s == source);
                    let want: &[&str] = if has_paths {
                        &["target_offer_not_allowed"]
                    } else {
                        &["no_upgrade_paths", "target_offer_not_allowed"]
                    };
                    assert_eq!(codes(&problem), want, "{market} {source} -> {target}");
                }
            }
        }
    }

    let expected: BTreeSet<(&str, String, String, String)> = expected
        .into_iter()
        .map(|(m, s, t, k)| (m, s.to_owned(), t.to_owned(), k.to_owned()))
        .collect();
    assert_eq!(listed, expected);
}

#[tokio::test]
async fn india_plans_cannot_go_to_the_global_business_standard() {
    let app = spawn_app().await;
    let admin = app.admin();
    for source in ["m365-business-basic-india", "m365-apps-business-india"] {
        let customer = admin.customer("IN").await;
        admin.relationship(&customer, &["*"]).await;
        let subscription = admin.subscription(&customer, source, 1).await;
        let upgrades = format!("/v1/customers/{customer}/subscriptions/{subscription}/upgrades");
        let problem = assert_problem(
            admin
                .post(
                    &upgrades,
                    &json!({"targetOfferId": "m365-business-standard"}),
                )
                .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "upgrade_not_eligible",
        )
        .await;
        assert_eq!(codes(&problem), ["target_offer_not_allowed"]);
    }
}

fn currency(market: &str) -> &'static str {
    match market {
        "US" => "USD",
        "IT" => "EUR",
        _ => "INR",
    }
}
