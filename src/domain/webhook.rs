//! Webhook rules: which event a change is, how a delivery is signed, when a failed one is retried.

use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Every event type a partner can subscribe to.
pub const EVENT_TYPES: [&str; 7] = [
    "subscription.created",
    "subscription.upgraded",
    "subscription.quantity_changed",
    "subscription.status_changed",
    "add_on.purchased",
    "add_on.quantity_changed",
    "add_on.cancelled",
];

/// The event a recorded change (its history kind) is announced as.
pub fn event_type(change_kind: &str) -> Option<&'static str> {
    Some(match change_kind {
        "created" => "subscription.created",
        "upgrade" => "subscription.upgraded",
        "quantity_change" => "subscription.quantity_changed",
        "status_change" => "subscription.status_changed",
        "add_on_purchase" => "add_on.purchased",
        "add_on_quantity_change" => "add_on.quantity_changed",
        "add_on_cancel" => "add_on.cancelled",
        _ => return None,
    })
}

/// The `Webhook-Signature` value: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, so a
/// receiver can check the body came from us and refuse old replays.
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("t={timestamp},v1={hex}")
}

/// The wait before the next attempt after `attempts` failed ones: `first`, doubling up to an
/// hour, forever (a delivery is never dropped).
pub fn backoff(attempts: u32, first: Duration) -> Duration {
    const MAX: Duration = Duration::from_secs(3600);
    first
        .checked_mul(
            1u32.checked_shl(attempts.saturating_sub(1))
                .unwrap_or(u32::MAX),
        )
        .map_or(MAX, |wait| wait.min(MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_recorded_change_is_an_event_and_every_event_is_listed() {
        let kinds = [
            "created",
            "upgrade",
            "quantity_change",
            "status_change",
            "add_on_purchase",
            "add_on_quantity_change",
            "add_on_cancel",
        ];
        let types: Vec<&str> = kinds.iter().map(|k| event_type(k).unwrap()).collect();
        assert_eq!(types, EVENT_TYPES);
        assert_eq!(event_type("something_else"), None);
    }

    #[test]
    fn the_signature_is_hmac_sha256_of_timestamp_dot_body() {
        // Computed independently:
        // printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac 'whsec_test_secret_0001'
        assert_eq!(
            signature("whsec_test_secret_0001", 1_700_000_000, br#"{"a":1}"#),
            "t=1700000000,v1=".to_owned()
                + "d72004e54ee49c45c689a8f382207df55ea68689e30b4461db3af3021b8a176e"
        );
    }

    #[test]
    fn retries_back_off_from_a_second_doubling_to_an_hour() {
        let waits: Vec<u64> = [1, 2, 3, 4, 10, 12, 13, 40, u32::MAX]
            .into_iter()
            .map(|n| backoff(n, Duration::from_secs(1)).as_secs())
            .collect();
        assert_eq!(waits, [1, 2, 4, 8, 512, 2048, 3600, 3600, 3600]);
        assert_eq!(backoff(0, Duration::from_secs(1)).as_secs(), 1);
        assert_eq!(
            backoff(3, Duration::from_millis(100)),
            Duration::from_millis(400)
        );
    }
}
