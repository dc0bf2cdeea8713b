//! Signing deliveries as the Standard Webhooks specification says (standardwebhooks.com), so a
//! receiver can verify them with any of the specification's libraries: the headers
//! `webhook-id`, `webhook-timestamp` and `webhook-signature: v1,<base64 HMAC-SHA256 of
//! "<id>.<timestamp>.<body>">`, keyed by the bytes of a `whsec_<base64>` secret.

use base64::Engine;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::{DecodePaddingMode, general_purpose};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The prefix of every secret.
pub const SECRET_PREFIX: &str = "whsec_";

/// The fewest and most key bytes a secret may carry (the specification's 24 to 64).
pub const KEY_BYTES: std::ops::RangeInclusive<usize> = 24..=64;

/// The key bytes of the secrets the service generates.
pub const GENERATED_KEY_BYTES: usize = 32;

/// Standard base64, padded or not (the specification's libraries accept both).
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Why a secret a partner sent is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidSecret {
    #[error("secret must start with whsec_")]
    NoPrefix,
    #[error("secret must be whsec_ followed by standard base64")]
    NotBase64,
    #[error("secret must carry 24 to 64 bytes of key (32 to 88 base64 characters after whsec_)")]
    WrongLength,
}

/// The key of a secret: the bytes its base64 part decodes to. Secrets stored before the
/// Standard Webhooks scheme were converted to this form, so any length decodes here; only new
/// secrets are held to [`KEY_BYTES`] (see [`check_new_secret`]).
pub fn key(secret: &str) -> Result<Vec<u8>, InvalidSecret> {
    let encoded = secret
        .strip_prefix(SECRET_PREFIX)
        .ok_or(InvalidSecret::NoPrefix)?;
    let key = LENIENT
        .decode(encoded)
        .map_err(|_| InvalidSecret::NotBase64)?;
    if key.is_empty() {
        return Err(InvalidSecret::WrongLength);
    }
    Ok(key)
}

/// Checks a secret a partner chose at registration.
pub fn check_new_secret(secret: &str) -> Result<(), InvalidSecret> {
    if KEY_BYTES.contains(&key(secret)?.len()) {
        Ok(())
    } else {
        Err(InvalidSecret::WrongLength)
    }
}

/// A secret made from random key bytes.
pub fn secret_from_key(key: &[u8]) -> String {
    format!("{SECRET_PREFIX}{}", general_purpose::STANDARD.encode(key))
}

/// The `webhook-signature` value of a delivery: `v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`.
pub fn signature(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_matches_the_specifications_published_example() {
        // The example of the Standard Webhooks specification and its libraries' tests; checked
        // independently with
        // printf '%s' 'msg_p5jXN8AQM9LWM0D4loKWxJek.1614265330.{"test": 2432232314}' |
        //   openssl dgst -sha256 -mac HMAC -macopt hexkey:$(printf MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw |
        //   base64 -d | xxd -p -c 100) -binary | base64
        let key = key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        assert_eq!(
            signature(
                &key,
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1_614_265_330,
                br#"{"test": 2432232314}"#
            ),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn new_secrets_are_whsec_and_base64_of_24_to_64_bytes() {
        let of = |n: usize| secret_from_key(&vec![7u8; n]);
        for good in [of(24), of(32), of(64)] {
            assert_eq!(check_new_secret(&good), Ok(()), "{good}");
        }
        let unpadded = of(25).trim_end_matches('=').to_owned();
        assert_eq!(check_new_secret(&unpadded), Ok(()));
        for (bad, why) in [
            (of(23), InvalidSecret::WrongLength),
            (of(65), InvalidSecret::WrongLength),
            ("whsec_".to_owned(), InvalidSecret::WrongLength),
            (of(32).replacen("whsec_", "", 1), InvalidSecret::NoPrefix),
            (
                "a-secret-of-sixteen-or-more".to_owned(),
                InvalidSecret::NoPrefix,
            ),
            ("whsec_not base64!".to_owned(), InvalidSecret::NotBase64),
            (format!("{}-", of(32)), InvalidSecret::NotBase64),
        ] {
            assert_eq!(check_new_secret(&bad), Err(why), "{bad}");
        }
    }

    #[test]
    fn a_converted_secret_keeps_its_old_key_bytes() {
        // What the migration to this scheme stored for an endpoint registered with
        // "whsec_integration_tests_0001": printf whsec_integration_tests_0001 | base64
        let converted = "whsec_d2hzZWNfaW50ZWdyYXRpb25fdGVzdHNfMDAwMQ==";
        assert_eq!(key(converted).unwrap(), b"whsec_integration_tests_0001");
    }
}
