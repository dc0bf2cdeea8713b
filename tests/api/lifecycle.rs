//! Changing seats and status over HTTP (docs/subscriptions.md): the rules, the state
//! machine, what happens to licenses, billing previews, history, If-Match and Idempotency-Key.

use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Api, CustomerLock, assert_problem, json_ok, spawn_app, spawn_app_with};

/// A US customer with a 5-seat Business Basic subscription and two licensed users.
struct Fixture {
    customer: String,
    subscription: String,
}

impl Fixture {
    async fn new(admin: &Api<'_>) -> Fixture {
        let customer = admin.customer("US").await;
        let subscription = admin
            .subscription(&customer, "m365-business-basic", 5)
            .await;
        for email in ["ada@contoso.com", "alan@contoso.com"] {
            let user = admin.user(&customer, email).await;
            admin.assign(&customer, &subscription, &user, &[]).await;
        }
        Fixture {
            customer,
            subscription,
        }
    }

    fn path(&self) -> String {
        format!(
            "/v1/customers/{}/subscriptions/{}",
            self.customer, self.subscription
        )
    }
}

async fn change(api: &Api<'_>, path: &str, body: Value) -> reqwest::Response {
    api.patch_with(path, &body, &[]).await
}

/// The kinds of change in the subscription's history, oldest first, after its purchase.
pub async fn history_kinds(api: &Api<'_>, subscription_path: &str) -> Vec<String> {
    let history = json_ok(api.get(&format!("{subscription_path}/history")).await).await;
    let kinds: Vec<String> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["changeKind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(kinds.first().map(String::as_str), Some("created"));
    kinds[1..].to_vec()
}

#[tokio::test]
async fn adding_seats_answers_the_new_quantity_a_prorated_charge_and_a_new_etag() {
    let app = spawn_app().await;
    let admin = app.admin();
    let f = Fixture::new(&admin).await;
    let before = admin.get(&f.path()).await.headers()["etag"].clone();

    let response = change(&admin, &f.path(), json!({"quantity": 8})).await;

    assert_eq!(response.status(), StatusCode::OK);
    let etag = response.headers()["etag"].clone();
    assert_ne!(etag, before);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["quantity"], 8);
    assert_eq!(body["billing"]["currency"], "USD");
    assert_eq!(body["billing"]["credit"], 0);
    let remaining = body["billing"]["remainingDays"].as_i64().unwrap();
    let days = body["billing"]["periodDays"].as_i64().unwrap();
    // 3 seats × 6.00 USD over the remaining days, rounded half to even.
    let exact = 3.0 * 600.0 * remaining as f64 / days as f64;
    let charge = body["billing"]["charge"].as_i64().unwrap();
    assert!((charge as f64 - exact).abs() <= 0.5, "{charge} vs {exact}");
    let read = admin.get(&f.path()).await;
    assert_eq!(read.headers()["etag"], etag);
    assert_eq!(history_kinds(&admin, &f.path()).await, ["quantity_change"]);

    let fewer = json_ok(change(&admin, &f.path(), json!({"quantity": 2})).await).await;
    assert_eq!(fewer["billing"]["charge"], 0);
    assert!(fewer["billing"]["credit"].as_i64().unwrap() > 0);
}

