//! W3C Trace Context (`traceparent`): read from requests, kept for the changes a request makes,
//! and sent with the webhook deliveries those changes cause. With OpenTelemetry on, the context
//! is the current span's (so a delivery's parent is the transaction that wrote its event); with
//! it off, the caller's `traceparent` is passed through unchanged: one header parse per request.

use std::fmt;

use axum::http::HeaderMap;

/// The header that carries the trace context.
pub const TRACEPARENT: &str = "traceparent";

tokio::task_local! {
    static INBOUND: Option<TraceParent>;
}

/// A valid `traceparent`: the trace, the caller's span and the trace flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceParent {
    pub trace_id: u128,
    pub parent_id: u64,
    pub flags: u8,
}

impl TraceParent {
    /// Parses a `traceparent` value as W3C Trace Context level 1 says: version `00` is exactly
    /// four fields; a later version may append fields after a `-`; version `ff`, all-zero ids
    /// and upper-case hex are invalid. Invalid values are `None`, never an error.
    pub fn parse(value: &str) -> Option<TraceParent> {
        let bytes = value.as_bytes();
        let well_formed = bytes.len() >= 55
            && [2, 35, 52].iter().all(|&i| bytes[i] == b'-')
            && (bytes.len() == 55 || (&value[..2] != "00" && bytes[55] == b'-'));
        if !well_formed || &value[..2] == "ff" {
            return None;
        }
        hex(&value[..2])?;
        let trace_id = hex(&value[3..35])?;
        let parent_id = u64::try_from(hex(&value[36..52])?).ok()?;
        let flags = u8::try_from(hex(&value[53..55])?).ok()?;
        (trace_id != 0 && parent_id != 0).then_some(TraceParent {
            trace_id,
            parent_id,
            flags,
        })
    }

    /// The caller's context, when the request carries a valid `traceparent`.
    pub fn from_headers(headers: &HeaderMap) -> Option<TraceParent> {
        TraceParent::parse(headers.get(TRACEPARENT)?.to_str().ok()?)
    }
}

/// Lower-case hex digits as a number (`u128` holds every field); anything else is `None`.
fn hex(digits: &str) -> Option<u128> {
    let lower = digits
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if !lower {
        return None;
    }
    u128::from_str_radix(digits, 16).ok()
}

impl fmt::Display for TraceParent {
    /// Version 00, whatever version was read.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "00-{:032x}-{:016x}-{:02x}",
            self.trace_id, self.parent_id, self.flags
        )
    }
}

/// Runs `future` with the caller's trace context (if any) as the current request's.
pub async fn scope<F: Future>(inbound: Option<TraceParent>, future: F) -> F::Output {
    INBOUND.scope(inbound, future).await
}

/// The `traceparent` a change made now should pass on to its webhook deliveries: the current
/// span's context with OpenTelemetry on, else the caller's as it came; `None` outside a request
/// that carried one (background workers, or no header).
pub fn current() -> Option<String> {
    if let Some(context) = super::otel::current_traceparent() {
        return Some(context.to_string());
    }
    INBOUND
        .try_with(|inbound| *inbound)
        .ok()
        .flatten()
        .map(|context| context.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn a_valid_traceparent_is_read_and_written_back_unchanged() {
        let context = TraceParent::parse(VALID).unwrap();
        assert_eq!(context.trace_id, 0x4bf92f3577b34da6a3ce929d0e0e4736);
        assert_eq!(context.parent_id, 0x00f067aa0ba902b7);
        assert_eq!(context.flags, 1);
        assert_eq!(context.to_string(), VALID);
    }

    #[test]
    fn a_later_version_is_read_by_its_first_four_fields_and_written_as_00() {
        let future = "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-comes";
        assert_eq!(TraceParent::parse(future).unwrap().to_string(), VALID);
    }

    #[test]
    fn invalid_values_are_ignored() {
        for bad in [
            "",
            "garbage",
            &VALID[..54],
            &format!("{VALID}-extra"),
            &VALID.replace("00-4b", "ff-4b"),
            &VALID.to_uppercase(),
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",
            "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-+bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-é1",
        ] {
            assert_eq!(TraceParent::parse(bad), None, "{bad:?}");
        }
    }
}
