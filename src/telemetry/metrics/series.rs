//! The `# HELP` text of every metric, and the series registered at zero at start-up: a counter
//! that first appears at 1 hides its first increase from `rate()`, and a metric that appears only
//! after its first event cannot be told from a renamed one.

use super::*;
use crate::domain::eligibility::FailureCode;
use crate::domain::job::ItemOutcome;

/// The `outcome` label values of `upgrades_total` (`http::upgrades` chooses among them).
const UPGRADE_OUTCOMES: [&str; 9] = [
    "performed",
    "dry_run",
    "replayed",
    "not_eligible",
    "conflict",
    "precondition_failed",
    "not_found",
    "unavailable",
    "error",
];

/// The `result` label values of `webhook_deliveries_total`.
const DELIVERY_RESULTS: [&str; 3] = ["delivered", "failed", "gave_up"];

/// The `outcome` label values of `subscription_term_ends_total`.
const TERM_END_OUTCOMES: [&str; 2] = ["renewed", "expired"];

/// Registers every series whose label values are a closed set, at zero. Series labelled by route
/// and status appear with the first request (the probes answer one before any scrape).
pub(super) fn register_at_zero() {
    for outcome in UPGRADE_OUTCOMES {
        metrics::counter!(UPGRADES, "outcome" => outcome).increment(0);
    }
    for code in FailureCode::ALL {
        metrics::counter!(ELIGIBILITY_FAILURES, "code" => code.as_str()).increment(0);
    }
    for result in DELIVERY_RESULTS {
        metrics::counter!(WEBHOOK_DELIVERIES, "result" => result).increment(0);
    }
    for outcome in TERM_END_OUTCOMES {
        metrics::counter!(TERM_ENDS, "outcome" => outcome).increment(0);
    }
    for outcome in ItemOutcome::ALL
        .into_iter()
        .filter(|o| *o != ItemOutcome::Pending)
    {
        metrics::counter!(JOB_ITEMS, "outcome" => outcome.as_str()).increment(0);
        // Registering the histogram is enough for it to be rendered, with empty buckets.
        let _ = metrics::histogram!(JOB_ITEM_DURATION, "outcome" => outcome.as_str());
    }
    metrics::counter!(POOL_ACQUIRE_TIMEOUTS).increment(0);
    set_job_queue_depth(0);
    record_pool(0, 0, 0);
    set_outbox(&OutboxGauges::default());
}

/// What each metric measures, for the `# HELP` lines.
pub(super) fn describe() {
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
    metrics::describe_counter!(
        POOL_ACQUIRE_TIMEOUTS,
        "Requests answered 503 because no pooled database connection came free in time"
    );
    metrics::describe_gauge!(
        OUTBOX_PENDING,
        "Webhook deliveries not yet delivered or given up, by endpoint_state (healthy, failing, \
         disabled); the database's figure, the same on every instance"
    );
    metrics::describe_gauge!(
        OUTBOX_OLDEST_AGE,
        metrics::Unit::Seconds,
        "Age of the oldest event waiting for a healthy endpoint (0: none waits)"
    );
    metrics::describe_gauge!(
        WEBHOOK_ENDPOINTS,
        "Webhook endpoints by state: healthy, failing (a delivery is being retried), disabled; \
         the same on every instance"
    );
}
