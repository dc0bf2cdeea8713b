//! Bulk next-term instructions over HTTP (docs/upgrade-jobs.md, "Next-term instructions"): a
//! term-end job's items carry an offer, seats or `"assigned"`, and a plan; selections take a
//! term-end window; dry runs report each item's next-term price and seats; the renewal counts the
//! licenses assigned on its own day. Every amount is computed here from the catalog's price
//! (Business Basic, US: 6.00 USD per seat per month, 7.20 on P1M).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::Utc;
use futures::StreamExt;
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{Api, assert_problem, json_ok, months_ago, spawn_app};

const BASIC_US: i64 = 600;
const STANDARD_US: i64 = 1250;

/// A Business Basic subscription of `quantity` seats whose one-year term started `months` ago.
async fn bought(admin: &Api<'_>, customer: &str, quantity: i64, months: u32) -> String {
    let body = json!({
        "offerId": "m365-business-basic", "quantity": quantity, "billingCycle": "monthly",
        "termStart": months_ago(months).to_string(),
    });
    let created = admin
        .create(&format!("/v1/customers/{customer}/subscriptions"), body)
        .await;
    created["id"].as_str().unwrap().to_owned()
}

/// Submits the job and waits for it to complete; the job.
async fn completed(admin: &Api<'_>, body: &Value) -> Value {
    let response = admin.post("/v1/upgrade-jobs", body).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let job: Value = response.json().await.unwrap();
    let id = job["id"].as_str().unwrap().to_owned();
    let started = Instant::now();
    loop {
        let job = json_ok(admin.get(&format!("/v1/upgrade-jobs/{id}")).await).await;
        if job["status"] == "completed" {
            return job;
        }
        assert!(started.elapsed() < Duration::from_secs(180), "{job}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Every item of the job.
async fn items(admin: &Api<'_>, id: &str) -> Vec<Value> {
    let mut all = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut path = format!("/v1/upgrade-jobs/{id}/items?limit=200");
        if let Some(token) = &token {
            path.push_str(&format!("&continuationToken={token}"));
        }
        let page = json_ok(admin.get(&path).await).await;
        all.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["continuationToken"].as_str() {
            Some(next) => token = Some(next.to_owned()),
            None => return all,
        }
    }
}

/// Waits until `count` terms have been renewed, however long the renewal passes take.
async fn renewed(database_url: &str, count: i64) {
    let pool = sqlx::PgPool::connect(database_url).await.unwrap();
    let started = Instant::now();
    loop {
        let done: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM subscription_history WHERE change_kind = 'renewal'",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        if done >= count {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(240),
            "{done} of {count} terms renewed"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    pool.close().await;
}

#[tokio::test]
async fn a_right_sizing_job_over_1000_subscriptions_renews_each_with_the_licenses_assigned_then() {
    const CUSTOMERS: usize = 20;
    const PER_CUSTOMER: usize = 50;
    let app = spawn_app().await;
    let admin = app.admin();

    // 20 customers with 3 users each and 50 subscriptions of 5 seats whose term ends today;
    // subscription i holds i mod 4 licenses. Two more per customer end in six months.
    let mut customers = Vec::new();
    for _ in 0..CUSTOMERS {
        let customer = admin.customer("US").await;
        admin.relationship(&customer, &["*"]).await;
        let mut users = Vec::new();
        for _ in 0..3 {
            let email = format!("{}@example.com", Uuid::new_v4());
            users.push(admin.user(&customer, &email).await);
        }
        customers.push((customer, users));
    }
    let admin = &admin;
    let due: Vec<(String, String, usize)> = futures::stream::iter(
        customers
            .iter()
            .flat_map(|(customer, _)| (0..PER_CUSTOMER).map(move |i| (customer.clone(), i))),
    )
    .map(|(customer, i)| async move {
        let subscription = bought(admin, &customer, 5, 12).await;
        (customer, subscription, i % 4)
    })
    .buffer_unordered(16)
    .collect()
    .await;
    let users: BTreeMap<&str, &Vec<String>> =
        customers.iter().map(|(c, u)| (c.as_str(), u)).collect();
    let assignments = due.iter().flat_map(|(customer, subscription, held)| {
        users[customer.as_str()][..*held]
            .iter()
            .map(move |user| (customer, subscription, user))
    });
    futures::stream::iter(assignments)
        .for_each_concurrent(16, |(customer, subscription, user)| async move {
            admin.assign(customer, subscription, user, &[]).await;
        })
        .await;
    let mut later = Vec::new();
    for (customer, _) in &customers {
        for _ in 0..2 {
            later.push((customer.clone(), bought(admin, customer, 5, 6).await));
        }
    }

    let today = Utc::now().date_naive().to_string();
    let job = completed(
        admin,
        &json!({"atTermEnd": true, "selection": {
            "sourceOfferId": "m365-business-basic",
            "termEndFrom": months_ago(0).to_string(), "termEndTo": today,
            "quantity": "assigned"}}),
    )
    .await;
    assert_eq!(job["totalItems"], CUSTOMERS * PER_CUSTOMER, "{job}");
    assert_eq!(
        job["counts"]["succeeded"],
        CUSTOMERS * PER_CUSTOMER,
        "{job}"
    );
    assert_eq!(job["definition"]["selection"]["quantity"], "assigned");
    let listed = items(admin, job["id"].as_str().unwrap()).await;
    let held: BTreeMap<&str, usize> = due
        .iter()
        .map(|(_, subscription, held)| (subscription.as_str(), *held))
        .collect();
    for item in &listed {
        let subscription = item["subscriptionId"].as_str().unwrap();
        assert_eq!(item["quantityRule"], "assigned");
        let result = &item["result"];
        assert_eq!(result["kind"], "quantity", "{item}");
        assert_eq!(result["quantityRule"], "assigned");
        // As things stand when scheduled: one seat per license, at least one.
        assert_eq!(result["quantity"], held[subscription].max(1), "{item}");
    }

    // Between the job and the renewal, every subscription holding one license gains a second:
    // the renewal counts the licenses of its own day.
    let grown: Vec<&(String, String, usize)> =
        due.iter().filter(|(_, _, held)| *held == 1).collect();
    for (customer, subscription, _) in &grown {
        admin
            .assign(customer, subscription, &users[customer.as_str()][1], &[])
            .await;
    }

    let _worker = app.renewing_instance().await;
    renewed(app.database_url(), (CUSTOMERS * PER_CUSTOMER) as i64).await;
    let finals: Vec<(Value, usize)> = futures::stream::iter(due.iter())
        .map(|(customer, subscription, held)| async move {
            let path = format!("/v1/customers/{customer}/subscriptions/{subscription}");
            let held = if *held == 1 { 2 } else { *held };
            (json_ok(admin.get(&path).await).await, held)
        })
        .buffer_unordered(16)
        .collect()
        .await;
    for (subscription, held) in finals {
        assert_eq!(subscription["quantity"], held.max(1), "{subscription}");
        assert_eq!(subscription["status"], "active");
    }
    for (customer, subscription) in &later {
        let path = format!("/v1/customers/{customer}/subscriptions/{subscription}");
        let untouched = json_ok(admin.get(&path).await).await;
        assert_eq!(untouched["quantity"], 5, "outside the window: not selected");
        let change = admin.get(&format!("{path}/scheduled-change")).await;
        assert_eq!(change.status(), StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn a_dry_run_term_end_job_reports_each_items_next_term_price_and_seats() {
    let app = spawn_app().await;
    let admin = app.admin();
    let customer = admin.customer("US").await;
    admin.relationship(&customer, &["*"]).await;
    let first = bought(&admin, &customer, 5, 3).await;
    let second = bought(&admin, &customer, 8, 3).await;
    let user = admin.user(&customer, "one@example.com").await;
    admin.assign(&customer, &second, &user, &[]).await;
    let item = |subscription: &str, instruction: Value| {
        let mut item = json!({"customerId": customer, "subscriptionId": subscription});
        for (key, value) in instruction.as_object().unwrap() {
            item[key] = value.clone();
        }
        item
    };
    let job = completed(
        &admin,
        &json!({"atTermEnd": true, "dryRun": true, "items": [
            item(&first, json!({"quantity": 2, "termDuration": "P1M", "billingCycle": "monthly"})),
            item(&second, json!({"quantity": "assigned", "targetOfferId": "m365-business-standard"})),
        ]}),
    )
    .await;
    assert_eq!(job["counts"]["succeeded"], 2, "{job}");
    let listed = items(&admin, job["id"].as_str().unwrap()).await;
    let first_result = &listed[0]["result"];
    assert_eq!(first_result["dryRun"], true);
    assert_eq!(first_result["quantity"], 2);
    // P1M: 20 % more than the annual term's 6.00, a month in full.
    assert_eq!(first_result["nextTermUnitPrice"], 720);
    assert_eq!(first_result["billingPreview"]["charge"], 2 * 720);
    let second_result = &listed[1]["result"];
    assert_eq!(second_result["kind"], "upgrade");
    assert_eq!(second_result["quantity"], 1, "one license assigned");
    assert_eq!(second_result["quantityRule"], "assigned");
    // Business Standard's catalog price in the US, 12.50, is its one-year price.
    assert_eq!(second_result["nextTermUnitPrice"], STANDARD_US);
    assert_eq!(second_result["billingPreview"]["charge"], STANDARD_US);
    for path in [&first, &second] {
        let change = admin
            .get(&format!(
                "/v1/customers/{customer}/subscriptions/{path}/scheduled-change"
            ))
            .await;
        assert_eq!(
            change.status(),
            StatusCode::NOT_FOUND,
            "a dry run schedules nothing"
        );
    }

    // Next-term instructions belong to term-end jobs; an item must ask for something.
    for (body, code) in [
        (
            json!({"items": [item(&first, json!({"targetOfferId": "m365-business-standard",
                                                   "quantity": "assigned"}))]}),
            "invalid_body",
        ),
        (
            json!({"items": [item(&first, json!({"termDuration": "P1Y",
                                                   "billingCycle": "annual"}))]}),
            "invalid_body",
        ),
        (
            json!({"atTermEnd": true, "items": [item(&first, json!({}))]}),
            "invalid_body",
        ),
        (
            json!({"atTermEnd": true, "items": [item(&first, json!({"quantity": "all"}))]}),
            "invalid_body",
        ),
        (
            json!({"atTermEnd": true, "selection": {"quantity": "assigned",
                   "termEndFrom": "2027-02-01", "termEndTo": "2027-01-01"}}),
            "invalid_term_end_window",
        ),
    ] {
        let refused = admin.post("/v1/upgrade-jobs", &body).await;
        assert_problem(refused, StatusCode::BAD_REQUEST, code).await;
    }
}

#[tokio::test]
async fn a_seat_change_scheduled_as_assigned_follows_the_licenses_until_the_renewal() {
    let app = spawn_app().await;
    let admin = app.admin();
    let customer = admin.customer("US").await;
    admin.relationship(&customer, &["*"]).await;
    let subscription = bought(&admin, &customer, 9, 12).await;
    let path = format!("/v1/customers/{customer}/subscriptions/{subscription}");
    for n in 0..2 {
        let user = admin.user(&customer, &format!("u{n}@example.com")).await;
        admin.assign(&customer, &subscription, &user, &[]).await;
    }
    let scheduled = admin
        .create(
            &format!("{path}/scheduled-change"),
            json!({"quantity": "assigned"}),
        )
        .await;
    assert_eq!(scheduled["kind"], "quantity");
    assert_eq!(scheduled["quantity"], 2);
    assert_eq!(scheduled["quantityRule"], "assigned");
    assert_eq!(scheduled["billingPreview"]["charge"], 2 * BASIC_US);
    // A partial upgrade moves the seats it names.
    let refused = admin
        .post(
            &format!("{path}/scheduled-change"),
            &json!({"targetOfferId": "m365-business-standard", "partial": true,
                    "quantity": "assigned"}),
        )
        .await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);

    // The renewals pipeline shows the seats as things stand: a third license, three seats.
    let user = admin.user(&customer, "u2@example.com").await;
    admin.assign(&customer, &subscription, &user, &[]).await;
    let today = Utc::now().date_naive();
    let page = json_ok(
        admin
            .get(&format!(
                "/v1/renewals?customerId={customer}&termEndFrom={}&termEndTo={}",
                today - chrono::Days::new(1),
                today + chrono::Days::new(398)
            ))
            .await,
    )
    .await;
    let row = &page["items"][0];
    assert_eq!(row["scheduledChange"]["quantityRule"], "assigned");
    assert_eq!(row["scheduledChange"]["quantity"], 3);

    let _worker = app.renewing_instance().await;
    renewed(app.database_url(), 1).await;
    crate::helpers::wait_for_rows(
        app.database_url(),
        "SELECT count(*) FROM subscription_history WHERE change_kind = 'scheduled_change_applied'",
        "the right-sizing was not applied",
    )
    .await;
    assert_eq!(json_ok(admin.get(&path).await).await["quantity"], 3);
}
