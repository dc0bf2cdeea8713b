//! Conditional and retry-safe writes: `If-Match` and `Idempotency-Key` in, the stored answer out.

use std::convert::Infallible;

use axum::extract::{FromRequestParts, MatchedPath, RawPathParams};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::problem::Problem;
use crate::domain::records::{Precondition, Subscription};
use crate::domain::{CustomerId, ErrorCode, PartnerId};
use crate::error::Error;
use crate::service::idempotency::{Answered, IdempotencyKey, Scope};

/// The `ETag` of a subscription answer.
pub fn etag(subscription: &Subscription) -> String {
    subscription.entity_tag()
}

/// A subscription answer with the subscription's `ETag`.
pub fn with_etag(subscription: Subscription, response: impl IntoResponse) -> Response {
    let tag = etag(&subscription);
    let mut response = response.into_response();
    if let Ok(value) = HeaderValue::from_str(&tag) {
        response.headers_mut().insert(header::ETAG, value);
    }
    response
}

/// Set on an answer replayed from an earlier request with the same `Idempotency-Key`.
pub const IDEMPOTENT_REPLAYED: &str = "idempotent-replayed";

/// The request's `Idempotency-Key`, if it sent one, with the request it names: the method and the
/// path, rebuilt from the matched route. A malformed key is refused (400
/// `invalid_idempotency_key`) when the handler asks for the [`scope`](Self::scope), so the role
/// check and the body's own problems come first.
#[derive(Debug)]
pub struct IdempotencyHeader {
    key: Result<Option<IdempotencyKey>, Error>,
    request_line: String,
}

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyHeader {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|rejection| {
                Problem::new(ErrorCode::InvalidPathParameter, rejection.body_text())
            })?;
        let template = parts
            .extensions
            .get::<MatchedPath>()
            .ok_or_else(|| Error::internal("Idempotency-Key read outside a matched route"))?;
        let params: Vec<(&str, &str)> = params.iter().collect();
        Ok(IdempotencyHeader {
            key: idempotency_key(&parts.headers),
            request_line: request_line(&parts.method, template.as_str(), &params),
        })
    }
}

impl IdempotencyHeader {
    /// The key and the digest of this request (request line and canonical body), for a write
    /// that belongs to the partner rather than to one customer (an upgrade job, which keeps them).
    pub fn partner_scope(self, body: &impl Serialize) -> Result<Option<(String, [u8; 32])>, Error> {
        Ok(self.key?.map(|key| {
            let canonical = serde_json::to_string(body).unwrap_or_default();
            let request = format!("{}\n{canonical}", self.request_line);
            (
                key.as_str().to_owned(),
                Sha256::digest(request.as_bytes()).into(),
            )
        }))
    }

    /// The scope of the key, if the request sent one: the key, who sent it for which customer,
    /// and a digest of the request line with the body as JSON.
    pub fn scope(
        self,
        partner_id: PartnerId,
        customer_id: CustomerId,
        body: &impl Serialize,
    ) -> Result<Option<Scope>, Error> {
        Ok(self.key?.map(|key| {
            let canonical = serde_json::to_string(body).unwrap_or_default();
            let request = format!("{}\n{canonical}", self.request_line);
            Scope::new(customer_id, partner_id, key, request.as_bytes())
        }))
    }
}

/// The request's `Idempotency-Key`, validated.
fn idempotency_key(headers: &HeaderMap) -> Result<Option<IdempotencyKey>, Error> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let raw = value.to_str().unwrap_or("\u{0}");
    IdempotencyKey::parse(raw).map(Some)
}

/// `METHOD /path`: the route's template with each `{name}` replaced by its parameter, a UUID in
/// its canonical form (lowercase, hyphenated) however the client spelled it. Stored keys were
/// hashed with exactly this line, so it must not change.
fn request_line(method: &Method, template: &str, params: &[(&str, &str)]) -> String {
    let mut line = format!("{method} ");
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}').map(|at| open + at) else {
            break;
        };
        line.push_str(&rest[..open]);
        let name = rest[open + 1..close].trim_start_matches('*');
        match params.iter().find(|(param, _)| *param == name) {
            Some((_, value)) => match Uuid::parse_str(value) {
                Ok(id) => line.push_str(&id.to_string()),
                Err(_) => line.push_str(value),
            },
            None => line.push_str(&rest[open..=close]),
        }
        rest = &rest[close + 1..];
    }
    line.push_str(rest);
    line
}

