//! Conditional and retry-safe writes: `If-Match` and `Idempotency-Key` in, the stored answer out.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::error::Error;
use crate::service::idempotency::{IdempotencyKey, StoredAnswer};
use crate::service::subscriptions::Precondition;

/// Set on an answer replayed from an earlier request with the same `Idempotency-Key`.
pub const IDEMPOTENT_REPLAYED: &str = "idempotent-replayed";

/// The request's `Idempotency-Key`, validated.
pub fn idempotency_key(headers: &HeaderMap) -> Result<Option<IdempotencyKey>, Error> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let raw = value.to_str().unwrap_or("\u{0}");
    IdempotencyKey::parse(raw).map(Some)
}

/// Parses `If-Match`: `*`, or a comma-separated list of entity tags.
pub fn if_match(headers: &HeaderMap) -> Result<Option<Precondition>, Error> {
    let mut tags = Vec::new();
    for value in headers.get_all(header::IF_MATCH) {
        let invalid = || {
            Error::bad_request(
                "invalid_if_match",
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
pub fn respond(answer: StoredAnswer, replayed: bool) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    let mut response = (status, answer.body).into_response();
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
