//! RFC 9457 problem+json: the single place where errors become HTTP responses (the document
//! itself is a view, [`crate::service::views::Problem`]).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use utoipa::IntoResponses;

use super::request_id;
use crate::domain::ErrorCode;
use crate::error::Error;
pub use crate::service::views::Problem;
use crate::service::views::problem::RETRY_AFTER_SECS;

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

impl Problem {
    /// A problem with a stable code (which fixes its status) and a message, for the request
    /// being handled.
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        Problem::for_request(code, detail, request_id::current())
    }

    /// The generic problem for a bare status (what the safety-net middleware sends when
    /// something below produced an error response without a problem body); the status is kept.
    pub fn for_status(status: StatusCode) -> Self {
        let (code, detail) = match status {
            StatusCode::NOT_FOUND => (ErrorCode::RouteNotFound, "No such route."),
            StatusCode::METHOD_NOT_ALLOWED => (
                ErrorCode::MethodNotAllowed,
                "This route does not accept that method.",
            ),
            StatusCode::PAYLOAD_TOO_LARGE => (
                ErrorCode::PayloadTooLarge,
                "The request body is larger than allowed.",
            ),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => (
                ErrorCode::UnsupportedMediaType,
                "Send the body as application/json.",
            ),
            StatusCode::REQUEST_TIMEOUT | StatusCode::SERVICE_UNAVAILABLE => (
                ErrorCode::ServiceUnavailable,
                "The service could not answer in time; retry shortly.",
            ),
            s if s.is_server_error() => (
                ErrorCode::InternalError,
                "An unexpected error occurred; it has been logged.",
            ),
            _ => (ErrorCode::BadRequest, "The request could not be processed."),
        };
        let mut problem = Problem::new(code, detail);
        problem.status = status.as_u16();
        problem.title = status.canonical_reason().unwrap_or("Error").to_owned();
        if code == ErrorCode::ServiceUnavailable {
            problem = problem.with_retry_after(RETRY_AFTER_SECS);
        }
        problem
    }
}

/// The answers every authenticated operation can give, for the OpenAPI document.
#[derive(IntoResponses)]
pub enum AuthProblems {
    /// No valid bearer token: missing, malformed, expired, not yet valid, or with the wrong
    /// signature, algorithm, audience, issuer or claims.
    #[response(status = 401, content_type = "application/problem+json")]
    Unauthorized(Problem),
    /// The caller's roles do not allow the operation.
    #[response(status = 403, content_type = "application/problem+json")]
    Forbidden(Problem),
    /// `rate_limited`: the partner's request quota is spent; retry after `Retry-After` seconds.
    #[response(status = 429, content_type = "application/problem+json", headers(("Retry-After" = u32, description = "Seconds until the quota allows a request")))]
    TooManyRequests(Problem),
    /// `database_unavailable`, `lock_timeout` or `service_unavailable`: the database is
    /// unreachable, a concurrent change of the same customer held on too long, or the request ran
    /// out of time; nothing was changed. Retry after `Retry-After` seconds.
    #[response(status = 503, content_type = "application/problem+json", headers(("Retry-After" = u32, description = "Seconds to wait before retrying")))]
    Unavailable(Problem),
}

/// The 404 of every route under a customer: it does not exist, or it is not the caller's.
#[derive(IntoResponses)]
pub enum NotYours {
    /// No such customer (or subscription) of yours.
    #[response(status = 404, content_type = "application/problem+json")]
    NotFound(Problem),
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut body = self.to_json();
        body.push(b'\n');
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        for (name, value) in self.headers {
            headers.insert(name, value);
        }
        response
    }
}

impl From<Error> for Problem {
    fn from(error: Error) -> Self {
        Problem::of(error, request_id::current())
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        Problem::from(self).into_response()
    }
}
