//! Webhooks against local receivers: registration, signed at-least-once delivery of every change
//! in order per subscription, retries after failures with every attempt recorded, and no event
//! lost across a restart. The submodules cover one partner's receiver never holding up another's
//! (`isolation`), nor its many endpoints (`fairness`), the endpoint list and its limit
//! (`endpoints`), where webhooks may not be sent (`targets`), giving up and recovering
//! (`give_up`), verification with the Standard Webhooks library (`standard`) and retention.

mod endpoints;
mod fairness;
mod give_up;
mod isolation;
mod retention;
mod standard;
mod targets;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use reqwest::StatusCode;
use serde_json::{Value, json};
use subscription_upgrades::domain::webhook;
use subscription_upgrades::domain::webhook::signature;

use crate::helpers::{Api, TestApp, assert_problem, json_ok, spawn_app, wait_for_rows};

/// A Standard Webhooks secret: `whsec_` and the base64 of a 32-byte key.
const SECRET: &str = "whsec_aW50ZWdyYXRpb24tdGVzdHMtd2ViaG9vay1rZXktMDE=";

/// One POST the receiver got.
#[derive(Debug, Clone)]
struct Received {
    headers: HeaderMap,
    body: Vec<u8>,
    answered: u16,
}

#[derive(Clone, Default)]
struct Inbox {
    received: Arc<Mutex<Vec<Received>>>,
    /// Answer 500 to this many requests first.
    failures_left: Arc<Mutex<usize>>,
}

/// A local webhook receiver.
struct Receiver {
    address: SocketAddr,
    inbox: Inbox,
    server: tokio::task::JoinHandle<()>,
}

impl Receiver {
    async fn start_on(address: SocketAddr, fail_first: usize) -> Receiver {
        let inbox = Inbox {
            failures_left: Arc::new(Mutex::new(fail_first)),
            ..Inbox::default()
        };
        let router = axum::Router::new()
            .route("/hook", axum::routing::post(receive))
            .with_state(inbox.clone());
        let listener = tokio::net::TcpListener::bind(address).await.unwrap();
        let address = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        Receiver {
            address,
            inbox,
            server,
        }
    }

