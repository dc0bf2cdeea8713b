//! SIGTERM with a request in flight: the request completes, new connections are refused, and the
//! process exits 0 within its grace period.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;
use uuid::Uuid;

use crate::helpers::{CustomerLock, ServiceProcess, token};

#[tokio::test]
async fn sigterm_lets_the_request_in_flight_finish_refuses_new_ones_and_exits_zero() {
    let mut service = ServiceProcess::start(
        &[
            ("SHUTDOWN_GRACE_SECS", "10"),
            ("DB_LOCK_TIMEOUT_MS", "8000"),
        ],
        std::process::Stdio::null(),
    )
    .await;
    let client = reqwest::Client::new();
    let bearer = token(Uuid::new_v4(), &["global_admin"]);
    let created: serde_json::Value = client
        .post(format!("{}/v1/customers", service.base))
        .bearer_auth(&bearer)
        .json(&json!({"name": "Slow Ltd", "market": "US"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let customer = created["id"].as_str().unwrap().to_owned();
    // Another connection holds the customer row, so the next write waits inside its request.
    let held = CustomerLock::hold(&service.database_url, &customer).await;
    let in_flight = tokio::spawn({
        let (client, bearer) = (client.clone(), bearer.clone());
        let url = format!("{}/v1/customers/{customer}/users", service.base);
        async move {
            client
                .post(url)
                .bearer_auth(bearer)
                .json(&json!({"displayName": "Ada", "email": "ada@slow.example"}))
                .send()
                .await
                .map(|r| r.status())
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;

    service.terminate();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let fresh = reqwest::Client::new()
        .get(format!("{}/healthz", service.base))
        .send()
        .await;
    held.release().await;
    let started = Instant::now();
    let finished = in_flight.await.unwrap();
    let status = tokio::task::spawn_blocking(move || {
        let status = service.wait();
        drop(service);
        status
    })
    .await
    .unwrap();

    assert!(fresh.is_err(), "a new connection after SIGTERM is refused");
    assert_eq!(
        finished.unwrap(),
        StatusCode::CREATED,
        "the request in flight completed"
    );
    assert!(status.success(), "{status}");
    assert!(started.elapsed() < Duration::from_secs(10));
}
