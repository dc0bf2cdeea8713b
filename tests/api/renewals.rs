//! Terms end: the renewal worker renews an active, auto-renewing subscription once per term
//! whatever the number of instances, expires the others (releasing licenses and add-ons), and
//! records both in the history with their webhook events; a worker killed mid-run leaves nothing
//! renewed twice; `autoRenew` is a change like the others.

use std::process::Stdio;

use chrono::{Months, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{
    Api, ServiceProcess, assert_problem, json_ok, months_ago, spawn_app, token, wait_for_rows,
};
use crate::lifecycle::history_kinds;

fn subscription_path(customer: &str, subscription: &str) -> String {
    format!("/v1/customers/{customer}/subscriptions/{subscription}")
}

/// A subscription whose one-year term started `months` ago.
async fn bought_months_ago(admin: &Api<'_>, customer: &str, months: u32, extra: Value) -> String {
    let mut body = json!({
        "offerId": "m365-business-basic", "quantity": 5, "billingCycle": "monthly",
        "termStart": months_ago(months).to_string(),
    });
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    let created = admin
        .create(&format!("/v1/customers/{customer}/subscriptions"), body)
        .await;
    created["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn due_terms_renew_exactly_once_with_two_instances_working() {
    let app = spawn_app().await;
    let admin = app.admin();
    let customer = admin.customer("US").await;
    let mut due = Vec::new();
    for _ in 0..12 {
        due.push(bought_months_ago(&admin, &customer, 13, json!({})).await);
    }
    let current = bought_months_ago(&admin, &customer, 2, json!({})).await;

    let _first = app.renewing_instance().await;
    let _second = app.renewing_instance().await;
    wait_for_rows(
        app.database_url(),
        "SELECT (count(*) >= 12)::int::bigint FROM subscription_history
          WHERE change_kind = 'renewal'",
        "the twelve due terms were not renewed",
    )
    .await;

    let old_term_end = months_ago(1);
    for subscription in &due {
        let path = format!("/v1/customers/{customer}/subscriptions/{subscription}");
        let renewed = json_ok(admin.get(&path).await).await;
        assert_eq!(renewed["status"], "active");
        assert_eq!(renewed["termStart"], old_term_end.to_string());
        let term_end = old_term_end.checked_add_months(Months::new(12)).unwrap();
        assert_eq!(renewed["termEnd"], term_end.to_string());
        let today = Utc::now().date_naive().to_string();
        assert!(renewed["currentPeriodStart"].as_str().unwrap() <= today.as_str());
        assert!(renewed["currentPeriodEnd"].as_str().unwrap() > today.as_str());
        let kinds = history_kinds(&admin, &subscription_path(&customer, subscription)).await;
        assert_eq!(kinds, ["renewal"], "{subscription}");
    }
    let kinds = history_kinds(&admin, &subscription_path(&customer, &current)).await;
    assert!(
        kinds.is_empty(),
        "a term that has not ended is left alone: {kinds:?}"
    );
}

#[tokio::test]
async fn a_term_without_auto_renewal_or_suspended_at_its_end_expires_and_releases_licenses() {
    let app = spawn_app().await;
    let admin = app.admin();
    let customer = admin.customer("US").await;
    let not_renewing = bought_months_ago(&admin, &customer, 13, json!({"autoRenew": false})).await;
    let user = admin.user(&customer, "ada@contoso.com").await;
    admin.assign(&customer, &not_renewing, &user, &[]).await;
    let platform = app.platform();
    let suspended =
        bought_months_ago(&platform, &customer, 13, json!({"status": "suspended"})).await;

    let _worker = app.renewing_instance().await;
    wait_for_rows(
        app.database_url(),
        "SELECT (count(*) >= 2)::int::bigint FROM subscription_history
          WHERE change_kind = 'expiry'",
        "the two terms did not expire",
    )
    .await;

    let path = format!("/v1/customers/{customer}/subscriptions/{not_renewing}");
    let expired = json_ok(admin.get(&path).await).await;
    assert_eq!(expired["status"], "expired");
    let licenses = json_ok(admin.get(&format!("{path}/license-assignments")).await).await;
    assert_eq!(
        licenses["items"],
        json!([]),
        "licenses are released on expiry"
    );
    let history = json_ok(admin.get(&format!("{path}/history")).await).await;
    let expiry = history["items"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(expiry["changeKind"], "expiry");
    assert_eq!(expiry["after"]["releasedLicenses"][0]["userId"], user);
    let suspended = json_ok(
        admin
            .get(&format!(
                "/v1/customers/{customer}/subscriptions/{suspended}"
            ))
            .await,
    )
    .await;
    assert_eq!(suspended["status"], "expired");

    // Expired is final: no seat change, no status change, no upgrade.
    let seats = admin.patch_with(&path, &json!({"quantity": 6}), &[]).await;
    assert_problem(seats, StatusCode::CONFLICT, "subscription_not_active").await;
    let status = admin
        .patch_with(&path, &json!({"status": "active"}), &[])
        .await;
    assert_problem(status, StatusCode::CONFLICT, "invalid_status_transition").await;
}

#[tokio::test]
async fn auto_renew_is_switched_like_any_change_with_if_match_and_idempotency_key() {
    let app = spawn_app().await;
    let admin = app.admin();
    let customer = admin.customer("US").await;
    let subscription = admin
        .subscription(&customer, "m365-business-basic", 5)
        .await;
    let path = format!("/v1/customers/{customer}/subscriptions/{subscription}");
    let read = admin.get(&path).await;
    let etag = read.headers()["etag"].to_str().unwrap().to_owned();
    assert_eq!(json_ok(read).await["autoRenew"], true);
    let headers = [
        ("if-match", etag.as_str()),
        ("idempotency-key", "stop-renewing"),
    ];

    let changed = admin
        .patch_with(&path, &json!({"autoRenew": false}), &headers)
        .await;
    assert_eq!(changed.status(), StatusCode::OK);
    let new_etag = changed.headers()["etag"].to_str().unwrap().to_owned();
    assert_ne!(new_etag, etag);
    assert_eq!(json_ok(changed).await["autoRenew"], false);
    let replay = admin
        .patch_with(&path, &json!({"autoRenew": false}), &headers)
        .await;
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    let stale = admin
        .patch_with(
            &path,
            &json!({"autoRenew": true}),
            &[("if-match", etag.as_str())],
        )
        .await;
    assert_problem(stale, StatusCode::PRECONDITION_FAILED, "etag_mismatch").await;
    let both = admin
        .patch_with(&path, &json!({"autoRenew": true, "quantity": 6}), &[])
        .await;
    assert_problem(both, StatusCode::BAD_REQUEST, "invalid_change").await;

    let kinds = history_kinds(&admin, &path).await;
    assert_eq!(kinds, ["auto_renew_change"]);
}

#[tokio::test]
async fn renewals_and_expiries_are_webhook_events() {
    let app = spawn_app().await;
    let admin = app.admin();
    admin
        .create(
            "/v1/webhooks",
            json!({"url": "http://127.0.0.1:9/hooks", "events": ["subscription.renewed", "subscription.expired"]}),
        )
        .await;
    let customer = admin.customer("US").await;
    bought_months_ago(&admin, &customer, 13, json!({})).await;
    bought_months_ago(&admin, &customer, 13, json!({"autoRenew": false})).await;

    let _worker = app.renewing_instance().await;

    wait_for_rows(
        app.database_url(),
        "SELECT count(*) FROM webhook_events WHERE event_type = 'subscription.renewed'",
        "no subscription.renewed event",
    )
    .await;
    wait_for_rows(
        app.database_url(),
        "SELECT count(*) FROM webhook_events WHERE event_type = 'subscription.expired'",
        "no subscription.expired event",
    )
    .await;
}

#[tokio::test]
async fn a_worker_killed_mid_run_leaves_every_term_to_end_exactly_once() {
    const DUE: usize = 400;
    let quiet = [("RENEWAL_POLL_SECS", "3600")];
    let setup = ServiceProcess::start(&quiet, Stdio::null()).await;
    let partner = Uuid::new_v4();
    let auth = format!("Bearer {}", token(partner, &["global_admin"]));
    let client = reqwest::Client::new();
    let post = |path: String, body: Value| {
        client
            .post(format!("{}{path}", setup.base))
            .header("authorization", &auth)
            .json(&body)
            .send()
    };
    for _ in 0..DUE / 100 {
        let customer = post(
            "/v1/customers".into(),
            json!({"name": "Due", "market": "US"}),
        )
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        for _ in 0..100 {
            let body = json!({"offerId": "o365-e1", "quantity": 1, "billingCycle": "monthly",
                              "termStart": months_ago(13).to_string()});
            let created = post(format!("/v1/customers/{customer}/subscriptions"), body)
                .await
                .unwrap();
            assert_eq!(created.status(), StatusCode::CREATED);
        }
    }

    // Ends 100 terms a pass, a pass a second: killed when the first ones are in, it is mid-run.
    let renewing = [("RENEWAL_POLL_SECS", "1")];
    let database_url = setup.database_url.clone();
    let mut killed = ServiceProcess::start_on(database_url.clone(), &renewing, Stdio::null()).await;
    wait_for_rows(
        &database_url,
        "SELECT count(*) FROM subscription_history WHERE change_kind = 'renewal'",
        "the first worker renewed nothing",
    )
    .await;
    killed.child.kill().expect("the worker is killed");
    killed.wait();
    let renewed_when_killed = renewals(&database_url).await;
    assert!(
        renewed_when_killed < DUE as i64,
        "the kill came after the run"
    );

    let _next = ServiceProcess::start_on(database_url.clone(), &renewing, Stdio::null()).await;
    wait_for_rows(
        &database_url,
        "SELECT (count(*) >= 400)::int::bigint FROM subscription_history
          WHERE change_kind = 'renewal'",
        "the second worker did not finish the queue",
    )
    .await;
    let pool = sqlx::PgPool::connect(&database_url).await.unwrap();
    let twice: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT subscription_id FROM subscription_history
          WHERE change_kind = 'renewal' GROUP BY subscription_id HAVING count(*) > 1) AS twice",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(twice, 0, "a term was renewed twice");
    assert_eq!(renewals(&database_url).await, DUE as i64);
    pool.close().await;
}

async fn renewals(database_url: &str) -> i64 {
    let pool = sqlx::PgPool::connect(database_url).await.unwrap();
    let count = sqlx::query_scalar(
        "SELECT count(*) FROM subscription_history WHERE change_kind = 'renewal'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    pool.close().await;
    count
}
