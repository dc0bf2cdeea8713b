//! A receiver that never answers holds up only its own deliveries: another partner's events
//! still arrive at once, no row lock is held while it hangs, and its endpoint can be removed. A
//! sender that outlived its lease cannot record over the delivery's new claim.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;
use tokio::io::AsyncReadExt;
use uuid::Uuid;

use subscription_upgrades::db::webhooks::{self, Attempt, Claim};
use subscription_upgrades::domain::webhook::Outcome;

use super::{Receiver, register, subscription};
use crate::helpers::{TestApp, spawn_app_with};

/// A receiver that accepts connections, reads what is sent and never answers.
pub(super) struct HangingReceiver {
    address: std::net::SocketAddr,
    /// Requests that began to arrive.
    requests: Arc<AtomicUsize>,
    server: tokio::task::JoinHandle<()>,
}

impl HangingReceiver {
    pub(super) async fn start() -> HangingReceiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let requests = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&requests);
        let server = tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            while let Ok((mut socket, _)) = listener.accept().await {
                let counted = Arc::clone(&counted);
                connections.spawn(async move {
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
        HangingReceiver {
            address,
            requests,
            server,
        }
    }

    pub(super) fn url(&self) -> String {
        format!("http://{}/hook", self.address)
    }

    pub(super) fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    /// Waits until `count` requests are hanging on it.
    pub(super) async fn wait_for_requests(&self, count: usize) {
        let started = Instant::now();
        while self.requests() < count {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "{} of {count} requests arrived",
                self.requests()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for HangingReceiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// A service whose receivers get 30 seconds to answer: long enough that waiting for a hanging
/// one would show.
pub(super) async fn patient_app() -> TestApp {
    spawn_app_with(|settings| settings.webhook_timeout_secs = 30).await
}

#[tokio::test]
async fn a_receiver_that_never_answers_does_not_hold_up_another_partners_events() {
    let app = patient_app().await;
    let slow_partner = app.admin();
    let hanging = HangingReceiver::start().await;
    register(
        &slow_partner,
        &hanging.url(),
        json!(["subscription.created"]),
    )
    .await;
    let customer = slow_partner.customer("US").await;
    for _ in 0..24 {
        slow_partner
            .subscription(&customer, "m365-business-basic", 1)
            .await;
    }
    hanging.wait_for_requests(1).await;

    let other_partner = app.api(Uuid::new_v4(), &["global_admin"]);
    let receiver = Receiver::start(0).await;
    register(&other_partner, &receiver.url(), json!(["*"])).await;
    let started = Instant::now();
    subscription(&other_partner).await;
    let delivered = receiver.delivered(1).await;

    assert!(
        started.elapsed() < Duration::from_secs(3),
        "the other partner's event took {:?}",
        started.elapsed()
    );
    assert_eq!(
        super::verified(&delivered[0])["type"],
        "subscription.created"
    );
    assert!(
        hanging.requests() <= 2,
        "at most WEBHOOK_ENDPOINT_CONCURRENCY (2) deliveries of one endpoint at once, not {}",
        hanging.requests()
    );
}

#[tokio::test]
async fn while_a_receiver_hangs_no_row_is_locked_and_its_endpoint_is_removed_at_once() {
    let app = patient_app().await;
    let admin = app.admin();
    let hanging = HangingReceiver::start().await;
    let endpoint = register(&admin, &hanging.url(), json!(["*"])).await;
    subscription(&admin).await;
    hanging.wait_for_requests(1).await;

    let pool = sqlx::PgPool::connect(app.database_url()).await.unwrap();
    let mut transaction = pool.begin().await.unwrap();
    let leased: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT 1 FROM webhook_deliveries
                                WHERE leased_until > now() FOR UPDATE NOWAIT) AS sending",
    )
    .fetch_one(&mut *transaction)
    .await
    .expect("the delivery being sent is not locked");
    assert_eq!(leased, 1, "the delivery is leased while it is sent");
    transaction.rollback().await.unwrap();

    let started = Instant::now();
    let removed = admin
        .request(
            reqwest::Method::DELETE,
            &format!("/v1/webhooks/{}", endpoint["id"].as_str().unwrap()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "removing took {:?}",
        started.elapsed()
    );
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM webhook_deliveries")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(left, 0);
    pool.close().await;
}

#[tokio::test]
async fn a_sender_whose_lease_ended_and_was_claimed_again_records_nothing() {
    // This instance's worker looks for due deliveries at start-up, then not for a minute: the
    // delivery is claimed here instead, as two workers would claim it.
    let app = spawn_app_with(|settings| settings.webhook_poll_ms = 60_000).await;
    let admin = app.admin();
    let endpoint = register(&admin, "https://hooks.contoso.example/csp", json!(["*"])).await;
    let path = format!("/v1/webhooks/{}", endpoint["id"].as_str().unwrap());
    let status = |status: &str| json!({ "status": status });
    admin.patch_with(&path, &status("disabled"), &[]).await;
    subscription(&admin).await;
    admin.patch_with(&path, &status("enabled"), &[]).await;
    let pool = sqlx::PgPool::connect(app.database_url()).await.unwrap();
    let claim = Claim {
        limit: 10,
        per_endpoint: 2,
        per_partner: 8,
        lease: Duration::from_millis(1),
    };
    let first = webhooks::claim(&pool, claim).await.unwrap();
    assert_eq!(first.len(), 1);
    let second = loop {
        let again = webhooks::claim(&pool, claim).await.unwrap();
        if !again.is_empty() {
            break again;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    assert_ne!(first[0].lease, second[0].lease);

    let answered = Attempt {
        status_code: Some(200),
        error: None,
        duration_ms: 5,
    };
    let late = webhooks::record_attempt(&pool, &first[0], &answered, Outcome::Delivered, "")
        .await
        .unwrap();
    let current = webhooks::record_attempt(&pool, &second[0], &answered, Outcome::Delivered, "")
        .await
        .unwrap();

    assert!(!late, "the late sender records nothing");
    assert!(current, "the current claim records");
    let attempts: i64 = sqlx::query_scalar("SELECT count(*) FROM webhook_attempts")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(attempts, 1, "one attempt, recorded once");
    pool.close().await;
}
