//! Performing upgrades over HTTP: the effects (docs/upgrades.md), dry runs, idempotency, ETags,
//! history, concurrency (one process and two) and a failure in the middle of the transaction.

use std::collections::BTreeMap;

use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::helpers::{Api, CustomerLock, TestApp, assert_problem, json_ok, snapshot, spawn_app};

/// A US customer with full admin rights and a 5-seat Business Basic subscription, two users
/// licensed from it (Alan with Bookings switched off).
struct Fixture {
    customer: String,
    source: String,
    ada: String,
    alan: String,
}

impl Fixture {
    async fn new(admin: &Api<'_>) -> Fixture {
        let customer = admin.customer("US").await;
        admin.relationship(&customer, &["*"]).await;
        let source = admin
            .subscription(&customer, "m365-business-basic", 5)
            .await;
        let ada = admin.user(&customer, "ada@contoso.com").await;
        let alan = admin.user(&customer, "alan@contoso.com").await;
        admin.assign(&customer, &source, &ada, &[]).await;
        admin.assign(&customer, &source, &alan, &["BOOKINGS"]).await;
        Fixture {
            customer,
            source,
            ada,
            alan,
        }
    }

    fn customer_path(&self) -> String {
        format!("/v1/customers/{}", self.customer)
    }

    fn subscription_path(&self, id: &str) -> String {
        format!("/v1/customers/{}/subscriptions/{id}", self.customer)
    }

    fn upgrades_path(&self) -> String {
        format!("{}/upgrades", self.subscription_path(&self.source))
    }
}

async fn count_targets(app: &TestApp, source: &str) -> i64 {
    let pool = PgPool::connect(app.database_url()).await.unwrap();
    let count = sqlx::query_scalar(
        "SELECT count(*) FROM subscriptions WHERE upgraded_from_id = $1::text::uuid",
    )
    .bind(source)
    .fetch_one(&pool)
    .await
    .unwrap();
    pool.close().await;
    count
}

async fn created(response: reqwest::Response) -> (String, Value) {
    let status = response.status();
    let location = response
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_owned());
    let text = response.text().await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "{text}");
    (
        location.expect("Location"),
        serde_json::from_str(&text).unwrap(),
    )
}