/// The request's `If-Match`: `*`, or a list of entity tags. A malformed one is refused (400
/// `invalid_if_match`) when the handler asks for the [`precondition`](Self::precondition).
#[derive(Debug)]
pub struct IfMatch(Result<Option<Precondition>, Error>);

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(IfMatch(if_match(&parts.headers)))
    }
}

impl IfMatch {
    /// The precondition the request sets, if any.
    pub fn precondition(self) -> Result<Option<Precondition>, Error> {
        self.0
    }
}

/// Parses `If-Match`: `*`, or a comma-separated list of entity tags.
fn if_match(headers: &HeaderMap) -> Result<Option<Precondition>, Error> {
    let mut tags = Vec::new();
    for value in headers.get_all(header::IF_MATCH) {
        let invalid = || {
            Error::new(
                ErrorCode::InvalidIfMatch,
                "If-Match must be * or a list of entity tags, as given in ETag.",
            )
        };
        let text = value.to_str().map_err(|_| invalid())?;
        for tag in text.split(',').map(str::trim) {
            if tag == "*" {
                return Ok(Some(Precondition::Any));
            }
            let opaque = tag.strip_prefix("W/").unwrap_or(tag);
            if opaque.len() < 2 || !opaque.starts_with('"') || !opaque.ends_with('"') {
                return Err(invalid());
            }
            tags.push(tag.to_owned());
        }
    }
    Ok((!tags.is_empty()).then_some(Precondition::Tags(tags)))
}

/// The answer as JSON with its `Location` and `ETag`, marked when replayed.
pub fn respond(answered: Answered) -> Response {
    let (answer, replayed) = match answered {
        Answered::Fresh(answer) => (answer, false),
        Answered::Replayed(answer) => (answer, true),
    };
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    // Stored as the answer's JSON alone (a job item shows those bytes); sent as a line.
    let mut body = answer.body;
    body.push(b'\n');
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let values = [
        (header::LOCATION, answer.location),
        (header::ETAG, answer.etag),
    ];
    for (name, value) in values {
        if let Some(value) = value.and_then(|v| HeaderValue::from_str(&v).ok()) {
            headers.insert(name, value);
        }
    }
    if replayed {
        headers.insert(IDEMPOTENT_REPLAYED, HeaderValue::from_static("true"));
    }
    response
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::{Body, to_bytes};
    use axum::http::Request;
    use axum::routing::patch;
    use tower::ServiceExt;

    use super::*;

    const CUSTOMER: &str = "6F9619FF-8B86-D011-B42D-00C04FC964FF";
    const SUBSCRIPTION: &str = "{A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11}";

    #[tokio::test]
    async fn the_request_line_is_the_one_written_by_hand_before_for_any_spelling_of_the_ids() {
        async fn line(key: IdempotencyHeader) -> String {
            key.request_line
        }
        let app = Router::new().route(
            "/v1/customers/{customerId}/subscriptions/{subscriptionId}",
            patch(line),
        );
        let request = Request::patch(format!(
            "/v1/customers/{CUSTOMER}/subscriptions/{SUBSCRIPTION}"
        ))
        .body(Body::empty())
        .unwrap();

        let response = app.oneshot(request).await.unwrap();
        let body = to_bytes(response.into_body(), 1024).await.unwrap();

        let customer_id = Uuid::parse_str(CUSTOMER).unwrap();
        let subscription_id = Uuid::parse_str(SUBSCRIPTION).unwrap();
        let by_hand = format!("PATCH /v1/customers/{customer_id}/subscriptions/{subscription_id}");
        assert_eq!(String::from_utf8_lossy(&body), by_hand);
    }

    #[test]
    fn parameters_that_are_not_uuids_are_kept_as_given() {
        let line = request_line(
            &Method::GET,
            "/v1/offers/{offerId}/x",
            &[("offerId", "M365-Basic")],
        );
        assert_eq!(line, "GET /v1/offers/M365-Basic/x");
    }

    #[test]
    fn the_scope_hashes_the_line_and_the_body_as_before() {
        let key = IdempotencyHeader {
            key: Ok(Some(IdempotencyKey::parse("k-1").unwrap())),
            request_line: "POST /v1/x".to_owned(),
        };
        let (partner, customer) = (PartnerId(Uuid::new_v4()), CustomerId(Uuid::new_v4()));
        let body = serde_json::json!({"quantity": 3});

        let scope = key.scope(partner, customer, &body).unwrap().unwrap();

        let before = Scope::new(
            customer,
            partner,
            IdempotencyKey::parse("k-1").unwrap(),
            b"POST /v1/x\n{\"quantity\":3}",
        );
        assert_eq!(scope.request_hash, before.request_hash);
    }
}
