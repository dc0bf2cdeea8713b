//! A delivery that keeps failing for the retry window (`WEBHOOK_RETRY_FOR_SECS`, 3 days by
//! default, one second here) is given up and its endpoint disabled with the reason; events made
//! meanwhile queue without being sent; the partner recovers what was given up, enables the
//! endpoint, and gets everything, in order.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{Receiver, change_quantity, register, subscription, verified};
use crate::helpers::{Api, json_ok, spawn_app, spawn_app_with};

/// The endpoint once `done` holds for it.
async fn endpoint_when(admin: &Api<'_>, id: &str, done: impl Fn(&Value) -> bool) -> Value {
    let started = Instant::now();
    loop {
        let endpoint = json_ok(admin.get(&format!("/v1/webhooks/{id}")).await).await;
        if done(&endpoint) {
            return endpoint;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "{endpoint}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_delivery_failing_for_the_retry_window_disables_its_endpoint_until_the_partner_recovers_it()
 {
    let app = spawn_app_with(|settings| settings.webhook_retry_for_secs = 1).await;
    let admin = app.admin();
    let failing = Receiver::start(usize::MAX).await;
    let endpoint = register(
        &admin,
        &failing.url(),
        json!(["subscription.quantity_changed"]),
    )
    .await;
    let id = endpoint["id"].as_str().unwrap();
    let (customer, source) = subscription(&admin).await;
    change_quantity(&admin, &customer, &source, 6).await;

    let disabled = endpoint_when(&admin, id, |e| e["status"] == "disabled").await;
    let reason = disabled["disabledReason"].as_str().unwrap();
    assert!(
        reason.contains("given up") && reason.contains("HTTP 500"),
        "{reason}"
    );
    assert!(disabled["disabledAt"].is_string());
    let tries = failing.received().len();
    assert!(tries >= 2, "retried before giving up: {tries} tries");

    // An event made while it is disabled queues: another endpoint gets it, this one does not.
    let healthy = Receiver::start(0).await;
    register(
        &admin,
        &healthy.url(),
        json!(["subscription.quantity_changed"]),
    )
    .await;
    change_quantity(&admin, &customer, &source, 7).await;
    assert_eq!(
        verified(&healthy.delivered(1).await[0])["data"]["after"]["quantity"],
        7
    );
    assert_eq!(
        failing.received().len(),
        tries,
        "nothing sent while disabled"
    );

    // The partner fixes its receiver, recovers what was given up and enables the endpoint.
    failing.fail_next(0);
    let path = format!("/v1/webhooks/{id}");
    let recover = || {
        admin
            .request(reqwest::Method::POST, &format!("{path}/recover"))
            .send()
    };
    assert_eq!(
        json_ok(recover().await.unwrap()).await,
        json!({"requeued": 1})
    );
    let enabled = admin
        .patch_with(&path, &json!({"status": "enabled"}), &[])
        .await;
    assert_eq!(enabled.status(), StatusCode::OK);
    let enabled: Value = enabled.json().await.unwrap();
    assert_eq!(enabled["status"], "enabled");
    assert_eq!(enabled["disabledReason"], Value::Null);

    let delivered: Vec<Value> = failing.delivered(2).await.iter().map(verified).collect();
    let quantities: Vec<&Value> = delivered
        .iter()
        .map(|e| &e["data"]["after"]["quantity"])
        .collect();
    assert_eq!(quantities, [&json!(6), &json!(7)], "everything, in order");
    assert_eq!(
        json_ok(recover().await.unwrap()).await,
        json!({"requeued": 0})
    );
}

#[tokio::test]
async fn a_partner_can_disable_an_endpoint_and_its_events_wait_until_it_is_enabled() {
    let app = spawn_app().await;
    let admin = app.admin();
    let receiver = Receiver::start(0).await;
    let endpoint = register(&admin, &receiver.url(), json!(["*"])).await;
    let path = format!("/v1/webhooks/{}", endpoint["id"].as_str().unwrap());

    let disabled: Value = admin
        .patch_with(&path, &json!({"status": "disabled"}), &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(disabled["status"], "disabled");
    assert_eq!(disabled["disabledReason"], "disabled by the partner");
    let witness = Receiver::start(0).await;
    register(&admin, &witness.url(), json!(["*"])).await;
    let (customer, source) = subscription(&admin).await;
    change_quantity(&admin, &customer, &source, 6).await;
    witness.delivered(2).await;
    assert!(
        receiver.received().is_empty(),
        "nothing sent while disabled"
    );

    admin
        .patch_with(&path, &json!({"status": "enabled"}), &[])
        .await;
    let kinds: Vec<Value> = receiver
        .delivered(2)
        .await
        .iter()
        .map(|r| verified(r)["type"].clone())
        .collect();
    assert_eq!(
        kinds,
        [
            json!("subscription.created"),
            json!("subscription.quantity_changed")
        ]
    );
}
