//! Webhook rules: which event a change is, when a failed delivery is retried and when it is given
//! up; how a delivery is signed (`signature`) and where it may be sent (`address`).

pub mod address;
pub mod signature;

use std::time::Duration;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::ids::{CustomerId, JobId, PartnerId, SubscriptionId};
use super::job::{Counts, JobStatus};
use super::records::ChangeKind;

/// The event announcing that an upgrade job ended (completed or cancelled).
pub const JOB_ENDED: &str = "upgrade_job.completed";

/// Every event type a partner can subscribe to: one per recorded change, the notices ahead of a
/// renewal and of a window's end, then the job's.
pub const EVENT_TYPES: [&str; 20] = [
    "subscription.created",
    "subscription.upgraded",
    "subscription.partially_upgraded",
    "subscription.quantity_changed",
    "subscription.status_changed",
    "add_on.purchased",
    "add_on.quantity_changed",
    "add_on.cancelled",
    "subscription.auto_renew_changed",
    "subscription.renewed",
    "subscription.expired",
    "subscription.change_scheduled",
    "subscription.scheduled_change_cancelled",
    "subscription.scheduled_change_applied",
    "subscription.scheduled_change_failed",
    "subscription.plan_changed",
    "subscription.migrated",
    "subscription.renewal_upcoming",
    "subscription.cancellation_window_closing",
    JOB_ENDED,
];

/// The event a recorded change is announced as.
pub fn event_type(kind: ChangeKind) -> &'static str {
    match kind {
        ChangeKind::Created => "subscription.created",
        ChangeKind::Upgrade => "subscription.upgraded",
        ChangeKind::PartialUpgrade => "subscription.partially_upgraded",
        ChangeKind::QuantityChange => "subscription.quantity_changed",
        ChangeKind::StatusChange => "subscription.status_changed",
        ChangeKind::AddOnPurchase => "add_on.purchased",
        ChangeKind::AddOnQuantityChange => "add_on.quantity_changed",
        ChangeKind::AddOnCancel => "add_on.cancelled",
        ChangeKind::AutoRenewChange => "subscription.auto_renew_changed",
        ChangeKind::Renewal => "subscription.renewed",
        ChangeKind::Expiry => "subscription.expired",
        ChangeKind::ChangeScheduled => "subscription.change_scheduled",
        ChangeKind::ScheduledChangeCancelled => "subscription.scheduled_change_cancelled",
        ChangeKind::ScheduledChangeApplied => "subscription.scheduled_change_applied",
        ChangeKind::ScheduledChangeFailed => "subscription.scheduled_change_failed",
        ChangeKind::PlanChange => "subscription.plan_changed",
        ChangeKind::Migration => "subscription.migrated",
    }
}

/// A recorded change of a subscription, as its event tells it.
#[derive(Debug, Clone)]
pub struct ChangeNotice<'a> {
    pub kind: ChangeKind,
    pub partner_id: PartnerId,
    pub customer_id: CustomerId,
    pub subscription_id: SubscriptionId,
    pub request_id: &'a str,
    pub before: Option<&'a serde_json::Value>,
    pub after: Option<&'a serde_json::Value>,
}

/// The event announcing a change: what receivers get, identified by `id` on every retry.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub id: Uuid,
    pub event_type: &'static str,
    pub occurred_at: DateTime<Utc>,
    pub payload: serde_json::Value,
}

impl Event {
    /// The event of `change`, with its id and time.
    pub fn announce(change: &ChangeNotice<'_>, id: Uuid, occurred_at: DateTime<Utc>) -> Self {
        let about = (
            change.partner_id,
            change.customer_id,
            change.subscription_id,
        );
        let data = serde_json::json!({"before": change.before, "after": change.after});
        let event_type = event_type(change.kind);
        Event::about_subscription(
            (event_type, id, occurred_at),
            about,
            change.request_id,
            data,
        )
    }

    /// An event about one subscription: the envelope every such event shares, around `data`.
    fn about_subscription(
        (event_type, id, occurred_at): (&'static str, Uuid, DateTime<Utc>),
        (partner_id, customer_id, subscription_id): (PartnerId, CustomerId, SubscriptionId),
        request_id: &str,
        data: serde_json::Value,
    ) -> Self {
        Event {
            id,
            event_type,
            occurred_at,
            payload: serde_json::json!({
                "id": id,
                "type": event_type,
                "occurredAt": occurred_at,
                "partnerId": partner_id,
                "customerId": customer_id,
                "subscriptionId": subscription_id,
                "requestId": request_id,
                "data": data,
            }),
        }
    }
}

/// What the event announcing a job's end says of it.
#[derive(Debug, Clone)]
pub struct JobEnded<'a> {
    pub partner_id: PartnerId,
    pub job_id: JobId,
    pub status: JobStatus,
    pub counts: &'a Counts,
    pub request_id: &'a str,
}

impl Event {
    /// The event announcing that a job ended, with its id and time.
    pub fn job_ended(job: &JobEnded<'_>, id: Uuid, occurred_at: DateTime<Utc>) -> Self {
        Event {
            id,
            event_type: JOB_ENDED,
            occurred_at,
            payload: serde_json::json!({
                "id": id,
                "type": JOB_ENDED,
                "occurredAt": occurred_at,
                "partnerId": job.partner_id,
                "requestId": job.request_id,
                "data": {"jobId": job.job_id, "status": job.status, "counts": job.counts},
            }),
        }
    }
}

