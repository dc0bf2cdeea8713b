//! RFC 9457 problem+json: the single place where errors become HTTP responses.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::{IntoResponses, ToSchema};

use super::request_id;
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
    pub code: String,
    /// The request id (also in the `X-Request-Id` header and every log line of the request).
    pub request_id: String,
    /// For `upgrade_not_eligible`: every failing condition.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failures: Option<Vec<Failure>>,
    #[serde(skip)]
    headers: Vec<(header::HeaderName, HeaderValue)>,
}

impl Problem {
    /// A problem with a status, a stable code and a message.
    pub fn new(status: StatusCode, code: &str, detail: impl Into<String>) -> Self {
        Problem {
            type_uri: format!("urn:problem:subscription-upgrades:{code}"),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            code: code.to_owned(),
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
    /// something below produced an error response without a problem body).
    pub fn for_status(status: StatusCode) -> Self {
        let (code, detail) = match status {
            StatusCode::NOT_FOUND => ("route_not_found", "No such route."),
            StatusCode::METHOD_NOT_ALLOWED => (
                "method_not_allowed",
                "This route does not accept that method.",
            ),
            StatusCode::PAYLOAD_TOO_LARGE => (
                "payload_too_large",
                "The request body is larger than allowed.",
            ),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => (
                "unsupported_media_type",
                "Send the body as application/json.",
            ),
            StatusCode::REQUEST_TIMEOUT | StatusCode::SERVICE_UNAVAILABLE => {
                return Problem::new(
                    status,
                    "service_unavailable",
                    "The service could not answer in time; retry shortly.",
                )
                .with_retry_after(RETRY_AFTER_SECS);
            }
            s if s.is_server_error() => (
                "internal_error",
                "An unexpected error occurred; it has been logged.",
            ),
            _ => ("bad_request", "The request could not be processed."),
        };
        Problem::new(status, code, detail)
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
        match error {
            Error::NotFound { code, detail } => Problem::new(StatusCode::NOT_FOUND, code, detail),
            Error::BadRequest { code, detail } => {
                Problem::new(StatusCode::BAD_REQUEST, code, detail)
            }
            Error::Forbidden { code, detail } => Problem::new(StatusCode::FORBIDDEN, code, detail),
            Error::Conflict { code, detail } => Problem::new(StatusCode::CONFLICT, code, detail),
            Error::PreconditionFailed { code, detail } => {
                Problem::new(StatusCode::PRECONDITION_FAILED, code, detail)
            }
            Error::NotEligible(failures) => {
                let codes: Vec<&str> = failures.iter().map(|f| f.code.as_str()).collect();
                let mut problem = Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "upgrade_not_eligible",
                    format!(
                        "The upgrade is not eligible: {}. See failures.",
                        codes.join(", ")
                    ),
                );
                problem.failures = Some(failures);
                problem
            }
            Error::Unprocessable { code, detail } => {
                Problem::new(StatusCode::UNPROCESSABLE_ENTITY, code, detail)
            }
            Error::DatabaseUnavailable(cause) => {
                tracing::warn!(error = %cause, "database unavailable");
                Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "database_unavailable",
                    "The database is unavailable; retry shortly.",
                )
                .with_retry_after(RETRY_AFTER_SECS)
            }
            Error::LockTimeout(cause) => {
                tracing::warn!(error = %cause, "gave up waiting for a row lock");
                Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "lock_timeout",
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
