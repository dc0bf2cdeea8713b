//! Health, readiness, metrics and the OpenAPI document.

use serde_json::Value;

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