#[tokio::test]
async fn an_upgrade_creates_a_coterminous_target_retires_the_source_and_moves_the_licenses() {
    let app = spawn_app().await;
    let admin = app.admin();
    let f = Fixture::new(&admin).await;
    let before = json_ok(admin.get(&f.subscription_path(&f.source)).await).await;

    let (location, result) = created(
        admin
            .post_with(
                &f.upgrades_path(),
                &json!({"targetOfferId": "m365-business-standard"}),
                &[("x-request-id", "req-upgrade-1")],
            )
            .await,
    )
    .await;

    let target = result["targetSubscriptionId"].as_str().unwrap().to_owned();
    assert_eq!(result["sourceSubscriptionId"], f.source.as_str());
    assert_eq!(result["upgradeType"], "upgrade_with_license_transfer");
    assert_eq!(result["quantity"], 5, "the source's quantity by default");
    assert_eq!(result["transferredUsers"], 2);
    assert_eq!(result["accountsRequiringReassignment"], json!([]));
    assert_eq!(result["dryRun"], false);
    assert_eq!(result["billing"]["currency"], "USD");
    let upgrade_id = result["upgradeId"].as_str().unwrap();
    assert_eq!(
        location,
        format!("{}/upgrades/{upgrade_id}", f.customer_path())
    );

    let source = json_ok(admin.get(&f.subscription_path(&f.source)).await).await;
    assert_eq!(source["status"], "upgraded");
    assert_eq!(source["upgradedTo"], target.as_str());
    let new = json_ok(admin.get(&f.subscription_path(&target)).await).await;
    assert_eq!(new["offerId"], "m365-business-standard");
    assert_eq!(new["status"], "active");
    assert_eq!(new["quantity"], 5);
    assert_eq!(new["upgradedFrom"], f.source.as_str());
    assert_eq!(new["currentPeriodEnd"], before["currentPeriodEnd"]);
    assert_eq!(new["termEnd"], before["termEnd"], "co-terminous");

    let moved = json_ok(
        admin
            .get(&format!(
                "{}/license-assignments",
                f.subscription_path(&target)
            ))
            .await,
    )
    .await;
    let users: BTreeMap<&str, Value> = moved["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["userId"].as_str().unwrap(), a["disabledServices"].clone()))
        .collect();
    let expected = BTreeMap::from([
        (f.ada.as_str(), json!([])),
        (f.alan.as_str(), json!(["BOOKINGS"])),
    ]);
    assert_eq!(users, expected);
    let left = json_ok(
        admin
            .get(&format!(
                "{}/license-assignments",
                f.subscription_path(&f.source)
            ))
            .await,
    )
    .await;
    assert_eq!(left["items"], json!([]));

    let record = json_ok(admin.get(&location).await).await;
    assert_eq!(record["result"], result);
    assert_eq!(record["requestId"], "req-upgrade-1");
    assert_eq!(record["performedBy"]["roles"], json!(["global_admin"]));
    let history = json_ok(admin.get(&format!("{}/upgrades", f.customer_path())).await).await;
    assert_eq!(history["items"].as_array().unwrap().len(), 1);
    assert_eq!(history["items"][0]["id"], upgrade_id);

    let admin = &admin;
    let history = |id: &str| {
        let path = format!("{}/history", f.subscription_path(id));
        async move { json_ok(admin.get(&path).await).await["items"].clone() }
    };
    let source_history = history(&f.source).await;
    let kinds: Vec<&str> = source_history
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["changeKind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["created", "upgrade"]);
    let upgrade = &source_history[1];
    assert_eq!(upgrade["requestId"], "req-upgrade-1");
    assert_eq!(upgrade["before"]["status"], "active");
    assert_eq!(upgrade["after"]["status"], "upgraded");
    let target_history = history(&target).await;
    assert_eq!(target_history.as_array().unwrap().len(), 1);
    assert_eq!(target_history[0]["changeKind"], "created");
    assert_eq!(target_history[0]["requestId"], "req-upgrade-1");
    assert_eq!(target_history[0]["after"]["upgradeId"], upgrade_id);
}

#[tokio::test]
async fn an_ineligible_upgrade_lists_every_failing_condition_and_writes_nothing() {
    let app = spawn_app().await;
    let admin = app.admin();
    let customer = admin.customer("US").await;
    let source = admin
        .subscription(&customer, "m365-business-basic", 5)
        .await;
    admin.subscription(&customer, "o365-e1", 2).await;
    let before = snapshot(&app).await;

    let response = admin
        .post(
            &format!("/v1/customers/{customer}/subscriptions/{source}/upgrades"),
            &json!({"targetOfferId": "o365-e1", "quantity": 0}),
        )
        .await;

    let problem = assert_problem(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "upgrade_not_eligible",
    )
    .await;
    let codes: Vec<&str> = problem["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        [
            "delegated_admin_missing",
            "target_already_owned",
            "seat_limit_exceeded"
        ]
    );
    assert!(
        problem["failures"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["message"].is_string() && f["remedy"].is_string())
    );
    assert_eq!(snapshot(&app).await, before);
}

#[tokio::test]
async fn a_dry_run_answers_what_the_upgrade_would_do_and_leaves_every_table_unchanged() {
    let app = spawn_app().await;
    let admin = app.admin();
    let f = Fixture::new(&admin).await;
    let body = json!({"targetOfferId": "o365-e1", "quantity": 1, "dryRun": true});
    let before = snapshot(&app).await;

    let response = admin.post(&f.upgrades_path(), &body).await;

    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers().get("location").is_none());
    let dry: Value = response.json().await.unwrap();
    assert_eq!(snapshot(&app).await, before);
    assert_eq!(dry["dryRun"], true);
    assert_eq!(dry["upgradeId"], Value::Null);
    assert_eq!(dry["targetSubscriptionId"], Value::Null);

    let (_, real) = created(
        admin
            .post(
                &f.upgrades_path(),
                &json!({"targetOfferId": "o365-e1", "quantity": 1}),
            )
            .await,
    )
    .await;
    let strip = |mut v: Value| {
        for field in ["upgradeId", "targetSubscriptionId", "dryRun"] {
            v.as_object_mut().unwrap().remove(field);
        }
        v
    };
    assert_eq!(strip(dry), strip(real));
}

