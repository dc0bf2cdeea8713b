//! Tokens against a loaded key set: each key verifies its own tokens with the algorithms it
//! allows, and a token naming an unknown key, signed by another key, or claiming another
//! algorithm is refused with its own code.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::json;
use uuid::Uuid;

use super::provider::{KeySetAnswer, TestKey, TestProvider};
use super::{call, claims, spawn_on};
use crate::helpers::assert_problem;

#[tokio::test]
async fn rsa_ec_and_ed25519_keys_of_the_provider_verify_their_tokens() {
    let keys = [
        TestKey::rsa("rsa-1"),
        TestKey::new("rsa", Algorithm::PS256, "rsa-pss"),
        TestKey::new("ec", Algorithm::ES256, "ec-1"),
        TestKey::new("ed25519", Algorithm::EdDSA, "ed-1"),
    ];
    let provider =
        TestProvider::start(KeySetAnswer::Keys(keys.iter().map(TestKey::jwk).collect())).await;
    let app = spawn_on(&provider, 60).await;

    for key in &keys {
        let response = call(&app, &key.sign(&claims(Uuid::new_v4()))).await;
        assert_eq!(response.status(), StatusCode::OK, "{}", key.kid);
    }
    // The RSA key has no `alg`, so every RSA algorithm is allowed with it.
    let rs512 = keys[0].sign_as(Algorithm::RS512, Some("rsa-1"), &claims(Uuid::new_v4()));
    assert_eq!(call(&app, &rs512).await.status(), StatusCode::OK);
    assert_eq!(provider.fetches(), 1, "one fetch serves every token");
}

#[tokio::test]
async fn a_token_naming_an_unknown_key_or_none_is_refused_with_token_key_unknown() {
    let key = TestKey::rsa("known");
    let provider = TestProvider::start(KeySetAnswer::Keys(vec![key.jwk()])).await;
    let app = spawn_on(&provider, 60).await;
    assert_eq!(
        call(&app, &key.sign(&claims(Uuid::new_v4())))
            .await
            .status(),
        200
    );

    for kid in [Some("unknown"), None] {
        let token = key.sign_as(Algorithm::RS256, kid, &claims(Uuid::new_v4()));
        let response = call(&app, &token).await;
        let challenge = response.headers()["www-authenticate"].to_str().unwrap();
        assert!(challenge.contains("token_key_unknown"), "{challenge}");
        assert_problem(response, StatusCode::UNAUTHORIZED, "token_key_unknown").await;
    }
}

#[tokio::test]
async fn a_token_signed_by_another_key_than_the_one_it_names_has_a_bad_signature() {
    let published = TestKey::rsa("published");
    let impostor = TestKey::new("rsa-2", Algorithm::RS256, "published");
    let provider = TestProvider::start(KeySetAnswer::Keys(vec![published.jwk()])).await;
    let app = spawn_on(&provider, 60).await;

    let response = call(&app, &impostor.sign(&claims(Uuid::new_v4()))).await;

    assert_problem(
        response,
        StatusCode::UNAUTHORIZED,
        "token_signature_invalid",
    )
    .await;
}

#[tokio::test]
async fn a_token_whose_algorithm_the_key_does_not_allow_is_refused() {
    let pinned = TestKey::rsa("pinned");
    let ec = TestKey::new("ec", Algorithm::ES256, "ec");
    let jwks = vec![pinned.jwk_with(json!({"alg": "RS256"})), ec.jwk()];
    let provider = TestProvider::start(KeySetAnswer::Keys(jwks)).await;
    let app = spawn_on(&provider, 60).await;
    let public_pem = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/rsa-public.pem"
    ))
    .unwrap();
    let hs256 = |kid: &str, secret: &[u8]| {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(kid.to_owned());
        let key = EncodingKey::from_secret(secret);
        jsonwebtoken::encode(&header, &claims(Uuid::new_v4()), &key).unwrap()
    };
    let n = pinned.jwk()["n"].as_str().unwrap().to_owned();
    let cases = [
        (
            "RS384 with a key pinned to RS256",
            pinned.sign_as(Algorithm::RS384, Some("pinned"), &claims(Uuid::new_v4())),
        ),
        (
            "an RSA algorithm naming the EC key",
            pinned.sign_as(Algorithm::RS256, Some("ec"), &claims(Uuid::new_v4())),
        ),
        (
            "HS256 keyed with the public key's PEM",
            hs256("pinned", &public_pem),
        ),
        (
            "HS256 keyed with the JWK's modulus",
            hs256("pinned", n.as_bytes()),
        ),
    ];
    for (name, token) in cases {
        let response = call(&app, &token).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{name}");
        assert_problem(
            response,
            StatusCode::UNAUTHORIZED,
            "token_algorithm_not_allowed",
        )
        .await;
    }
}

#[tokio::test]
async fn a_provider_token_for_another_audience_or_issuer_is_refused() {
    let key = TestKey::rsa("k");
    let provider = TestProvider::start(KeySetAnswer::Keys(vec![key.jwk()])).await;
    let app = spawn_on(&provider, 60).await;
    let mut other_audience = claims(Uuid::new_v4());
    other_audience["aud"] = json!("api://another-app");
    let mut other_issuer = claims(Uuid::new_v4());
    other_issuer["iss"] = json!("https://login.example.com/someone-else/v2.0");

    let response = call(&app, &key.sign(&other_audience)).await;
    assert_problem(response, StatusCode::UNAUTHORIZED, "token_audience_invalid").await;
    let response = call(&app, &key.sign(&other_issuer)).await;
    assert_problem(response, StatusCode::UNAUTHORIZED, "token_issuer_invalid").await;
}
