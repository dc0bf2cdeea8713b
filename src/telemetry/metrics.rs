//! Prometheus metrics, recorded by every layer: request counts and latency histograms by method, route and status;
//! upgrades by outcome; eligibility failures by code; the database pool's connections and
//! acquire timeouts; webhook deliveries, the outbox and endpoints; term ends; upgrade jobs.
//! Every series whose labels are known in advance is registered at zero at start-up
//! (`series`), so dashboards and alerts see each metric before its first event.

mod series;

use std::sync::OnceLock;
use std::time::Duration;

use axum::http::Method;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::domain::eligibility::FailureCode;

const REQUEST_DURATION: &str = "http_request_duration_seconds";
const REQUESTS: &str = "http_requests_total";
const UPGRADES: &str = "upgrades_total";
const ELIGIBILITY_FAILURES: &str = "eligibility_failures_total";
const POOL_CONNECTIONS: &str = "db_pool_connections";
const POOL_MAX: &str = "db_pool_max_connections";
const WEBHOOK_DELIVERIES: &str = "webhook_deliveries_total";
const TERM_ENDS: &str = "subscription_term_ends_total";
const NOTICES: &str = "renewal_notices_total";
const JOB_ITEMS: &str = "upgrade_job_items_total";
const JOB_ITEM_DURATION: &str = "upgrade_job_item_duration_seconds";
const JOB_QUEUE_DEPTH: &str = "upgrade_job_queue_depth";
const POOL_ACQUIRE_TIMEOUTS: &str = "db_pool_acquire_timeouts_total";
const OUTBOX_PENDING: &str = "webhook_outbox_pending_deliveries";
const OUTBOX_OLDEST_AGE: &str = "webhook_outbox_oldest_pending_age_seconds";
const WEBHOOK_ENDPOINTS: &str = "webhook_endpoints";

/// Latency buckets in seconds, finer where this service's answers fall (1–50 ms).
const BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The process-wide recorder handle. A metrics recorder can be installed once per process, so
/// every app built in the same process (tests start many) shares it.
pub fn handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Full(REQUEST_DURATION.to_owned()), BUCKETS)
                .expect("bucket list is not empty")
                .set_buckets_for_metric(Matcher::Full(JOB_ITEM_DURATION.to_owned()), BUCKETS)
                .expect("bucket list is not empty")
                .build_recorder();
            let handle = recorder.handle();
            // Fails only if another recorder is installed; this one then still renders nothing.
            let _ = metrics::set_global_recorder(recorder);
            series::describe();
            series::register_at_zero();
            handle
        })
        .clone()
}

/// How often the recorder folds the histograms' samples into their buckets.
pub const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// Folds the histograms' samples into their buckets every [`UPKEEP_INTERVAL`], for as long as it
/// runs. The recorder keeps each sample until something renders the metrics: with nothing scraping
/// `/metrics`, the service's memory grew by about 20 bytes per request, without bound
/// (docs/performance.md).
pub async fn keep_up() {
    let handle = handle();
    let mut interval = tokio::time::interval(UPKEEP_INTERVAL);
    loop {
        interval.tick().await;
        handle.run_upkeep();
    }
}

/// Counts one answered request. `route` is the matched route's template (or `unmatched`), never
/// the raw path, and methods outside the standard set count as `other`: a client cannot add
/// label values.
pub fn record_request(method: &Method, route: &str, status: u16, elapsed: Duration) {
    let labels = [
        ("method", method_label(method).to_owned()),
        ("route", route.to_owned()),
        ("status", status.to_string()),
    ];
    metrics::counter!(REQUESTS, &labels).increment(1);
    metrics::histogram!(REQUEST_DURATION, &labels).record(elapsed.as_secs_f64());
}

/// The `method` label: the method's name when it is one of HTTP's standard methods, else `other`.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::TRACE => "TRACE",
        Method::CONNECT => "CONNECT",
        _ => "other",
    }
}

/// Counts one upgrade request by its outcome.
pub fn record_upgrade(outcome: &'static str) {
    metrics::counter!(UPGRADES, "outcome" => outcome).increment(1);
}

/// Counts each failing eligibility condition reported, through one counter per code taken from
/// the recorder once: looked up for each failure, a counter cost a key built and hashed and a
/// registry search, several per GET and tens per recommendations request.
pub fn record_eligibility_failures(codes: impl IntoIterator<Item = FailureCode>) {
    static COUNTERS: OnceLock<[metrics::Counter; FailureCode::ALL.len()]> = OnceLock::new();
    let counters = COUNTERS.get_or_init(|| {
        handle();
        FailureCode::ALL
            .map(|code| metrics::counter!(ELIGIBILITY_FAILURES, "code" => code.as_str()))
    });
    for code in codes {
        if let Some(index) = FailureCode::ALL.iter().position(|c| *c == code) {
            counters[index].increment(1);
        }
    }
}

