//! The provider failing: down or sending garbage before any key arrived (the service runs and
//! answers token requests 503 until keys arrive), and after (the cached keys keep working).

use reqwest::StatusCode;
use uuid::Uuid;

use super::provider::{KeySetAnswer, TestKey, TestProvider};
use super::{call, claims, eventually, outcome, spawn_on};
use crate::helpers::assert_problem;

#[tokio::test]
async fn with_the_provider_down_at_start_the_service_runs_and_tokens_get_503_until_keys_arrive() {
    let key = TestKey::rsa("k");
    let provider = TestProvider::start(KeySetAnswer::Status(503)).await;
    let app = spawn_on(&provider, 1).await;
    provider.wait_for_fetches(1).await;
    let token = key.sign(&claims(Uuid::new_v4()));

    assert_eq!(app.get_anonymous("/healthz").await.status(), StatusCode::OK);
    let response = app.get_anonymous("/readyz").await;
    assert_problem(response, StatusCode::SERVICE_UNAVAILABLE, "not_ready").await;
    let response = call(&app, &token).await;
    assert_eq!(response.headers()["retry-after"], "1");
    assert!(response.headers().get("www-authenticate").is_none());
    assert_problem(
        response,
        StatusCode::SERVICE_UNAVAILABLE,
        "auth_provider_unavailable",
    )
    .await;

    provider.answer(KeySetAnswer::Keys(vec![key.jwk()]));
    eventually("the keys arrive", || async {
        let (status, code) = outcome(&app, &token).await;
        assert!(
            status == 200 || code == "auth_provider_unavailable",
            "{status} {code}"
        );
        status == 200
    })
    .await;
    assert_eq!(app.get_anonymous("/readyz").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn with_the_provider_down_later_cached_keys_keep_working_and_unknown_keys_are_401() {
    let key = TestKey::rsa("cached");
    let provider = TestProvider::start(KeySetAnswer::Keys(vec![key.jwk()])).await;
    provider.set_max_age(1);
    let app = spawn_on(&provider, 1).await;
    let token = key.sign(&claims(Uuid::new_v4()));
    assert_eq!(outcome(&app, &token).await.0, 200);

    provider.answer(KeySetAnswer::Status(500));
    let before = provider.fetches();
    provider.wait_for_fetches(before + 2).await;

    assert_eq!(
        outcome(&app, &token).await.0,
        200,
        "the cached key still verifies"
    );
    let unknown = key.sign_as(key.algorithm, Some("new-key"), &claims(Uuid::new_v4()));
    let response = call(&app, &unknown).await;
    assert_problem(response, StatusCode::UNAUTHORIZED, "token_key_unknown").await;
    assert_eq!(app.get_anonymous("/readyz").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_malformed_key_set_is_never_used() {
    let key = TestKey::rsa("k");
    let token = key.sign(&claims(Uuid::new_v4()));
    let provider = TestProvider::start(KeySetAnswer::Raw("<html>maintenance</html>")).await;
    provider.set_max_age(1);
    let app = spawn_on(&provider, 1).await;
    provider.wait_for_fetches(1).await;

    // No key set yet: nothing can be verified.
    let response = call(&app, &token).await;
    assert_problem(
        response,
        StatusCode::SERVICE_UNAVAILABLE,
        "auth_provider_unavailable",
    )
    .await;

    // A good key set arrives; then broken ones (not a key set, no usable key) do not replace it.
    provider.answer(KeySetAnswer::Keys(vec![key.jwk()]));
    eventually("the keys arrive", || async {
        outcome(&app, &token).await.0 == 200
    })
    .await;
    for broken in [
        KeySetAnswer::Raw(r#"{"keys": "none"}"#),
        KeySetAnswer::Keys(vec![key.jwk_with(serde_json::json!({"use": "enc"}))]),
    ] {
        provider.answer(broken);
        let before = provider.fetches();
        provider.wait_for_fetches(before + 2).await;
        assert_eq!(outcome(&app, &token).await.0, 200);
    }
}
