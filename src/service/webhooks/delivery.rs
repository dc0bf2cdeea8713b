//! The worker that delivers the outbox. It claims due deliveries with a lease (a short
//! transaction), sends each in its own task with no transaction or lock held, and records each
//! attempt in another short transaction that only the lease holder can commit. It claims again
//! as soon as a sender is free, so a receiver that hangs holds up only its own deliveries: each
//! partner has at most `partner_concurrency` in flight and each endpoint `endpoint_concurrency`,
//! and claims serve the partners with the fewest in flight first, then interleave endpoints.

use std::collections::HashSet;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use ipnet::IpNet;
use sqlx::PgPool;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tracing::field::Empty;
use tracing::{Instrument, Span};
use uuid::Uuid;

use super::target::{self, GuardedResolver};
use crate::db;
use crate::db::webhooks::{Attempt, Claim, Claimed};
use crate::domain::webhook::address;
use crate::domain::webhook::signature;
use crate::domain::webhook::{Outcome, RetryPolicy};
use crate::telemetry::otel;
use crate::telemetry::propagation::{TRACEPARENT, TraceParent};

/// How long a lease outlasts the receiver's timeout: time to record the attempt.
const LEASE_MARGIN: Duration = Duration::from_secs(15);

/// How the delivery worker behaves.
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// How often to look for due deliveries when there were none.
    pub poll: Duration,
    /// The first retry's wait; it doubles after each failure, up to an hour.
    pub retry_base: Duration,
    /// How long a delivery may keep failing before it is given up and its endpoint disabled.
    pub retry_for: Duration,
    /// How long a receiver gets to answer.
    pub timeout: Duration,
    /// Deliveries this instance sends at once.
    pub concurrency: usize,
    /// Deliveries of one endpoint in flight at once, across instances.
    pub endpoint_concurrency: usize,
    /// Deliveries of one partner in flight at once, across instances: below `concurrency`, so
    /// one partner's hanging receivers always leave senders to the others.
    pub partner_concurrency: usize,
    /// Networks webhooks may be sent to although they are not public (none by default).
    pub allowed_networks: Vec<IpNet>,
}

impl WorkerSettings {
    fn retry_policy(&self) -> RetryPolicy {
        RetryPolicy {
            first_wait: self.retry_base,
            give_up_after: self.retry_for,
        }
    }
}

/// What every sender task shares.
struct Sender {
    pool: PgPool,
    client: reqwest::Client,
    settings: WorkerSettings,
    /// Leases of the deliveries being sent, released if the worker stops mid-send.
    in_flight: Mutex<HashSet<Uuid>>,
    /// Woken when a send finishes: a later event of the same subscription may now be due.
    finished: Notify,
}

/// Delivers the outbox until `shutdown` completes. Several workers (one per instance) share the
/// work: each claims deliveries the others do not hold.
pub async fn deliver(pool: PgPool, settings: WorkerSettings, shutdown: impl Future<Output = ()>) {
    let client = match client(&settings) {
        Ok(client) => client,
        Err(error) => {
            tracing::error!(%error, "webhook delivery is off: no HTTP client");
            return;
        }
    };
    let slots = Arc::new(Semaphore::new(settings.concurrency.max(1)));
    // The queue's statements only (claims, attempts, releases), each short: a few connections.
    let connections = u32::try_from(settings.concurrency.clamp(1, 4)).unwrap_or(1) + 1;
    let sender = Arc::new(Sender {
        pool: db::queue_pool(&pool, connections),
        client,
        settings,
        in_flight: Mutex::new(HashSet::new()),
        finished: Notify::new(),
    });
    let mut sending = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let first = tokio::select! {
            () = &mut shutdown => break,
            permit = Arc::clone(&slots).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
        };
        while sending.try_join_next().is_some() {}
        let free = 1 + slots.available_permits();
        let more_due = match claim(&sender, free).await {
            Ok(claimed) => {
                let full = claimed.len() == free;
                start_sending(&sender, &slots, first, claimed, &mut sending);
                full
            }
            Err(error) => {
                tracing::warn!(%error, "webhook delivery could not reach the database");
                false
            }
        };
        if !more_due {
            tokio::select! {
                () = &mut shutdown => break,
                () = tokio::time::sleep(sender.settings.poll) => {},
                () = sender.finished.notified() => {},
            }
        }
    }
    sending.abort_all();
    while sending.join_next().await.is_some() {}
    release_in_flight(&sender).await;
}

