//! Where the verification keys come from, and why the settings may be unusable.

use std::time::Duration;

use super::DEVELOPMENT_SECRET;

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
    #[error(
        "set only one way of verifying tokens: AUTH_JWT_SECRET, AUTH_JWT_PUBLIC_KEY_FILE, or \
         AUTH_JWKS_URL / AUTH_OIDC_ISSUER"
    )]
    BothKeys,
    #[error("tokens can only be minted with a shared secret (AUTH_JWT_SECRET or development mode)")]
    CannotMint,
    #[error("{setting} {url:?} is unusable: {reason}")]
    ProviderUrl {
        setting: &'static str,
        url: String,
        reason: String,
    },
    #[error("the HTTP client for the identity provider cannot be built: {0}")]
    Client(String),
}

/// Where the verification key comes from, and what tokens must say.
#[derive(Debug, Clone)]
pub struct KeySettings {
    pub secret: Option<String>,
    pub public_key_file: Option<String>,
    /// The identity provider's key set (JWKS) URL.
    pub jwks_url: Option<String>,
    /// The OpenID Connect issuer: the required `iss` (instead of `issuer`), and where the key
    /// set is discovered unless `jwks_url` is set. May hold `{tenantid}`.
    pub oidc_issuer: Option<String>,
    pub issuer: String,
    pub audience: String,
    /// The shortest time between two fetches of the key set.
    pub jwks_min_refresh: Duration,
    /// The longest time between two fetches of the key set.
    pub jwks_refresh: Duration,
}

/// The configured source of verification keys.
pub(super) enum KeySource<'a> {
    Secret(&'a str),
    PublicKeyFile(&'a str),
    Provider,
}

impl KeySettings {
    /// No key configured: the documented development secret is used.
    pub fn is_development(&self) -> bool {
        self.secret.is_none() && self.public_key_file.is_none() && !self.uses_provider()
    }

    /// Keys come from an identity provider (AUTH_JWKS_URL or AUTH_OIDC_ISSUER).
    pub fn uses_provider(&self) -> bool {
        self.jwks_url.is_some() || self.oidc_issuer.is_some()
    }

    /// The `iss` tokens must carry (perhaps with `{tenantid}`).
    pub(super) fn required_issuer(&self) -> &str {
        self.oidc_issuer.as_deref().unwrap_or(&self.issuer)
    }

    /// The one configured key source; more than one is refused.
    pub(super) fn source(&self) -> Result<KeySource<'_>, KeyError> {
        match (&self.secret, &self.public_key_file, self.uses_provider()) {
            (Some(secret), None, false) if secret.len() < 32 => Err(KeyError::SecretTooShort),
            (Some(secret), None, false) => Ok(KeySource::Secret(secret)),
            (None, Some(path), false) => Ok(KeySource::PublicKeyFile(path)),
            (None, None, true) => Ok(KeySource::Provider),
            (None, None, false) => Ok(KeySource::Secret(DEVELOPMENT_SECRET)),
            _ => Err(KeyError::BothKeys),
        }
    }

    /// The shared secret tokens are minted with.
    pub(super) fn secret(&self) -> Result<&str, KeyError> {
        match self.source()? {
            KeySource::Secret(secret) => Ok(secret),
            KeySource::PublicKeyFile(_) | KeySource::Provider => Err(KeyError::CannotMint),
        }
    }
}
