//! The one error type the service and persistence layers return. Each answer carries a stable
//! `ErrorCode` (which fixes its status); `http::problem` turns it into RFC 9457 problem+json in
//! one place.

use std::borrow::Cow;

use crate::domain::ErrorCode;
use crate::domain::codes::Refusal;
use crate::domain::coterm::CustomTermEndNotAllowed;
use crate::domain::eligibility::Failure;

/// Everything a request can fail with, below the HTTP layer.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request is refused with a stable code, whose status says why (4xx): it names
    /// something that does not exist or is not the caller's, is malformed, conflicts with the
    /// current state, or breaks a rule.
    #[error("{detail}")]
    Refused {
        code: ErrorCode,
        detail: Cow<'static, str>,
    },
    /// The caller holds as much of a bounded resource (event streams, queued jobs) as it may:
    /// 429 with `Retry-After`, nothing was done.
    #[error("{detail}")]
    Throttled {
        code: ErrorCode,
        detail: Cow<'static, str>,
        /// Seconds after which a retry may succeed.
        retry_after: u32,
    },
    /// The upgrade fails the eligibility rules; every failing condition is listed (422).
    #[error("the upgrade is not eligible")]
    NotEligible(Vec<Failure>),
    /// `customTermEndDate` is not allowed; the dates that are, are listed (422).
    #[error("{0}")]
    TermEndNotAllowed(CustomTermEndNotAllowed),
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
    /// A refusal with its code and a message for a human.
    pub fn new(code: ErrorCode, detail: impl Into<Cow<'static, str>>) -> Self {
        Error::Refused {
            code,
            detail: detail.into(),
        }
    }

    /// A 429: the caller holds as much of a bounded resource as it may; retry after `retry_after`
    /// seconds.
    pub fn throttled(
        code: ErrorCode,
        detail: impl Into<Cow<'static, str>>,
        retry_after: u32,
    ) -> Self {
        Error::Throttled {
            code,
            detail: detail.into(),
            retry_after,
        }
    }

    /// A 500 from anything unexpected.
    pub fn internal(cause: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Error::Internal(cause.into())
    }

    /// What a person reads of an upgrade refused by the eligibility conditions: their codes (the
    /// answer lists each in full, in `failures`).
    pub fn not_eligible_detail(failures: &[Failure]) -> String {
        let codes: Vec<&str> = failures.iter().map(|f| f.code.as_str()).collect();
        format!(
            "The upgrade is not eligible: {}. See failures.",
            codes.join(", ")
        )
    }

    /// Whether every pooled connection stayed busy past the acquire timeout (counted apart from
    /// other unavailability: it says the pool, not Postgres, is the bottleneck).
    pub fn is_pool_timeout(&self) -> bool {
        matches!(self, Error::DatabaseUnavailable(sqlx::Error::PoolTimedOut))
    }

    /// The stable code the answer carries.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::Refused { code, .. } | Error::Throttled { code, .. } => *code,
            Error::NotEligible(_) => ErrorCode::UpgradeNotEligible,
            Error::TermEndNotAllowed(refusal) => refusal.code(),
            Error::DatabaseUnavailable(_) => ErrorCode::DatabaseUnavailable,
            Error::LockTimeout(_) => ErrorCode::LockTimeout,
            Error::Internal(_) => ErrorCode::InternalError,
        }
    }
}

impl From<CustomTermEndNotAllowed> for Error {
    fn from(refusal: CustomTermEndNotAllowed) -> Self {
        Error::TermEndNotAllowed(refusal)
    }
}

impl<R: Refusal> From<R> for Error {
    fn from(refusal: R) -> Self {
        Error::new(refusal.code(), refusal.to_string())
    }
}
