//! Response headers that protect customer data: never sniffed, never cached, no CORS unless an
//! origin is allow-listed.

use reqwest::StatusCode;

use crate::helpers::{spawn_app, spawn_app_with};

#[tokio::test]
async fn every_answer_is_nosniff_and_no_store_success_or_problem() {
    let app = spawn_app().await;
    let admin = app.admin();
    let customer = admin.customer("US").await;

    let answers = [
        admin.get(&format!("/v1/customers/{customer}")).await,
        admin.get("/v1/customers/not-a-uuid").await,
        app.get_anonymous("/v1/customers").await,
        app.get("/v1/nothing-here").await,
        app.get("/healthz").await,
    ];

    for response in answers {
        let (status, headers) = (response.status(), response.headers());
        assert_eq!(headers["x-content-type-options"], "nosniff", "{status}");
        assert_eq!(headers["cache-control"], "no-store", "{status}");
    }
}

#[tokio::test]
async fn cross_origin_requests_get_no_cors_grant() {
    let app = spawn_app().await;

    let preflight = app
        .client
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/v1/customers", app.address),
        )
        .header("origin", "https://evil.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    let simple = app
        .client
        .get(format!("{}/healthz", app.address))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();

    assert_eq!(preflight.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert!(
        preflight
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    assert!(
        simple
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
}

#[tokio::test]
async fn an_allow_listed_origin_gets_a_cors_grant_and_others_still_get_none() {
    let app = spawn_app_with(|settings| {
        settings.cors_allowed_origins = vec!["https://portal.example".parse().unwrap()];
    })
    .await;
    let preflight = |origin: &'static str| {
        app.client
            .request(
                reqwest::Method::OPTIONS,
                format!("{}/v1/customers", app.address),
            )
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization, content-type, idempotency-key",
            )
            .send()
    };

    let allowed = preflight("https://portal.example").await.unwrap();
    let refused = preflight("https://evil.example").await.unwrap();
    let read = app
        .client
        .get(format!("{}/v1/customers", app.address))
        .bearer_auth(crate::helpers::token(app.partner, &["global_admin"]))
        .header("origin", "https://portal.example")
        .send()
        .await
        .unwrap();

    assert!(allowed.status().is_success());
    let grant = allowed.headers();
    assert_eq!(
        grant["access-control-allow-origin"],
        "https://portal.example"
    );
    assert!(
        grant["access-control-allow-methods"]
            .to_str()
            .unwrap()
            .contains("POST")
    );
    assert!(
        grant["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .contains("idempotency-key")
    );
    assert!(
        refused
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    assert_eq!(read.status(), StatusCode::OK);
    assert_eq!(
        read.headers()["access-control-allow-origin"],
        "https://portal.example"
    );
    assert!(
        read.headers()["access-control-expose-headers"]
            .to_str()
            .unwrap()
            .contains("etag")
    );
}
