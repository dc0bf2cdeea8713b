//! Response headers that protect customer data: never sniffed, never cached, no CORS.

use reqwest::StatusCode;

use crate::helpers::spawn_app;

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
