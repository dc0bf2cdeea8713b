//! The RFC 9457 problem document every refusal is answered with, by a request or as a job item's
//! outcome.

use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::ErrorCode;
use crate::domain::coterm::AllowedTermEnd;
use crate::domain::eligibility::Failure;
use crate::error::Error;

/// Seconds a client should wait before retrying when the database is unavailable.
pub const RETRY_AFTER_SECS: u32 = 2;

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
    /// For `custom_term_end_not_allowed`: every term end allowed, with its reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_dates: Option<Vec<AllowedTermEnd>>,
    /// Headers the answer carries beside the document (`Retry-After`).
    #[serde(skip)]
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

impl Problem {
    /// A problem with a stable code (which fixes its status) and a message, for the request
    /// `request_id`.
    pub fn for_request(code: ErrorCode, detail: impl Into<String>, request_id: String) -> Self {
        let status = StatusCode::from_u16(code.status()).unwrap_or(StatusCode::BAD_REQUEST);
        Problem {
            type_uri: format!("urn:problem:subscription-upgrades:{}", code.as_str()),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            code,
            request_id,
            failures: None,
            allowed_dates: None,
            headers: Vec::new(),
        }
    }

    /// The problem `error` is answered with in the request `request_id`: the one mapping of an
    /// error to its answer. A cause the client must not see (an internal error, the database's
    /// words) is logged here and left out of the document.
    pub fn of(error: Error, request_id: String) -> Self {
        let pool_timeout = error.is_pool_timeout();
        let new = |code, detail: &str| Problem::for_request(code, detail, request_id.clone());
        match error {
            Error::Refused { code, detail } => Problem::for_request(code, detail, request_id),
            Error::Throttled {
                code,
                detail,
                retry_after,
            } => Problem::for_request(code, detail, request_id).with_retry_after(retry_after),
            Error::NotEligible(failures) => {
                let detail = Error::not_eligible_detail(&failures);
                let mut problem =
                    Problem::for_request(ErrorCode::UpgradeNotEligible, detail, request_id);
                problem.failures = Some(failures);
                problem
            }
            Error::TermEndNotAllowed(refusal) => {
                let detail = refusal.to_string();
                let mut problem = Problem::for_request(refusal.code(), detail, request_id);
                problem.allowed_dates = Some(refusal.allowed);
                problem
            }
            Error::DatabaseUnavailable(cause) => {
                tracing::warn!(error = %cause, "database unavailable");
                if pool_timeout {
                    crate::telemetry::metrics::record_pool_acquire_timeout();
                }
                new(
                    ErrorCode::DatabaseUnavailable,
                    "The database is unavailable; retry shortly.",
                )
                .with_retry_after(RETRY_AFTER_SECS)
            }
            Error::LockTimeout(cause) => {
                tracing::warn!(error = %cause, "gave up waiting for a row lock");
                new(
                    ErrorCode::LockTimeout,
                    "Another change to this customer is still in progress; retry shortly.",
                )
                .with_retry_after(RETRY_AFTER_SECS)
            }
            Error::Internal(cause) => {
                // The one place a 5xx cause is logged; the document stays generic.
                tracing::error!(error = %cause, "internal error");
                new(
                    ErrorCode::InternalError,
                    "An unexpected error occurred; it has been logged.",
                )
            }
        }
    }

    /// Adds a `Retry-After` header.
    pub fn with_retry_after(self, seconds: u32) -> Self {
        self.with_header(header::RETRY_AFTER, HeaderValue::from(seconds))
    }

    /// Adds a response header.
    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    /// The document as sent.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}
