//! Migration from legacy over HTTP (docs/migrations.md): now, with the licenses, add-ons,
//! history and bill; at the term end, as the renewal; refused for what may not move; and in bulk
//! by a job's selection of legacy subscriptions. Every amount is computed here from the catalog's
//! price (Business Basic, US: 6.00 USD per seat per month on every plan but P1M, which is 7.20).

use chrono::{Months, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{
    Api, assert_problem, date, json_ok, months_ago, round_half_even, spawn_app, wait_for_rows,
};
use crate::lifecycle::history_kinds;

/// Business Basic's price in the US, per seat per month, in cents (legacy, P1Y and P3Y).
const BASIC_US: i64 = 600;

/// A legacy Business Basic subscription of `quantity` seats billed monthly whose term started
/// `months` ago: its path.
async fn legacy(admin: &Api<'_>, customer: &str, quantity: i64, months: u32) -> String {
    let body = json!({
        "offerId": "m365-business-basic", "quantity": quantity, "billingCycle": "monthly",
        "commerce": "legacy", "termStart": months_ago(months).to_string(),
    });
    let created = admin
        .create(&format!("/v1/customers/{customer}/subscriptions"), body)
        .await;
    assert_eq!(created["commerce"], "legacy");
    let id = created["id"].as_str().unwrap();
    format!("/v1/customers/{customer}/subscriptions/{id}")
}

/// Assigns a license of the subscription at `path` to `count` new users; their ids.
async fn licensed(admin: &Api<'_>, customer: &str, path: &str, count: usize) -> Vec<String> {
    let mut users = Vec::new();
    for _ in 0..count {
        let user = admin
            .user(customer, &format!("{}@example.com", Uuid::new_v4()))
            .await;
        let id = path.rsplit('/').next().unwrap();
        admin.assign(customer, id, &user, &[]).await;
        users.push(user);
    }
    users
}

async fn license_holders(admin: &Api<'_>, path: &str) -> Vec<String> {
    let page = json_ok(admin.get(&format!("{path}/license-assignments")).await).await;
    let mut users: Vec<String> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["userId"].as_str().unwrap().to_owned())
        .collect();
    users.sort();
    users
}

