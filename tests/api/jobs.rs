//! Bulk upgrade jobs over HTTP (docs/upgrade-jobs.md): accepted at once, each item processed as
//! one single upgrade by the workers of every instance, exactly once even when an instance is
//! killed, fairly between partners; progress by GET and as an event stream read by a real
//! client; results per item; cancellation; refusals before anything is queued; tenancy.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::{Duration, Instant};

use futures::StreamExt;
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use subscription_upgrades::config::Settings;

use crate::helpers::{
    Api, CustomerLock, ServiceProcess, assert_invariants, assert_problem, json_ok, snapshot,
    spawn_app, spawn_app_with, spawn_demo_app, token, wait_for_a_lock_wait, wait_for_lock_waits,
    wait_for_rows,
};

/// Submits a job; answers its id after checking the 202 and its `Location`.
async fn submit(api: &Api<'_>, body: &Value) -> String {
    let response = api.post("/v1/upgrade-jobs", body).await;
    let status = response.status();
    let location = response.headers().get("location").cloned();
    let job: Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    let id = job["id"].as_str().unwrap().to_owned();
    assert_eq!(
        location.unwrap().to_str().unwrap(),
        format!("/v1/upgrade-jobs/{id}")
    );
    id
}

/// Polls the job until it has ended; answers it.
async fn ended(api: &Api<'_>, id: &str) -> Value {
    let started = Instant::now();
    loop {
        let job = json_ok(api.get(&format!("/v1/upgrade-jobs/{id}")).await).await;
        if job["status"] == "completed" || job["status"] == "cancelled" {
            return job;
        }
        assert!(started.elapsed() < Duration::from_secs(120), "{job}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Every item of the job (following the pages), only those with `outcome` when given.
async fn items(api: &Api<'_>, id: &str, outcome: Option<&str>) -> Vec<Value> {
    let mut all = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut path = format!("/v1/upgrade-jobs/{id}/items?limit=200");
        if let Some(outcome) = outcome {
            path.push_str(&format!("&outcome={outcome}"));
        }
        if let Some(token) = &token {
            path.push_str(&format!("&continuationToken={token}"));
        }
        let page = json_ok(api.get(&path).await).await;
        all.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["continuationToken"].as_str() {
            Some(next) => token = Some(next.to_owned()),
            None => return all,
        }
    }
}

fn item(customer: &str, subscription: &str, target: &str) -> Value {
    json!({"customerId": customer, "subscriptionId": subscription, "targetOfferId": target})
}

/// A customer with full admin rights and `count` Business Basic subscriptions of 2 seats.
async fn customer_with(admin: &Api<'_>, count: usize) -> (String, Vec<String>) {
    let customer = admin.customer("US").await;
    admin.relationship(&customer, &["*"]).await;
    let mut subscriptions = Vec::new();
    for _ in 0..count {
        subscriptions.push(
            admin
                .subscription(&customer, "m365-business-basic", 2)
                .await,
        );
    }
    (customer, subscriptions)
}

#[tokio::test]
async fn listed_items_are_each_one_single_upgrade_and_others_ids_fail_as_not_found() {
    let app = spawn_app().await;
    let admin = app.admin();
    let (customer, subscriptions) = customer_with(&admin, 3).await;
    let add_on_path = format!(
        "/v1/customers/{customer}/subscriptions/{}/add-ons",
        subscriptions[2]
    );
    admin
        .create(
            &add_on_path,
            json!({"offerId": "teams-audio-conferencing", "quantity": 1}),
        )
        .await;
    let others = app.api(Uuid::new_v4(), &["global_admin"]);
    let (their_customer, theirs) = customer_with(&others, 1).await;
    let body = json!({"items": [
        item(&customer, &subscriptions[0], "o365-e3"),
        item(&customer, &subscriptions[1], "o365-e3"),
        item(&customer, &subscriptions[2], "o365-e3"),
        item(&their_customer, &theirs[0], "o365-e3"),
        item(&Uuid::new_v4().to_string(), &theirs[0], "o365-e3"),
        item(&customer, &Uuid::new_v4().to_string(), "o365-e3"),
    ]});

    let id = submit(&admin, &body).await;
    let job = ended(&admin, &id).await;

    assert_eq!(job["status"], "completed");
    assert_eq!(
        job["counts"],
        json!({"succeeded": 1, "notEligible": 2, "failed": 3, "skipped": 0, "pending": 0}),
        "the second and third upgrades to E3 find the first's target"
    );
    assert_eq!(job["percent"], 100.0);
    let all = items(&admin, &id, None).await;
    assert_eq!(all.len(), 6);
    assert_eq!(all[0]["outcome"], "succeeded");
    assert_eq!(all[0]["result"]["targetOfferId"], "o365-e3");
    let target = all[0]["result"]["targetSubscriptionId"].as_str().unwrap();
    let upgraded = json_ok(
        admin
            .get(&format!(
                "/v1/customers/{customer}/subscriptions/{}",
                subscriptions[0]
            ))
            .await,
    )
    .await;
    assert_eq!(upgraded["upgradedTo"], target);
    let failure_codes = |item: &Value| -> Vec<String> {
        item["problem"]["failures"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["code"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(all[1]["problem"]["code"], "upgrade_not_eligible");
    assert!(failure_codes(&all[1]).contains(&"target_already_owned".to_owned()));
    assert_eq!(all[2]["problem"]["code"], "upgrade_not_eligible");
    assert!(failure_codes(&all[2]).contains(&"add_ons_present".to_owned()));
    // Another partner's customer, and a customer that does not exist: the same answer.
    assert_eq!(all[3]["problem"]["code"], "customer_not_found");
    assert_eq!(all[4]["problem"]["code"], "customer_not_found");
    assert_eq!(all[3]["problem"]["status"], all[4]["problem"]["status"]);
    assert_eq!(all[5]["problem"]["code"], "subscription_not_found");
    let failed = items(&admin, &id, Some("failed")).await;
    assert_eq!(failed.len(), 3);
    let theirs_now = json_ok(
        others
            .get(&format!(
                "/v1/customers/{their_customer}/subscriptions/{}",
                theirs[0]
            ))
            .await,
    )
    .await;
    assert_eq!(theirs_now["status"], "active", "never touched");
    assert_invariants(app.database_url()).await;
}

/// A selection over the demo data upgrades exactly what the subscriptions' own listings call
/// eligible, and reports every other with the very failing conditions the listing gives.
#[tokio::test]
async fn a_selection_over_the_demo_data_upgrades_exactly_the_eligible_subscriptions() {
    let app = spawn_demo_app().await;
    let contoso = app.api(
        "a0000000-0000-4000-8000-000000000001".parse().unwrap(),
        &["global_admin"],
    );
    let target = "o365-e1";
    let body =
        json!({"selection": {"sourceOfferId": "m365-business-basic", "targetOfferId": target}});
    let dry = submit(
        &contoso,
        &json!({"selection": body["selection"], "dryRun": true}),
    )
    .await;
    let dry_items = items(&contoso, &dry, None).await;
    assert!(dry_items.len() >= 3, "{dry_items:?}");
    let mut expected = BTreeMap::new();
    for item in &dry_items {
        let (customer, subscription) = (
            item["customerId"].as_str().unwrap(),
            item["subscriptionId"].as_str().unwrap(),
        );
        let path = format!("/v1/customers/{customer}/subscriptions/{subscription}/upgrades");
        let options = json_ok(contoso.get(&path).await).await;
        let option = options["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["targetOfferId"] == target)
            .unwrap()
            .clone();
        let codes: Vec<Value> = option["failures"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["code"].clone())
            .collect();
        expected.insert(subscription.to_owned(), (option["eligible"].clone(), codes));
    }
    assert!(expected.values().any(|(eligible, _)| eligible == true));
    assert!(expected.values().any(|(eligible, _)| eligible == false));

    let id = submit(&contoso, &body).await;
    ended(&contoso, &id).await;
    for item in items(&contoso, &id, None).await {
        let (eligible, codes) = &expected[item["subscriptionId"].as_str().unwrap()];
        if eligible == true {
            assert_eq!(item["outcome"], "succeeded", "{item}");
        } else {
            assert_eq!(item["outcome"], "not_eligible", "{item}");
            let got: Vec<Value> = item["problem"]["failures"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["code"].clone())
                .collect();
            assert_eq!(&got, codes, "{item}");
        }
    }
    assert_invariants(app.database_url()).await;
}

#[tokio::test]
async fn a_dry_run_job_reports_each_item_and_changes_nothing() {
    let app = spawn_app().await;
    let admin = app.admin();
    let (customer, subscriptions) = customer_with(&admin, 2).await;
    let user = admin.user(&customer, "ada@contoso.com").await;
    admin.assign(&customer, &subscriptions[0], &user, &[]).await;
    let tables = |mut rows: BTreeMap<String, String>| {
        rows.retain(|table, _| !table.starts_with("upgrade_job"));
        rows
    };
    let before = tables(snapshot(&app).await);

    let body = json!({"dryRun": true, "items": [
        item(&customer, &subscriptions[0], "o365-e1"),
        item(&customer, &subscriptions[1], "o365-e1"),
    ]});
    let id = submit(&admin, &body).await;
    let job = ended(&admin, &id).await;

    assert_eq!(job["counts"]["succeeded"], 2);
    assert_eq!(tables(snapshot(&app).await), before, "nothing changed");
    let all = items(&admin, &id, None).await;
    let first = &all[0]["result"];
    assert_eq!(first["dryRun"], true);
    assert_eq!(first["upgradeId"], Value::Null);
    assert_eq!(first["billing"]["currency"], "USD");
    assert_eq!(
        first["accountsRequiringReassignment"][0]["reasons"][0]["code"], "service_removed",
        "Ada would lose Bookings"
    );
}

#[tokio::test]
async fn an_invalid_job_is_refused_before_anything_is_queued() {
    let app = spawn_app().await;
    let admin = app.admin();
    let id = Uuid::new_v4().to_string();
    let many: Vec<Value> = (0..10_001).map(|_| item(&id, &id, "o365-e1")).collect();
    let cases = [
        (
            json!({"items": many}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "too_many_items",
        ),
        (
            json!({"selection": {"sourceOfferId": "m365-business-basic", "targetOfferId": "o365-e1",
                                 "customerIds": vec![id.clone(); 1_001]}}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "too_many_customer_ids",
        ),
        (
            json!({"items": [item(&id, &id, "no-such-offer")]}),
            StatusCode::BAD_REQUEST,
            "unknown_offer",
        ),
        (
            json!({"selection": {"sourceOfferId": "nope", "targetOfferId": "o365-e1"}}),
            StatusCode::BAD_REQUEST,
            "unknown_offer",
        ),
        (
            json!({"selection": {"sourceOfferId": "m365-business-basic", "targetOfferId": "o365-e1", "market": "FR"}}),
            StatusCode::BAD_REQUEST,
            "unknown_market",
        ),
        (
            json!({"items": []}),
            StatusCode::BAD_REQUEST,
            "invalid_body",
        ),
        (json!({}), StatusCode::BAD_REQUEST, "invalid_body"),
        (
            json!({"items": [item(&id, &id, "o365-e1")], "selection": {"sourceOfferId": "m365-business-basic", "targetOfferId": "o365-e1"}}),
            StatusCode::BAD_REQUEST,
            "invalid_body",
        ),
    ];
    let before = snapshot(&app).await;
    for (body, status, code) in cases {
        assert_problem(admin.post("/v1/upgrade-jobs", &body).await, status, code).await;
    }
    assert_eq!(snapshot(&app).await, before, "nothing queued");
    let readers = app.api(app.partner, &["platform"]);
    assert_problem(
        readers
            .post(
                "/v1/upgrade-jobs",
                &json!({"items": [item(&id, &id, "o365-e1")]}),
            )
            .await,
        StatusCode::FORBIDDEN,
        "role_not_allowed",
    )
    .await;
}

#[tokio::test]
async fn a_retried_creation_with_the_same_key_gets_the_same_job() {
    let app = spawn_app().await;
    let admin = app.admin();
    let (customer, subscriptions) = customer_with(&admin, 1).await;
    let body = json!({"dryRun": true, "items": [item(&customer, &subscriptions[0], "o365-e1")]});
    let key = [("idempotency-key", "job-1")];
    let first = admin.post_with("/v1/upgrade-jobs", &body, &key).await;
    assert_eq!(first.status(), StatusCode::ACCEPTED);
    let first: Value = first.json().await.unwrap();
    let again = admin.post_with("/v1/upgrade-jobs", &body, &key).await;
    assert_eq!(again.status(), StatusCode::ACCEPTED);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["id"], first["id"]);
    let other = json!({"items": [item(&customer, &subscriptions[0], "o365-e3")]});
    assert_problem(
        admin.post_with("/v1/upgrade-jobs", &other, &key).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency_key_reused",
    )
    .await;
    let done = ended(&admin, first["id"].as_str().unwrap()).await;
    let listed = json_ok(admin.get("/v1/upgrade-jobs").await).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    assert_eq!(listed["items"][0]["counts"], done["counts"]);
    assert_eq!(listed["items"][0]["counts"]["succeeded"], 1);
}

/// Another partner can neither see nor cancel the job: everything about it is 404, as for a job
/// that does not exist.
#[tokio::test]
async fn another_partner_cannot_see_or_cancel_the_job() {
    let app = spawn_app().await;
    let admin = app.admin();
    let (customer, subscriptions) = customer_with(&admin, 1).await;
    let body = json!({"dryRun": true, "items": [item(&customer, &subscriptions[0], "o365-e1")]});
    let id = submit(&admin, &body).await;
    let stranger = app.api(Uuid::new_v4(), &["global_admin"]);
    for path in [
        format!("/v1/upgrade-jobs/{id}"),
        format!("/v1/upgrade-jobs/{id}/items"),
        format!("/v1/upgrade-jobs/{id}/events"),
    ] {
        assert_problem(
            stranger.get(&path).await,
            StatusCode::NOT_FOUND,
            "job_not_found",
        )
        .await;
    }
    assert_problem(
        stranger
            .post(&format!("/v1/upgrade-jobs/{id}/cancel"), &json!({}))
            .await,
        StatusCode::NOT_FOUND,
        "job_not_found",
    )
    .await;
    let theirs = json_ok(stranger.get("/v1/upgrade-jobs").await).await;
    assert_eq!(theirs["items"], json!([]));
    assert_eq!(ended(&admin, &id).await["counts"]["succeeded"], 1);
}

mod cancel;
mod limits;
mod plans;
mod running;
mod streams;

/// A job's end is an event for the partner's webhooks (`upgrade_job.completed`), with its counts.
#[tokio::test]
async fn a_job_that_ends_is_announced_to_the_partners_webhooks() {
    let app = spawn_app().await;
    let admin = app.admin();
    admin
        .create(
            "/v1/webhooks",
            json!({"url": "https://hooks.contoso.example/jobs", "events": ["upgrade_job.completed"]}),
        )
        .await;
    let (customer, subscriptions) = customer_with(&admin, 1).await;
    let body = json!({"dryRun": true, "items": [item(&customer, &subscriptions[0], "o365-e1")]});
    let id = submit(&admin, &body).await;
    ended(&admin, &id).await;

    let pool = sqlx::PgPool::connect(app.database_url()).await.unwrap();
    let payloads: Vec<Value> = sqlx::query_scalar(
        "SELECT e.payload FROM webhook_events e JOIN webhook_deliveries d ON d.event_seq = e.seq
          WHERE e.event_type = 'upgrade_job.completed'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    pool.close().await;
    assert_eq!(payloads.len(), 1, "one event, queued for the endpoint");
    assert_eq!(payloads[0]["data"]["jobId"], id.as_str());
    assert_eq!(payloads[0]["data"]["status"], "completed");
    assert_eq!(payloads[0]["data"]["counts"]["succeeded"], 1);
}

/// A job `atTermEnd` schedules each upgrade for its subscription's term end, as
/// `POST .../scheduled-change` does, and upgrades nothing now.
#[tokio::test]
async fn a_term_end_job_schedules_each_upgrade() {
    let app = spawn_app().await;
    let admin = app.admin();
    let (customer, subscriptions) = customer_with(&admin, 1).await;
    let body = json!({"atTermEnd": true,
                      "items": [item(&customer, &subscriptions[0], "o365-e1")]});
    let id = submit(&admin, &body).await;
    let job = ended(&admin, &id).await;
    assert_eq!(job["counts"]["succeeded"], 1, "{job}");

    let result = &items(&admin, &id, None).await[0]["result"];
    assert_eq!(result["kind"], "upgrade");
    assert_eq!(result["targetOfferId"], "o365-e1");
    let path = format!(
        "/v1/customers/{customer}/subscriptions/{}",
        subscriptions[0]
    );
    let scheduled = json_ok(admin.get(&format!("{path}/scheduled-change")).await).await;
    assert_eq!(scheduled["id"], result["id"]);
    assert_eq!(scheduled["effectiveDate"], result["effectiveDate"]);
    let subscription = json_ok(admin.get(&path).await).await;
    assert_eq!(subscription["status"], "active", "nothing upgraded now");
}

/// An item's `result` is its single request's answer byte for byte: a dry-run job's item and the
/// same dry run asked directly, for an upgrade and for a term-end job's scheduled change.
#[tokio::test]
async fn an_items_result_is_its_single_requests_answer_byte_for_byte() {
    let app = spawn_app().await;
    let admin = app.admin();
    let (customer, subscriptions) = customer_with(&admin, 1).await;
    let path = format!(
        "/v1/customers/{customer}/subscriptions/{}",
        subscriptions[0]
    );
    for (at_term_end, single) in [(false, "upgrades"), (true, "scheduled-change")] {
        let body = json!({"dryRun": true, "atTermEnd": at_term_end,
                          "items": [item(&customer, &subscriptions[0], "o365-e3")]});
        let id = submit(&admin, &body).await;
        assert_eq!(ended(&admin, &id).await["counts"]["succeeded"], 1);
        let page = admin.get(&format!("/v1/upgrade-jobs/{id}/items")).await;
        let page = page.text().await.unwrap();

        let asked = json!({"targetOfferId": "o365-e3", "dryRun": true});
        let answer = admin.post(&format!("{path}/{single}"), &asked).await;
        assert_eq!(answer.status(), StatusCode::OK);
        let answer = answer.text().await.unwrap();
        let answer = answer
            .strip_suffix('\n')
            .expect("every answer ends with a newline");
        assert!(
            page.contains(&format!("\"result\":{answer},")),
            "{single}: the item's result is not the answer\n{page}\n{answer}"
        );
    }
}