fn client(settings: &WorkerSettings) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(settings.timeout)
        .redirect(reqwest::redirect::Policy::none())
        // A proxy would resolve and connect on our behalf, past the address check.
        .no_proxy()
        .dns_resolver(Arc::new(GuardedResolver {
            allowed: settings.allowed_networks.clone().into(),
        }))
        .build()
}

async fn claim(sender: &Sender, limit: usize) -> Result<Vec<Claimed>, sqlx::Error> {
    let settings = &sender.settings;
    db::webhooks::claim(
        &sender.pool,
        Claim {
            limit: i64::try_from(limit).unwrap_or(i64::MAX),
            per_endpoint: i64::try_from(settings.endpoint_concurrency.max(1)).unwrap_or(1),
            per_partner: i64::try_from(settings.partner_concurrency.max(1)).unwrap_or(1),
            lease: settings.timeout + LEASE_MARGIN,
        },
    )
    .await
}

/// Starts one task per claimed delivery, each holding a sending slot until it has recorded.
fn start_sending(
    sender: &Arc<Sender>,
    slots: &Arc<Semaphore>,
    first: OwnedSemaphorePermit,
    claimed: Vec<Claimed>,
    sending: &mut JoinSet<()>,
) {
    let mut first = Some(first);
    for delivery in claimed {
        // The claim asked for no more than the free slots, and only this loop takes them.
        let Some(permit) = first
            .take()
            .or_else(|| Arc::clone(slots).try_acquire_owned().ok())
        else {
            break;
        };
        sender
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(delivery.lease);
        let sender = Arc::clone(sender);
        sending.spawn(async move {
            send_and_record(&sender, &delivery).await;
            sender
                .in_flight
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(&delivery.lease);
            drop(permit);
            sender.finished.notify_one();
        });
    }
}

async fn send_and_record(sender: &Sender, delivery: &Claimed) {
    let started = Instant::now();
    let (span, traceparent) = delivery_span(delivery);
    let attempt = send(sender, delivery, traceparent.as_deref())
        .instrument(span.clone())
        .await;
    record_on_span(&span, &attempt);
    let delivered = attempt
        .status_code
        .is_some_and(|code| (200..300).contains(&code));
    let failing_for = delivery.failing_for_ms.map_or(Duration::ZERO, |ms| {
        Duration::from_millis(u64::try_from(ms).unwrap_or(0)) + started.elapsed()
    });
    let attempts = u32::try_from(delivery.attempts + 1).unwrap_or(u32::MAX);
    let policy = sender.settings.retry_policy();
    let outcome = policy.outcome(delivered, attempts, failing_for);
    let reason = give_up_reason(&attempt, policy.give_up_after);
    match db::webhooks::record_attempt(&sender.pool, delivery, &attempt, outcome, &reason).await {
        Ok(true) => crate::telemetry::metrics::record_webhook_delivery(match outcome {
            Outcome::Delivered => "delivered",
            Outcome::RetryIn(_) => "failed",
            Outcome::GiveUp => "gave_up",
        }),
        Ok(false) => tracing::info!(
            endpoint_id = %delivery.endpoint_id,
            event_id = %delivery.event_id,
            "webhook attempt not recorded: its lease expired or the endpoint was removed"
        ),
        Err(error) => tracing::warn!(
            %error,
            endpoint_id = %delivery.endpoint_id,
            "webhook attempt not recorded; the delivery is claimed again when its lease ends"
        ),
    }
}

/// Why an endpoint is disabled when its delivery is given up.
fn give_up_reason(attempt: &Attempt, window: Duration) -> String {
    let last = match (&attempt.status_code, &attempt.error) {
        (Some(code), _) => format!("HTTP {code}"),
        (None, Some(error)) => error.clone(),
        (None, None) => "no answer".to_owned(),
    };
    let reason = format!(
        "a delivery failed for {} seconds and was given up; last attempt: {last}",
        window.as_secs()
    );
    reason.chars().take(1000).collect()
}

