//! Every error is problem+json with a stable code; request ids are accepted, generated, echoed.

use reqwest::StatusCode;

use crate::helpers::{assert_problem, spawn_app};

#[tokio::test]
async fn unknown_route_is_a_problem() {
    let app = spawn_app().await;

    let response = app.get("/v1/nothing-here").await;

    assert_problem(response, StatusCode::NOT_FOUND, "route_not_found").await;
}

#[tokio::test]
async fn wrong_method_is_a_problem_that_names_the_allowed_ones() {
    let app = spawn_app().await;

    let response = app
        .client
        .delete(format!("{}/v1/offers", app.address))
        .send()
        .await
        .unwrap();

    let allow = response.headers().get("allow").cloned();
    assert_problem(
        response,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    )
    .await;
    assert!(allow.unwrap().to_str().unwrap().contains("GET"));
}

#[tokio::test]
async fn caller_request_id_is_echoed_and_put_in_problems() {
    let app = spawn_app().await;

    let response = app
        .client
        .get(format!("{}/v1/offers/unknown", app.address))
        .bearer_auth(crate::helpers::token(app.partner, &["sales_agent"]))
        .header("X-Request-Id", "portal-req-42")
        .send()
        .await
        .unwrap();

    assert_eq!(response.headers()["x-request-id"], "portal-req-42");
    let body = assert_problem(response, StatusCode::NOT_FOUND, "offer_not_found").await;
    assert_eq!(body["requestId"], "portal-req-42");
}

#[tokio::test]
async fn ms_correlation_id_is_accepted_and_echoed_under_both_names() {
    let app = spawn_app().await;

    let response = app
        .client
        .get(format!("{}/healthz", app.address))
        .header("MS-CorrelationId", "c0ffee")
        .send()
        .await
        .unwrap();

    assert_eq!(response.headers()["x-request-id"], "c0ffee");
    assert_eq!(response.headers()["ms-correlationid"], "c0ffee");
}

#[tokio::test]
async fn a_request_id_is_generated_when_absent_or_unusable() {
    let app = spawn_app().await;

    let plain = app.get("/healthz").await;
    let unusable = app
        .client
        .get(format!("{}/healthz", app.address))
        .header("X-Request-Id", "x".repeat(500))
        .send()
        .await
        .unwrap();

    for response in [plain, unusable] {
        let id = response.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            uuid::Uuid::parse_str(&id).is_ok(),
            "{id} is a generated UUID"
        );
    }
}
