//! The request id: taken from `X-Request-Id` or `MS-CorrelationId` when the caller sends a
//! usable one, generated otherwise, echoed on the response and carried on every log line.

use axum::http::HeaderMap;
use uuid::Uuid;

/// The header this service reads and always echoes.
pub const X_REQUEST_ID: &str = "x-request-id";
/// Partner Center's correlation header; accepted, and echoed when the caller sent it.
pub const MS_CORRELATION_ID: &str = "ms-correlationid";

/// Longest caller-supplied id kept; anything longer, or with characters outside visible ASCII,
/// is replaced by a generated one so that it can go into headers and logs unescaped.
const MAX_LEN: usize = 128;

tokio::task_local! {
    static CURRENT: String;
}

/// The caller's id when usable, else a new UUID.
pub fn from_headers(headers: &HeaderMap) -> String {
    [X_REQUEST_ID, MS_CORRELATION_ID]
        .iter()
        .filter_map(|name| headers.get(*name)?.to_str().ok())
        .find(|value| is_usable(value))
        .map_or_else(|| Uuid::new_v4().to_string(), str::to_owned)
}

fn is_usable(value: &str) -> bool {
    !value.is_empty() && value.len() <= MAX_LEN && value.bytes().all(|b| b.is_ascii_graphic())
}

/// Runs `future` with `id` as the current request id.
pub async fn scope<F: Future>(id: String, future: F) -> F::Output {
    CURRENT.scope(id, future).await
}

/// The id of the request being handled, or `"-"` outside a request.
pub fn current() -> String {
    CURRENT
        .try_with(Clone::clone)
        .unwrap_or_else(|_| "-".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn caller_id_is_kept_and_x_request_id_wins() {
        let both = headers(&[(X_REQUEST_ID, "abc-1"), (MS_CORRELATION_ID, "ms-2")]);
        assert_eq!(from_headers(&both), "abc-1");
        assert_eq!(
            from_headers(&headers(&[(MS_CORRELATION_ID, "ms-2")])),
            "ms-2"
        );
    }

    #[test]
    fn unusable_ids_are_replaced_by_a_uuid() {
        let long = "x".repeat(MAX_LEN + 1);
        for bad in ["", "has space", long.as_str()] {
            let id = from_headers(&headers(&[(X_REQUEST_ID, bad)]));
            assert!(Uuid::parse_str(&id).is_ok(), "{bad:?} gave {id}");
        }
        assert!(Uuid::parse_str(&from_headers(&HeaderMap::new())).is_ok());
    }
}