#[tokio::test]
async fn invalid_seat_changes_get_specific_problems_and_write_nothing() {
    let app = spawn_app().await;
    let admin = app.admin();
    let f = Fixture::new(&admin).await;
    admin
        .subscription(&f.customer, "m365-apps-business", 290)
        .await;
    let cases = [
        (
            json!({"quantity": 0}),
            StatusCode::BAD_REQUEST,
            "invalid_quantity",
        ),
        (
            json!({"quantity": 2_000_000}),
            StatusCode::BAD_REQUEST,
            "invalid_quantity",
        ),
        (
            json!({"quantity": 1}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "quantity_below_assigned_licenses",
        ),
        (
            json!({"quantity": 11}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "seat_limit_exceeded",
        ),
        (
            json!({"quantity": 6, "status": "active"}),
            StatusCode::BAD_REQUEST,
            "invalid_change",
        ),
        (json!({}), StatusCode::BAD_REQUEST, "invalid_change"),
        (json!({"seats": 6}), StatusCode::BAD_REQUEST, "invalid_body"),
        (
            json!({"status": "upgraded"}),
            StatusCode::CONFLICT,
            "invalid_status_transition",
        ),
    ];
    for (body, status, code) in cases {
        let response = change(&admin, &f.path(), body.clone()).await;
        assert_eq!(response.status(), status, "{body}");
        assert_problem(response, status, code).await;
    }
    let unchanged = json_ok(admin.get(&f.path()).await).await;
    assert_eq!(unchanged["quantity"], 5);
    assert_eq!(history_kinds(&admin, &f.path()).await, Vec::<String>::new());
    assert_eq!(
        change(&admin, &f.path(), json!({"quantity": 10}))
            .await
            .status(),
        StatusCode::OK,
        "exactly at the family cap"
    );
}

#[tokio::test]
async fn the_state_machine_suspends_reactivates_and_cancels_and_refuses_the_rest() {
    let app = spawn_app().await;
    let admin = app.admin();
    let f = Fixture::new(&admin).await;
    let licenses = format!("{}/license-assignments", f.path());

    let suspended = json_ok(change(&admin, &f.path(), json!({"status": "suspended"})).await).await;
    assert_eq!(suspended["status"], "suspended");
    assert_eq!(suspended["releasedLicenses"], json!([]));
    let kept = json_ok(admin.get(&licenses).await).await;
    assert_eq!(
        kept["items"].as_array().unwrap().len(),
        2,
        "suspension keeps licenses"
    );
    assert_problem(
        change(&admin, &f.path(), json!({"quantity": 6})).await,
        StatusCode::CONFLICT,
        "subscription_not_active",
    )
    .await;

    let again = json_ok(change(&admin, &f.path(), json!({"status": "suspended"})).await).await;
    assert_eq!(
        again["status"], "suspended",
        "asking for the current status changes nothing"
    );
    let active = json_ok(change(&admin, &f.path(), json!({"status": "active"})).await).await;
    assert_eq!(active["status"], "active");

    let cancelled = json_ok(change(&admin, &f.path(), json!({"status": "cancelled"})).await).await;
    assert_eq!(cancelled["status"], "cancelled");
    let released: Vec<&str> = cancelled["releasedLicenses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["email"].as_str().unwrap())
        .collect();
    assert_eq!(released.len(), 2, "{cancelled}");
    assert!(released.contains(&"ada@contoso.com") && released.contains(&"alan@contoso.com"));
    let gone = json_ok(admin.get(&licenses).await).await;
    assert_eq!(gone["items"], json!([]));

    for status in ["active", "suspended"] {
        let problem = assert_problem(
            change(&admin, &f.path(), json!({ "status": status })).await,
            StatusCode::CONFLICT,
            "invalid_status_transition",
        )
        .await;
        let detail = problem["detail"].as_str().unwrap();
        assert!(
            detail.contains("cancelled") && detail.contains(status),
            "{detail}"
        );
    }
    assert_eq!(
        history_kinds(&admin, &f.path()).await,
        ["status_change", "status_change", "status_change"]
    );
}

#[tokio::test]
async fn concurrent_seat_changes_with_the_same_etag_one_wins_the_other_gets_412() {
    let app = spawn_app().await;
    let admin = app.admin();
    let f = Fixture::new(&admin).await;
    let etag = admin.get(&f.path()).await.headers()["etag"]
        .to_str()
        .unwrap()
        .to_owned();

    let attempts = [6, 7].map(|quantity| {
        let api = app.admin();
        let (path, etag) = (f.path(), etag.clone());
        async move {
            api.patch_with(
                &path,
                &json!({ "quantity": quantity }),
                &[("if-match", &etag)],
            )
            .await
            .status()
        }
    });
    let mut statuses = join_all(attempts).await;
    statuses.sort();

    assert_eq!(statuses, [StatusCode::OK, StatusCode::PRECONDITION_FAILED]);
    assert_eq!(history_kinds(&admin, &f.path()).await, ["quantity_change"]);
}

#[tokio::test]
async fn a_replayed_seat_change_answers_the_same_and_changes_once() {
    let app = spawn_app().await;
    let admin = app.admin();
    let f = Fixture::new(&admin).await;
    let key = [("idempotency-key", "add-3-seats")];

    let first = admin
        .patch_with(&f.path(), &json!({"quantity": 8}), &key)
        .await;
    assert_eq!(first.status(), StatusCode::OK);
    let etag = first.headers()["etag"].clone();
    let body = first.bytes().await.unwrap();
    let replay = admin
        .patch_with(&f.path(), &json!({"quantity": 8}), &key)
        .await;

    assert_eq!(replay.status(), StatusCode::OK);
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    assert_eq!(replay.headers()["etag"], etag);
    assert_eq!(replay.bytes().await.unwrap(), body);
    assert_eq!(history_kinds(&admin, &f.path()).await, ["quantity_change"]);
    let other = admin
        .patch_with(&f.path(), &json!({"quantity": 9}), &key)
        .await;
    assert_problem(
        other,
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency_key_reused",
    )
    .await;
}

#[tokio::test]
async fn a_change_waiting_too_long_for_a_locked_customer_is_a_503_and_changes_nothing() {
    let app = spawn_app_with(|settings| settings.db_lock_timeout_ms = 200).await;
    let admin = app.admin();
    let f = Fixture::new(&admin).await;
    let held = CustomerLock::hold(app.database_url(), &f.customer).await;

    let response = change(&admin, &f.path(), json!({"quantity": 8})).await;

    assert!(response.headers().contains_key("retry-after"));
    assert_problem(response, StatusCode::SERVICE_UNAVAILABLE, "lock_timeout").await;
    held.release().await;
    assert_eq!(json_ok(admin.get(&f.path()).await).await["quantity"], 5);
    let retried = json_ok(change(&admin, &f.path(), json!({"quantity": 8})).await).await;
    assert_eq!(retried["quantity"], 8);
}

#[tokio::test]
async fn a_key_is_free_again_as_soon_as_its_answer_arrives() {
    let app = spawn_app().await;
    let admin = app.admin();
    let f = Fixture::new(&admin).await;
    let stored = [("idempotency-key", "seats-to-8")];
    let first = admin
        .patch_with(&f.path(), &json!({"quantity": 8}), &stored)
        .await;
    assert_eq!(first.status(), StatusCode::OK);

    // A refused request and a replay both end their transaction before answering, so a retry
    // sent the moment the answer arrives never finds the key still held (409).
    for round in 0..300 {
        let key = format!("retry-{round}");
        let key = [("idempotency-key", key.as_str())];
        let refused = admin
            .patch_with(&f.path(), &json!({"quantity": 1}), &key)
            .await;
        assert_eq!(
            refused.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "round {round}"
        );
        let corrected = admin
            .patch_with(&f.path(), &json!({"quantity": 8}), &key)
            .await;
        assert_eq!(corrected.status(), StatusCode::OK, "round {round}");
        let replay = admin
            .patch_with(&f.path(), &json!({"quantity": 8}), &stored)
            .await;
        assert_eq!(replay.status(), StatusCode::OK, "round {round}");
        assert_eq!(replay.headers()["idempotent-replayed"], "true");
    }
}
