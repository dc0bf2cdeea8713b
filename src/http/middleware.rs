//! The middleware every request passes through: request id, span, access log and metrics; and the
//! safety net that turns any error response without a problem body into problem+json.

use std::time::Instant;

use axum::body::Body;
use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::Instrument;

use super::problem::{PROBLEM_JSON, Problem};
use super::request_id::{self, MS_CORRELATION_ID, X_REQUEST_ID};

/// Gives the request its id and span, logs it once when answered, and counts it.
pub async fn observe(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = request_id::from_headers(request.headers());
    let echo_correlation = request.headers().contains_key(MS_CORRELATION_ID);
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |p| p.as_str())
        .to_owned();
    let method = request.method().clone();
    let span = tracing::info_span!("request", request_id = %id, method = %method, route = %route);

    let mut response = request_id::scope(id.clone(), next.run(request))
        .instrument(span.clone())
        .await;

    let status = response.status();
    let elapsed = started.elapsed();
    span.in_scope(|| {
        tracing::info!(
            status = status.as_u16(),
            latency_ms = elapsed.as_secs_f64() * 1e3,
            "answered"
        );
    });
    super::metrics::record_request(method.as_str(), &route, status.as_u16(), elapsed);

    if let Ok(value) = HeaderValue::from_str(&id) {
        if echo_correlation {
            response
                .headers_mut()
                .insert(MS_CORRELATION_ID, value.clone());
        }
        response.headers_mut().insert(X_REQUEST_ID, value);
    }
    response
}

/// Replaces an error response that has no problem+json body (from axum's own rejections,
/// timeouts, or anything else below) with the generic problem for its status, keeping headers
/// such as `Allow` and `Retry-After`.
pub async fn problem_safety_net(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(PROBLEM_JSON.as_bytes()));
    if !(status.is_client_error() || status.is_server_error()) || is_problem {
        return response;
    }
    let (mut parts, _) = response.into_parts();
    let replacement = Problem::for_status(status).into_response();
    let (new_parts, body) = replacement.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.extend(new_parts.headers);
    Response::from_parts(parts, Body::new(body))
}