/// Counts one webhook delivery attempt by its result.
pub fn record_webhook_delivery(result: &'static str) {
    metrics::counter!(WEBHOOK_DELIVERIES, "result" => result).increment(1);
}

/// Counts one ended term by its outcome (`renewed` or `expired`).
pub fn record_term_end(outcome: &'static str) {
    metrics::counter!(TERM_ENDS, "outcome" => outcome).increment(1);
}

/// Counts one notice sent, by kind (`renewal_upcoming` or `cancellation_window_closing`).
pub fn record_notice(kind: &'static str) {
    metrics::counter!(NOTICES, "kind" => kind).increment(1);
}

/// Counts one processed job item by its outcome, with the time it took.
pub fn record_job_item(outcome: &'static str, elapsed: Duration) {
    metrics::counter!(JOB_ITEMS, "outcome" => outcome).increment(1);
    metrics::histogram!(JOB_ITEM_DURATION, "outcome" => outcome).record(elapsed.as_secs_f64());
}

/// Sets how many job items wait to be processed.
pub fn set_job_queue_depth(depth: i64) {
    metrics::gauge!(JOB_QUEUE_DEPTH).set(depth as f64);
}

/// Sets the database pool's gauges: connections open and idle now, and its limit.
pub fn record_pool(open: u32, idle: usize, max: u32) {
    let (open, idle) = (f64::from(open), idle as f64);
    metrics::gauge!(POOL_CONNECTIONS, "state" => "in_use").set((open - idle).max(0.0));
    metrics::gauge!(POOL_CONNECTIONS, "state" => "idle").set(idle);
    metrics::gauge!(POOL_MAX).set(f64::from(max));
}

/// Counts one request answered 503 because no pooled connection came free within the acquire
/// timeout: the pool is saturated.
pub fn record_pool_acquire_timeout() {
    metrics::counter!(POOL_ACQUIRE_TIMEOUTS).increment(1);
}

/// The webhook outbox and endpoints, as one pass over the database measured them. An endpoint
/// is failing while one of its deliveries is being retried, healthy when enabled and not failing.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct OutboxGauges {
    /// Deliveries pending for healthy endpoints: the delivery worker's own backlog.
    pub pending_healthy: i64,
    /// Deliveries pending for failing endpoints (retried, or queued behind a retried one).
    pub pending_failing: i64,
    /// Deliveries kept for disabled endpoints, sent once they are enabled again.
    pub pending_disabled: i64,
    /// Age of the oldest event pending for a healthy endpoint; zero when none waits.
    pub oldest_pending_age: Duration,
    /// Endpoints by state: healthy, failing, disabled.
    pub endpoints: [i64; 3],
}

/// The `state` label values of the endpoint gauges, in [`OutboxGauges::endpoints`]' order.
const ENDPOINT_STATES: [&str; 3] = ["healthy", "failing", "disabled"];

/// Sets the webhook outbox and endpoint gauges.
pub fn set_outbox(gauges: &OutboxGauges) {
    let pending = [
        gauges.pending_healthy,
        gauges.pending_failing,
        gauges.pending_disabled,
    ];
    for (n, state) in ENDPOINT_STATES.into_iter().enumerate() {
        metrics::gauge!(OUTBOX_PENDING, "endpoint_state" => state).set(pending[n] as f64);
        metrics::gauge!(WEBHOOK_ENDPOINTS, "state" => state).set(gauges.endpoints[n] as f64);
    }
    metrics::gauge!(OUTBOX_OLDEST_AGE).set(gauges.oldest_pending_age.as_secs_f64());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_methods_keep_their_name_and_any_other_is_other() {
        for (method, label) in [
            (Method::GET, "GET"),
            (Method::POST, "POST"),
            (Method::PATCH, "PATCH"),
            (Method::DELETE, "DELETE"),
            (Method::OPTIONS, "OPTIONS"),
            (Method::from_bytes(b"PROPFIND").unwrap(), "other"),
            (Method::from_bytes(b"X7F3Q").unwrap(), "other"),
            (Method::from_bytes(b"get").unwrap(), "other"),
        ] {
            assert_eq!(method_label(&method), label, "{method}");
        }
    }
}
