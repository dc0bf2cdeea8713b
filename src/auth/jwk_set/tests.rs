use jsonwebtoken::EncodingKey;
use jsonwebtoken::jwk::Jwk;
use serde_json::{Value, json};

use super::*;

const RSA_PEM: &[u8] = include_bytes!("../../../tests/fixtures/rsa-private.pem");
const WEAK_RSA_PEM: &[u8] = include_bytes!("../../../tests/fixtures/rsa-1024-private.pem");
const EC_PEM: &[u8] = include_bytes!("../../../tests/fixtures/ec-private.pem");
const ED_PEM: &[u8] = include_bytes!("../../../tests/fixtures/ed25519-private.pem");

/// The public JWK of a private key, with `kid` and the extra members given.
fn jwk(key: &EncodingKey, algorithm: Algorithm, kid: &str, extra: Value) -> Value {
    let mut value = serde_json::to_value(Jwk::from_encoding_key(key, algorithm).unwrap()).unwrap();
    value["kid"] = json!(kid);
    value.as_object_mut().unwrap().remove("alg");
    for (name, member) in extra.as_object().unwrap() {
        value[name] = member.clone();
    }
    value
}

fn rsa(kid: &str, extra: Value) -> Value {
    jwk(
        &EncodingKey::from_rsa_pem(RSA_PEM).unwrap(),
        Algorithm::RS256,
        kid,
        extra,
    )
}

fn parse_keys(keys: Vec<Value>) -> Result<KeySet, KeySetError> {
    parse(json!({ "keys": keys }).to_string().as_bytes())
}

fn algorithms_of(set: &KeySet, kid: &str) -> Vec<Algorithm> {
    set[kid].algorithms.clone()
}

#[test]
fn each_key_type_allows_only_its_own_algorithms() {
    let ec = EncodingKey::from_ec_pem(EC_PEM).unwrap();
    let ed = EncodingKey::from_ed_pem(ED_PEM).unwrap();
    let set = parse_keys(vec![
        rsa("rsa", json!({})),
        rsa("rsa-pinned", json!({"alg": "PS384", "use": "sig"})),
        jwk(&ec, Algorithm::ES256, "ec", json!({})),
        jwk(&ed, Algorithm::EdDSA, "ed", json!({})),
    ])
    .unwrap();

    assert_eq!(algorithms_of(&set, "rsa"), RSA);
    assert_eq!(algorithms_of(&set, "rsa-pinned"), [Algorithm::PS384]);
    assert_eq!(algorithms_of(&set, "ec"), [Algorithm::ES256]);
    assert_eq!(algorithms_of(&set, "ed"), [Algorithm::EdDSA]);
}

#[test]
fn unusable_keys_are_skipped() {
    let skipped = [
        ("encryption key", rsa("k", json!({"use": "enc"}))),
        ("other use", rsa("k", json!({"use": "tls"}))),
        ("no verify op", rsa("k", json!({"key_ops": ["encrypt"]}))),
        ("no kid", {
            let mut key = rsa("k", json!({}));
            key.as_object_mut().unwrap().remove("kid");
            key
        }),
        ("symmetric alg", rsa("k", json!({"alg": "HS256"}))),
        ("alg of another type", rsa("k", json!({"alg": "ES256"}))),
        ("encryption alg", rsa("k", json!({"alg": "RSA-OAEP"}))),
        ("unknown alg", rsa("k", json!({"alg": "XS999"}))),
        ("modulus not base64", rsa("k", json!({"n": "***"}))),
        ("modulus too short", rsa("k", json!({"n": "AQAB"}))),
        (
            "oct key",
            json!({"kty": "oct", "kid": "k", "k": "c2VjcmV0"}),
        ),
        ("unknown type", json!({"kty": "XYZ", "kid": "k"})),
        ("not an object", json!("key")),
        (
            "1024-bit RSA",
            jwk(
                &EncodingKey::from_rsa_pem(WEAK_RSA_PEM).unwrap(),
                Algorithm::RS256,
                "k",
                json!({}),
            ),
        ),
        ("EC point cut short", {
            let ec = EncodingKey::from_ec_pem(EC_PEM).unwrap();
            jwk(&ec, Algorithm::ES256, "k", json!({"x": "AQAB"}))
        }),
    ];
    for (name, key) in skipped {
        let set = parse_keys(vec![key, rsa("good", json!({}))]).unwrap();
        assert_eq!(set.keys().collect::<Vec<_>>(), ["good"], "{name}");
    }
}

#[test]
fn a_document_that_is_not_a_key_set_or_has_no_usable_key_is_an_error() {
    for body in [
        "not json",
        "{}",
        r#"{"keys": {}}"#,
        "[]",
        r#"{"keys": null}"#,
    ] {
        assert!(
            matches!(parse(body.as_bytes()), Err(KeySetError::NotAKeySet(_))),
            "{body}"
        );
    }
    assert!(matches!(
        parse_keys(vec![rsa("k", json!({"use": "enc"}))]),
        Err(KeySetError::NoUsableKey(1))
    ));
    assert!(matches!(
        parse_keys(vec![]),
        Err(KeySetError::NoUsableKey(0))
    ));
}

#[test]
fn the_first_of_two_keys_with_one_kid_is_kept() {
    let set = parse_keys(vec![
        rsa("k", json!({"alg": "RS512"})),
        rsa("k", json!({"alg": "RS256"})),
    ])
    .unwrap();

    assert_eq!(algorithms_of(&set, "k"), [Algorithm::RS512]);
}
