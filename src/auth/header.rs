//! A token's header, read before anything is verified: the algorithm it claims and the key it
//! names.

use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use serde::Deserialize;

use super::TokenError;

/// What the header says; nothing in it is trusted until the signature verifies.
#[derive(Debug)]
pub(super) struct TokenHeader {
    pub alg: Algorithm,
    pub kid: Option<String>,
}

#[derive(Deserialize)]
struct RawHeader {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
}

impl TokenHeader {
    /// Reads the header of a compact JWS. `none` and unknown names are a refused algorithm, not
    /// a parse error.
    pub fn read(token: &str) -> Result<Self, TokenError> {
        let mut segments = token.split('.');
        let (Some(header), Some(_), Some(_), None) = (
            segments.next(),
            segments.next(),
            segments.next(),
            segments.next(),
        ) else {
            return Err(TokenError::Malformed);
        };
        let bytes = URL_SAFE_NO_PAD
            .decode(header)
            .map_err(|_| TokenError::Malformed)?;
        let raw: RawHeader = serde_json::from_slice(&bytes).map_err(|_| TokenError::Malformed)?;
        let alg = Algorithm::from_str(&raw.alg).map_err(|_| TokenError::AlgorithmNotAllowed)?;
        Ok(TokenHeader { alg, kid: raw.kid })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(header: &str) -> String {
        format!("{}.e30.c2ln", URL_SAFE_NO_PAD.encode(header))
    }

    #[test]
    fn the_algorithm_and_key_id_are_read() {
        let header = TokenHeader::read(&token(r#"{"alg":"RS256","kid":"k1","typ":"JWT"}"#));
        let header = header.unwrap();
        assert_eq!(header.alg, Algorithm::RS256);
        assert_eq!(header.kid.as_deref(), Some("k1"));
    }

    #[test]
    fn none_and_unknown_algorithms_are_refused_and_garbage_is_malformed() {
        for alg in ["none", "HS1", "rs256", ""] {
            let header = format!(r#"{{"alg":"{alg}"}}"#);
            assert_eq!(
                TokenHeader::read(&token(&header)).unwrap_err(),
                TokenError::AlgorithmNotAllowed,
                "{alg}"
            );
        }
        for bad in [
            "a.b",
            "a.b.c.d",
            "!!.e30.c2ln",
            &token("{}"),
            &token(r#"{"alg":1}"#),
        ] {
            assert_eq!(
                TokenHeader::read(bad).unwrap_err(),
                TokenError::Malformed,
                "{bad}"
            );
        }
    }
}
