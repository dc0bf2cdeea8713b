//! The catalog over HTTP: the seeded offers and the whole upgrade matrix (docs/catalog.md).

use reqwest::StatusCode;
use serde_json::Value;
use subscription_upgrades::domain::OfferKind;

use crate::helpers::{assert_problem, json_ok, spawn_app};

const TRANSFER: &str = "upgrade_with_license_transfer";
const ONLY: &str = "upgrade_only";

/// Every path of the article's matrix, with its upgrade type, in catalog order.
const MATRIX: [(&str, &str, &str); 18] = [
    ("m365-apps-business", "m365-business-premium", TRANSFER),
    ("m365-apps-business", "m365-apps-enterprise", TRANSFER),
    ("m365-apps-business", "o365-e3", ONLY),
    ("m365-apps-business", "o365-e5", ONLY),
    ("m365-business-basic", "m365-business-standard", TRANSFER),
    ("m365-business-basic", "o365-e1", TRANSFER),
    ("m365-business-basic", "o365-e3", TRANSFER),
    ("m365-business-basic", "o365-e5", ONLY),
    ("m365-business-standard", "o365-e3", TRANSFER),
    ("m365-business-standard", "o365-e5", TRANSFER),
    ("m365-apps-business-india", "m365-apps-enterprise", TRANSFER),
    ("m365-apps-business-india", "o365-e3", ONLY),
    ("m365-apps-business-india", "o365-e5", ONLY),
    (
        "m365-apps-business-india",
        "m365-business-standard-india",
        TRANSFER,
    ),
    ("m365-business-basic-india", "o365-e1", TRANSFER),
    ("m365-business-basic-india", "o365-e3", TRANSFER),
    ("m365-business-basic-india", "o365-e5", ONLY),
    (
        "m365-business-basic-india",
        "m365-business-standard-india",
        TRANSFER,
    ),
];

fn triples(page: &Value) -> Vec<(String, String, String)> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|p| {
            let s = |k: &str| p[k].as_str().unwrap().to_owned();
            (s("sourceOfferId"), s("targetOfferId"), s("upgradeType"))
        })
        .collect()
}

fn owned(matrix: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    matrix
        .iter()
        .map(|(s, t, u)| (s.to_string(), t.to_string(), u.to_string()))
        .collect()
}

#[tokio::test]
async fn upgrade_paths_list_the_whole_matrix_of_the_article() {
    let app = spawn_app().await;

    let page = json_ok(app.get("/v1/upgrade-paths?limit=200").await).await;

    assert_eq!(triples(&page), owned(&MATRIX));
    assert_eq!(page["continuationToken"], Value::Null);
}

#[tokio::test]
async fn india_rule_sends_india_plans_to_business_standard_india_only() {
    let app = spawn_app().await;

    let all = triples(&json_ok(app.get("/v1/upgrade-paths?limit=200").await).await);
    let india = triples(&json_ok(app.get("/v1/upgrade-paths?market=IN").await).await);
    let us = triples(&json_ok(app.get("/v1/upgrade-paths?market=US").await).await);

    let forbidden = [
        ("m365-apps-business-india", "m365-business-standard"),
        ("m365-business-basic-india", "m365-business-standard"),
        ("m365-apps-business-india", "m365-business-premium"),
        ("m365-business-basic", "m365-business-standard-india"),
    ];
    for (source, target) in forbidden {
        assert!(
            !all.iter().any(|(s, t, _)| s == source && t == target),
            "{source} -> {target} must not exist"
        );
    }
    assert!(india.iter().all(|(s, _, _)| s.ends_with("-india")));
    assert_eq!(india.len(), 8);
    assert!(
        us.iter()
            .all(|(s, t, _)| !s.ends_with("-india") && !t.ends_with("-india"))
    );
    assert_eq!(us.len(), 10);
}

#[tokio::test]
async fn upgrade_paths_filter_by_source_offer() {
    let app = spawn_app().await;

    let page = json_ok(
        app.get("/v1/upgrade-paths?sourceOfferId=m365-business-standard")
            .await,
    )
    .await;

    assert_eq!(triples(&page), owned(&MATRIX[8..10]));
    assert_eq!(page["items"][0]["targetOfferName"], "Office 365 E3");
    assert_eq!(page["items"][0]["markets"], serde_json::json!(["IT", "US"]));
}

