//! Conditional and retry-safe writes: `If-Match` and `Idempotency-Key` in, the stored answer out.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::domain::ErrorCode;
use crate::error::Error;
use serde::Serialize;
use uuid::Uuid;

use crate::service::idempotency::{IdempotencyKey, Scope, StoredAnswer};
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

/// The scope of the request's `Idempotency-Key`, if it sent one: the key, who sent it for which
/// customer, and a digest of `request_line` (method and path) with the body as JSON.
pub fn idempotency_scope(
    headers: &HeaderMap,
    partner_id: Uuid,
    customer_id: Uuid,
    request_line: &str,
    body: &impl Serialize,
) -> Result<Option<Scope>, Error> {
    Ok(idempotency_key(headers)?.map(|key| {
        let canonical = serde_json::to_string(body).unwrap_or_default();
        let request = format!("{request_line}\n{canonical}");
        Scope::new(customer_id, partner_id, key, request.as_bytes())
    }))
}

/// Parses `If-Match`: `*`, or a comma-separated list of entity tags.
pub fn if_match(headers: &HeaderMap) -> Result<Option<Precondition>, Error> {
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
