//! Measures the outbox for the metrics: how many deliveries wait, how old the oldest is, and how
//! many endpoints are failing or disabled (docs/operations.md, "Dashboards and alerts").

use std::future::Future;
use std::time::Duration;

use sqlx::PgPool;

use crate::db;
use crate::db::webhooks::OutboxState;
use crate::service::{FirstPass, every};
use crate::telemetry::metrics::{self, OutboxGauges};

/// How often the outbox is measured: often enough for alerts that wait minutes, rarely enough
/// that counting a large backlog on every instance costs little.
pub const MEASURE_INTERVAL: Duration = Duration::from_secs(5);

/// Measures the outbox every [`MEASURE_INTERVAL`] until `shutdown` completes; a failed pass
/// leaves the last figures in place (the database's own alerts say why).
pub async fn measure(pool: PgPool, shutdown: impl Future<Output = ()>) {
    let pool = db::queue_pool(&pool, 1);
    every(MEASURE_INTERVAL, FirstPass::AtStart, shutdown, || async {
        match db::webhooks::outbox_state(&pool).await {
            Ok(state) => metrics::set_outbox(&gauges(&state)),
            Err(error) => tracing::debug!(%error, "the webhook outbox could not be measured"),
        }
    })
    .await;
}

/// The gauges of one measurement.
fn gauges(state: &OutboxState) -> OutboxGauges {
    OutboxGauges {
        pending_healthy: state.pending_healthy,
        pending_failing: state.pending_failing,
        pending_disabled: state.pending_disabled,
        oldest_pending_age: Duration::from_secs_f64(state.oldest_pending_secs.max(0.0)),
        endpoints: [
            (state.enabled - state.failing).max(0),
            state.failing,
            state.disabled,
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failing_endpoints_are_not_counted_as_healthy() {
        let state = OutboxState {
            pending_healthy: 7,
            pending_failing: 5,
            pending_disabled: 3,
            oldest_pending_secs: 12.5,
            enabled: 4,
            failing: 1,
            disabled: 2,
        };

        let gauges = gauges(&state);

        assert_eq!(gauges.endpoints, [3, 1, 2]);
        assert_eq!(gauges.oldest_pending_age, Duration::from_millis(12_500));
    }
}
