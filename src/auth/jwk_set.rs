//! An identity provider's key set (RFC 7517) turned into the keys tokens may be verified with:
//! signature keys only, asymmetric only, each with the algorithms its type (and its `alg`, when
//! given) allows.

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{
    AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, KeyOperations, PublicKeyUse,
};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;

/// Every algorithm a key set's keys may allow: asymmetric only, never `none` or HS*. The RSA
/// ones come first.
pub const ALGORITHMS: &[Algorithm] = &[
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// The RSA algorithms; a key without `alg` may be used with any of them.
const RSA: &[Algorithm] = ALGORITHMS.split_at(6).0;

/// RSA moduli shorter than this (2048 bits) are too weak to trust.
const MIN_RSA_MODULUS_BYTES: usize = 256;

/// A key tokens may be verified with, and the algorithms it may verify.
pub struct SigningKey {
    pub key: DecodingKey,
    pub algorithms: Vec<Algorithm>,
}

impl SigningKey {
    /// A key of fixed configuration (secret or PEM file), for its one algorithm.
    pub fn fixed(key: DecodingKey, algorithm: Algorithm) -> Self {
        SigningKey {
            key,
            algorithms: vec![algorithm],
        }
    }
}

/// The usable keys of a key set, by `kid`.
pub type KeySet = HashMap<String, Arc<SigningKey>>;

/// Why a key set document is unusable.
#[derive(Debug, thiserror::Error)]
pub enum KeySetError {
    #[error("not a JSON key set ({{\"keys\": [...]}}): {0}")]
    NotAKeySet(#[from] serde_json::Error),
    #[error("no usable signature key (asymmetric, with a kid, use sig) among {0} keys")]
    NoUsableKey(usize),
}

#[derive(Deserialize)]
struct Document {
    keys: Vec<serde_json::Value>,
}

/// Parses a key set; keys that are not usable (encryption keys, symmetric keys, unknown types,
/// no `kid`, malformed parameters) are skipped, and a set with none left is an error.
pub fn parse(body: &[u8]) -> Result<KeySet, KeySetError> {
    let document: Document = serde_json::from_slice(body)?;
    let total = document.keys.len();
    let mut set = KeySet::new();
    for value in document.keys {
        if let Some((kid, key)) = usable(value) {
            set.entry(kid).or_insert_with(|| Arc::new(key));
        }
    }
    if set.is_empty() {
        return Err(KeySetError::NoUsableKey(total));
    }
    Ok(set)
}

fn usable(value: serde_json::Value) -> Option<(String, SigningKey)> {
    let jwk: Jwk = serde_json::from_value(value).ok()?;
    let common = &jwk.common;
    let kid = common.key_id.clone()?;
    if common
        .public_key_use
        .as_ref()
        .is_some_and(|usage| *usage != PublicKeyUse::Signature)
    {
        return None;
    }
    if common
        .key_operations
        .as_ref()
        .is_some_and(|ops| !ops.contains(&KeyOperations::Verify))
    {
        return None;
    }
    let algorithms = algorithms(&jwk)?;
    if !well_formed(&jwk.algorithm) {
        return None;
    }
    let key = DecodingKey::from_jwk(&jwk).ok()?;
    Some((kid, SigningKey { key, algorithms }))
}

/// The algorithms the key's type and curve allow, narrowed to its `alg` when it names one.
fn algorithms(jwk: &Jwk) -> Option<Vec<Algorithm>> {
    let by_type: &[Algorithm] = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => RSA,
        AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
            EllipticCurve::P256 => &[Algorithm::ES256],
            EllipticCurve::P384 => &[Algorithm::ES384],
            _ => return None,
        },
        AlgorithmParameters::OctetKeyPair(okp) if okp.curve == EllipticCurve::Ed25519 => {
            &[Algorithm::EdDSA]
        }
        _ => return None,
    };
    match jwk.common.key_algorithm {
        None => Some(by_type.to_vec()),
        Some(named) => {
            let named = signature_algorithm(named)?;
            by_type.contains(&named).then(|| vec![named])
        }
    }
}

fn signature_algorithm(named: KeyAlgorithm) -> Option<Algorithm> {
    Some(match named {
        KeyAlgorithm::RS256 => Algorithm::RS256,
        KeyAlgorithm::RS384 => Algorithm::RS384,
        KeyAlgorithm::RS512 => Algorithm::RS512,
        KeyAlgorithm::PS256 => Algorithm::PS256,
        KeyAlgorithm::PS384 => Algorithm::PS384,
        KeyAlgorithm::PS512 => Algorithm::PS512,
        KeyAlgorithm::ES256 => Algorithm::ES256,
        KeyAlgorithm::ES384 => Algorithm::ES384,
        KeyAlgorithm::EdDSA => Algorithm::EdDSA,
        _ => return None,
    })
}

/// The parameters decode to sizes that fit the key type, so a bad key is skipped when the set
/// is read rather than failing every token later.
fn well_formed(parameters: &AlgorithmParameters) -> bool {
    let length = |value: &str| URL_SAFE_NO_PAD.decode(value).map(|bytes| bytes.len());
    match parameters {
        AlgorithmParameters::RSA(rsa) => {
            let modulus = URL_SAFE_NO_PAD.decode(&rsa.n).unwrap_or_default();
            let significant = modulus.iter().skip_while(|byte| **byte == 0).count();
            significant >= MIN_RSA_MODULUS_BYTES
                && length(&rsa.e).is_ok_and(|e| (1..=8).contains(&e))
        }
        AlgorithmParameters::EllipticCurve(ec) => {
            let size = if ec.curve == EllipticCurve::P384 {
                48
            } else {
                32
            };
            length(&ec.x) == Ok(size) && length(&ec.y) == Ok(size)
        }
        AlgorithmParameters::OctetKeyPair(okp) => length(&okp.x) == Ok(32),
        _ => false,
    }
}

#[cfg(test)]
mod tests;
