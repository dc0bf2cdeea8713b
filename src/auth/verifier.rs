//! Verifying a bearer token: the key (fixed, or the provider's by `kid`), the algorithm the key
//! allows, the signature, and the claims.

use std::sync::Arc;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use uuid::Uuid;

use super::cache::{self, VerifiedTokens};
use super::header::TokenHeader;
use super::jwk_set::{self, SigningKey};
use super::jwks::Jwks;
use super::settings::{KeyError, KeySettings, KeySource};
use super::{Claims, TokenError};

/// Clock skew tolerated on `exp` and `nbf`.
const LEEWAY_SECS: u64 = 30;

/// Seconds since the epoch, as `exp` counts them.
fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

/// The placeholder of a multi-tenant issuer, replaced by the token's own `tid`.
const TENANT_PLACEHOLDER: &str = "{tenantid}";

/// Verifies bearer tokens.
#[derive(Clone)]
pub struct TokenVerifier {
    keys: Keys,
    /// Tokens verified already, until their `exp` or a change of the key that verified them.
    verified: Arc<VerifiedTokens>,
    /// One per family of algorithms allowed (jsonwebtoken wants a validation's algorithms to
    /// be of one family).
    validations: Vec<Validation>,
    /// A multi-tenant issuer's parts before and after `{tenantid}`; `None` when the issuer is
    /// one exact string (checked by `validation`).
    issuer_template: Option<(String, String)>,
}

#[derive(Clone)]
enum Keys {
    Fixed(Arc<SigningKey>),
    Provider(Arc<Jwks>),
}

impl TokenVerifier {
    /// Builds the verifier. A token never chooses the algorithm: a fixed key allows the one its
    /// type implies, and a provider's key those its type and `alg` allow (no `none`, no HS*
    /// with a public key).
    pub fn new(settings: &KeySettings) -> Result<Self, KeyError> {
        let keys = match settings.source()? {
            KeySource::Secret(secret) => Keys::Fixed(Arc::new(SigningKey::fixed(
                DecodingKey::from_secret(secret.as_bytes()),
                Algorithm::HS256,
            ))),
            KeySource::PublicKeyFile(path) => Keys::Fixed(Arc::new(public_key(path)?)),
            KeySource::Provider => Keys::Provider(Arc::new(Jwks::new(settings)?)),
        };
        let algorithms = match &keys {
            Keys::Fixed(key) => key.algorithms.clone(),
            Keys::Provider(_) => jwk_set::ALGORITHMS.to_vec(),
        };
        let issuer_template = settings
            .required_issuer()
            .split_once(TENANT_PLACEHOLDER)
            .map(|(before, after)| (before.to_owned(), after.to_owned()));
        let mut validations: Vec<Validation> = Vec::new();
        for algorithm in algorithms {
            match validations
                .iter_mut()
                .find(|v| v.algorithms[0].family() == algorithm.family())
            {
                Some(validation) => validation.algorithms.push(algorithm),
                None => validations.push(validation(settings, algorithm, &issuer_template)),
            }
        }
        Ok(TokenVerifier {
            keys,
            verified: Arc::new(VerifiedTokens::new(cache::CAPACITY)),
            validations,
            issuer_template,
        })
    }

    /// The provider's key cache, when keys come from one (to refresh in the background).
    pub fn provider_keys(&self) -> Option<Arc<Jwks>> {
        match &self.keys {
            Keys::Fixed(_) => None,
            Keys::Provider(jwks) => Some(Arc::clone(jwks)),
        }
    }

    /// Whether tokens can be verified now (a provider's keys have been loaded).
    pub fn is_ready(&self) -> bool {
        match &self.keys {
            Keys::Fixed(_) => true,
            Keys::Provider(jwks) => jwks.is_loaded(),
        }
    }

