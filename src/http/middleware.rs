//! The middleware every request passes through: request id, span, access log and metrics; limits
//! on the request head; and the safety net that turns any error response without a problem body
//! into problem+json.

use std::time::Instant;

use axum::body::Body;
use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::field::Empty;
use tracing::{Instrument, Span};

use super::problem::{PROBLEM_JSON, Problem};
use super::request_id::{self, MS_CORRELATION_ID, X_REQUEST_ID};
use crate::domain::ErrorCode;
use crate::telemetry::otel;
use crate::telemetry::propagation::{self, TraceParent};

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
    let inbound = TraceParent::from_headers(request.headers());
    let span = request_span(&id, &method, &route, request.headers());

    let mut response =
        propagation::scope(inbound, request_id::scope(id.clone(), next.run(request)))
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
    record_status(&span, status);
    crate::telemetry::metrics::record_request(&method, &route, status.as_u16(), elapsed);

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

/// The request's span. With trace export on it is also the OpenTelemetry server span, named
/// by the route template (never the raw path), a child of the caller's trace when the request
/// carries a valid `traceparent`; the partner id is recorded on it once the caller is known.
fn request_span(id: &str, method: &Method, route: &str, headers: &HeaderMap) -> Span {
    if !otel::enabled() {
        return tracing::info_span!("request", request_id = %id, method = %method, route = %route);
    }
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %method,
        route = %route,
        otel.name = %span_name(method, route),
        otel.kind = "server",
        otel.status_code = Empty,
        http.request.method = %method,
        http.route = %route,
        http.response.status_code = Empty,
        partner_id = Empty,
    );
    otel::continue_trace(&span, headers);
    span
}

/// `METHOD /route/{template}`; only the method when no route matched (OpenTelemetry's HTTP
/// conventions), so that names stay few.
fn span_name(method: &Method, route: &str) -> String {
    if route == "unmatched" {
        method.to_string()
    } else {
        format!("{method} {route}")
    }
}

/// Records the answer's status on an exported request span; a 5xx marks it as failed.
fn record_status(span: &Span, status: StatusCode) {
    if !otel::enabled() {
        return;
    }
    span.record("http.response.status_code", status.as_u16());
    if status.is_server_error() {
        span.record("otel.status_code", "ERROR");
    }
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

/// Longest request target (path and query) answered; longer ones get 414 `uri_too_long`.
pub const MAX_URI_BYTES: usize = 8 * 1024;

/// Largest header section answered (names, values and their separators); larger ones, or more
/// than [`MAX_HEADERS`] lines, get 431 `headers_too_large`.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

/// Most header lines answered.
pub const MAX_HEADERS: usize = 100;

/// Refuses over-long request targets and header sections with problem+json. The HTTP parser
/// buffers heads up to `server::MAX_HEAD_BUFFER`, well above these limits, so that the answer
/// here, not the parser's empty one, is what clients normally get.
pub async fn limit_head(request: Request, next: Next) -> Response {
    let target = request
        .uri()
        .path_and_query()
        .map_or(0, |target| target.as_str().len());
    if target > MAX_URI_BYTES {
        return Problem::new(
            ErrorCode::UriTooLong,
            format!(
                "The request target is {target} bytes long; at most {MAX_URI_BYTES} are accepted."
            ),
        )
        .into_response();
    }
    let headers = request.headers();
    let size = header_section_size(headers);
    if headers.len() > MAX_HEADERS || size > MAX_HEADER_BYTES {
        return Problem::new(
            ErrorCode::HeadersTooLarge,
            format!(
                "The request has {} header lines of {size} bytes; at most {MAX_HEADERS} lines and \
                 {MAX_HEADER_BYTES} bytes are accepted.",
                headers.len()
            ),
        )
        .into_response();
    }
    next.run(request).await
}

/// The size of a header section as sent over HTTP/1.1: `name: value\r\n` per line.
fn header_section_size(headers: &HeaderMap) -> usize {
    headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum()
}