#[tokio::test]
async fn offers_carry_services_prices_and_seat_caps() {
    let app = spawn_app().await;

    let basic = json_ok(app.get("/v1/offers/m365-business-basic").await).await;
    let e3 = json_ok(app.get("/v1/offers/o365-e3").await).await;
    let audio = json_ok(app.get("/v1/offers/teams-audio-conferencing").await).await;

    assert_eq!(basic["kind"], "base");
    assert_eq!(basic["seatCap"], 300);
    assert_eq!(basic["familySeatCap"], 300);
    assert!(
        basic["services"]
            .as_array()
            .unwrap()
            .contains(&"EXCHANGE".into())
    );
    let markets: Vec<&str> = basic["prices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["market"].as_str().unwrap())
        .collect();
    assert_eq!(markets, ["IT", "US"]);
    assert_eq!(basic["prices"][1]["currency"], "USD");
    assert_eq!(
        basic["upgradeTargets"],
        serde_json::json!(["m365-business-standard", "o365-e1", "o365-e3", "o365-e5"])
    );
    assert_eq!(e3["seatCap"], Value::Null);
    assert_eq!(e3["prices"].as_array().unwrap().len(), 3);
    assert_eq!(audio["kind"], "add_on");
    assert!(
        audio["attachesTo"]
            .as_array()
            .unwrap()
            .contains(&"o365-e1".into())
    );
}

#[tokio::test]
async fn offers_filtered_by_market_follow_where_they_are_sold() {
    let app = spawn_app().await;

    let ids = |page: Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let india = ids(json_ok(app.get("/v1/offers?market=IN").await).await);
    let italy = ids(json_ok(app.get("/v1/offers?market=IT").await).await);
    let all = ids(json_ok(app.get("/v1/offers").await).await);

    assert_eq!(all.len(), 13);
    assert!(india.contains(&"m365-business-basic-india".to_owned()));
    assert!(india.contains(&"o365-e5".to_owned()));
    assert!(!india.contains(&"m365-business-basic".to_owned()));
    assert!(!india.contains(&"m365-apps-business".to_owned()));
    assert!(italy.contains(&"m365-business-premium".to_owned()));
    assert!(!italy.iter().any(|id| id.ends_with("-india")));
}

#[tokio::test]
async fn offer_pages_cover_the_catalog_once() {
    let app = spawn_app().await;

    let mut seen = Vec::new();
    let mut path = "/v1/offers?limit=5".to_owned();
    loop {
        let page = json_ok(app.get(&path).await).await;
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 5);
        seen.extend(items.iter().map(|o| o["id"].as_str().unwrap().to_owned()));
        match page["continuationToken"].as_str() {
            Some(token) => path = format!("/v1/offers?limit=5&continuationToken={token}"),
            None => break,
        }
    }
    let mut unique = seen.clone();
    unique.dedup();
    assert_eq!(seen.len(), 13);
    assert_eq!(unique, seen);
}

#[tokio::test]
async fn catalog_reads_refuse_bad_input_with_specific_problems() {
    let app = spawn_app().await;
    let cases = [
        (
            "/v1/offers/no-such-offer",
            StatusCode::NOT_FOUND,
            "offer_not_found",
        ),
        (
            "/v1/offers?market=XX",
            StatusCode::BAD_REQUEST,
            "unknown_market",
        ),
        (
            "/v1/offers?market=us",
            StatusCode::BAD_REQUEST,
            "unknown_market",
        ),
        (
            "/v1/offers?limit=0",
            StatusCode::BAD_REQUEST,
            "invalid_limit",
        ),
        (
            "/v1/offers?limit=201",
            StatusCode::BAD_REQUEST,
            "invalid_limit",
        ),
        (
            "/v1/offers?limit=ten",
            StatusCode::BAD_REQUEST,
            "invalid_query_parameter",
        ),
        (
            "/v1/offers?limit=99999999999",
            StatusCode::BAD_REQUEST,
            "invalid_query_parameter",
        ),
        (
            "/v1/offers?colour=red",
            StatusCode::BAD_REQUEST,
            "invalid_query_parameter",
        ),
        (
            "/v1/offers?continuationToken=garbage",
            StatusCode::BAD_REQUEST,
            "invalid_continuation_token",
        ),
        (
            "/v1/upgrade-paths?sourceOfferId=nope",
            StatusCode::BAD_REQUEST,
            "unknown_offer",
        ),
        (
            "/v1/upgrade-paths?market=FR",
            StatusCode::BAD_REQUEST,
            "unknown_market",
        ),
    ];
    for (path, status, code) in cases {
        let response = app.get(path).await;
        assert_problem(response, status, code).await;
    }
}

/// The document's enum `name`, as served.
fn listed<'a>(document: &'a Value, name: &str) -> Vec<&'a str> {
    document["components"]["schemas"][name]["enum"]
        .as_array()
        .unwrap_or_else(|| panic!("{name} is an enum"))
        .iter()
        .filter_map(Value::as_str)
        .collect()
}

#[tokio::test]
async fn the_document_lists_exactly_the_migrated_catalogs_markets_services_and_offers() {
    let app = spawn_app().await;
    let pool = sqlx::PgPool::connect(app.database_url()).await.unwrap();
    let catalog = subscription_upgrades::db::catalog::load(&pool)
        .await
        .unwrap();
    pool.close().await;
    let url = format!("{}/openapi.json", app.address);
    let document = json_ok(app.client.get(url).send().await.unwrap()).await;

    let markets: Vec<&str> = catalog.markets().iter().map(|m| m.code.as_str()).collect();
    let services: Vec<&str> = catalog.service_codes().into_iter().collect();
    let offers = |kind: OfferKind| -> Vec<&str> {
        let offers = catalog.offers().iter().filter(move |o| o.kind == kind);
        offers.map(|o| o.id.as_str()).collect()
    };
    assert_eq!(listed(&document, "MarketCode"), markets);
    assert_eq!(listed(&document, "ServiceCode"), services);
    assert_eq!(listed(&document, "BaseOfferId"), offers(OfferKind::Base));
    assert_eq!(listed(&document, "AddOnOfferId"), offers(OfferKind::AddOn));
    let all = [offers(OfferKind::Base), offers(OfferKind::AddOn)].concat();
    assert_eq!(listed(&document, "OfferId"), all);
}