#[tokio::test]
async fn a_replay_with_the_same_idempotency_key_returns_the_first_answer_and_creates_nothing() {
    let app = spawn_app().await;
    let admin = app.admin();
    let f = Fixture::new(&admin).await;
    let body = json!({"targetOfferId": "o365-e1"});
    let key = [("idempotency-key", "retry-1")];

    let first = admin.post_with(&f.upgrades_path(), &body, &key).await;
    assert_eq!(first.status(), StatusCode::CREATED);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let location = first.headers()["location"].clone();
    let first_body = first.bytes().await.unwrap();
    let after_first = snapshot(&app).await;

    let replay = admin.post_with(&f.upgrades_path(), &body, &key).await;

    assert_eq!(replay.status(), StatusCode::CREATED);
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    assert_eq!(replay.headers()["location"], location);
    assert_eq!(replay.bytes().await.unwrap(), first_body);
    assert_eq!(snapshot(&app).await, after_first);
    assert_eq!(count_targets(&app, &f.source).await, 1);

    let other_body = admin
        .post_with(
            &f.upgrades_path(),
            &json!({"targetOfferId": "o365-e1", "quantity": 3}),
            &key,
        )
        .await;
    assert_problem(
        other_body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency_key_reused",
    )
    .await;
    let fresh_key = admin
        .post_with(&f.upgrades_path(), &body, &[("idempotency-key", "retry-2")])
        .await;
    assert_problem(
        fresh_key,
        StatusCode::CONFLICT,
        "subscription_already_upgraded",
    )
    .await;
}