    /// The claims of a valid token: remembered from an earlier verification of the same token
    /// while it has not expired and its key is still the current one, otherwise verified.
    pub async fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        let digest = cache::digest(token);
        let now = unix_now();
        let current = |kid: Option<&str>| match &self.keys {
            Keys::Fixed(key) => Some(Arc::clone(key)),
            Keys::Provider(jwks) => jwks.lookup(kid?),
        };
        if let Some(claims) = self.verified.get(&digest, now, current) {
            return Ok(claims);
        }
        let header = TokenHeader::read(token)?;
        let key = match &self.keys {
            Keys::Fixed(key) => Arc::clone(key),
            Keys::Provider(jwks) => jwks.key(header.kid.as_deref()).await?,
        };
        let claims = self.verify_with(token, &header, &key)?;
        let remembered = (claims.clone(), key, header.kid);
        self.verified.insert(digest, remembered, now);
        Ok(claims)
    }

    /// Checks the token's algorithm, signature and claims with `key`.
    fn verify_with(
        &self,
        token: &str,
        header: &TokenHeader,
        key: &SigningKey,
    ) -> Result<Claims, TokenError> {
        if !key.algorithms.contains(&header.alg) {
            return Err(TokenError::AlgorithmNotAllowed);
        }
        let validation = self
            .validations
            .iter()
            .find(|v| v.algorithms.contains(&header.alg))
            .ok_or(TokenError::AlgorithmNotAllowed)?;
        let claims = jsonwebtoken::decode::<Claims>(token, &key.key, validation)
            .map(|data| data.claims)
            .map_err(|e| classify(e.kind()))?;
        self.check_issuer_template(&claims)?;
        Ok(claims)
    }

    /// With `{tenantid}` in the issuer, `iss` must be the issuer with the token's own `tid` in
    /// its place (what Microsoft's libraries check for multi-tenant applications).
    fn check_issuer_template(&self, claims: &Claims) -> Result<(), TokenError> {
        let Some((before, after)) = &self.issuer_template else {
            return Ok(());
        };
        let tenant = claims
            .iss
            .strip_prefix(before.as_str())
            .and_then(|rest| rest.strip_suffix(after.as_str()))
            .and_then(|tenant| Uuid::try_parse(tenant).ok());
        if tenant == Some(claims.tid) {
            Ok(())
        } else {
            Err(TokenError::WrongIssuer)
        }
    }
}

/// The checks of every token, for `algorithm` (and others of its family, added later).
fn validation(
    settings: &KeySettings,
    algorithm: Algorithm,
    issuer_template: &Option<(String, String)>,
) -> Validation {
    let mut validation = Validation::new(algorithm);
    if issuer_template.is_none() {
        validation.set_issuer(&[settings.required_issuer()]);
    }
    validation.set_audience(&[&settings.audience]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation.validate_nbf = true;
    validation.leeway = LEEWAY_SECS;
    validation
}

fn public_key(path: &str) -> Result<SigningKey, KeyError> {
    let pem = std::fs::read(path).map_err(|e| KeyError::Unreadable {
        path: path.to_owned(),
        cause: e.to_string(),
    })?;
    if let Ok(key) = DecodingKey::from_rsa_pem(&pem) {
        return Ok(SigningKey::fixed(key, Algorithm::RS256));
    }
    if let Ok(key) = DecodingKey::from_ec_pem(&pem) {
        return Ok(SigningKey::fixed(key, Algorithm::ES256));
    }
    Err(KeyError::NotAKey {
        path: path.to_owned(),
    })
}

fn classify(kind: &ErrorKind) -> TokenError {
    match kind {
        ErrorKind::ExpiredSignature => TokenError::Expired,
        ErrorKind::ImmatureSignature => TokenError::NotYetValid,
        // A key that cannot verify anything (e.g. a point off its curve) verifies no signature.
        ErrorKind::InvalidSignature
        | ErrorKind::InvalidEcdsaKey
        | ErrorKind::InvalidEddsaKey
        | ErrorKind::InvalidRsaKey(_)
        | ErrorKind::InvalidKeyFormat => TokenError::BadSignature,
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
