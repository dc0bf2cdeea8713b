//! Bearer tokens (README, "Authentication and roles"): verification with HS256, RS256 or ES256, and
//! minting of development tokens for the `token` command.

use std::collections::HashSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::ErrorCode;

/// The secret used when no key is configured. Public by design: development mode only runs on a
/// loopback address, and says so loudly at start-up.
pub const DEVELOPMENT_SECRET: &str = "subscription-upgrades-development-secret-not-for-production";

/// Clock skew tolerated on `exp` and `nbf`.
const LEEWAY_SECS: u64 = 30;

/// The claims this service reads.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// The partner staff member's user id.
    pub sub: String,
    /// The partner's tenant id.
    pub tid: Uuid,
    /// Role names; unknown ones grant nothing.
    #[serde(default)]
    pub roles: Vec<String>,
    pub iss: String,
    pub aud: Audience,
    pub exp: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
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
        }
    }
}

/// Why the token settings are unusable.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("AUTH_JWT_SECRET is shorter than 32 bytes; use a long random secret")]
    SecretTooShort,
    #[error("cannot read AUTH_JWT_PUBLIC_KEY_FILE {path}: {cause}")]
    Unreadable { path: String, cause: String },
    #[error(
        "AUTH_JWT_PUBLIC_KEY_FILE {path} holds neither an RSA nor an EC (P-256) public key in PEM"
    )]
    NotAKey { path: String },
    #[error("set only one of AUTH_JWT_SECRET and AUTH_JWT_PUBLIC_KEY_FILE")]
    BothKeys,
    #[error("tokens can only be minted with a shared secret (AUTH_JWT_SECRET or development mode)")]
    CannotMint,
}

/// Where the verification key comes from.
#[derive(Debug, Clone)]
pub struct KeySettings {
    pub secret: Option<String>,
    pub public_key_file: Option<String>,
    pub issuer: String,
    pub audience: String,
}

impl KeySettings {
    /// No key configured: the documented development secret is used.
    pub fn is_development(&self) -> bool {
        self.secret.is_none() && self.public_key_file.is_none()
    }

    fn secret(&self) -> Result<&str, KeyError> {
        match (&self.secret, &self.public_key_file) {
            (Some(_), Some(_)) => Err(KeyError::BothKeys),
            (Some(secret), None) if secret.len() < 32 => Err(KeyError::SecretTooShort),
            (Some(secret), None) => Ok(secret),
            (None, None) => Ok(DEVELOPMENT_SECRET),
            (None, Some(_)) => Err(KeyError::CannotMint),
        }
    }
}

/// Verifies bearer tokens against one key and one algorithm.
#[derive(Clone)]
pub struct TokenVerifier {
    key: DecodingKey,
    algorithm: Algorithm,
    validation: Validation,
}

impl TokenVerifier {
    /// Builds the verifier; the algorithm follows from the key, so a token cannot choose it
    /// (no `alg: none`, no HS256 signed with a public key).
    pub fn new(settings: &KeySettings) -> Result<Self, KeyError> {
        let (key, algorithm) = match &settings.public_key_file {
            Some(path) if settings.secret.is_none() => public_key(path)?,
            _ => (
                DecodingKey::from_secret(settings.secret()?.as_bytes()),
                Algorithm::HS256,
            ),
        };
        let mut validation = Validation::new(algorithm);
        validation.set_issuer(&[&settings.issuer]);
        validation.set_audience(&[&settings.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECS;
        Ok(TokenVerifier {
            key,
            algorithm,
            validation,
        })
    }

    /// The claims of a valid token.
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        // Read `alg` ourselves first: `none` and unknown names are a refused algorithm, not a
        // parse error, and a token never gets to pick the algorithm.
        if header_algorithm(token)? != format!("{:?}", self.algorithm) {
            return Err(TokenError::AlgorithmNotAllowed);
        }
        jsonwebtoken::decode::<Claims>(token, &self.key, &self.validation)
            .map(|data| data.claims)
            .map_err(|e| classify(e.kind()))
    }
}

fn header_algorithm(token: &str) -> Result<String, TokenError> {
    use base64::Engine;
    let segments: Vec<&str> = token.split('.').collect();
    let [header, _, _] = segments.as_slice() else {
        return Err(TokenError::Malformed);
    };
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|_| TokenError::Malformed)?;
    let header: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|_| TokenError::Malformed)?;
    header["alg"]
        .as_str()
        .map(str::to_owned)
        .ok_or(TokenError::Malformed)
}

fn public_key(path: &str) -> Result<(DecodingKey, Algorithm), KeyError> {
    let pem = std::fs::read(path).map_err(|e| KeyError::Unreadable {
        path: path.to_owned(),
        cause: e.to_string(),
    })?;
    if let Ok(key) = DecodingKey::from_rsa_pem(&pem) {
        return Ok((key, Algorithm::RS256));
    }
    if let Ok(key) = DecodingKey::from_ec_pem(&pem) {
        return Ok((key, Algorithm::ES256));
    }
    Err(KeyError::NotAKey {
        path: path.to_owned(),
    })
}

fn classify(kind: &ErrorKind) -> TokenError {
    match kind {
        ErrorKind::ExpiredSignature => TokenError::Expired,
        ErrorKind::ImmatureSignature => TokenError::NotYetValid,
        ErrorKind::InvalidSignature => TokenError::BadSignature,
        ErrorKind::InvalidAudience => TokenError::WrongAudience,
        ErrorKind::InvalidIssuer => TokenError::WrongIssuer,
        ErrorKind::InvalidAlgorithm
        | ErrorKind::InvalidAlgorithmName
        | ErrorKind::UnsupportedAlgorithm
        | ErrorKind::MissingAlgorithm => TokenError::AlgorithmNotAllowed,
        ErrorKind::MissingRequiredClaim(claim) => {
            TokenError::InvalidClaims(format!("the {claim} claim is required"))
        }
        ErrorKind::InvalidClaimFormat(claim) => {
            TokenError::InvalidClaims(format!("the {claim} claim has the wrong format"))
        }
        ErrorKind::Json(e) => TokenError::InvalidClaims(e.to_string()),
        _ => TokenError::Malformed,
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
