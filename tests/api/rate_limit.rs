//! Per-partner rate limiting: a partner past its quota gets 429 with `Retry-After`; other
//! partners and the probes are not held back, and the quota comes back with time.

use std::time::Duration;

use reqwest::StatusCode;
use uuid::Uuid;

use crate::helpers::{assert_problem, spawn_app_with};

#[tokio::test]
async fn a_partner_past_its_quota_gets_429_with_retry_after_and_others_are_unaffected() {
    let app = spawn_app_with(|settings| {
        settings.rate_limit_per_second = 1;
        settings.rate_limit_burst = 3;
    })
    .await;
    let busy = app.admin();
    let other_partner = Uuid::new_v4();
    let other = app.api(other_partner, &["global_admin"]);

    for _ in 0..3 {
        assert_eq!(busy.get("/v1/customers").await.status(), StatusCode::OK);
    }
    let refused = busy.get("/v1/customers").await;
    let retry_after: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_problem(refused, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    assert_eq!(retry_after, 1);
    let write = busy
        .post(
            "/v1/customers",
            &serde_json::json!({"name": "Held back", "market": "US"}),
        )
        .await;
    assert_problem(write, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;

    assert_eq!(other.get("/v1/customers").await.status(), StatusCode::OK);
    assert_eq!(app.get_anonymous("/readyz").await.status(), StatusCode::OK);

    tokio::time::sleep(Duration::from_secs(retry_after)).await;
    let listed: serde_json::Value = busy.get("/v1/customers").await.json().await.unwrap();
    assert_eq!(
        listed["items"],
        serde_json::json!([]),
        "the refused POST wrote nothing"
    );
}
