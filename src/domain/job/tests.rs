use chrono::{DateTime, Duration, Utc};

use super::*;

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn counts(succeeded: i64, not_eligible: i64, failed: i64, skipped: i64, pending: i64) -> Counts {
    Counts {
        succeeded,
        not_eligible,
        failed,
        skipped,
        pending,
    }
}

/// The outcome of an item comes from its single upgrade's code: not eligible, retried while the
/// database or a lock is briefly unavailable (a few times), failed otherwise.
#[test]
fn an_items_outcome_follows_its_single_upgrades_code() {
    use Disposition::{Done, Retry};
    let cases = [
        (
            ErrorCode::UpgradeNotEligible,
            1,
            Done(ItemOutcome::NotEligible),
        ),
        (
            ErrorCode::SubscriptionNotFound,
            1,
            Done(ItemOutcome::Failed),
        ),
        (ErrorCode::CustomerNotFound, 1, Done(ItemOutcome::Failed)),
        (
            ErrorCode::SubscriptionAlreadyUpgraded,
            1,
            Done(ItemOutcome::Failed),
        ),
        (ErrorCode::InternalError, 1, Done(ItemOutcome::Failed)),
        (ErrorCode::LockTimeout, 1, Retry),
        (ErrorCode::DatabaseUnavailable, 4, Retry),
        (ErrorCode::IdempotencyKeyInUse, 2, Retry),
        (
            ErrorCode::DatabaseUnavailable,
            MAX_ATTEMPTS,
            Done(ItemOutcome::Failed),
        ),
    ];
    for (code, attempts, expected) in cases {
        assert_eq!(
            disposition(code, attempts),
            expected,
            "{code:?} #{attempts}"
        );
    }
}

#[test]
fn progress_is_the_share_done_the_rate_since_the_start_and_the_end_at_that_rate() {
    let start = at("2026-11-26T10:00:00Z");
    let now = start + Duration::seconds(10);
    let running = progress(&counts(15, 3, 2, 0, 80), Some(start), None, now);
    assert_eq!(running.percent, 20.0);
    assert_eq!(running.items_per_second, 2.0);
    assert_eq!(running.estimated_end, Some(now + Duration::seconds(40)));

    let queued = progress(&counts(0, 0, 0, 0, 10), None, None, now);
    assert_eq!(
        (
            queued.percent,
            queued.items_per_second,
            queued.estimated_end
        ),
        (0.0, 0.0, None)
    );

    let ended = start + Duration::seconds(4);
    let cancelled = progress(&counts(4, 0, 0, 6, 0), Some(start), Some(ended), now);
    assert_eq!(cancelled.percent, 100.0);
    assert_eq!(
        cancelled.items_per_second, 1.0,
        "skipped items are not processed"
    );
    assert_eq!(cancelled.estimated_end, None);

    let empty = progress(&Counts::default(), Some(start), Some(start), now);
    assert_eq!(empty.percent, 100.0);
    assert_eq!(
        progress(&counts(1, 0, 0, 0, 2), Some(start), None, start).items_per_second,
        0.0,
        "no time elapsed: no rate, no estimate"
    );
}

#[test]
fn counts_add_up_per_outcome() {
    let mut tally = Counts::default();
    for (outcome, n) in [
        (ItemOutcome::Succeeded, 3),
        (ItemOutcome::Pending, 2),
        (ItemOutcome::Skipped, 1),
        (ItemOutcome::Succeeded, 1),
    ] {
        tally.add(outcome, n);
    }
    assert_eq!(tally, counts(4, 0, 0, 1, 2));
    assert_eq!((tally.done(), tally.total()), (5, 7));
}

#[test]
fn statuses_and_outcomes_round_trip_their_stored_names() {
    for status in [
        JobStatus::Queued,
        JobStatus::Running,
        JobStatus::Completed,
        JobStatus::Cancelled,
    ] {
        assert_eq!(JobStatus::parse(status.as_str()), Some(status));
        assert_eq!(
            serde_json::to_value(status).unwrap(),
            serde_json::json!(status.as_str())
        );
    }
    assert!(JobStatus::Cancelled.is_final() && !JobStatus::Running.is_final());
    for outcome in ItemOutcome::ALL {
        assert_eq!(ItemOutcome::parse(outcome.as_str()), Some(outcome));
        assert_eq!(
            serde_json::to_value(outcome).unwrap(),
            serde_json::json!(outcome.as_str())
        );
    }
}
