//! Webhook endpoints a partner registers, and the worker that delivers the outbox to them:
//! at least once, signed, retried with backoff for as long as it takes, every attempt recorded,
//! and a subscription's events in order.

use std::future::Future;
use std::time::{Duration, Instant};

use sqlx::PgPool;
use uuid::Uuid;

use crate::db;
use crate::db::webhooks::{Attempt, DueDelivery, EndpointRow};
use crate::domain::ErrorCode;
use crate::domain::webhook::{self, EVENT_TYPES};
use crate::error::Error;

/// Deliveries sent at once by one worker.
const BATCH: i64 = 8;

/// An endpoint to register.
#[derive(Debug, Clone)]
pub struct Registration {
    pub url: String,
    /// Event types, or `["*"]` for every one.
    pub events: Vec<String>,
    pub secret: String,
}

/// Checks and registers an endpoint.
pub async fn register(
    pool: &PgPool,
    partner_id: Uuid,
    registration: &Registration,
) -> Result<EndpointRow, Error> {
    let url = registration.url.trim();
    let host = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .map(|rest| rest.split(['/', '?', '#']).next().unwrap_or_default());
    if host.is_none_or(str::is_empty)
        || url.len() > 2048
        || url.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(Error::new(
            ErrorCode::InvalidWebhookUrl,
            "url must be an http:// or https:// URL with a host, at most 2048 characters.",
        ));
    }
    let events = event_types(&registration.events)?;
    let secret = &registration.secret;
    if !(16..=256).contains(&secret.len()) || !secret.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Error::new(
            ErrorCode::InvalidWebhookSecret,
            "secret must be 16 to 256 visible ASCII characters.",
        ));
    }
    Ok(db::webhooks::create_endpoint(pool, partner_id, url, &events, secret).await?)
}

/// The event types asked for: `["*"]` is every one; each must be known and listed once.
fn event_types(asked: &[String]) -> Result<Vec<String>, Error> {
    if asked == ["*"] {
        return Ok(EVENT_TYPES.iter().map(|t| (*t).to_owned()).collect());
    }
    if asked.is_empty() {
        return Err(Error::new(
            ErrorCode::InvalidWebhookEvents,
            "events must list at least one event type, or be [\"*\"].",
        ));
    }
    for (i, event) in asked.iter().enumerate() {
        if !EVENT_TYPES.contains(&event.as_str()) || asked[..i].contains(event) {
            return Err(Error::new(
                ErrorCode::InvalidWebhookEvents,
                format!(
                    "{event:?} is not an event type or is listed twice; the types are {}.",
                    EVENT_TYPES.join(", ")
                ),
            ));
        }
    }
    Ok(asked.to_vec())
}

/// How the delivery worker behaves.
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// How often to look for due deliveries when there were none.
    pub poll: Duration,
    /// The first retry's wait; it doubles after each failure, up to an hour.
    pub retry_base: Duration,
    /// How long a receiver gets to answer.
    pub timeout: Duration,
}

/// Delivers the outbox until `shutdown` completes. Several workers (one per instance) share the
/// work: each claims deliveries the others do not hold.
pub async fn deliver(pool: PgPool, settings: WorkerSettings, shutdown: impl Future<Output = ()>) {
    let client = match reqwest::Client::builder()
        .timeout(settings.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
    {
        Ok(client) => client,
        Err(error) => {
            tracing::error!(%error, "webhook delivery is off: no HTTP client");
            return;
        }
    };
    tokio::pin!(shutdown);
    loop {
        let sent = tokio::select! {
            () = &mut shutdown => return,
            sent = deliver_batch(&pool, &client, &settings) => sent,
        };
        let wait = match sent {
            Ok(0) => settings.poll,
            Ok(_) => Duration::ZERO,
            Err(error) => {
                tracing::warn!(%error, "webhook delivery could not reach the database");
                settings.poll
            }
        };
        tokio::select! {
            () = &mut shutdown => return,
            () = tokio::time::sleep(wait) => {},
        }
    }
}

/// Sends one batch of due deliveries in one transaction; returns how many were attempted.
async fn deliver_batch(
    pool: &PgPool,
    client: &reqwest::Client,
    settings: &WorkerSettings,
) -> Result<usize, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let due = db::webhooks::claim_due(&mut tx, BATCH).await?;
    let mut sending = tokio::task::JoinSet::new();
    for (i, delivery) in due.iter().enumerate() {
        let (client, delivery, settings) = (client.clone(), delivery.clone(), settings.clone());
        sending.spawn(async move { (i, send(&client, &delivery, &settings).await) });
    }
    let mut attempts: Vec<Option<Attempt>> = vec![None; due.len()];
    while let Some(sent) = sending.join_next().await {
        if let Ok((i, attempt)) = sent {
            attempts[i] = Some(attempt);
        }
    }
    for (delivery, attempt) in due.iter().zip(&attempts) {
        // A send that panicked is left pending, untouched, for the next round.
        let Some(attempt) = attempt else { continue };
        db::webhooks::record_attempt(&mut tx, delivery, attempt).await?;
        crate::telemetry::metrics::record_webhook_delivery(if attempt.delivered {
            "delivered"
        } else {
            "failed"
        });
    }
    tx.commit().await?;
    Ok(due.len())
}

async fn send(
    client: &reqwest::Client,
    delivery: &DueDelivery,
    settings: &WorkerSettings,
) -> Attempt {
    let body = serde_json::to_vec(&delivery.payload).unwrap_or_default();
    let timestamp = chrono::Utc::now().timestamp();
    let started = Instant::now();
    let answer = client
        .post(&delivery.url)
        .header("content-type", "application/json")
        .header("webhook-id", delivery.event_id.to_string())
        .header("webhook-event", &delivery.event_type)
        .header(
            "webhook-signature",
            webhook::signature(&delivery.secret, timestamp, &body),
        )
        .body(body)
        .send()
        .await;
    let duration_ms = i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX);
    let (status_code, error) = match answer {
        Ok(response) => (Some(i32::from(response.status().as_u16())), None),
        Err(error) => (None, Some(error.without_url().to_string())),
    };
    let delivered = status_code.is_some_and(|code| (200..300).contains(&code));
    let attempts = u32::try_from(delivery.attempts + 1).unwrap_or(u32::MAX);
    let wait = webhook::backoff(attempts, settings.retry_base);
    Attempt {
        status_code,
        error,
        duration_ms,
        delivered,
        retry_in_ms: i64::try_from(wait.as_millis()).unwrap_or(i64::MAX),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_lists_are_checked_and_star_means_every_type() {
        let owned = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            event_types(&owned(&["*"])).unwrap().len(),
            EVENT_TYPES.len()
        );
        assert_eq!(
            event_types(&owned(&["subscription.upgraded"])).unwrap(),
            ["subscription.upgraded"]
        );
        for bad in [
            &[][..],
            &["subscription.deleted"][..],
            &["subscription.upgraded", "subscription.upgraded"][..],
            &["*", "subscription.upgraded"][..],
        ] {
            assert!(event_types(&owned(bad)).is_err(), "{bad:?}");
        }
    }
}
