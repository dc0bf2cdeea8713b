//! Bearer tokens: every way a token can be wrong gets 401 with its own code and a challenge.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TEST_SECRET, assert_problem, spawn_app, spawn_app_with, token};

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn claims() -> Value {
    json!({
        "sub": "user-1", "tid": Uuid::new_v4(), "roles": ["global_admin"],
        "iss": "subscription-upgrades", "aud": "subscription-upgrades",
        "exp": now() + 600, "nbf": now() - 10, "iat": now() - 10,
    })
}

fn with(mut claims: Value, key: &str, value: Value) -> Value {
    if value.is_null() {
        claims.as_object_mut().unwrap().remove(key);
    } else {
        claims[key] = value;
    }
    claims
}

fn sign(claims: &Value, secret: &str) -> String {
    encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

fn unsigned(claims: &Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let body = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{header}.{body}.")
}

async fn call(app: &crate::helpers::TestApp, authorization: Option<String>) -> reqwest::Response {
    let mut request = app.client.get(format!("{}/v1/offers", app.address));
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn every_bad_token_is_a_401_with_its_own_code() {
    let app = spawn_app().await;
    let hs512 = encode(
        &Header::new(Algorithm::HS512),
        &claims(),
        &EncodingKey::from_secret(TEST_SECRET.as_bytes()),
    )
    .unwrap();
    let cases: Vec<(&str, Option<String>, &str)> = vec![
        ("no header", None, "token_missing"),
        (
            "not bearer",
            Some("Basic dXNlcjpwYXNz".into()),
            "token_malformed",
        ),
        ("empty bearer", Some("Bearer ".into()), "token_malformed"),
        (
            "not a jwt",
            Some("Bearer not-a-jwt".into()),
            "token_malformed",
        ),
        (
            "garbage segments",
            Some("Bearer a.b.c".into()),
            "token_malformed",
        ),
        (
            "expired",
            Some(format!(
                "Bearer {}",
                sign(&with(claims(), "exp", json!(now() - 3600)), TEST_SECRET)
            )),
            "token_expired",
        ),
        (
            "not yet valid",
            Some(format!(
                "Bearer {}",
                sign(&with(claims(), "nbf", json!(now() + 3600)), TEST_SECRET)
            )),
            "token_not_yet_valid",
        ),
        (
            "wrong signature",
            Some(format!(
                "Bearer {}",
                sign(&claims(), "another-secret-another-secret-another")
            )),
            "token_signature_invalid",
        ),
        (
            "wrong audience",
            Some(format!(
                "Bearer {}",
                sign(&with(claims(), "aud", json!("someone-else")), TEST_SECRET)
            )),
            "token_audience_invalid",
        ),
        (
            "wrong issuer",
            Some(format!(
                "Bearer {}",
                sign(&with(claims(), "iss", json!("evil")), TEST_SECRET)
            )),
            "token_issuer_invalid",
        ),
        (
            "alg none",
            Some(format!("Bearer {}", unsigned(&claims()))),
            "token_algorithm_not_allowed",
        ),
        (
            "other algorithm",
            Some(format!("Bearer {hs512}")),
            "token_algorithm_not_allowed",
        ),
        (
            "no exp",
            Some(format!(
                "Bearer {}",
                sign(&with(claims(), "exp", Value::Null), TEST_SECRET)
            )),
            "token_claims_invalid",
        ),
        (
            "tid not a uuid",
            Some(format!(
                "Bearer {}",
                sign(&with(claims(), "tid", json!("acme")), TEST_SECRET)
            )),
            "token_claims_invalid",
        ),
    ];
    for (name, authorization, code) in cases {
        let response = call(&app, authorization).await;

        let challenge = response
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap().to_owned());
        let challenge = challenge.unwrap_or_else(|| panic!("{name}: no WWW-Authenticate"));
        assert!(
            challenge.starts_with("Bearer realm="),
            "{name}: {challenge}"
        );
        assert_eq!(
            challenge.contains("invalid_token"),
            code != "token_missing",
            "{name}: {challenge}"
        );
        assert_problem(response, StatusCode::UNAUTHORIZED, code).await;
    }
}

#[tokio::test]
async fn a_valid_token_is_accepted_and_the_bearer_scheme_is_case_insensitive() {
    let app = spawn_app().await;
    let token = token(Uuid::new_v4(), &["sales_agent"]);

    for scheme in ["Bearer", "bearer", "BEARER"] {
        let response = call(&app, Some(format!("{scheme} {token}"))).await;
        assert_eq!(response.status(), StatusCode::OK, "{scheme}");
    }
}

#[tokio::test]
async fn numeric_dates_with_a_fraction_are_accepted_and_still_enforced() {
    let app = spawn_app().await;
    let at = |offset: f64| json!(now() as f64 + offset);
    let fractional = with(
        with(with(claims(), "exp", at(600.25)), "nbf", at(-10.5)),
        "iat",
        at(-10.75),
    );

    let accepted = call(
        &app,
        Some(format!("Bearer {}", sign(&fractional, TEST_SECRET))),
    )
    .await;
    assert_eq!(accepted.status(), StatusCode::OK);

    for (claim, value, code) in [
        ("exp", at(-3600.5), "token_expired"),
        ("nbf", at(3600.5), "token_not_yet_valid"),
    ] {
        let refused = sign(&with(fractional.clone(), claim, value), TEST_SECRET);
        let response = call(&app, Some(format!("Bearer {refused}"))).await;
        assert_problem(response, StatusCode::UNAUTHORIZED, code).await;
    }
}

#[tokio::test]
async fn rs256_and_es256_keys_verify_their_tokens_and_refuse_algorithm_confusion() {
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
    let cases = [("rsa", Algorithm::RS256), ("ec", Algorithm::ES256)];
    for (kind, algorithm) in cases {
        let public = format!("{fixtures}/{kind}-public.pem");
        let private = std::fs::read(format!("{fixtures}/{kind}-private.pem")).unwrap();
        let public_pem = std::fs::read(&public).unwrap();
        let app = spawn_app_with(|s| {
            s.auth_jwt_secret = None;
            s.auth_jwt_public_key_file = Some(public.clone());
        })
        .await;
        let key = match algorithm {
            Algorithm::RS256 => EncodingKey::from_rsa_pem(&private).unwrap(),
            _ => EncodingKey::from_ec_pem(&private).unwrap(),
        };
        let good = encode(&Header::new(algorithm), &claims(), &key).unwrap();
        // The classic confusion: HS256 "signed" with the public key as the shared secret.
        let confused = encode(
            &Header::new(Algorithm::HS256),
            &claims(),
            &EncodingKey::from_secret(&public_pem),
        )
        .unwrap();

        assert_eq!(
            call(&app, Some(format!("Bearer {good}"))).await.status(),
            StatusCode::OK,
            "{kind}"
        );
        let response = call(&app, Some(format!("Bearer {confused}"))).await;
        assert_problem(
            response,
            StatusCode::UNAUTHORIZED,
            "token_algorithm_not_allowed",
        )
        .await;
    }
}

#[tokio::test]
async fn the_token_command_mints_a_token_the_service_accepts() {
    let app = spawn_app().await;
    let partner = Uuid::new_v4();

    let output = std::process::Command::new(env!("CARGO_BIN_EXE_subscription-upgrades"))
        .args([
            "token",
            "--partner",
            &partner.to_string(),
            "--role",
            "sales_agent",
            "--ttl",
            "10m",
        ])
        .env("AUTH_JWT_SECRET", TEST_SECRET)
        .env_remove("AUTH_JWT_PUBLIC_KEY_FILE")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let minted = String::from_utf8(output.stdout).unwrap().trim().to_owned();

    let response = call(&app, Some(format!("Bearer {minted}"))).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn health_metrics_and_the_document_need_no_token() {
    let app = spawn_app().await;

    for path in ["/healthz", "/readyz", "/metrics", "/openapi.json"] {
        assert_eq!(
            app.get_anonymous(path).await.status(),
            StatusCode::OK,
            "{path}"
        );
    }
}

#[tokio::test]
async fn development_mode_refuses_to_listen_beyond_loopback() {
    let settings = {
        let mut s = crate::helpers::test_settings(crate::helpers::database_url_named("unused"));
        s.auth_jwt_secret = None;
        s.bind_addr = "0.0.0.0:0".parse().unwrap();
        s
    };

    let error = subscription_upgrades::startup::Application::build(&settings)
        .await
        .err()
        .expect("refused");

    assert!(error.to_string().contains("loopback"), "{error}");
}
