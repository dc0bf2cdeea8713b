//! Bearer tokens from an OpenID Connect provider (Entra ID or another): keys fetched from its
//! key set (JWKS) or discovered from its issuer, cached by `kid`, refreshed on schedule and when
//! a token names a new key, and every way the provider or a token can fail.

mod discovery;
mod failures;
mod keys;
mod provider;
mod refresh;

use std::future::Future;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use reqwest::Response;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, spawn_app_with};
use provider::TestProvider;

/// The `iss` tokens carry when keys come from `AUTH_JWKS_URL`.
const ISSUER: &str = "https://login.example.com/partners/v2.0";
/// The `aud` tokens carry (an Entra ID application id URI).
const AUDIENCE: &str = "api://subscription-upgrades";

/// Valid claims of a partner staff member of tenant `tid`.
fn claims(tid: Uuid) -> Value {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    json!({
        "sub": "pairwise-subject", "tid": tid, "roles": ["global_admin"],
        "iss": ISSUER, "aud": AUDIENCE,
        "exp": now + 600, "nbf": now - 10, "iat": now - 10,
    })
}

/// A service whose keys come from `provider`'s key set URL, refreshed at most every
/// `min_refresh` seconds.
async fn spawn_on(provider: &TestProvider, min_refresh: u64) -> TestApp {
    let url = provider.keys_url();
    spawn_app_with(move |s| {
        s.auth_jwt_secret = None;
        s.auth_jwks_url = Some(url);
        s.auth_issuer = ISSUER.to_owned();
        s.auth_audience = AUDIENCE.to_owned();
        s.auth_jwks_min_refresh_secs = min_refresh;
    })
    .await
}

/// `GET /v1/offers` with this bearer token.
async fn call(app: &TestApp, token: &str) -> Response {
    app.client
        .get(format!("{}/v1/offers", app.address))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

/// The status of `GET /v1/offers` with this token, and the problem code when refused.
async fn outcome(app: &TestApp, token: &str) -> (u16, String) {
    let response = call(app, token).await;
    let status = response.status().as_u16();
    if status == 200 {
        return (status, String::new());
    }
    let body: Value = response.json().await.unwrap();
    (status, body["code"].as_str().unwrap_or_default().to_owned())
}

/// Polls `condition` until it holds (20 s at most): for what a background refresh brings.
async fn eventually<F: Future<Output = bool>>(what: &str, mut condition: impl FnMut() -> F) {
    let started = Instant::now();
    while !condition().await {
        assert!(started.elapsed() < Duration::from_secs(20), "never: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