/// The wait before the next attempt after `attempts` failed ones: `first`, doubling up to an
/// hour.
pub fn backoff(attempts: u32, first: Duration) -> Duration {
    const MAX: Duration = Duration::from_secs(3600);
    first
        .checked_mul(
            1u32.checked_shl(attempts.saturating_sub(1))
                .unwrap_or(u32::MAX),
        )
        .map_or(MAX, |wait| wait.min(MAX))
}

/// What happens to a delivery after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The receiver answered 2xx: done.
    Delivered,
    /// Failed: try again after this wait.
    RetryIn(Duration),
    /// Failed, and it has been failing for the whole retry window: stop, and disable the
    /// endpoint (as Stripe and Svix do after days of failures) until the partner enables it.
    GiveUp,
}

/// How failed deliveries are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The first retry's wait; it doubles after each failure, up to an hour.
    pub first_wait: Duration,
    /// How long a delivery may keep failing before it is given up.
    pub give_up_after: Duration,
}

impl RetryPolicy {
    /// The outcome of an attempt that was the `attempts`-th (counting from 1), given how long the
    /// delivery had been failing before it (zero if this is its first failure).
    pub fn outcome(&self, delivered: bool, attempts: u32, failing_for: Duration) -> Outcome {
        if delivered {
            Outcome::Delivered
        } else if failing_for >= self.give_up_after {
            Outcome::GiveUp
        } else {
            Outcome::RetryIn(backoff(attempts, self.first_wait))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_recorded_change_is_an_event_and_every_event_is_listed() {
        use super::super::pipeline::NoticeKind;
        let mut types: Vec<&str> = ChangeKind::ALL.into_iter().map(event_type).collect();
        let notices = [
            NoticeKind::RenewalUpcoming,
            NoticeKind::CancellationWindowClosing,
        ];
        types.extend(notices.map(NoticeKind::event_type));
        types.push(JOB_ENDED);
        assert_eq!(types, EVENT_TYPES);
    }

    #[test]
    fn an_event_carries_its_id_type_time_and_the_change() {
        let after = serde_json::json!({"quantity": 8});
        let notice = ChangeNotice {
            kind: ChangeKind::QuantityChange,
            partner_id: PartnerId(Uuid::from_u128(1)),
            customer_id: CustomerId(Uuid::from_u128(2)),
            subscription_id: SubscriptionId(Uuid::from_u128(3)),
            request_id: "req-1",
            before: None,
            after: Some(&after),
        };
        let at = "2026-11-26T10:00:00Z".parse().unwrap();
        let event = Event::announce(&notice, Uuid::from_u128(9), at);
        assert_eq!(event.event_type, "subscription.quantity_changed");
        assert_eq!(event.payload["type"], "subscription.quantity_changed");
        assert_eq!(event.payload["id"], Uuid::from_u128(9).to_string());
        assert_eq!(event.payload["requestId"], "req-1");
        assert_eq!(event.payload["data"]["after"]["quantity"], 8);
        assert!(event.payload["data"]["before"].is_null());
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

    #[test]
    fn a_failure_is_retried_until_it_has_failed_for_the_whole_window() {
        let base = Duration::from_secs(1);
        let policy = RetryPolicy {
            first_wait: base,
            give_up_after: Duration::from_secs(3 * 86_400),
        };
        let hours = |h: u64| Duration::from_secs(h * 3600);
        for (delivered, attempts, failing_for, expected) in [
            (true, 1, Duration::ZERO, Outcome::Delivered),
            (true, 30, hours(100), Outcome::Delivered),
            (false, 1, Duration::ZERO, Outcome::RetryIn(base)),
            (false, 3, hours(1), Outcome::RetryIn(Duration::from_secs(4))),
            (false, 80, hours(71), Outcome::RetryIn(hours(1))),
            (false, 81, hours(72), Outcome::GiveUp),
            (false, 90, hours(80), Outcome::GiveUp),
        ] {
            assert_eq!(
                policy.outcome(delivered, attempts, failing_for),
                expected,
                "{delivered} {attempts} {failing_for:?}"
            );
        }
    }
}

/// What a notice's event says of its subscription.
#[derive(Debug, Clone)]
pub struct NoticeSubject<'a> {
    pub partner_id: PartnerId,
    pub customer_id: CustomerId,
    pub subscription_id: SubscriptionId,
    pub offer_id: &'a str,
    pub quantity: i32,
    pub term_end: chrono::NaiveDate,
    pub auto_renew: bool,
}

impl Event {
    /// The event of a notice due now, with its id and time. Its `requestId` names the notice, the
    /// same on every instance.
    pub fn notice(
        notice: &super::pipeline::Notice,
        subject: &NoticeSubject<'_>,
        id: Uuid,
        occurred_at: DateTime<Utc>,
    ) -> Self {
        let event_type = notice.kind.event_type();
        let request_id = format!(
            "notice-{}-{}-{}-{}d",
            notice.kind.as_str(),
            subject.subscription_id,
            notice.due_at.to_rfc3339(),
            notice.days_before
        );
        let mut data = serde_json::json!({
            "offerId": subject.offer_id,
            "quantity": subject.quantity,
            "termEnd": subject.term_end,
            "autoRenew": subject.auto_renew,
            "daysBefore": notice.days_before,
        });
        if notice.kind == super::pipeline::NoticeKind::CancellationWindowClosing {
            data["cancellationAllowedUntil"] = serde_json::json!(notice.due_at);
        }
        let about = (
            subject.partner_id,
            subject.customer_id,
            subject.subscription_id,
        );
        let head = (event_type, id, occurred_at);
        Event::about_subscription(head, about, &request_id, data)
    }
}
