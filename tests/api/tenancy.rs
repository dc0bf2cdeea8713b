//! A partner sees a customer only through its reseller relationship: everything another partner
//! owns answers 404 on every route, exactly as if it did not exist, and lists never leak.

use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{assert_problem, spawn_app};

#[tokio::test]
async fn another_partner_gets_404_everywhere_and_lists_never_leak() {
    let app = spawn_app().await;
    let owner = app.admin();
    let customer = owner.customer("IT").await;
    let user = owner.user(&customer, "luca@contoso.it").await;
    let subscription = owner
        .subscription(&customer, "m365-business-basic", 10)
        .await;
    let c = format!("/v1/customers/{customer}");
    let s = format!("{c}/subscriptions/{subscription}");
    owner
        .create(&format!("{s}/license-assignments"), json!({"userId": user}))
        .await;
    owner
        .create(
            &format!("{c}/delegated-admin-relationships"),
            json!({"status": "active", "startsAt": "2026-01-01T00:00:00Z", "endsAt": "2030-01-01T00:00:00Z", "services": ["*"]}),
        )
        .await;
    let add_on = owner
        .create(
            &format!("{s}/add-ons"),
            json!({"offerId": "teams-audio-conferencing", "quantity": 1}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let intruder = app.api(Uuid::new_v4(), &["global_admin"]);
    intruder.customer("IT").await;
    let never_existed = format!("/v1/customers/{}", Uuid::new_v4());

    let reads = [
        c.clone(),
        format!("{c}/users"),
        format!("{c}/subscriptions"),
        s.clone(),
        format!("{s}/license-assignments"),
        format!("{c}/delegated-admin-relationships"),
        format!("{s}/upgrades"),
        format!("{c}/upgrades"),
        format!("{c}/upgrade-recommendations"),
        format!("{s}/add-ons"),
        format!("{s}/add-ons/{add_on}"),
        format!("{s}/history"),
    ];
    for path in &reads {
        let theirs = assert_problem(
            intruder.get(path).await,
            StatusCode::NOT_FOUND,
            "customer_not_found",
        )
        .await;
        let missing_path = path.replacen(&c, &never_existed, 1);
        let missing = assert_problem(
            intruder.get(&missing_path).await,
            StatusCode::NOT_FOUND,
            "customer_not_found",
        )
        .await;
        assert_eq!(theirs["title"], missing["title"], "{path}");
    }
    let writes = [
        (
            format!("{c}/users"),
            json!({"displayName": "X", "email": "x@evil.com"}),
        ),
        (
            format!("{c}/subscriptions"),
            json!({"offerId": "o365-e1", "quantity": 1, "billingCycle": "monthly"}),
        ),
        (format!("{s}/license-assignments"), json!({"userId": user})),
        (format!("{s}/upgrades"), json!({"targetOfferId": "o365-e1"})),
        (
            format!("{c}/delegated-admin-relationships"),
            json!({"status": "active", "startsAt": "2026-01-01T00:00:00Z", "endsAt": "2030-01-01T00:00:00Z", "services": ["*"]}),
        ),
    ];
    for (path, body) in &writes {
        assert_problem(
            intruder.post(path, body).await,
            StatusCode::NOT_FOUND,
            "customer_not_found",
        )
        .await;
    }
    let changes = [
        (s.clone(), json!({"quantity": 11})),
        (s.clone(), json!({"status": "cancelled"})),
        (
            format!("{s}/add-ons/{add_on}"),
            json!({"status": "cancelled"}),
        ),
    ];
    for (path, body) in &changes {
        assert_problem(
            intruder.patch_with(path, body, &[]).await,
            StatusCode::NOT_FOUND,
            "customer_not_found",
        )
        .await;
    }
    let kept = owner.get(&s).await.json::<Value>().await.unwrap();
    assert_eq!(
        (kept["quantity"].clone(), kept["status"].clone()),
        (json!(10), json!("active"))
    );
    let add_ons: Value = owner
        .get(&format!("{s}/add-ons"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(add_ons["items"][0]["status"], "active");

    let listed: Value = intruder.get("/v1/customers").await.json().await.unwrap();
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    assert_ne!(listed["items"][0]["id"], customer.as_str());
    let users: Value = owner.get(&format!("{c}/users")).await.json().await.unwrap();
    assert_eq!(
        users["items"].as_array().unwrap().len(),
        1,
        "the intruder's writes left nothing"
    );
}

#[tokio::test]
async fn other_channel_subscriptions_are_recorded_by_platform_and_never_shown() {
    let app = spawn_app().await;
    let customer = app.admin().customer("US").await;
    let path = format!("/v1/customers/{customer}/subscriptions");
    let mine = app.admin().subscription(&customer, "o365-e1", 5).await;

    let other = app
        .platform()
        .create(&path, json!({"offerId": "o365-e3", "quantity": 20, "billingCycle": "annual", "channel": "other"}))
        .await;

    let listed: Value = app.admin().get(&path).await.json().await.unwrap();
    let ids: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [mine.as_str()]);
    let direct = app
        .admin()
        .get(&format!("{path}/{}", other["id"].as_str().unwrap()))
        .await;
    assert_problem(direct, StatusCode::NOT_FOUND, "subscription_not_found").await;
    let theirs = format!("{path}/{}", other["id"].as_str().unwrap());
    let change = app
        .admin()
        .patch_with(&theirs, &json!({"quantity": 21}), &[])
        .await;
    assert_problem(change, StatusCode::NOT_FOUND, "subscription_not_found").await;
    let add_on = app
        .admin()
        .post(
            &format!("{theirs}/add-ons"),
            &json!({"offerId": "teams-audio-conferencing", "quantity": 1}),
        )
        .await;
    assert_problem(add_on, StatusCode::NOT_FOUND, "subscription_not_found").await;
    // E3 has no upgrade paths, so its listing has nothing to evaluate: still not the partner's.
    let listing = app.admin().get(&format!("{theirs}/upgrades")).await;
    assert_problem(listing, StatusCode::NOT_FOUND, "subscription_not_found").await;
}

#[tokio::test]
async fn a_subscription_of_another_customer_is_not_found_under_this_one() {
    let app = spawn_app().await;
    let admin = app.admin();
    let first = admin.customer("US").await;
    let second = admin.customer("US").await;
    let subscription = admin.subscription(&first, "o365-e1", 1).await;

    let response = admin
        .get(&format!(
            "/v1/customers/{second}/subscriptions/{subscription}"
        ))
        .await;

    assert_problem(response, StatusCode::NOT_FOUND, "subscription_not_found").await;
}

#[tokio::test]
async fn an_add_on_of_another_subscription_is_not_found_under_this_one() {
    let app = spawn_app().await;
    let admin = app.admin();
    let customer = admin.customer("US").await;
    let c = format!("/v1/customers/{customer}/subscriptions");
    let first = admin.subscription(&customer, "o365-e1", 2).await;
    let second = admin.subscription(&customer, "o365-e3", 2).await;
    let add_on = admin
        .create(
            &format!("{c}/{first}/add-ons"),
            json!({"offerId": "teams-audio-conferencing", "quantity": 1}),
        )
        .await;

    let elsewhere = format!("{c}/{second}/add-ons/{}", add_on["id"].as_str().unwrap());

    assert_problem(
        admin.get(&elsewhere).await,
        StatusCode::NOT_FOUND,
        "add_on_not_found",
    )
    .await;
    assert_problem(
        admin
            .patch_with(&elsewhere, &json!({"status": "cancelled"}), &[])
            .await,
        StatusCode::NOT_FOUND,
        "add_on_not_found",
    )
    .await;
}