#[tokio::test]
async fn a_retry_while_the_first_request_is_running_gets_409_then_the_stored_answer() {
    let app = spawn_app().await;
    let admin = app.admin();
    let f = Fixture::new(&admin).await;
    let body = json!({"targetOfferId": "o365-e1"});
    let key = [("idempotency-key", "slow-1")];
    // Hold the customer's row so that the first request stops inside its transaction, holding
    // the key.
    let pool = PgPool::connect(app.database_url()).await.unwrap();
    let blocker = CustomerLock::hold(app.database_url(), &f.customer).await;
    let first = async {
        admin
            .post_with(&f.upgrades_path(), &body, &key)
            .await
            .status()
    };
    let retry_meanwhile = async {
        let holding_key = "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database
                           WHERE l.locktype = 'advisory' AND l.granted AND d.datname = current_database()";
        while sqlx::query_scalar::<_, i64>(holding_key)
            .fetch_one(&pool)
            .await
            .unwrap()
            == 0
        {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        let retry = admin.post_with(&f.upgrades_path(), &body, &key).await;
        assert_problem(retry, StatusCode::CONFLICT, "idempotency_key_in_use").await;
        blocker.release().await;
    };
    let (first, ()) = tokio::join!(first, retry_meanwhile);

    assert_eq!(first, StatusCode::CREATED);
    let replay = admin.post_with(&f.upgrades_path(), &body, &key).await;
    assert_eq!(replay.status(), StatusCode::CREATED);
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    assert_eq!(count_targets(&app, &f.source).await, 1);
}

#[tokio::test]
async fn a_client_that_gives_up_mid_upgrade_leaves_all_or_nothing_and_its_retry_gets_the_answer() {
    let app = spawn_app().await;
    let admin = app.admin();
    let f = Fixture::new(&admin).await;
    let body = json!({"targetOfferId": "o365-e1"});
    let blocker = CustomerLock::hold(app.database_url(), &f.customer).await;

    let impatient = reqwest::Client::builder()
        .timeout(std::time::Duration::from_millis(300))
        .build()
        .unwrap();
    let gave_up = impatient
        .post(format!("{}{}", app.address, f.upgrades_path()))
        .bearer_auth(crate::helpers::token(app.partner, &["global_admin"]))
        .header("idempotency-key", "dropped-1")
        .json(&body)
        .send()
        .await;
    assert!(gave_up.is_err_and(|e| e.is_timeout()));
    blocker.release().await;

    let key = [("idempotency-key", "dropped-1")];
    let started = std::time::Instant::now();
    let retry = loop {
        let retry = admin.post_with(&f.upgrades_path(), &body, &key).await;
        if retry.status() != StatusCode::CONFLICT || started.elapsed().as_secs() > 10 {
            break retry;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(retry.status(), StatusCode::CREATED);
    let result: Value = retry.json().await.unwrap();
    let source = json_ok(admin.get(&f.subscription_path(&f.source)).await).await;
    assert_eq!(source["status"], "upgraded");
    assert_eq!(source["upgradedTo"], result["targetSubscriptionId"]);
    assert_eq!(count_targets(&app, &f.source).await, 1);
}

#[tokio::test]
async fn idempotency_keys_are_scoped_per_partner() {
    let app = spawn_app().await;
    let mine = Fixture::new(&app.admin()).await;
    let other_partner = app.api(uuid::Uuid::new_v4(), &["global_admin"]);
    let theirs = Fixture::new(&other_partner).await;
    let key = [("idempotency-key", "shared-key")];
    let body = json!({"targetOfferId": "o365-e1"});

    created(
        app.admin()
            .post_with(&mine.upgrades_path(), &body, &key)
            .await,
    )
    .await;
    let response = other_partner
        .post_with(&theirs.upgrades_path(), &body, &key)
        .await;

    assert_eq!(response.status(), StatusCode::CREATED);
    assert!(response.headers().get("idempotent-replayed").is_none());
}

#[tokio::test]
async fn malformed_idempotency_keys_and_if_match_headers_are_refused() {
    let app = spawn_app().await;
    let admin = app.admin();
    let f = Fixture::new(&admin).await;
    let body = json!({"targetOfferId": "o365-e1"});
    let long = "k".repeat(256);
    let cases: [(&str, &str, &str); 4] = [
        ("idempotency-key", "", "invalid_idempotency_key"),
        ("idempotency-key", &long, "invalid_idempotency_key"),
        ("idempotency-key", "with space", "invalid_idempotency_key"),
        ("if-match", "no-quotes", "invalid_if_match"),
    ];
    for (name, value, code) in cases {
        let response = admin
            .post_with(&f.upgrades_path(), &body, &[(name, value)])
            .await;
        assert_problem(response, StatusCode::BAD_REQUEST, code).await;
    }
    assert_eq!(count_targets(&app, &f.source).await, 0);
}

#[tokio::test]
async fn a_stale_if_match_gets_412_and_changes_nothing() {
    let app = spawn_app().await;
    let admin = app.admin();
    let f = Fixture::new(&admin).await;
    let path = f.subscription_path(&f.source);
    let etag = admin.get(&path).await.headers()["etag"]
        .to_str()
        .unwrap()
        .to_owned();
    let stale = etag.replace("-1\"", "-0\"");
    assert_ne!(stale, etag);
    let body = json!({"targetOfferId": "o365-e1"});
    let before = snapshot(&app).await;

    let response = admin
        .post_with(&f.upgrades_path(), &body, &[("if-match", &stale)])
        .await;
    let problem = assert_problem(response, StatusCode::PRECONDITION_FAILED, "etag_mismatch").await;
    assert!(problem["detail"].as_str().unwrap().contains(&etag));
    assert_eq!(snapshot(&app).await, before);

    let weak = format!("W/{etag}");
    let response = admin
        .post_with(&f.upgrades_path(), &body, &[("if-match", &weak)])
        .await;
    assert_eq!(
        response.status(),
        StatusCode::PRECONDITION_FAILED,
        "If-Match compares strongly"
    );

    let current = format!("{stale}, {etag}");
    created(
        admin
            .post_with(&f.upgrades_path(), &body, &[("if-match", &current)])
            .await,
    )
    .await;
    let after = admin.get(&path).await.headers()["etag"].clone();
    assert_ne!(
        after.to_str().unwrap(),
        etag,
        "the upgrade changed the ETag"
    );
}

#[tokio::test]
async fn twenty_concurrent_upgrades_of_one_subscription_make_exactly_one_target() {
    let app = spawn_app().await;
    let f = Fixture::new(&app.admin()).await;
    let body = json!({"targetOfferId": "m365-business-standard"});

    let attempts = (0..20).map(|_| {
        let api = app.admin();
        let path = f.upgrades_path();
        let body = body.clone();
        async move {
            let response = api.post(&path, &body).await;
            let status = response.status();
            let problem: Value = response.json().await.unwrap();
            (status, problem["code"].as_str().map(str::to_owned))
        }
    });
    let outcomes = join_all(attempts).await;

    let wins = outcomes
        .iter()
        .filter(|(s, _)| *s == StatusCode::CREATED)
        .count();
    assert_eq!(wins, 1, "{outcomes:?}");
    for (status, code) in outcomes.iter().filter(|(s, _)| *s != StatusCode::CREATED) {
        assert_eq!(*status, StatusCode::CONFLICT, "{code:?}");
        assert_eq!(code.as_deref(), Some("subscription_already_upgraded"));
    }
    assert_eq!(count_targets(&app, &f.source).await, 1);
}

#[tokio::test]
async fn two_subscriptions_of_one_customer_upgraded_to_one_target_at_once_only_one_succeeds() {
    let app = spawn_app().await;
    let second_process = app.another_instance().await;
    let admin = app.admin();
    let customer = admin.customer("US").await;
    admin.relationship(&customer, &["*"]).await;
    let mut sources = Vec::new();
    for _ in 0..4 {
        sources.push(
            admin
                .subscription(&customer, "m365-business-basic", 2)
                .await,
        );
    }

    let attempts = sources.iter().enumerate().map(|(i, source)| {
        let api = if i % 2 == 0 {
            app.admin()
        } else {
            second_process.admin()
        };
        let path = format!("/v1/customers/{customer}/subscriptions/{source}/upgrades");
        async move {
            let response = api.post(&path, &json!({"targetOfferId": "o365-e1"})).await;
            let status = response.status();
            (status, response.json::<Value>().await.unwrap())
        }
    });
    let outcomes = join_all(attempts).await;

    let wins = outcomes
        .iter()
        .filter(|(s, _)| *s == StatusCode::CREATED)
        .count();
    assert_eq!(wins, 1, "{outcomes:?}");
    for (status, problem) in outcomes.iter().filter(|(s, _)| *s != StatusCode::CREATED) {
        assert_eq!(*status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            problem["failures"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["code"] == "target_already_owned"),
            "{problem}"
        );
    }
}

#[tokio::test]
async fn concurrent_upgrades_through_two_processes_make_exactly_one_target() {
    let app = spawn_app().await;
    let second_process = app.another_instance().await;
    let f = Fixture::new(&app.admin()).await;
    let body = json!({"targetOfferId": "o365-e1"});

    let attempts = (0..10).map(|i| {
        let api = if i % 2 == 0 {
            app.admin()
        } else {
            second_process.admin()
        };
        let path = f.upgrades_path();
        let body = body.clone();
        async move { api.post(&path, &body).await.status() }
    });
    let statuses = join_all(attempts).await;

    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CREATED)
            .count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::CREATED || *s == StatusCode::CONFLICT)
    );
    assert_eq!(count_targets(&app, &f.source).await, 1);
}

