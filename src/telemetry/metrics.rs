//! Prometheus metrics, recorded by every layer: request counts and latency histograms by method, route and status;
//! upgrades by outcome; eligibility failures by code; the database pool's connections.

use std::sync::OnceLock;
use std::time::Duration;

use axum::http::Method;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

const REQUEST_DURATION: &str = "http_request_duration_seconds";
const REQUESTS: &str = "http_requests_total";
const UPGRADES: &str = "upgrades_total";
const ELIGIBILITY_FAILURES: &str = "eligibility_failures_total";
const POOL_CONNECTIONS: &str = "db_pool_connections";
const POOL_MAX: &str = "db_pool_max_connections";
const WEBHOOK_DELIVERIES: &str = "webhook_deliveries_total";
const TERM_ENDS: &str = "subscription_term_ends_total";
const JOB_ITEMS: &str = "upgrade_job_items_total";
const JOB_ITEM_DURATION: &str = "upgrade_job_item_duration_seconds";
const JOB_QUEUE_DEPTH: &str = "upgrade_job_queue_depth";

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
            describe();
            handle
        })
        .clone()
}

/// What each metric measures, for the `# HELP` lines.
fn describe() {
    metrics::describe_counter!(
        REQUESTS,
        "HTTP requests answered, by method, route and status"
    );
    metrics::describe_histogram!(
        REQUEST_DURATION,
        metrics::Unit::Seconds,
        "Time to answer an HTTP request, by method, route and status"
    );
    metrics::describe_counter!(
        UPGRADES,
        "Upgrade requests by outcome: performed, dry_run, replayed, not_eligible, conflict, \
         precondition_failed, not_found, unavailable, error"
    );
    metrics::describe_counter!(
        ELIGIBILITY_FAILURES,
        "Failing eligibility conditions reported (options listed, recommendations blocked and upgrades refused), by code"
    );
    metrics::describe_gauge!(
        POOL_CONNECTIONS,
        "Open database connections, by state (in_use, idle)"
    );
    metrics::describe_gauge!(POOL_MAX, "The database pool's size limit");
    metrics::describe_counter!(
        TERM_ENDS,
        "Subscription terms ended by the renewal worker, by outcome (renewed, expired)"
    );
    metrics::describe_counter!(
        JOB_ITEMS,
        "Upgrade job items processed, by outcome (succeeded, not_eligible, failed, skipped)"
    );
    metrics::describe_histogram!(
        JOB_ITEM_DURATION,
        metrics::Unit::Seconds,
        "Time to process one upgrade job item, by outcome"
    );
    metrics::describe_gauge!(
        JOB_QUEUE_DEPTH,
        "Upgrade job items waiting to be processed, over every running job"
    );
    metrics::describe_counter!(
        WEBHOOK_DELIVERIES,
        "Webhook delivery attempts by result (delivered, failed, gave_up)"
    );
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

/// Counts each failing eligibility condition reported.
pub fn record_eligibility_failures<'a>(codes: impl IntoIterator<Item = &'a str>) {
    for code in codes {
        metrics::counter!(ELIGIBILITY_FAILURES, "code" => code.to_owned()).increment(1);
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
