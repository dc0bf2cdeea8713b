//! Jobs while they run: progress as an event stream, cancellation mid-run, a killed instance,
//! and fairness between partners.

use super::*;

/// Parses a `text/event-stream` body into (event name, data) pairs.
fn parse_events(text: &str) -> Vec<(String, Value)> {
    text.split("\n\n")
        .filter_map(|block| {
            let mut name = None;
            let mut data = String::new();
            for line in block.lines() {
                if let Some(value) = line.strip_prefix("event:") {
                    name = Some(value.trim().to_owned());
                } else if let Some(value) = line.strip_prefix("data:") {
                    data.push_str(value.trim_start());
                }
            }
            Some((name?, serde_json::from_str(&data).ok()?))
        })
        .collect()
}

/// The stream is read as it arrives by a real HTTP client: a `progress` event while the job is
/// held at its first item, then, once it runs to the end, an `end` event, and the stream closes.
#[tokio::test]
async fn the_event_stream_shows_progress_until_the_job_ends_and_then_closes() {
    let app = spawn_app().await;
    let admin = app.admin();
    let (customer, subscriptions) = customer_with(&admin, 1).await;
    let lock = CustomerLock::hold(app.database_url(), &customer).await;
    let body = json!({"dryRun": true,
        "items": (0..20).map(|_| item(&customer, &subscriptions[0], "o365-e1")).collect::<Vec<_>>()});
    let id = submit(&admin, &body).await;
    wait_for_a_lock_wait(app.database_url(), "the job never reached its first item").await;

    let response = app
        .client
        .get(format!("{}/v1/upgrade-jobs/{id}/events", app.address))
        .bearer_auth(token(app.partner, &["global_admin"]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut response = response;
    let mut text = String::new();
    while !text.contains("\n\n") {
        let chunk = tokio::time::timeout(Duration::from_secs(10), response.chunk())
            .await
            .expect("the first event comes at once")
            .unwrap()
            .expect("the stream is open");
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    let first = parse_events(&text);
    assert_eq!(first[0].0, "progress");
    assert_eq!(first[0].1["status"], "running");
    assert_eq!(first[0].1["counts"]["pending"], 20);
    lock.release().await;
    while let Some(chunk) = tokio::time::timeout(Duration::from_secs(30), response.chunk())
        .await
        .expect("events keep coming until the end")
        .unwrap()
    {
        text.push_str(&String::from_utf8_lossy(&chunk));
    }

    let events = parse_events(&text);
    let (last, rest) = events.split_last().unwrap();
    assert_eq!(last.0, "end");
    assert_eq!(last.1["status"], "completed");
    assert_eq!(last.1["counts"]["succeeded"], 20);
    assert!(rest.iter().all(|(name, _)| name == "progress"));
    let percents: Vec<f64> = events
        .iter()
        .map(|(_, job)| job["percent"].as_f64().unwrap())
        .collect();
    assert!(percents.windows(2).all(|w| w[0] <= w[1]), "{percents:?}");
}

/// Cancelling while an item is in flight: the items done stay done, the one in flight finishes,
/// the pending ones are skipped and their subscriptions untouched.
#[tokio::test]
async fn cancel_skips_the_pending_items_and_keeps_those_done() {
    let app = spawn_app_with(|settings| {
        settings.job_workers = 1;
        settings.job_batch = 1;
        settings.db_lock_timeout_ms = 60_000;
    })
    .await;
    let admin = app.admin();
    let mut listed = Vec::new();
    for _ in 0..5 {
        let (customer, subscriptions) = customer_with(&admin, 1).await;
        listed.push((customer, subscriptions[0].clone()));
    }
    let lock = CustomerLock::hold(app.database_url(), &listed[2].0).await;
    let body =
        json!({"items": listed.iter().map(|(c, s)| item(c, s, "o365-e1")).collect::<Vec<_>>()});
    let id = submit(&admin, &body).await;
    wait_for_a_lock_wait(app.database_url(), "the job never reached its third item").await;

    let cancel = format!("/v1/upgrade-jobs/{id}/cancel");
    let cancelled = json_ok(admin.post(&cancel, &json!({})).await).await;
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(
        cancelled["counts"],
        json!({"succeeded": 2, "notEligible": 0, "failed": 0, "skipped": 2, "pending": 1})
    );
    lock.release().await;
    wait_for_rows(
        app.database_url(),
        "SELECT count(*) FROM upgrade_job_items WHERE seq = 3 AND outcome = 'succeeded'",
        "the item in flight never finished",
    )
    .await;

    let job = json_ok(admin.get(&format!("/v1/upgrade-jobs/{id}")).await).await;
    assert_eq!(job["counts"]["succeeded"], 3);
    assert_eq!(job["counts"]["skipped"], 2);
    for (n, (customer, subscription)) in listed.iter().enumerate() {
        let path = format!("/v1/customers/{customer}/subscriptions/{subscription}");
        let status = json_ok(admin.get(&path).await).await["status"].clone();
        let expected = if n < 3 { "upgraded" } else { "active" };
        assert_eq!(status, expected, "item {}", n + 1);
    }
    let again = json_ok(admin.post(&cancel, &json!({})).await).await;
    assert_eq!(
        again["status"], "cancelled",
        "cancelling again answers the job as it is"
    );
}

/// An item whose lease ends while it waits for its customer is taken by another instance; once
/// the customer is free, the first worker's transaction rolls back (its outcome cannot be written
/// without the lease) and the item is upgraded once, by its new holder, and recorded succeeded.
#[tokio::test]
async fn an_item_whose_lease_ended_in_flight_is_upgraded_once_by_its_next_holder() {
    let settings = |settings: &mut Settings| {
        settings.job_workers = 1;
        settings.job_batch = 1;
        settings.job_lease_secs = 1;
        settings.job_poll_ms = 50;
        settings.db_lock_timeout_ms = 60_000;
    };
    let app = spawn_app_with(settings).await;
    let admin = app.admin();
    let (customer, subscriptions) = customer_with(&admin, 1).await;
    let lock = CustomerLock::hold(app.database_url(), &customer).await;
    let id = submit(
        &admin,
        &json!({"items": [item(&customer, &subscriptions[0], "o365-e1")]}),
    )
    .await;
    wait_for_a_lock_wait(
        app.database_url(),
        "the first worker never reached the item",
    )
    .await;
    let _second = app.another_instance_with(settings).await;
    wait_for_rows(
        app.database_url(),
        "SELECT count(*) FROM upgrade_job_items WHERE attempts = 2",
        "the item was never taken again once its lease ended",
    )
    .await;
    wait_for_lock_waits(
        app.database_url(),
        2,
        "the second worker never reached the item",
    )
    .await;
    lock.release().await;
    wait_for_rows(
        app.database_url(),
        "SELECT count(*) FROM upgrade_jobs WHERE status = 'completed'",
        "the job never ended",
    )
    .await;

    let job = json_ok(admin.get(&format!("/v1/upgrade-jobs/{id}")).await).await;
    assert_eq!(job["counts"]["succeeded"], 1, "{job}");
    let done = items(&admin, &id, None).await;
    let upgrade_id = done[0]["result"]["upgradeId"].as_str().unwrap().to_owned();
    let pool = sqlx::PgPool::connect(app.database_url()).await.unwrap();
    let upgrades: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM upgrades")
        .fetch_all(&pool)
        .await
        .unwrap();
    let source_changes: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM subscription_history WHERE change_kind = 'upgrade'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    pool.close().await;
    assert_eq!(upgrades.len(), 1, "one upgrade, not two");
    assert_eq!(
        upgrades[0].to_string(),
        upgrade_id,
        "the item's answer is that upgrade's"
    );
    assert_eq!(
        source_changes, 1,
        "one history entry for the retired source"
    );
    let path = format!(
        "/v1/customers/{customer}/subscriptions/{}",
        subscriptions[0]
    );
    assert_eq!(json_ok(admin.get(&path).await).await["status"], "upgraded");
    assert_invariants(app.database_url()).await;
}

/// A job of 1,000 upgrades processed by two instances, one of them killed (`SIGKILL`) mid-run:
/// the other finishes the job, and every subscription is upgraded exactly once.
#[tokio::test]
async fn a_job_survives_a_killed_instance_and_upgrades_each_subscription_once() {
    const ITEMS: usize = 1_000;
    let workers = [
        ("JOB_WORKERS", "4"),
        ("JOB_LEASE_SECS", "2"),
        ("JOB_POLL_MS", "50"),
        ("JOB_BATCH", "4"),
    ];
    let first = ServiceProcess::start(&[("JOB_WORKERS", "0")], Stdio::null()).await;
    let partner = Uuid::new_v4();
    let bearer = token(partner, &["global_admin"]);
    let client = reqwest::Client::new();
    let post = |path: String, body: Value| {
        let request = client
            .post(format!("{}{path}", first.base))
            .bearer_auth(&bearer)
            .json(&body);
        async move {
            let response = request.send().await.unwrap();
            assert!(response.status().is_success(), "{}", response.status());
            response.json::<Value>().await.unwrap()
        }
    };
    let setup = futures::stream::iter(0..ITEMS)
        .map(|_| async {
            let customer = post(
                "/v1/customers".into(),
                json!({"name": "Bulk", "market": "US"}),
            )
            .await;
            let customer = customer["id"].as_str().unwrap().to_owned();
            let path = format!("/v1/customers/{customer}");
            post(
                format!("{path}/delegated-admin-relationships"),
                json!({"status": "active", "startsAt": "2020-01-01T00:00:00Z",
                       "endsAt": "2099-01-01T00:00:00Z", "services": ["*"]}),
            )
            .await;
            let subscription = post(
                format!("{path}/subscriptions"),
                json!({"offerId": "m365-business-basic", "quantity": 2, "billingCycle": "monthly"}),
            )
            .await;
            item(&customer, subscription["id"].as_str().unwrap(), "o365-e1")
        })
        .buffer_unordered(16)
        .collect::<Vec<Value>>()
        .await;
    let job = post("/v1/upgrade-jobs".into(), json!({"items": setup})).await;
    let id = job["id"].as_str().unwrap().to_owned();

    let database_url = first.database_url.clone();
    let mut killed = ServiceProcess::start_on(database_url.clone(), &workers, Stdio::null()).await;
    let _survivor = ServiceProcess::start_on(database_url.clone(), &workers, Stdio::null()).await;
    wait_for_rows(
        &database_url,
        "SELECT count(*) FROM (SELECT 1 FROM upgrade_job_items WHERE outcome = 'succeeded'
                                OFFSET 99 LIMIT 1) AS hundredth",
        "the job never got going",
    )
    .await;
    killed.child.kill().expect("the instance is killed");
    killed.wait();

    let started = Instant::now();
    let job = loop {
        let job: Value = client
            .get(format!("{}/v1/upgrade-jobs/{id}", first.base))
            .bearer_auth(&bearer)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if job["status"] == "completed" {
            break job;
        }
        assert!(started.elapsed() < Duration::from_secs(120), "{job}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(job["counts"]["succeeded"], ITEMS, "{job}");
    let pool = sqlx::PgPool::connect(&database_url).await.unwrap();
    let upgrades: i64 = sqlx::query_scalar("SELECT count(*) FROM upgrades")
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    assert_eq!(upgrades, ITEMS as i64, "no double upgrade");
    assert_invariants(&database_url).await;
}

/// While one partner's big job runs, another partner's small one is served at once: it ends
/// while the big one still has items pending.
#[tokio::test]
async fn a_big_job_does_not_hold_back_another_partners_small_one() {
    let app = spawn_app().await;
    let big = app.admin();
    let (customer, subscriptions) = customer_with(&big, 4).await;
    let many: Vec<Value> = (0..2_000)
        .map(|n| item(&customer, &subscriptions[n % 4], "o365-e1"))
        .collect();
    let big_job = submit(&big, &json!({"dryRun": true, "items": many})).await;
    let small = app.api(Uuid::new_v4(), &["global_admin"]);
    let (customer, subscriptions) = customer_with(&small, 1).await;
    let few: Vec<Value> = (0..10)
        .map(|_| item(&customer, &subscriptions[0], "o365-e1"))
        .collect();
    let submitted = Instant::now();
    let small_job = submit(&small, &json!({"dryRun": true, "items": few})).await;

    let done = ended(&small, &small_job).await;
    let waited = submitted.elapsed();
    assert_eq!(done["counts"]["succeeded"], 10);
    let still = json_ok(big.get(&format!("/v1/upgrade-jobs/{big_job}")).await).await;
    assert!(
        still["counts"]["pending"].as_i64().unwrap() > 0,
        "the small job ended after the big one: {still}"
    );
    assert!(waited < Duration::from_secs(5), "{waited:?}");
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(metrics.contains("upgrade_job_items_total{outcome=\"succeeded\"}"));
    assert!(metrics.contains("upgrade_job_queue_depth"));
}
