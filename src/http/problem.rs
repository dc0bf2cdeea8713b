//! RFC 9457 problem+json: the single place where errors become HTTP responses.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::{IntoResponses, ToSchema};

use super::request_id;
use crate::domain::ErrorCode;
use crate::domain::eligibility::Failure;
use crate::error::Error;

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// Seconds a client should wait before retrying when the database is unavailable.
const RETRY_AFTER_SECS: u32 = 2;

/// An RFC 9457 problem document with this service's stable `code` and the request's id.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    /// A URI naming the kind of problem; `urn:problem:subscription-upgrades:<code>`.
    #[serde(rename = "type")]
    pub type_uri: String,
    /// Short summary of the status.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong, for a human.
    pub detail: String,
    /// Stable machine-readable code; clients branch on this, never on `detail`.
    pub code: ErrorCode,
    /// The request id (also in the `X-Request-Id` header and every log line of the request).
    pub request_id: String,
    /// For `upgrade_not_eligible`: every failing condition.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failures: Option<Vec<Failure>>,
    #[serde(skip)]
    headers: Vec<(header::HeaderName, HeaderValue)>,
}

impl Problem {
    /// A problem with a stable code (which fixes its status) and a message.
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        let status = StatusCode::from_u16(code.status()).unwrap_or(StatusCode::BAD_REQUEST);
        Problem {
            type_uri: format!("urn:problem:subscription-upgrades:{}", code.as_str()),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            code,
            request_id: request_id::current(),
            failures: None,
            headers: Vec::new(),
        }
    }

    /// Adds a `Retry-After` header.
    pub fn with_retry_after(self, seconds: u32) -> Self {
        self.with_header(header::RETRY_AFTER, HeaderValue::from(seconds))
    }

    /// Adds a response header.
    pub fn with_header(mut self, name: header::HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
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
        let body = serde_json::to_vec(&self).unwrap_or_default();
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
        let pool_timeout = error.is_pool_timeout();
        match error {
            Error::Refused { code, detail } => Problem::new(code, detail),
            Error::Throttled {
                code,
                detail,
                retry_after,
            } => Problem::new(code, detail).with_retry_after(retry_after),
            Error::NotEligible(failures) => {
                let mut problem = Problem::new(
                    ErrorCode::UpgradeNotEligible,
                    Error::not_eligible_detail(&failures),
                );
                problem.failures = Some(failures);
                problem
            }
            Error::DatabaseUnavailable(cause) => {
                tracing::warn!(error = %cause, "database unavailable");
                if pool_timeout {
                    crate::telemetry::metrics::record_pool_acquire_timeout();
                }
                Problem::new(
                    ErrorCode::DatabaseUnavailable,
                    "The database is unavailable; retry shortly.",
                )
                .with_retry_after(RETRY_AFTER_SECS)
            }
            Error::LockTimeout(cause) => {
                tracing::warn!(error = %cause, "gave up waiting for a row lock");
                Problem::new(
                    ErrorCode::LockTimeout,
                    "Another change to this customer is still in progress; retry shortly.",
                )
                .with_retry_after(RETRY_AFTER_SECS)
            }
            Error::Internal(cause) => {
                // The one place a 5xx cause is logged; the body stays generic.
                tracing::error!(error = %cause, "internal error");
                Problem::for_status(StatusCode::INTERNAL_SERVER_ERROR)
            }
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        Problem::from(self).into_response()
    }
}
