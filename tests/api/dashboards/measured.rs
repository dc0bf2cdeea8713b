//! The gauges and counters the alerts watch follow what happens: a delivery hanging in flight is
//! the outbox's backlog, one refused is a failing endpoint; a request that gets no pooled
//! connection in time is an acquire timeout. Each runs its own process, whose metrics are its own.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use uuid::Uuid;

use crate::helpers::{CustomerLock, ServiceProcess, token, wait_for_a_lock_wait};

/// A global admin of a new partner, calling a service process.
struct Admin {
    client: reqwest::Client,
    base: String,
    token: String,
}

impl Admin {
    fn of(service: &ServiceProcess) -> Admin {
        Admin {
            client: reqwest::Client::new(),
            base: service.base.clone(),
            token: token(Uuid::new_v4(), &["global_admin"]),
        }
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> reqwest::Response {
        let request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        let request = match body {
            Some(body) => request.json(&body),
            None => request,
        };
        request.send().await.expect("the service answers")
    }

    /// POSTs `body` and answers the created resource's id.
    async fn create(&self, path: &str, body: Value) -> String {
        let response = self.send(reqwest::Method::POST, path, Some(body)).await;
        assert_eq!(response.status(), StatusCode::CREATED, "POST {path}");
        let created: Value = response.json().await.expect("JSON");
        created["id"].as_str().expect("an id").to_owned()
    }

    /// A new customer and a 5-seat subscription of it: ids.
    async fn subscription(&self) -> (String, String) {
        let customer = self
            .create("/v1/customers", json!({"name": "Measured", "market": "US"}))
            .await;
        let path = format!("/v1/customers/{customer}/subscriptions");
        let body =
            json!({"offerId": "m365-business-basic", "quantity": 5, "billingCycle": "monthly"});
        let subscription = self.create(&path, body).await;
        (customer, subscription)
    }
}

/// The value of the sample `series` (name and labels, exactly as exposed).
fn sample(exposition: &str, series: &str) -> Option<f64> {
    exposition.lines().find_map(|line| {
        line.strip_prefix(series)?
            .strip_prefix(' ')?
            .trim()
            .parse()
            .ok()
    })
}

/// Scrapes until `done` holds for the exposition; fails with the last one after 30 s.
async fn metrics_when(service: &ServiceProcess, done: impl Fn(&str) -> bool) -> String {
    let started = Instant::now();
    loop {
        let exposition = reqwest::get(format!("{}/metrics", service.base))
            .await
            .expect("/metrics answers")
            .text()
            .await
            .expect("a body");
        if done(&exposition) {
            return exposition;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "never held:\n{exposition}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A receiver that accepts connections and never answers; they stay open while it lives.
async fn hanging_receiver() -> (String, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let url = format!("http://{}/hook", listener.local_addr().expect("an address"));
    let task = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            open.push(stream);
        }
    });
    (url, task)
}

#[tokio::test]
async fn a_delivery_in_flight_is_backlog_and_a_refused_one_makes_its_endpoint_failing() {
    let (hanging, receiver) = hanging_receiver().await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a port, closed again at once");
    let service = ServiceProcess::start(
        &[
            ("WEBHOOK_ALLOWED_NETWORKS", "127.0.0.0/8"),
            ("WEBHOOK_TIMEOUT_SECS", "60"),
            ("WEBHOOK_POLL_MS", "100"),
            ("WEBHOOK_RETRY_BASE_MS", "100"),
        ],
        std::process::Stdio::null(),
    )
    .await;
    let quiet = metrics_when(&service, |_| true).await;
    assert_eq!(
        sample(
            &quiet,
            r#"webhook_outbox_pending_deliveries{endpoint_state="healthy"}"#
        ),
        Some(0.0)
    );
    assert_eq!(
        sample(&quiet, "webhook_outbox_oldest_pending_age_seconds"),
        Some(0.0)
    );
    let admin = Admin::of(&service);
    for url in [hanging, format!("http://{closed}/hook")] {
        admin
            .create("/v1/webhooks", json!({"url": url, "events": ["*"]}))
            .await;
    }

    admin.subscription().await;

    let exposition = metrics_when(&service, |text| {
        let value = |series: &str| sample(text, series).unwrap_or(-1.0);
        value(r#"webhook_endpoints{state="failing"}"#) == 1.0
            && value(r#"webhook_outbox_pending_deliveries{endpoint_state="healthy"}"#) == 1.0
            && value("webhook_outbox_oldest_pending_age_seconds") > 0.0
    })
    .await;
    let value = |series: &str| sample(&exposition, series);
    assert_eq!(value(r#"webhook_endpoints{state="healthy"}"#), Some(1.0));
    assert_eq!(value(r#"webhook_endpoints{state="disabled"}"#), Some(0.0));
    assert_eq!(
        value(r#"webhook_outbox_pending_deliveries{endpoint_state="failing"}"#),
        Some(1.0)
    );
    assert_eq!(
        value(r#"webhook_outbox_pending_deliveries{endpoint_state="disabled"}"#),
        Some(0.0)
    );
    receiver.abort();
}

#[tokio::test]
async fn a_request_that_gets_no_pooled_connection_in_time_is_counted_as_an_acquire_timeout() {
    let service = ServiceProcess::start(
        &[
            ("DB_MAX_CONNECTIONS", "1"),
            ("DB_ACQUIRE_TIMEOUT_MS", "500"),
            ("JOB_WORKERS", "0"),
        ],
        std::process::Stdio::null(),
    )
    .await;
    let admin = Admin::of(&service);
    let (customer, subscription) = admin.subscription().await;
    let lock = CustomerLock::hold(&service.database_url, &customer).await;
    let path = format!("/v1/customers/{customer}/subscriptions/{subscription}");
    // The change waits for the customer's lock on the pool's only connection.
    let change = admin.send(reqwest::Method::PATCH, &path, Some(json!({"quantity": 6})));
    let refused = async {
        wait_for_a_lock_wait(&service.database_url, "the change never waited").await;
        let refused = admin
            .send(
                reqwest::Method::GET,
                &format!("/v1/customers/{customer}"),
                None,
            )
            .await;
        lock.release().await;
        refused
    };

    let (changed, refused) = tokio::join!(change, refused);

    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(changed.status(), StatusCode::OK);
    metrics_when(&service, |text| {
        sample(text, "db_pool_acquire_timeouts_total") == Some(1.0)
    })
    .await;
}
