//! Notices before a renewal and before a cancellation window closes (docs/renewals.md,
//! "Notices"): each exactly once, with two instances at work and a process killed mid-pass, only
//! the offsets still ahead when the subscription was bought, none to another partner.

use std::time::{Duration, Instant};

use chrono::{Days, Months, Utc};
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

use crate::helpers::{Api, ServiceProcess, TestApp, spawn_app};

/// A Business Basic subscription of `seats` whose term ends `days` from today; its id.
async fn ending_in(admin: &Api<'_>, customer: &str, days: u64) -> String {
    let end = Utc::now().date_naive() + Days::new(days);
    let body = json!({"offerId": "m365-business-basic", "quantity": 2, "billingCycle": "monthly",
                      "termStart": (end - Months::new(12)).to_string()});
    let created = admin
        .create(&format!("/v1/customers/{customer}/subscriptions"), body)
        .await;
    created["id"].as_str().unwrap().to_owned()
}

/// Makes the subscriptions look bought `days` ago (before the offsets now due).
async fn bought_days_ago(pool: &PgPool, ids: &[String], days: i32) {
    let ids: Vec<Uuid> = ids.iter().map(|id| id.parse().unwrap()).collect();
    sqlx::query(
        "UPDATE subscriptions SET created_at = now() - make_interval(days => $2)
          WHERE id = ANY ($1)",
    )
    .bind(&ids)
    .bind(days)
    .execute(pool)
    .await
    .unwrap();
}

/// The notices' events: (subscription, type, daysBefore), sorted.
async fn notice_events(pool: &PgPool) -> Vec<(String, String, i64)> {
    let rows: Vec<(Uuid, String, Value)> = sqlx::query_as(
        "SELECT subscription_id, event_type, payload FROM webhook_events
          WHERE event_type IN ('subscription.renewal_upcoming',
                               'subscription.cancellation_window_closing')",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let mut events: Vec<_> = rows
        .into_iter()
        .map(|(id, kind, payload)| {
            let days = payload["data"]["daysBefore"].as_i64().unwrap();
            (id.to_string(), kind, days)
        })
        .collect();
    events.sort();
    events
}

/// Waits until `count` notices are recorded.
async fn notices_recorded(pool: &PgPool, count: i64) {
    let started = Instant::now();
    loop {
        let recorded: i64 = sqlx::query_scalar("SELECT count(*) FROM renewal_notices")
            .fetch_one(pool)
            .await
            .unwrap();
        if recorded >= count {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{recorded} of {count} notices"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn endpoint(api: &Api<'_>) {
    api.create(
        "/v1/webhooks",
        json!({"url": "https://hooks.example.invalid/notices",
               "events": ["subscription.renewal_upcoming",
                          "subscription.cancellation_window_closing"]}),
    )
    .await;
}

#[tokio::test]
async fn each_notice_goes_out_exactly_once_with_two_instances_and_only_offsets_still_ahead() {
    let app = spawn_app().await;
    let pool = PgPool::connect(app.database_url()).await.unwrap();
    let admin = app.admin();
    endpoint(&admin).await;
    let customer = admin.customer("US").await;
    // Bought 60 days ago, its term ending in 5 days: the 30- and 7-day notices are due.
    let long_held = ending_in(&admin, &customer, 5).await;
    bought_days_ago(&pool, std::slice::from_ref(&long_held), 60).await;
    // Bought now, ending in 5 days: inside both offsets, so neither is sent (the 1-day one comes).
    let just_bought = ending_in(&admin, &customer, 5).await;
    // Its purchase window closes in two hours.
    let closing = ending_in(&admin, &customer, 200).await;
    sqlx::query(
        "UPDATE subscriptions SET cancellation_window_ends_at = now() + interval '2 hours'
          WHERE id = $1::uuid",
    )
    .bind(&closing)
    .execute(&pool)
    .await
    .unwrap();
    // Another partner's subscription, due the same way, with its own endpoint.
    let other = app.api(Uuid::new_v4(), &["global_admin"]);
    endpoint(&other).await;
    let theirs_customer = other.customer("US").await;
    let theirs = ending_in(&other, &theirs_customer, 3).await;
    bought_days_ago(&pool, std::slice::from_ref(&theirs), 60).await;

    let (_one, _two) = (app.renewing_instance().await, app.renewing_instance().await);
    notices_recorded(&pool, 5).await;
    // A notice that becomes due later proves later passes ran: still one event per notice.
    let later = ending_in(&admin, &customer, 20).await;
    bought_days_ago(&pool, std::slice::from_ref(&later), 60).await;
    notices_recorded(&pool, 6).await;

    let window = "subscription.cancellation_window_closing".to_owned();
    let upcoming = "subscription.renewal_upcoming".to_owned();
    let mut expected = vec![
        (long_held.clone(), upcoming.clone(), 30),
        (long_held.clone(), upcoming.clone(), 7),
        (closing.clone(), window, 1),
        (theirs.clone(), upcoming.clone(), 30),
        (theirs.clone(), upcoming.clone(), 7),
        (later.clone(), upcoming, 30),
    ];
    expected.sort();
    assert_eq!(notice_events(&pool).await, expected);
    assert!(
        !notice_events(&pool)
            .await
            .iter()
            .any(|(id, ..)| *id == just_bought)
    );
    // Each partner's endpoint gets its own partner's notices only.
    let crossed: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM webhook_deliveries d
           JOIN webhook_events e ON e.seq = d.event_seq
          WHERE d.partner_id <> e.partner_id",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(crossed, 0);
    pool.close().await;
}

#[tokio::test]
async fn a_process_killed_mid_pass_leaves_no_notice_lost_or_doubled() {
    let app: TestApp = spawn_app().await;
    let pool = PgPool::connect(app.database_url()).await.unwrap();
    let admin = app.admin();
    endpoint(&admin).await;
    let customer = admin.customer("US").await;
    let mut due = Vec::new();
    for _ in 0..40 {
        due.push(ending_in(&admin, &customer, 3).await);
    }
    bought_days_ago(&pool, &due, 60).await;
    let env = [("RENEWAL_POLL_SECS", "1")];
    let url = app.database_url().to_owned();
    let mut first = ServiceProcess::start_on(url.clone(), &env, std::process::Stdio::null()).await;
    // Killed (SIGKILL, no shutdown) as soon as its pass has sent a first notice.
    notices_recorded(&pool, 1).await;
    first.child.kill().unwrap();
    first.wait();
    let _second = ServiceProcess::start_on(url, &env, std::process::Stdio::null()).await;
    // Two notices each (30 and 7 days before).
    notices_recorded(&pool, 80).await;
    let events = notice_events(&pool).await;
    let mut expected: Vec<(String, String, i64)> = due
        .iter()
        .flat_map(|id| {
            let kind = "subscription.renewal_upcoming".to_owned();
            [(id.clone(), kind.clone(), 30), (id.clone(), kind, 7)]
        })
        .collect();
    expected.sort();
    assert_eq!(events, expected);
    pool.close().await;
}
