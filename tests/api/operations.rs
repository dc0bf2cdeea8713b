//! Health, readiness, metrics and the OpenAPI document.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{json_ok, spawn_app};

#[tokio::test]
async fn health_and_readiness_answer_when_the_database_is_up() {
    let app = spawn_app().await;

    assert_eq!(json_ok(app.get("/healthz").await).await["status"], "ok");
    assert_eq!(json_ok(app.get("/readyz").await).await["status"], "ready");
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status_with_latency_histograms() {
    let app = spawn_app().await;
    app.get("/v1/offers/o365-e3").await;
    app.get("/v1/offers/unknown-offer").await;

    let response = app.get("/metrics").await;
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = response.text().await.unwrap();

    for expected in [
        r#"http_requests_total{method="GET",route="/v1/offers/{offerId}",status="200"}"#,
        r#"http_requests_total{method="GET",route="/v1/offers/{offerId}",status="404"}"#,
        r#"http_request_duration_seconds_bucket{method="GET",route="/v1/offers/{offerId}",status="200",le="0.005"}"#,
    ] {
        assert!(text.contains(expected), "missing {expected} in:\n{text}");
    }
}

/// The value of the sample `line` (name and labels, exactly) in a Prometheus text exposition.
fn sample(text: &str, line: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(line)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test]
async fn metrics_count_upgrades_by_outcome_eligibility_failures_by_code_and_pool_use() {
    let app = spawn_app().await;
    let admin = app.admin();
    let customer = admin.customer("US").await;
    let source = admin
        .subscription(&customer, "m365-business-basic", 2)
        .await;
    let upgrades = format!("/v1/customers/{customer}/subscriptions/{source}/upgrades");
    // No delegated admin relationship yet: every option fails `delegated_admin_missing`.
    admin.get(&upgrades).await;
    let refused = admin
        .post(&upgrades, &json!({"targetOfferId": "o365-e1"}))
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    admin.relationship(&customer, &["*"]).await;
    let body = json!({"targetOfferId": "o365-e1", "dryRun": true});
    assert_eq!(admin.post(&upgrades, &body).await.status(), StatusCode::OK);
    let body = json!({"targetOfferId": "o365-e1"});
    assert_eq!(
        admin.post(&upgrades, &body).await.status(),
        StatusCode::CREATED
    );
    assert_eq!(
        admin.post(&upgrades, &body).await.status(),
        StatusCode::CONFLICT
    );

    let text = app.get("/metrics").await.text().await.unwrap();

    for line in [
        r#"upgrades_total{outcome="performed"}"#,
        r#"upgrades_total{outcome="dry_run"}"#,
        r#"upgrades_total{outcome="not_eligible"}"#,
        r#"upgrades_total{outcome="conflict"}"#,
        r#"eligibility_failures_total{code="delegated_admin_missing"}"#,
        r#"db_pool_connections{state="idle"}"#,
        "db_pool_max_connections",
    ] {
        let value = sample(&text, line).unwrap_or_else(|| panic!("missing {line} in:\n{text}"));
        assert!(value >= 1.0, "{line} = {value}");
    }
    assert!(sample(&text, r#"db_pool_connections{state="in_use"}"#).is_some());
}

#[tokio::test]
async fn served_openapi_document_equals_the_committed_one() {
    let app = spawn_app().await;
    let committed = include_str!("../../openapi/openapi.json");

    let served = app.get("/openapi.json").await.text().await.unwrap();

    assert!(
        served == committed,
        "openapi/openapi.json is stale: regenerate it with \
         `cargo run --quiet -- openapi > openapi/openapi.json` and commit it"
    );
    let document: Value = serde_json::from_str(&served).unwrap();
    assert!(document["openapi"].as_str().unwrap().starts_with("3.1"));
}

#[tokio::test]
async fn every_catalog_route_is_documented() {
    let document: Value =
        serde_json::from_str(&subscription_upgrades::http::openapi::document_json()).unwrap();
    let paths = document["paths"].as_object().unwrap();

    for path in [
        "/v1/offers",
        "/v1/offers/{offerId}",
        "/v1/upgrade-paths",
        "/healthz",
        "/readyz",
        "/metrics",
    ] {
        assert!(paths.contains_key(path), "{path} is not documented");
    }
}
