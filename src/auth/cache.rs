//! Verified tokens, remembered: a client sends the same bearer token with every request until it
//! expires, and checking its signature (an RSA verification for Entra ID's keys) and claims every
//! time is the largest fixed cost of a read. The cache is keyed by the token's SHA-256 (the token
//! itself is never kept), bounded, never answers for a token past its `exp`, and remembers which
//! signing key verified each token: once the provider's key set is replaced (a rotation), a
//! token is verified again against the new set.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};

use super::Claims;
use super::jwk_set::SigningKey;

/// Tokens remembered at most; a full cache first forgets expired tokens, then everything.
pub const CAPACITY: usize = 10_000;

/// The SHA-256 of a token.
pub type TokenDigest = [u8; 32];

/// The digest a token is remembered by.
pub fn digest(token: &str) -> TokenDigest {
    Sha256::digest(token.as_bytes()).into()
}

/// The verified tokens.
pub struct VerifiedTokens {
    entries: Mutex<HashMap<TokenDigest, Entry>>,
    capacity: usize,
}

struct Entry {
    claims: Claims,
    /// The key that verified it, and the `kid` it was found by.
    key: Arc<SigningKey>,
    kid: Option<String>,
}

impl VerifiedTokens {
    pub fn new(capacity: usize) -> Self {
        VerifiedTokens {
            entries: Mutex::new(HashMap::new()),
            capacity,
        }
    }

    /// The claims of the token with `digest`, if it was verified, has not expired at `now`
    /// (seconds since the epoch), and the key that verified it is still the one `current` gives
    /// for its `kid`.
    pub fn get(
        &self,
        digest: &TokenDigest,
        now: u64,
        current: impl FnOnce(Option<&str>) -> Option<Arc<SigningKey>>,
    ) -> Option<Claims> {
        let mut entries = self.lock();
        let entry = entries.get(digest)?;
        let same_key = current(entry.kid.as_deref()).is_some_and(|k| Arc::ptr_eq(&k, &entry.key));
        if now >= entry.claims.exp || !same_key {
            entries.remove(digest);
            return None;
        }
        Some(entry.claims.clone())
    }

    /// Remembers a token just verified with `key`.
    pub fn insert(
        &self,
        digest: TokenDigest,
        (claims, key, kid): (Claims, Arc<SigningKey>, Option<String>),
        now: u64,
    ) {
        let mut entries = self.lock();
        if entries.len() >= self.capacity {
            entries.retain(|_, entry| entry.claims.exp > now);
        }
        if entries.len() >= self.capacity {
            entries.clear();
        }
        entries.insert(digest, Entry { claims, key, kid });
    }

    /// Tokens remembered now.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<TokenDigest, Entry>> {
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::{Algorithm, DecodingKey};
    use uuid::Uuid;

    use super::*;
    use crate::auth::Audience;

    fn claims(exp: u64) -> Claims {
        Claims {
            sub: "user".into(),
            oid: None,
            tid: Uuid::nil(),
            roles: vec!["admin_agent".into()],
            iss: "issuer".into(),
            aud: Audience::One("aud".into()),
            exp,
            nbf: None,
            iat: None,
        }
    }

    fn key() -> Arc<SigningKey> {
        Arc::new(SigningKey::fixed(
            DecodingKey::from_secret(b"secret"),
            Algorithm::HS256,
        ))
    }

    #[test]
    fn a_verified_token_is_answered_until_its_exp_and_not_after() {
        let (cache, key) = (VerifiedTokens::new(10), key());
        let token = digest("a.b.c");
        cache.insert(token, (claims(1_000), Arc::clone(&key), None), 900);
        let current = |_: Option<&str>| Some(Arc::clone(&key));
        assert_eq!(cache.get(&token, 999, current).map(|c| c.exp), Some(1_000));
        assert!(
            cache.get(&token, 1_000, current).is_none(),
            "at exp: verify again"
        );
        assert_eq!(cache.len(), 0, "an expired token is forgotten");
        assert!(cache.get(&digest("x.y.z"), 900, current).is_none());
    }

    #[test]
    fn a_token_verified_by_a_key_since_replaced_is_verified_again() {
        let (cache, old, new) = (VerifiedTokens::new(10), key(), key());
        let token = digest("a.b.c");
        cache.insert(token, (claims(1_000), old, Some("k1".into())), 900);
        let rotated = |kid: Option<&str>| (kid == Some("k1")).then(|| Arc::clone(&new));
        assert!(cache.get(&token, 950, rotated).is_none());
        cache.insert(
            token,
            (claims(1_000), Arc::clone(&new), Some("k1".into())),
            950,
        );
        let gone = |_: Option<&str>| None;
        assert!(
            cache.get(&token, 960, gone).is_none(),
            "a key removed: refused again"
        );
    }

    #[test]
    fn a_full_cache_forgets_expired_tokens_first_then_everything() {
        let (cache, key) = (VerifiedTokens::new(2), key());
        cache.insert(digest("1"), (claims(100), Arc::clone(&key), None), 50);
        cache.insert(digest("2"), (claims(500), Arc::clone(&key), None), 50);
        cache.insert(digest("3"), (claims(500), Arc::clone(&key), None), 200);
        assert_eq!(cache.len(), 2, "the expired one made room");
        cache.insert(digest("4"), (claims(500), Arc::clone(&key), None), 200);
        assert_eq!(cache.len(), 1, "none expired: cleared, then the new one");
        let current = |_: Option<&str>| Some(Arc::clone(&key));
        assert!(cache.get(&digest("4"), 200, current).is_some());
    }
}
