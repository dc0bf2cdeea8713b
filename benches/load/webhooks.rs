//! The webhook case of the load benchmark: one partner holding 200 endpoints that accept
//! connections and never answer (each sender waits `WEBHOOK_TIMEOUT_SECS`), with events queued
//! for every one of them, then another partner's single webhook: how long it takes to arrive
//! (the target: under 3 s) while the first partner's backlog is still pending.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use sqlx::{Connection, PgConnection};
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;
use uuid::Uuid;

/// The endpoints of the partner whose receivers never answer.
pub const ENDPOINTS: usize = 200;
/// Events of that partner, each queued for every one of its endpoints.
pub const EVENTS: usize = 5;
/// What the other partner's webhook must beat.
pub const TARGET: Duration = Duration::from_secs(3);
/// Deliveries of the hanging partner seen in flight before the other partner's event is made:
/// its share of the senders by default (half of `WEBHOOK_CONCURRENCY`'s 16), enough to have
/// filled them all if nothing bounded it.
const IN_FLIGHT_FIRST: usize = 8;
/// How long the other partner's webhook is waited for before the case is called failed.
const GIVE_UP: Duration = Duration::from_secs(120);

/// The settings the service needs for this case: the receivers listen on loopback, and one
/// partner registers more endpoints than the default limit.
pub const SERVICE_ENV: [(&str, &str); 2] = [
    ("WEBHOOK_ALLOWED_NETWORKS", "127.0.0.0/8"),
    ("WEBHOOK_ENDPOINTS_PER_PARTNER", "200"),
];

/// One partner acting: its token and the `PATCH` paths of subscriptions whose seat changes make
/// its events.
pub struct Partner<'a> {
    pub id: Uuid,
    pub token: &'a str,
    pub subscriptions: Vec<String>,
}

/// What the webhook case measured.
pub struct Webhooks {
    /// The other partner's webhook, from its change's answer to its arrival (`None`: not within
    /// two minutes).
    pub seconds: Option<f64>,
    /// The hanging partner's requests that had reached its receivers then.
    pub hanging_requests: usize,
    /// Its deliveries still pending then.
    pub backlog: i64,
}

impl Webhooks {
    /// One line for the report.
    pub fn report(&self) -> String {
        let arrival = self.seconds.map_or_else(
            || format!("not within {} s", GIVE_UP.as_secs()),
            |s| format!("{s:.2} s"),
        );
        let verdict = match self.seconds {
            Some(s) if s < TARGET.as_secs_f64() => "met",
            _ => "MISSED",
        };
        format!(
            "\nWebhooks: one partner with {ENDPOINTS} endpoints that never answer and {} deliveries \
             queued; another partner's webhook arrived in {arrival} (target under {} s: {verdict}), \
             with {} of the first partner's requests hanging and {} of its deliveries pending.\n",
            ENDPOINTS * EVENTS,
            TARGET.as_secs(),
            self.hanging_requests,
            self.backlog
        )
    }
}

/// Runs the case against the service at `base` (started with [`SERVICE_ENV`]).
pub async fn run(
    database_url: &str,
    (client, base): (&Client, &str),
    hanging_partner: Partner<'_>,
    other: Partner<'_>,
) -> Webhooks {
    let (hanging_url, hanging) = hanging_receiver().await;
    for _ in 0..ENDPOINTS {
        register(client, base, hanging_partner.token, &hanging_url).await;
    }
    for path in hanging_partner.subscriptions.iter().cycle().take(EVENTS) {
        change_seats(client, base, hanging_partner.token, path).await;
    }
    let started = Instant::now();
    while hanging.load(Ordering::SeqCst) < IN_FLIGHT_FIRST && started.elapsed() < GIVE_UP {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let (answering_url, mut arrived) = answering_receiver().await;
    register(client, base, other.token, &answering_url).await;
    change_seats(client, base, other.token, &other.subscriptions[0]).await;
    let changed = Instant::now();
    let seconds = tokio::time::timeout(GIVE_UP, arrived.recv())
        .await
        .ok()
        .flatten()
        .map(|()| changed.elapsed().as_secs_f64());
    let hanging_requests = hanging.load(Ordering::SeqCst);
    Webhooks {
        seconds,
        hanging_requests,
        backlog: backlog(database_url, hanging_partner.id).await,
    }
}

async fn register(client: &Client, base: &str, token: &str, url: &str) {
    let response = client
        .post(format!("{base}/v1/webhooks"))
        .bearer_auth(token)
        .json(&json!({"url": url, "events": ["subscription.quantity_changed"]}))
        .send()
        .await
        .expect("the endpoint is registered");
    assert_eq!(response.status(), StatusCode::CREATED, "registered");
}

async fn change_seats(client: &Client, base: &str, token: &str, path: &str) {
    let current: Value = client
        .get(format!("{base}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .expect("the subscription is read")
        .json()
        .await
        .expect("a subscription");
    let quantity = current["quantity"].as_i64().expect("a quantity");
    let response = client
        .patch(format!("{base}{path}"))
        .bearer_auth(token)
        // One seat more: fewer could fall below the licenses assigned.
        .json(&json!({"quantity": quantity + 1}))
        .send()
        .await
        .expect("the seats change");
    assert_eq!(response.status(), StatusCode::OK, "the seats changed");
}

/// A receiver that accepts connections, reads and never answers; counts requests that began.
async fn hanging_receiver() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let url = format!("http://{}/hook", listener.local_addr().expect("an address"));
    let requests = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&requests);
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let counted = Arc::clone(&counted);
            tokio::spawn(async move {
                let mut buffer = [0u8; 4096];
                let mut first = true;
                while matches!(socket.read(&mut buffer).await, Ok(n) if n > 0) {
                    if std::mem::take(&mut first) {
                        counted.fetch_add(1, Ordering::SeqCst);
                    }
                }
            });
        }
    });
    (url, requests)
}

/// A receiver that answers 200 and says when a delivery arrived.
async fn answering_receiver() -> (String, tokio::sync::mpsc::UnboundedReceiver<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let url = format!("http://{}/hook", listener.local_addr().expect("an address"));
    let (arrived, arrivals) = tokio::sync::mpsc::unbounded_channel();
    let router = axum::Router::new().route(
        "/hook",
        axum::routing::post(move || {
            let _ = arrived.send(());
            async { axum::http::StatusCode::OK }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, router).await });
    (url, arrivals)
}

/// The partner's deliveries still pending.
async fn backlog(database_url: &str, partner: Uuid) -> i64 {
    let mut conn = PgConnection::connect(database_url)
        .await
        .expect("the bench database");
    sqlx::query_scalar(
        "SELECT count(*) FROM webhook_deliveries WHERE partner_id = $1 AND status = 'pending'",
    )
    .bind(partner)
    .fetch_one(&mut conn)
    .await
    .expect("the backlog")
}
