//! A test identity provider on loopback: a discovery document and a key set the test can change,
//! break, hold back, and whose fetches it can count; and signing keys from the fixtures.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

/// What the key set URL answers.
#[derive(Clone)]
pub enum KeySetAnswer {
    /// These keys' public JWKs.
    Keys(Vec<Value>),
    /// This status, no key set.
    Status(u16),
    /// This body with status 200.
    Raw(&'static str),
}

struct Shared {
    answer: Mutex<KeySetAnswer>,
    /// The discovery document's `issuer`.
    issuer: Mutex<String>,
    max_age: Mutex<Option<u64>>,
    key_set_fetches: AtomicUsize,
    /// Key set answers wait until this is true.
    open: tokio::sync::watch::Sender<bool>,
}

/// The running provider; stopped when dropped.
pub struct TestProvider {
    pub base: String,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl TestProvider {
    /// Serves `answer` at `/keys` and a discovery document at
    /// `/{tenant}/v2.0/.well-known/openid-configuration` naming `{base}/{tenantid}/v2.0`.
    pub async fn start(answer: KeySetAnswer) -> TestProvider {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let shared = Arc::new(Shared {
            answer: Mutex::new(answer),
            issuer: Mutex::new(format!("{base}/{{tenantid}}/v2.0")),
            max_age: Mutex::new(None),
            key_set_fetches: AtomicUsize::new(0),
            open: tokio::sync::watch::channel(true).0,
        });
        let router = Router::new()
            .route("/keys", get(key_set))
            .route(
                "/{tenant}/v2.0/.well-known/openid-configuration",
                get(discovery),
            )
            .with_state((Arc::clone(&shared), base.clone()));
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        TestProvider {
            base,
            shared,
            server,
        }
    }

    /// The key set's URL.
    pub fn keys_url(&self) -> String {
        format!("{}/keys", self.base)
    }

    /// Answers the key set URL with `answer` from now on.
    pub fn answer(&self, answer: KeySetAnswer) {
        *self.shared.answer.lock().unwrap() = answer;
    }

    /// Names `issuer` in the discovery document.
    pub fn set_discovery_issuer(&self, issuer: &str) {
        *self.shared.issuer.lock().unwrap() = issuer.to_owned();
    }

    /// Sends `Cache-Control: max-age=<seconds>` with the key set.
    pub fn set_max_age(&self, seconds: u64) {
        *self.shared.max_age.lock().unwrap() = Some(seconds);
    }

    /// Holds key set answers back until [`Self::release`].
    pub fn hold(&self) {
        self.shared.open.send_replace(false);
    }

    /// Lets held and later key set answers go.
    pub fn release(&self) {
        self.shared.open.send_replace(true);
    }

    /// Key set requests received so far.
    pub fn fetches(&self) -> usize {
        self.shared.key_set_fetches.load(Ordering::SeqCst)
    }

    /// Waits until at least `count` key set requests have arrived.
    pub async fn wait_for_fetches(&self, count: usize) {
        let started = Instant::now();
        while self.fetches() < count {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "{} of {count} key set fetches arrived",
                self.fetches()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl Drop for TestProvider {
    fn drop(&mut self) {
        self.server.abort();
    }
}

type ProviderState = (Arc<Shared>, String);

async fn key_set(State((shared, _)): State<ProviderState>) -> Response {
    shared.key_set_fetches.fetch_add(1, Ordering::SeqCst);
    let _ = shared.open.subscribe().wait_for(|open| *open).await;
    let answer = shared.answer.lock().unwrap().clone();
    let max_age = *shared.max_age.lock().unwrap();
    let mut response = match answer {
        KeySetAnswer::Keys(keys) => axum::Json(json!({ "keys": keys })).into_response(),
        KeySetAnswer::Status(status) => StatusCode::from_u16(status).unwrap().into_response(),
        KeySetAnswer::Raw(body) => body.into_response(),
    };
    if let Some(seconds) = max_age {
        let value = format!("public, max-age={seconds}").parse().unwrap();
        response.headers_mut().insert(header::CACHE_CONTROL, value);
    }
    response
}

async fn discovery(State((shared, base)): State<ProviderState>) -> Response {
    let issuer = shared.issuer.lock().unwrap().clone();
    axum::Json(json!({
        "issuer": issuer,
        "jwks_uri": format!("{base}/keys"),
        "id_token_signing_alg_values_supported": ["RS256"],
    }))
    .into_response()
}

/// A signing key of the provider, from the test fixtures.
pub struct TestKey {
    pub kid: String,
    pub algorithm: Algorithm,
    encoding: EncodingKey,
}

impl TestKey {
    /// A key from `tests/fixtures/<fixture>-private.pem` for `algorithm`, published as `kid`.
    pub fn new(fixture: &str, algorithm: Algorithm, kid: &str) -> TestKey {
        let path = format!(
            "{}/tests/fixtures/{fixture}-private.pem",
            env!("CARGO_MANIFEST_DIR")
        );
        let pem = std::fs::read(path).unwrap();
        let encoding = match algorithm {
            Algorithm::ES256 => EncodingKey::from_ec_pem(&pem),
            Algorithm::EdDSA => EncodingKey::from_ed_pem(&pem),
            _ => EncodingKey::from_rsa_pem(&pem),
        }
        .unwrap();
        TestKey {
            kid: kid.to_owned(),
            algorithm,
            encoding,
        }
    }

    /// The first RSA fixture, RS256.
    pub fn rsa(kid: &str) -> TestKey {
        TestKey::new("rsa", Algorithm::RS256, kid)
    }

    /// The public JWK as Entra ID publishes it (`use: sig`, no `alg`), with `extra` members.
    pub fn jwk_with(&self, extra: Value) -> Value {
        let jwk = Jwk::from_encoding_key(&self.encoding, self.algorithm).unwrap();
        let mut value = serde_json::to_value(jwk).unwrap();
        let object = value.as_object_mut().unwrap();
        object.remove("alg");
        object.insert("kid".into(), json!(self.kid));
        object.insert("use".into(), json!("sig"));
        for (name, member) in extra.as_object().unwrap() {
            object.insert(name.clone(), member.clone());
        }
        value
    }

    /// The public JWK as Entra ID publishes it.
    pub fn jwk(&self) -> Value {
        self.jwk_with(json!({}))
    }

    /// A token of `claims` signed with this key, naming it.
    pub fn sign(&self, claims: &Value) -> String {
        self.sign_as(self.algorithm, Some(&self.kid), claims)
    }

    /// A token signed with this key but claiming `algorithm` and `kid` in its header.
    pub fn sign_as(&self, algorithm: Algorithm, kid: Option<&str>, claims: &Value) -> String {
        let mut header = Header::new(algorithm);
        header.kid = kid.map(str::to_owned);
        jsonwebtoken::encode(&header, claims, &self.encoding).unwrap()
    }
}