    async fn start(fail_first: usize) -> Receiver {
        Receiver::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), fail_first).await
    }

    /// From now on, answer 500 to this many requests before answering 200 again.
    fn fail_next(&self, count: usize) {
        *self.inbox.failures_left.lock().unwrap() = count;
    }

    /// Every POST received so far, answered or not.
    fn received(&self) -> Vec<Received> {
        self.inbox.received.lock().unwrap().clone()
    }

    fn url(&self) -> String {
        format!("http://{}/hook", self.address)
    }

    /// The events answered 2xx, in arrival order, once `count` have arrived.
    async fn delivered(&self, count: usize) -> Vec<Received> {
        let started = Instant::now();
        loop {
            let delivered: Vec<Received> = self
                .inbox
                .received
                .lock()
                .unwrap()
                .iter()
                .filter(|r| r.answered == 200)
                .cloned()
                .collect();
            if delivered.len() >= count {
                return delivered;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "{} of {count} events delivered",
                delivered.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn receive(
    State(inbox): State<Inbox>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> AxumStatus {
    let answered = {
        let mut left = inbox.failures_left.lock().unwrap();
        if *left > 0 {
            *left -= 1;
            AxumStatus::INTERNAL_SERVER_ERROR
        } else {
            AxumStatus::OK
        }
    };
    inbox.received.lock().unwrap().push(Received {
        headers,
        body: body.to_vec(),
        answered: answered.as_u16(),
    });
    answered
}

/// The event's JSON, after checking its Standard Webhooks headers and signature.
fn verified(received: &Received) -> Value {
    let header = |name: &str| received.headers[name].to_str().unwrap();
    let timestamp: i64 = header("webhook-timestamp").parse().expect("unix seconds");
    assert!(
        (chrono::Utc::now().timestamp() - timestamp).abs() < 60,
        "a current timestamp"
    );
    let key = signature::key(SECRET).unwrap();
    assert_eq!(
        header("webhook-signature"),
        signature::signature(&key, header("webhook-id"), timestamp, &received.body),
        "signed with the endpoint's secret"
    );
    let event: Value = serde_json::from_slice(&received.body).unwrap();
    assert_eq!(
        received.headers["webhook-id"],
        event["id"].as_str().unwrap()
    );
    assert_eq!(
        received.headers["webhook-event"],
        event["type"].as_str().unwrap()
    );
    event
}

async fn register(admin: &Api<'_>, url: &str, events: Value) -> Value {
    admin
        .create(
            "/v1/webhooks",
            json!({"url": url, "events": events, "secret": SECRET}),
        )
        .await
}

/// A customer with admin rights and a 5-seat Business Basic subscription; returns their ids.
async fn subscription(admin: &Api<'_>) -> (String, String) {
    let customer = admin.customer("US").await;
    admin.relationship(&customer, &["*"]).await;
    let source = admin
        .subscription(&customer, "m365-business-basic", 5)
        .await;
    (customer, source)
}

async fn change_quantity(admin: &Api<'_>, customer: &str, subscription: &str, quantity: i64) {
    let path = format!("/v1/customers/{customer}/subscriptions/{subscription}");
    let response = admin
        .patch_with(&path, &json!({"quantity": quantity}), &[])
        .await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn endpoints_are_registered_listed_and_removed_and_bad_ones_refused() {
    let app = spawn_app().await;
    let admin = app.admin();

    let endpoint = register(&admin, "https://hooks.contoso.example/csp", json!(["*"])).await;
    let id = endpoint["id"].as_str().unwrap();
    assert_eq!(
        endpoint["events"].as_array().unwrap().len(),
        webhook::EVENT_TYPES.len()
    );
    assert_eq!(
        endpoint["secret"], SECRET,
        "shown in the registration's answer"
    );
    assert_eq!(endpoint["status"], "enabled");
    let generated = admin
        .create(
            "/v1/webhooks",
            json!({"url": "https://hooks.contoso.example/other", "events": ["*"]}),
        )
        .await;
    let generated_secret = generated["secret"].as_str().unwrap();
    assert_eq!(
        signature::check_new_secret(generated_secret),
        Ok(()),
        "a generated secret is whsec_ and 24 to 64 bytes: {generated_secret}"
    );
    assert_ne!(generated_secret, SECRET);
    let listed = json_ok(admin.get("/v1/webhooks").await).await;
    assert_eq!(listed["items"][0]["id"], id);
    let shown = json_ok(admin.get(&format!("/v1/webhooks/{id}")).await).await;
    assert!(
        listed.to_string().find("whsec_").is_none() && shown.get("secret").is_none(),
        "the secret is never shown again"
    );
    let other_partner = app.api(uuid::Uuid::new_v4(), &["global_admin"]);
    assert_problem(
        other_partner.get(&format!("/v1/webhooks/{id}")).await,
        StatusCode::NOT_FOUND,
        "webhook_not_found",
    )
    .await;
    let path = format!("/v1/webhooks/{id}");
    assert_problem(
        other_partner
            .patch_with(&path, &json!({"status": "disabled"}), &[])
            .await,
        StatusCode::NOT_FOUND,
        "webhook_not_found",
    )
    .await;
    assert_problem(
        other_partner
            .request(reqwest::Method::POST, &format!("{path}/recover"))
            .send()
            .await
            .unwrap(),
        StatusCode::NOT_FOUND,
        "webhook_not_found",
    )
    .await;
    assert_eq!(
        json_ok(other_partner.get("/v1/webhooks").await).await["items"],
        json!([])
    );

    for (body, code) in [
        (
            json!({"url": "ftp://x.example/h", "events": ["*"], "secret": SECRET}),
            "invalid_webhook_url",
        ),
        (
            json!({"url": "https:///nohost", "events": ["*"], "secret": SECRET}),
            "invalid_webhook_url",
        ),
        (
            json!({"url": "https://x.example/h", "events": [], "secret": SECRET}),
            "invalid_webhook_events",
        ),
        (
            json!({"url": "https://x.example/h", "events": ["subscription.deleted"], "secret": SECRET}),
            "invalid_webhook_events",
        ),
        (
            json!({"url": "https://x.example/h", "events": ["*"], "secret": "short"}),
            "invalid_webhook_secret",
        ),
        (
            json!({"url": "https://x.example/h", "events": ["*"],
                   "secret": "a-secret-of-sixteen-or-more"}),
            "invalid_webhook_secret",
        ),
        (
            // whsec_ and the base64 of 16 bytes: too short a key.
            json!({"url": "https://x.example/h", "events": ["*"],
                   "secret": "whsec_MDEyMzQ1Njc4OWFiY2RlZg=="}),
            "invalid_webhook_secret",
        ),
        (
            json!({"url": "https://x.example/h", "events": ["*"],
                   "secret": "whsec_not*base64*at*all*but*long*enough"}),
            "invalid_webhook_secret",
        ),
    ] {
        assert_problem(
            admin.post("/v1/webhooks", &body).await,
            StatusCode::BAD_REQUEST,
            code,
        )
        .await;
    }

    let removed = admin
        .request(reqwest::Method::DELETE, &format!("/v1/webhooks/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);
    let left = json_ok(admin.get("/v1/webhooks").await).await;
    assert_eq!(left["items"].as_array().unwrap().len(), 1);
    assert_eq!(left["items"][0]["id"], generated["id"]);
}

#[tokio::test]
async fn every_change_is_delivered_signed_once_and_in_order_to_the_endpoints_that_want_it() {
    let app = spawn_app().await;
    let admin = app.admin();
    let everything = Receiver::start(0).await;
    let upgrades_only = Receiver::start(0).await;
    register(&admin, &everything.url(), json!(["*"])).await;
    register(
        &admin,
        &upgrades_only.url(),
        json!(["subscription.upgraded"]),
    )
    .await;

    let (customer, source) = subscription(&admin).await;
    for quantity in [6, 7, 8] {
        change_quantity(&admin, &customer, &source, quantity).await;
    }
    let path = format!("/v1/customers/{customer}/subscriptions/{source}/upgrades");
    let upgrade = admin
        .create(&path, json!({"targetOfferId": "o365-e1"}))
        .await;

    // Six events: created, three quantity changes and upgraded for the source, in that order
    // (order holds per subscription); created for the target.
    let events: Vec<Value> = everything.delivered(6).await.iter().map(verified).collect();
    let of = |subscription: &str| -> Vec<&Value> {
        events
            .iter()
            .filter(|e| e["subscriptionId"] == subscription)
            .collect()
    };
    let on_source = of(&source);
    let kinds: Vec<&str> = on_source
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "subscription.created",
            "subscription.quantity_changed",
            "subscription.quantity_changed",
            "subscription.quantity_changed",
            "subscription.upgraded",
        ]
    );
    let quantities: Vec<&Value> = on_source[1..4]
        .iter()
        .map(|e| &e["data"]["after"]["quantity"])
        .collect();
    assert_eq!(quantities, [&json!(6), &json!(7), &json!(8)]);
    let on_target = of(upgrade["targetSubscriptionId"].as_str().unwrap());
    assert_eq!(on_target.len(), 1);
    assert_eq!(on_target[0]["type"], "subscription.created");
    let mut ids: Vec<&str> = events.iter().map(|e| e["id"].as_str().unwrap()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), events.len(), "every event has its own id");

    let upgrades: Vec<Value> = upgrades_only
        .delivered(1)
        .await
        .iter()
        .map(verified)
        .collect();
    assert_eq!(upgrades.len(), 1);
    assert_eq!(upgrades[0]["type"], "subscription.upgraded");
    assert_eq!(
        upgrades[0]["id"], on_source[4]["id"],
        "one event, one id, for every endpoint"
    );
}

#[tokio::test]
async fn a_failing_receiver_gets_each_event_again_until_it_recovers_and_still_in_order() {
    let app = spawn_app().await;
    let admin = app.admin();
    let receiver = Receiver::start(3).await;
    register(
        &admin,
        &receiver.url(),
        json!(["subscription.quantity_changed"]),
    )
    .await;
    let (customer, source) = subscription(&admin).await;

    for quantity in [6, 7, 8] {
        change_quantity(&admin, &customer, &source, quantity).await;
    }

    let delivered: Vec<Value> = receiver.delivered(3).await.iter().map(verified).collect();
    let quantities: Vec<&Value> = delivered
        .iter()
        .map(|e| &e["data"]["after"]["quantity"])
        .collect();
    assert_eq!(quantities, [&json!(6), &json!(7), &json!(8)]);
    let received = receiver.inbox.received.lock().unwrap().clone();
    assert!(
        received[..3].iter().all(|r| r.answered == 500),
        "the first three tries failed"
    );
    let first: Value = serde_json::from_slice(&received[0].body).unwrap();
    assert!(
        received[..3]
            .iter()
            .all(|r| serde_json::from_slice::<Value>(&r.body).unwrap()["id"] == first["id"]),
        "nothing later was sent while the first event was failing"
    );

    let pool = sqlx::PgPool::connect(app.database_url()).await.unwrap();
    let attempts: Vec<(Option<i32>,)> =
        sqlx::query_as("SELECT status_code FROM webhook_attempts ORDER BY attempted_at, attempt")
            .fetch_all(&pool)
            .await
            .unwrap();
    let codes: Vec<Option<i32>> = attempts.into_iter().map(|(c,)| c).collect();
    assert_eq!(
        codes,
        [
            Some(500),
            Some(500),
            Some(500),
            Some(200),
            Some(200),
            Some(200)
        ]
    );
    let pending: i64 =
        sqlx::query_scalar("SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(pending, 0);
    pool.close().await;
}

#[tokio::test]
async fn an_event_made_while_the_receiver_is_down_survives_a_restart_and_is_delivered() {
    let mut first = spawn_app().await;
    let admin = first.admin();
    let down = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = down.local_addr().unwrap();
    drop(down);
    register(&admin, &format!("http://{address}/hook"), json!(["*"])).await;
    let (customer, source) = subscription(&admin).await;
    change_quantity(&admin, &customer, &source, 9).await;
    wait_for_rows(
        first.database_url(),
        "SELECT count(*) FROM webhook_attempts WHERE status_code IS NULL AND error IS NOT NULL",
        "no failed attempt",
    )
    .await;

    first.stop();
    let receiver = Receiver::start_on(address, 0).await;
    let second: TestApp = first.another_instance().await;

    let events: Vec<Value> = receiver.delivered(2).await.iter().map(verified).collect();
    assert_eq!(events[0]["type"], "subscription.created");
    assert_eq!(events[1]["type"], "subscription.quantity_changed");
    assert_eq!(events[1]["data"]["after"]["quantity"], 9);
    drop(second);
}
