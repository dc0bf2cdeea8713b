//! The caller: a partner staff member identified by a verified bearer token.

use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};

use super::AppState;
use super::problem::Problem;
use crate::auth::{self, TokenError};
use crate::domain::policy::{self, Operation, Role};
use crate::domain::{ErrorCode, PartnerId};
use crate::error::Error;
use crate::service::Actor;
use crate::telemetry::otel;

/// Who is calling: partner tenant, user and roles, from a token that verified.
#[derive(Debug, Clone)]
pub struct Caller {
    pub partner_id: PartnerId,
    pub user_id: String,
    /// The roles of ours the token carries.
    pub roles: Vec<Role>,
    /// Every role string of the token, as sent (for the history).
    pub role_names: Vec<String>,
}

impl Caller {
    /// Refuses with 403 `role_not_allowed` unless one of the caller's roles permits `operation`.
    pub fn require(&self, operation: Operation) -> Result<(), Error> {
        if policy::any_permits(&self.roles, operation) {
            return Ok(());
        }
        let held = if self.role_names.is_empty() {
            "none".to_owned()
        } else {
            self.role_names.join(", ")
        };
        Err(Error::Refused {
            code: ErrorCode::RoleNotAllowed,
            detail: format!("Your roles ({held}) do not allow this operation.").into(),
        })
    }

    /// The caller as the history records it, under the current request id.
    pub fn into_actor(self) -> Actor {
        Actor {
            partner_id: self.partner_id,
            user_id: self.user_id,
            roles: self.role_names,
            request_id: super::request_id::current(),
        }
    }

    /// Whether the caller holds `role`.
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer_token(parts).map_err(unauthorized)?;
        let claims = state.verifier.verify(token).await.map_err(unauthorized)?;
        if let Some(limiter) = &state.rate_limiter
            && let Err(wait) = limiter.check(claims.tid, Instant::now())
        {
            return Err(rate_limited(wait));
        }
        let roles = auth::known_roles(&claims);
        if otel::enabled() {
            tracing::Span::current().record("partner_id", tracing::field::display(claims.tid));
        }
        Ok(Caller {
            partner_id: PartnerId::from(claims.tid),
            // Entra ID's object id is the user's stable id; other providers have `sub` only.
            user_id: claims.oid.unwrap_or(claims.sub),
            roles,
            role_names: claims.roles,
        })
    }
}

fn bearer_token(parts: &Parts) -> Result<&str, TokenError> {
    let value = parts
        .headers
        .get(header::AUTHORIZATION)
        .ok_or(TokenError::Missing)?
        .to_str()
        .map_err(|_| TokenError::Malformed)?;
    let (scheme, token) = value.split_once(' ').ok_or(TokenError::Malformed)?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(TokenError::Malformed);
    }
    Ok(token)
}

fn rate_limited(wait: Duration) -> Problem {
    let whole = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let seconds = u32::try_from(whole.max(1)).unwrap_or(u32::MAX);
    Problem::new(
        ErrorCode::RateLimited,
        format!("Your partner's request quota for this instance is spent; retry in {seconds} s."),
    )
    .with_retry_after(seconds)
}

fn unauthorized(error: TokenError) -> Problem {
    // RFC 6750: no error attribute when no credentials were sent at all.
    let challenge = match &error {
        TokenError::ProviderUnavailable { retry_after } => {
            return Problem::new(error.code(), error.to_string()).with_retry_after(*retry_after);
        }
        TokenError::Missing => r#"Bearer realm="subscription-upgrades""#.to_owned(),
        other => format!(
            r#"Bearer realm="subscription-upgrades", error="invalid_token", error_description="{}""#,
            other.code().as_str()
        ),
    };
    let problem = Problem::new(error.code(), error.to_string());
    match HeaderValue::from_str(&challenge) {
        Ok(value) => problem.with_header(header::WWW_AUTHENTICATE, value),
        Err(_) => problem,
    }
}