#[tokio::test]
async fn a_legacy_subscription_migrates_now_with_its_licenses_add_ons_history_and_bill() {
    let app = spawn_app().await;
    let admin = app.admin();
    let customer = admin.customer("US").await;
    admin.relationship(&customer, &["*"]).await;
    let path = legacy(&admin, &customer, 5, 2).await;
    let mut users = licensed(&admin, &customer, &path, 3).await;
    users.sort();
    admin
        .create(
            &format!("{path}/add-ons"),
            json!({"offerId": "teams-audio-conferencing", "quantity": 2}),
        )
        .await;
    let before = json_ok(admin.get(&path).await).await;
    let migrations = format!("{path}/migrations");
    let plan = json!({"termDuration": "P1Y", "billingCycle": "monthly", "quantity": 4});

    // The bill, from the legacy subscription's own period: its 5 seats credited daily over the
    // days left (the term is two months old, so no first-month credit in full), and the new
    // subscription's first month charged in full at today's price.
    let (start, end) = (
        date(&before["currentPeriodStart"]),
        date(&before["currentPeriodEnd"]),
    );
    let today = Utc::now().date_naive();
    let credit = round_half_even(
        5 * BASIC_US * (end - today).num_days(),
        (end - start).num_days(),
    );
    let charge = 4 * BASIC_US;

    let mut dry = plan.clone();
    dry["dryRun"] = json!(true);
    let preview = json_ok(admin.post(&migrations, &dry).await).await;
    assert_eq!(preview["dryRun"], true);
    assert_eq!(preview["targetSubscriptionId"], Value::Null);
    assert_eq!(preview["billing"]["credit"], credit);
    assert_eq!(preview["billing"]["charge"], charge);
    assert_eq!(json_ok(admin.get(&path).await).await["status"], "active");

    for (body, status, code) in [
        (
            json!({"termDuration": "P1M", "billingCycle": "annual"}),
            StatusCode::BAD_REQUEST,
            "invalid_plan",
        ),
        (
            json!({"termDuration": "P1Y", "billingCycle": "monthly", "quantity": 2}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "quantity_below_assigned_licenses",
        ),
        (
            json!({"termDuration": "P1Y"}),
            StatusCode::BAD_REQUEST,
            "invalid_body",
        ),
    ] {
        assert_problem(admin.post(&migrations, &body).await, status, code).await;
    }
    let other = app.api(Uuid::new_v4(), &["global_admin"]);
    assert_problem(
        other.post(&migrations, &plan).await,
        StatusCode::NOT_FOUND,
        "customer_not_found",
    )
    .await;

    let key = [("Idempotency-Key", "migrate-once")];
    let response = admin.post_with(&migrations, &plan, &key).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let migrated: Value = response.json().await.unwrap();
    let target_id = migrated["targetSubscriptionId"].as_str().unwrap();
    let target_path = format!("/v1/customers/{customer}/subscriptions/{target_id}");
    assert_eq!(location, target_path);
    assert_eq!(migrated["sourceStatus"], "migrated");
    assert_eq!(migrated["quantity"], 4);
    assert_eq!(migrated["unitPrice"], BASIC_US);
    assert_eq!(date(&migrated["termStart"]), today);
    assert_eq!(date(&migrated["termEnd"]), today + Months::new(12));
    assert_eq!(migrated["licensesMoved"], 3);
    assert_eq!(migrated["addOnsMoved"], 1);
    assert_eq!(migrated["billing"]["credit"], credit);
    assert_eq!(migrated["billing"]["charge"], charge);
    assert_eq!(migrated["billing"]["net"], charge - credit);
    let replayed = admin.post_with(&migrations, &plan, &key).await;
    assert_eq!(replayed.headers()["idempotent-replayed"], "true");
    assert_eq!(replayed.json::<Value>().await.unwrap(), migrated);

    let retired = json_ok(admin.get(&path).await).await;
    assert_eq!(retired["status"], "migrated");
    assert_eq!(retired["migratedTo"], target_id);
    assert_eq!(retired["upgradedTo"], Value::Null);
    let target = json_ok(admin.get(&target_path).await).await;
    assert_eq!(target["commerce"], "new");
    assert_eq!(target["offerId"], "m365-business-basic");
    assert_eq!(target["migratedFrom"], before["id"]);
    assert_eq!(target["termDuration"], "P1Y");
    assert_eq!(target["unitPrice"], BASIC_US);
    assert_eq!(target["refundableQuantity"][0]["quantity"], 4);
    assert!(target["cancellationAllowedUntil"].is_string());

    assert_eq!(license_holders(&admin, &target_path).await, users);
    assert!(license_holders(&admin, &path).await.is_empty());
    let add_ons = json_ok(admin.get(&format!("{target_path}/add-ons")).await).await;
    let add_ons = add_ons["items"].as_array().unwrap();
    assert_eq!(add_ons.len(), 1);
    assert_eq!(add_ons[0]["offerId"], "teams-audio-conferencing");
    assert_eq!(add_ons[0]["status"], "active");
    let moved = json_ok(admin.get(&format!("{path}/add-ons")).await).await;
    assert!(moved["items"].as_array().unwrap().is_empty());

    let kinds = history_kinds(&admin, &path).await;
    assert_eq!(
        kinds.last().map(String::as_str),
        Some("migration"),
        "{kinds:?}"
    );
    let history = json_ok(admin.get(&format!("{target_path}/history")).await).await;
    let created = &history["items"][0];
    assert_eq!(created["changeKind"], "created");
    assert_eq!(created["after"]["migratedFrom"], before["id"]);
    assert_eq!(created["after"]["migration"]["licensesMoved"], 3);

    // Once moved, the legacy subscription is not live: nothing more moves.
    assert_problem(
        admin.post(&migrations, &plan).await,
        StatusCode::CONFLICT,
        "subscription_not_active",
    )
    .await;
    // A new-commerce subscription has nothing to move to.
    assert_problem(
        admin
            .post(&format!("{target_path}/migrations"), &plan)
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "migration_not_allowed",
    )
    .await;
}

#[tokio::test]
async fn a_migration_in_the_legacy_terms_first_month_credits_its_period_in_full() {
    let app = spawn_app().await;
    let admin = app.admin();
    let customer = admin.customer("US").await;
    let path = legacy(&admin, &customer, 3, 0).await;
    let body = json!({"termDuration": "P1M", "billingCycle": "monthly"});
    let migrated = admin.create(&format!("{path}/migrations"), body).await;
    assert_eq!(migrated["billing"]["fullCredit"], true);
    assert_eq!(migrated["billing"]["credit"], 3 * BASIC_US);
    // P1M costs 20 % more: 7.20 a seat, its first month in full.
    assert_eq!(migrated["unitPrice"], 720);
    assert_eq!(migrated["billing"]["charge"], 3 * 720);
}

#[tokio::test]
async fn a_migration_scheduled_for_the_term_end_replaces_the_legacy_subscription_at_its_renewal() {
    let app = spawn_app().await;
    let admin = app.admin();
    let customer = admin.customer("US").await;
    admin.relationship(&customer, &["*"]).await;
    // A legacy term bought a year ago: it ends today.
    let path = legacy(&admin, &customer, 5, 12).await;
    let users = licensed(&admin, &customer, &path, 2).await;
    let term_end = months_ago(12) + Months::new(12);

    let body = json!({"termDuration": "P1Y", "billingCycle": "annual", "quantity": 3,
                      "atTermEnd": true});
    let scheduled = admin.create(&format!("{path}/migrations"), body).await;
    assert_eq!(scheduled["kind"], "migration");
    assert_eq!(scheduled["quantity"], 3);
    assert_eq!(scheduled["termDuration"], "P1Y");
    assert_eq!(scheduled["billingCycle"], "annual");
    assert_eq!(scheduled["nextTermUnitPrice"], BASIC_US);
    // The new subscription's first (annual) period in full: 3 seats x 6.00 x 12.
    assert_eq!(scheduled["billingPreview"]["charge"], 3 * BASIC_US * 12);
    let read = json_ok(admin.get(&format!("{path}/scheduled-change")).await).await;
    assert_eq!(read["kind"], "migration");

    let _worker = app.renewing_instance().await;
    wait_for_rows(
        app.database_url(),
        "SELECT count(*) FROM subscription_history WHERE change_kind = 'scheduled_change_applied'",
        "the migration was not applied at the term end",
    )
    .await;
    let retired = json_ok(admin.get(&path).await).await;
    assert_eq!(retired["status"], "migrated");
    let target_id = retired["migratedTo"].as_str().unwrap().to_owned();
    let target_path = format!("/v1/customers/{customer}/subscriptions/{target_id}");
    let target = json_ok(admin.get(&target_path).await).await;
    assert_eq!(target["commerce"], "new");
    assert_eq!(target["migratedFrom"], retired["id"]);
    assert_eq!(target["quantity"], 3);
    assert_eq!(target["billingCycle"], "annual");
    assert_eq!(target["unitPrice"], BASIC_US);
    assert_eq!(date(&target["termStart"]), term_end);
    assert_eq!(date(&target["termEnd"]), term_end + Months::new(12));
    let mut users = users;
    users.sort();
    assert_eq!(license_holders(&admin, &target_path).await, users);
    let kinds = history_kinds(&admin, &path).await;
    assert!(
        kinds.ends_with(&[
            "migration".to_owned(),
            "scheduled_change_applied".to_owned()
        ]),
        "{kinds:?}"
    );
}

#[tokio::test]
async fn a_job_migrates_every_legacy_subscription_it_selects_and_leaves_new_commerce_alone() {
    let app = spawn_app().await;
    let admin = app.admin();
    let customer = admin.customer("US").await;
    let mut legacies = Vec::new();
    for _ in 0..3 {
        legacies.push(legacy(&admin, &customer, 2, 3).await);
    }
    let new_commerce = admin
        .subscription(&customer, "m365-business-basic", 2)
        .await;
    let job = admin
        .post(
            "/v1/upgrade-jobs",
            &json!({"selection": {"kind": "migration", "customerIds": [customer],
                                  "termDuration": "P3Y", "billingCycle": "triennial"}}),
        )
        .await;
    assert_eq!(job.status(), StatusCode::ACCEPTED);
    let job: Value = job.json().await.unwrap();
    assert_eq!(job["totalItems"], 3);
    let id = job["id"].as_str().unwrap();
    let started = std::time::Instant::now();
    let job = loop {
        let job = json_ok(admin.get(&format!("/v1/upgrade-jobs/{id}")).await).await;
        if job["status"] == "completed" {
            break job;
        }
        assert!(started.elapsed().as_secs() < 60, "{job}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(job["counts"]["succeeded"], 3, "{job}");
    let items = json_ok(admin.get(&format!("/v1/upgrade-jobs/{id}/items")).await).await;
    for item in items["items"].as_array().unwrap() {
        assert_eq!(item["kind"], "migration");
        assert_eq!(item["result"]["sourceStatus"], "migrated");
        assert_eq!(item["result"]["termDuration"], "P3Y");
        // A triennial plan's first period is three years: 2 seats x 6.00 x 36.
        assert_eq!(item["result"]["billing"]["charge"], 2 * BASIC_US * 36);
    }
    for path in &legacies {
        assert_eq!(json_ok(admin.get(path).await).await["status"], "migrated");
    }
    let untouched = json_ok(
        admin
            .get(&format!(
                "/v1/customers/{customer}/subscriptions/{new_commerce}"
            ))
            .await,
    )
    .await;
    assert_eq!(untouched["status"], "active");
    assert_eq!(untouched["migratedFrom"], Value::Null);

    // A migration names no target, and needs its plan: refused before anything is queued.
    for body in [
        json!({"items": [{"kind": "migration", "customerId": customer,
                          "subscriptionId": new_commerce, "termDuration": "P1Y"}]}),
        json!({"items": [{"kind": "migration", "customerId": customer,
                          "subscriptionId": new_commerce, "termDuration": "P1Y",
                          "billingCycle": "monthly", "targetOfferId": "m365-business-standard"}]}),
    ] {
        let refused = admin.post("/v1/upgrade-jobs", &body).await;
        assert_problem(refused, StatusCode::BAD_REQUEST, "invalid_body").await;
    }
}