/// The delivery's span (client kind, with export on; none otherwise) and the `traceparent` to
/// send: the span's own context, a child of the stored one, with export on; the stored context
/// of the change that caused the event, as it is, with export off; none if it had none.
fn delivery_span(delivery: &Claimed) -> (Span, Option<String>) {
    let stored = delivery.traceparent.as_deref().and_then(TraceParent::parse);
    if !otel::enabled() {
        return (Span::none(), stored.map(|context| context.to_string()));
    }
    let host = target::parse_url(&delivery.url)
        .and_then(|url| url.host_str().map(str::to_owned))
        .unwrap_or_default();
    let span = tracing::info_span!(
        "webhook delivery",
        otel.name = "POST webhook",
        otel.kind = "client",
        otel.status_code = Empty,
        http.request.method = "POST",
        server.address = %host,
        http.response.status_code = Empty,
        error.type = Empty,
        endpoint_id = %delivery.endpoint_id,
        event_id = %delivery.event_id,
        event_type = %delivery.event_type,
    );
    if let Some(parent) = stored {
        otel::set_parent(&span, parent);
    }
    let own = otel::traceparent_of(&span).or(stored);
    (span, own.map(|context| context.to_string()))
}

/// The receiver's answer on the delivery span; anything but 2xx marks it as failed.
fn record_on_span(span: &Span, attempt: &Attempt) {
    if let Some(code) = attempt.status_code {
        span.record("http.response.status_code", code);
    }
    if !attempt
        .status_code
        .is_some_and(|code| (200..300).contains(&code))
    {
        span.record("otel.status_code", "ERROR");
        let kind = attempt
            .status_code
            .map_or("no_answer".to_owned(), |c| c.to_string());
        span.record("error.type", kind);
    }
}

/// Sends one delivery, signed as Standard Webhooks says, with the trace context if any.
async fn send(sender: &Sender, delivery: &Claimed, traceparent: Option<&str>) -> Attempt {
    let started = Instant::now();
    let failed = |error: String| Attempt {
        status_code: None,
        error: Some(error),
        duration_ms: 0,
    };
    let Some(url) = target::parse_url(&delivery.url) else {
        return failed("the endpoint's URL is not valid".to_owned());
    };
    if let Some(ip) = target::literal_address(&url) {
        let host = url.host_str().unwrap_or_default();
        if let Err(blocked) = address::check(host, ip, &sender.settings.allowed_networks) {
            return failed(format!("not sent: {blocked}"));
        }
    }
    let Ok(key) = signature::key(&delivery.secret) else {
        return failed("the endpoint's secret is not valid".to_owned());
    };
    let mut request = signed(sender.client.post(url), &key, delivery);
    if let Some(traceparent) = traceparent {
        request = request.header(TRACEPARENT, traceparent);
    }
    let answer = request.send().await;
    let duration_ms = i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX);
    match answer {
        Ok(response) => Attempt {
            status_code: Some(i32::from(response.status().as_u16())),
            error: None,
            duration_ms,
        },
        Err(error) => Attempt {
            duration_ms,
            ..failed(causes(&error.without_url()))
        },
    }
}

/// The event as body, with the Standard Webhooks headers and signature.
fn signed(
    request: reqwest::RequestBuilder,
    key: &[u8],
    delivery: &Claimed,
) -> reqwest::RequestBuilder {
    let body = serde_json::to_vec(&delivery.payload).unwrap_or_default();
    let id = delivery.event_id.to_string();
    let timestamp = chrono::Utc::now().timestamp();
    request
        .header("content-type", "application/json")
        .header("webhook-id", &id)
        .header("webhook-timestamp", timestamp.to_string())
        .header(
            "webhook-signature",
            signature::signature(key, &id, timestamp, &body),
        )
        .header("webhook-event", &delivery.event_type)
        .body(body)
}

/// An error and its causes, outermost first: reqwest's own message ("error sending request")
/// says nothing of what went wrong.
fn causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// Gives back the leases of deliveries still in flight when the worker stops, so they are sent
/// again at once (by this instance's successor or another one) rather than when the leases end.
async fn release_in_flight(sender: &Sender) {
    let leases: Vec<Uuid> = sender
        .in_flight
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .drain()
        .collect();
    if leases.is_empty() {
        return;
    }
    if let Err(error) = db::webhooks::release(&sender.pool, &leases).await {
        tracing::warn!(%error, "webhook leases not released; they expire by themselves");
    }
}
