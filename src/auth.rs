//! Bearer tokens (docs/authentication.md): verification with a shared secret, a
//! public key, or an OpenID Connect provider's published keys (JWKS), and minting of development
//! tokens for the `token` command.

mod cache;
mod header;
mod jwk_set;
mod jwks;
mod numeric_date;
mod provider;
mod settings;
mod verifier;

use std::collections::HashSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::ErrorCode;

pub use jwks::Jwks;
pub use settings::{KeyError, KeySettings};
pub use verifier::TokenVerifier;

/// The secret used when no key is configured. Public by design: development mode only runs on a
/// loopback address, and says so loudly at start-up.
pub const DEVELOPMENT_SECRET: &str = "subscription-upgrades-development-secret-not-for-production";

/// The claims this service reads.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// The partner staff member's user id (the subject).
    pub sub: String,
    /// Entra ID's object id of the user, stable across applications; preferred over `sub`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oid: Option<String>,
    /// The partner's tenant id.
    pub tid: Uuid,
    /// Role names; unknown ones grant nothing.
    #[serde(default)]
    pub roles: Vec<String>,
    pub iss: String,
    pub aud: Audience,
    /// NumericDates may have a fraction (RFC 7519); kept as whole seconds.
    #[serde(deserialize_with = "numeric_date::deserialize")]
    pub exp: u64,
    #[serde(
        default,
        deserialize_with = "numeric_date::deserialize_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub nbf: Option<u64>,
    #[serde(
        default,
        deserialize_with = "numeric_date::deserialize_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub iat: Option<u64>,
}

/// `aud` is a string or a list of strings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

/// Why a token was refused; each has its own stable code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("No bearer token was sent; send Authorization: Bearer <token>.")]
    Missing,
    #[error("The Authorization header is not a well-formed bearer token.")]
    Malformed,
    #[error("The token has expired.")]
    Expired,
    #[error("The token is not valid yet (nbf is in the future).")]
    NotYetValid,
    #[error("The token's signature does not verify.")]
    BadSignature,
    #[error("The token is not meant for this service (aud).")]
    WrongAudience,
    #[error("The token was not issued by a trusted issuer (iss).")]
    WrongIssuer,
    #[error("The token is signed with an algorithm this service does not accept.")]
    AlgorithmNotAllowed,
    #[error("The token's claims are invalid: {0}")]
    InvalidClaims(String),
    #[error("The token is signed with a key the identity provider does not publish (kid).")]
    UnknownKey,
    #[error(
        "The identity provider's signing keys could not be loaded yet; retry in {retry_after} s."
    )]
    ProviderUnavailable { retry_after: u32 },
}

impl TokenError {
    /// The stable problem code.
    pub fn code(&self) -> ErrorCode {
        match self {
            TokenError::Missing => ErrorCode::TokenMissing,
            TokenError::Malformed => ErrorCode::TokenMalformed,
            TokenError::Expired => ErrorCode::TokenExpired,
            TokenError::NotYetValid => ErrorCode::TokenNotYetValid,
            TokenError::BadSignature => ErrorCode::TokenSignatureInvalid,
            TokenError::WrongAudience => ErrorCode::TokenAudienceInvalid,
            TokenError::WrongIssuer => ErrorCode::TokenIssuerInvalid,
            TokenError::AlgorithmNotAllowed => ErrorCode::TokenAlgorithmNotAllowed,
            TokenError::InvalidClaims(_) => ErrorCode::TokenClaimsInvalid,
            TokenError::UnknownKey => ErrorCode::TokenKeyUnknown,
            TokenError::ProviderUnavailable { .. } => ErrorCode::AuthProviderUnavailable,
        }
    }
}

/// What a development token says.
#[derive(Debug, Clone)]
pub struct MintRequest {
    pub partner: Uuid,
    pub roles: Vec<String>,
    pub user: String,
    pub ttl: Duration,
}

/// Signs a token with the shared secret (HS256).
pub fn mint(settings: &KeySettings, request: &MintRequest) -> Result<String, KeyError> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let claims = Claims {
        sub: request.user.clone(),
        oid: None,
        tid: request.partner,
        roles: request.roles.clone(),
        iss: settings.issuer.clone(),
        aud: Audience::One(settings.audience.clone()),
        exp: now + request.ttl.as_secs(),
        nbf: Some(now),
        iat: Some(now),
    };
    let key = EncodingKey::from_secret(settings.secret()?.as_bytes());
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &key)
        .map_err(|_| KeyError::CannotMint)
}

/// The distinct roles of a token, known ones parsed; unknown strings are dropped.
pub fn known_roles(claims: &Claims) -> Vec<crate::domain::Role> {
    let unique: HashSet<&str> = claims.roles.iter().map(String::as_str).collect();
    let mut roles: Vec<_> = unique
        .into_iter()
        .filter_map(crate::domain::Role::parse)
        .collect();
    roles.sort();
    roles
}
