//! Entra ID's way: the key set discovered from the issuer's OpenID configuration, one issuer per
//! tenant (`{tenantid}` standing for the token's own `tid`), the user from `oid`; and the
//! settings refused at start-up.

use reqwest::StatusCode;
use serde_json::json;
use uuid::Uuid;

use super::provider::{KeySetAnswer, TestKey, TestProvider};
use super::{AUDIENCE, call, claims, outcome};
use subscription_upgrades::config::Settings;

use crate::helpers::{TestApp, assert_problem, json_ok, spawn_app_with, test_settings};

/// A service trusting `provider`'s multi-tenant issuer, its keys discovered.
async fn spawn_discovering(provider: &TestProvider) -> (TestApp, String) {
    let issuer = format!("{}/{{tenantid}}/v2.0", provider.base);
    let configured = issuer.clone();
    let app = spawn_app_with(move |s| {
        s.auth_jwt_secret = None;
        s.auth_oidc_issuer = Some(configured);
        s.auth_audience = AUDIENCE.to_owned();
        s.auth_jwks_min_refresh_secs = 60;
    })
    .await;
    (app, issuer)
}

/// Claims of tenant `tid` as Entra ID issues them: `iss` names the tenant.
fn entra_claims(issuer_template: &str, tid: Uuid, iss_tenant: &str) -> serde_json::Value {
    let mut claims = claims(tid);
    claims["iss"] = json!(issuer_template.replace("{tenantid}", iss_tenant));
    claims
}

#[tokio::test]
async fn keys_are_discovered_from_the_issuer_and_iss_must_name_the_tokens_own_tenant() {
    let key = TestKey::rsa("entra-1");
    let provider = TestProvider::start(KeySetAnswer::Keys(vec![key.jwk()])).await;
    let (app, issuer) = spawn_discovering(&provider).await;
    let tid = Uuid::new_v4();

    let own = key.sign(&entra_claims(&issuer, tid, &tid.to_string()));
    assert_eq!(outcome(&app, &own).await.0, 200);
    for (name, iss_tenant) in [
        ("another tenant", Uuid::new_v4().to_string()),
        ("the placeholder itself", "{tenantid}".to_owned()),
        ("common", "common".to_owned()),
        ("the tenant and more", format!("{tid}x")),
    ] {
        let token = key.sign(&entra_claims(&issuer, tid, &iss_tenant));
        let response = call(&app, &token).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{name}");
        assert_problem(response, StatusCode::UNAUTHORIZED, "token_issuer_invalid").await;
    }
}

#[tokio::test]
async fn a_discovery_document_naming_another_issuer_gives_no_keys() {
    let key = TestKey::rsa("k");
    let provider = TestProvider::start(KeySetAnswer::Keys(vec![key.jwk()])).await;
    provider.set_discovery_issuer("https://login.example.com/{tenantid}/v2.0");
    let (app, issuer) = spawn_discovering(&provider).await;
    let tid = Uuid::new_v4();

    let token = key.sign(&entra_claims(&issuer, tid, &tid.to_string()));
    let response = call(&app, &token).await;

    assert_problem(
        response,
        StatusCode::SERVICE_UNAVAILABLE,
        "auth_provider_unavailable",
    )
    .await;
    assert_eq!(provider.fetches(), 0, "the key set is not fetched");
}

#[tokio::test]
async fn the_user_is_the_object_id_when_the_token_has_one_else_the_subject() {
    let key = TestKey::rsa("k");
    let provider = TestProvider::start(KeySetAnswer::Keys(vec![key.jwk()])).await;
    let app = super::spawn_on(&provider, 60).await;
    let partner = Uuid::new_v4();
    let mut with_oid = claims(partner);
    with_oid["oid"] = json!("00000000-0000-4000-8000-0000000000aa");

    for (claims, user) in [
        (with_oid, "00000000-0000-4000-8000-0000000000aa"),
        (claims(partner), "pairwise-subject"),
    ] {
        let api = app.api_with_token(key.sign(&claims));
        let customer = api.customer("US").await;
        let subscription = api.subscription(&customer, "m365-business-basic", 5).await;
        let path = format!("/v1/customers/{customer}/subscriptions/{subscription}/history");
        let history = json_ok(api.get(&path).await).await;
        assert_eq!(history["items"][0]["actorUserId"], user, "{history}");
    }
}

/// A change to the settings.
type Adjust = fn(&mut Settings);

#[tokio::test]
async fn plain_http_beyond_loopback_and_two_key_sources_are_refused_at_start() {
    let cases: [(&str, Adjust, &str); 4] = [
        (
            "http key set",
            |s| s.auth_jwks_url = Some("http://login.example.com/keys".into()),
            "AUTH_JWKS_URL",
        ),
        (
            "http issuer",
            |s| s.auth_oidc_issuer = Some("http://login.example.com/{tenantid}/v2.0".into()),
            "AUTH_OIDC_ISSUER",
        ),
        (
            "not a URL",
            |s| s.auth_jwks_url = Some("keys.json".into()),
            "AUTH_JWKS_URL",
        ),
        (
            "secret and key set",
            |s| {
                s.auth_jwt_secret = Some("x".repeat(40));
                s.auth_jwks_url = Some("https://login.example.com/keys".into());
            },
            "only one way",
        ),
    ];
    for (name, adjust, expected) in cases {
        let mut settings = test_settings(crate::helpers::database_url_named("unused"));
        settings.auth_jwt_secret = None;
        adjust(&mut settings);

        let error = subscription_upgrades::startup::Application::build(&settings)
            .await
            .err()
            .unwrap_or_else(|| panic!("{name}: started"));

        let message = error.to_string();
        assert!(message.contains(expected), "{name}: {message}");
        if name.starts_with("http") {
            assert!(message.contains("use https"), "{name}: {message}");
        }
    }
}
