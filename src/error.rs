//! The one error type the service and persistence layers return. Each variant carries a stable
//! machine `code`; `http::problem` turns it into RFC 9457 problem+json in one place.

use std::borrow::Cow;

use crate::domain::eligibility::Failure;
use crate::domain::input::InvalidDate;

/// Everything a request can fail with, below the HTTP layer.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The resource does not exist, or the caller may not know that it does (404).
    #[error("{detail}")]
    NotFound {
        code: &'static str,
        detail: Cow<'static, str>,
    },
    /// The request is malformed or names something invalid (400).
    #[error("{detail}")]
    BadRequest {
        code: &'static str,
        detail: Cow<'static, str>,
    },
    /// The caller's roles do not allow the operation (403).
    #[error("{detail}")]
    Forbidden {
        code: &'static str,
        detail: Cow<'static, str>,
    },
    /// The request conflicts with the current state (409).
    #[error("{detail}")]
    Conflict {
        code: &'static str,
        detail: Cow<'static, str>,
    },
    /// A conditional request's `If-Match` no longer matches (412).
    #[error("{detail}")]
    PreconditionFailed {
        code: &'static str,
        detail: Cow<'static, str>,
    },
    /// The upgrade fails the eligibility rules; every failing condition is listed (422).
    #[error("the upgrade is not eligible")]
    NotEligible(Vec<Failure>),
    /// The request is understood but the rules refuse it (422).
    #[error("{detail}")]
    Unprocessable {
        code: &'static str,
        detail: Cow<'static, str>,
    },
    /// Postgres cannot be reached right now (503, with Retry-After).
    #[error("database unavailable")]
    DatabaseUnavailable(#[source] sqlx::Error),
    /// A row this request must lock stayed locked by another request past `lock_timeout`, or
    /// Postgres broke a deadlock by cancelling this request (503, with Retry-After).
    #[error("row locked by another request")]
    LockTimeout(#[source] sqlx::Error),
    /// A bug or an unexpected database answer (500, generic body, cause logged).
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl Error {
    /// A 404 with a code and a message.
    pub fn not_found(code: &'static str, detail: impl Into<Cow<'static, str>>) -> Self {
        Error::NotFound {
            code,
            detail: detail.into(),
        }
    }

    /// A 400 with a code and a message.
    pub fn bad_request(code: &'static str, detail: impl Into<Cow<'static, str>>) -> Self {
        Error::BadRequest {
            code,
            detail: detail.into(),
        }
    }

    /// A 409 with a code and a message.
    pub fn conflict(code: &'static str, detail: impl Into<Cow<'static, str>>) -> Self {
        Error::Conflict {
            code,
            detail: detail.into(),
        }
    }

    /// A 422 with a code and a message.
    pub fn unprocessable(code: &'static str, detail: impl Into<Cow<'static, str>>) -> Self {
        Error::Unprocessable {
            code,
            detail: detail.into(),
        }
    }

    /// A 500 from anything unexpected.
    pub fn internal(cause: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Error::Internal(cause.into())
    }
}

impl From<InvalidDate> for Error {
    fn from(error: InvalidDate) -> Self {
        Error::bad_request(error.code(), error.to_string())
    }
}