#[tokio::test]
async fn a_failure_in_the_middle_of_the_transaction_leaves_no_trace() {
    let app = spawn_app().await;
    let admin = app.admin();
    let f = Fixture::new(&admin).await;
    // The history row is written after the target, the source and the licenses: refusing it
    // fails the upgrade after everything else has been written inside the transaction.
    let pool = PgPool::connect(app.database_url()).await.unwrap();
    sqlx::query(
        "ALTER TABLE subscription_history ADD CONSTRAINT test_refuses_upgrades
         CHECK (change_kind <> 'upgrade')",
    )
    .execute(&pool)
    .await
    .unwrap();
    let before = snapshot(&app).await;

    let response = admin
        .post(&f.upgrades_path(), &json!({"targetOfferId": "o365-e1"}))
        .await;

    assert_problem(
        response,
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal_error",
    )
    .await;
    assert_eq!(snapshot(&app).await, before);
    let source = json_ok(admin.get(&f.subscription_path(&f.source)).await).await;
    assert_eq!(source["status"], "active");
}

#[tokio::test]
async fn an_upgrade_only_path_moves_nobody_and_lists_every_user() {
    let app = spawn_app().await;
    let admin = app.admin();
    let customer = admin.customer("US").await;
    admin.relationship(&customer, &["*"]).await;
    let source = admin.subscription(&customer, "m365-apps-business", 3).await;
    let user = admin.user(&customer, "grace@contoso.com").await;
    admin.assign(&customer, &source, &user, &[]).await;

    let (_, result) = created(
        admin
            .post(
                &format!("/v1/customers/{customer}/subscriptions/{source}/upgrades"),
                &json!({"targetOfferId": "o365-e3"}),
            )
            .await,
    )
    .await;

    assert_eq!(result["upgradeType"], "upgrade_only");
    assert_eq!(result["transferredUsers"], 0);
    let accounts = result["accountsRequiringReassignment"].as_array().unwrap();
    assert_eq!(accounts.len(), 1);
    assert_eq!(accounts[0]["userId"], user.as_str());
    assert_eq!(accounts[0]["email"], "grace@contoso.com");
    assert_eq!(accounts[0]["reasons"][0]["code"], "upgrade_only_path");
    let left = json_ok(
        admin
            .get(&format!(
                "/v1/customers/{customer}/subscriptions/{source}/license-assignments"
            ))
            .await,
    )
    .await;
    assert_eq!(
        left["items"].as_array().unwrap().len(),
        1,
        "the license stays until reassigned"
    );
}

#[tokio::test]
async fn upgrade_history_pages_through_the_partners_upgrades_only() {
    let app = spawn_app().await;
    let admin = app.admin();
    let customer = admin.customer("US").await;
    admin.relationship(&customer, &["*"]).await;
    let mut ids = Vec::new();
    for target in ["o365-e1", "m365-apps-enterprise", "o365-e5"] {
        let offer = match target {
            "m365-apps-enterprise" => "m365-apps-business",
            "o365-e5" => "m365-business-standard",
            _ => "m365-business-basic",
        };
        let source = admin.subscription(&customer, offer, 1).await;
        let (_, result) = created(
            admin
                .post(
                    &format!("/v1/customers/{customer}/subscriptions/{source}/upgrades"),
                    &json!({"targetOfferId": target}),
                )
                .await,
        )
        .await;
        ids.push(result["upgradeId"].as_str().unwrap().to_owned());
    }

    let path = format!("/v1/customers/{customer}/upgrades?limit=2");
    let first = json_ok(admin.get(&path).await).await;
    let token = first["continuationToken"].as_str().unwrap();
    let second = json_ok(
        admin
            .get(&format!("{path}&continuationToken={token}"))
            .await,
    )
    .await;
    let listed: Vec<&str> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .chain(second["items"].as_array().unwrap())
        .map(|u| u["id"].as_str().unwrap())
        .collect();
    assert_eq!(listed, ids);
    assert_eq!(second["continuationToken"], Value::Null);
    let missing = admin
        .get(&format!(
            "/v1/customers/{customer}/upgrades/{}",
            uuid::Uuid::new_v4()
        ))
        .await;
    assert_problem(missing, StatusCode::NOT_FOUND, "upgrade_not_found").await;
}

#[tokio::test]
async fn an_expired_idempotency_key_is_forgotten_and_may_be_used_afresh() {
    let app = spawn_app().await;
    let admin = app.admin();
    let f = Fixture::new(&admin).await;
    let key = [("idempotency-key", "daily-run")];
    created(
        admin
            .post_with(
                &f.upgrades_path(),
                &json!({"targetOfferId": "o365-e1"}),
                &key,
            )
            .await,
    )
    .await;
    let pool = PgPool::connect(app.database_url()).await.unwrap();
    sqlx::query("UPDATE idempotency_records SET expires_at = now() - interval '1 second'")
        .execute(&pool)
        .await
        .unwrap();
    let another = admin
        .subscription(&f.customer, "m365-apps-business", 1)
        .await;

    let response = admin
        .post_with(
            &format!("{}/upgrades", f.subscription_path(&another)),
            &json!({"targetOfferId": "m365-apps-enterprise"}),
            &key,
        )
        .await;

    assert_eq!(response.status(), StatusCode::CREATED);
    assert!(response.headers().get("idempotent-replayed").is_none());
    let records: Vec<String> =
        sqlx::query_scalar("SELECT response_body::text FROM idempotency_records")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(records.len(), 1, "the expired record was replaced");
}
