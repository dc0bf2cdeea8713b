//! Subscriptions and license assignments: the rules a purchase and an assignment must satisfy.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{assert_problem, spawn_app};

#[tokio::test]
async fn a_subscription_is_created_with_its_term_period_and_etag() {
    let app = spawn_app().await;
    let admin = app.admin();
    let customer = admin.customer("US").await;
    let path = format!("/v1/customers/{customer}/subscriptions");

    let response = admin
        .post(&path, &json!({"offerId": "m365-business-basic", "quantity": 25, "billingCycle": "monthly",
                             "termStart": "2099-03-10", "currentPeriodStart": "2099-11-10", "currentPeriodEnd": "2099-12-10"}))
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    let created: Value = response.json().await.unwrap();

    assert_eq!(created["status"], "active");
    assert_eq!(created["quantity"], 25);
    assert_eq!(created["termEnd"], "2100-03-10");
    assert_eq!(created["currentPeriodEnd"], "2099-12-10");
    assert_eq!(created["upgradedTo"], Value::Null);
    let read = admin
        .get(&format!("{path}/{}", created["id"].as_str().unwrap()))
        .await;
    assert_eq!(read.headers()["etag"].to_str().unwrap(), etag);
    assert_eq!(read.json::<Value>().await.unwrap(), created);
}

#[tokio::test]
async fn invalid_subscriptions_are_refused_and_nothing_is_written() {
    let app = spawn_app().await;
    let admin = app.admin();
    let india = admin.customer("IN").await;
    let path = format!("/v1/customers/{india}/subscriptions");
    let sub = |offer: &str, quantity: Value| json!({"offerId": offer, "quantity": quantity, "billingCycle": "monthly"});
    let cases = [
        (
            sub("no-such-offer", json!(1)),
            StatusCode::BAD_REQUEST,
            "unknown_offer",
        ),
        (
            sub("m365-business-basic", json!(1)),
            StatusCode::UNPROCESSABLE_ENTITY,
            "offer_not_sold_in_market",
        ),
        (
            sub("teams-audio-conferencing", json!(1)),
            StatusCode::UNPROCESSABLE_ENTITY,
            "offer_is_add_on",
        ),
        (
            sub("m365-business-basic-india", json!(0)),
            StatusCode::BAD_REQUEST,
            "invalid_quantity",
        ),
        (
            sub("m365-business-basic-india", json!(-3)),
            StatusCode::BAD_REQUEST,
            "invalid_quantity",
        ),
        (
            sub("m365-business-basic-india", json!(301)),
            StatusCode::UNPROCESSABLE_ENTITY,
            "seat_limit_exceeded",
        ),
        (
            sub("o365-e3", json!(99_999_999_999u64)),
            StatusCode::BAD_REQUEST,
            "invalid_quantity",
        ),
        (
            sub("o365-e3", json!(1e40)),
            StatusCode::BAD_REQUEST,
            "invalid_body",
        ),
        (
            sub("o365-e3", json!("ten")),
            StatusCode::BAD_REQUEST,
            "invalid_body",
        ),
        (
            json!({"offerId": "o365-e3", "quantity": 1, "billingCycle": "weekly"}),
            StatusCode::BAD_REQUEST,
            "invalid_body",
        ),
        (
            json!({"offerId": "o365-e3", "quantity": 1, "billingCycle": "monthly", "currentPeriodStart": "2026-01-01"}),
            StatusCode::BAD_REQUEST,
            "invalid_billing_period",
        ),
        (
            json!({"offerId": "o365-e3", "quantity": 1, "billingCycle": "monthly", "termStart": "2026-01-01",
                "currentPeriodStart": "2027-06-01", "currentPeriodEnd": "2027-07-01"}),
            StatusCode::BAD_REQUEST,
            "invalid_billing_period",
        ),
        (
            json!({"offerId": "o365-e3", "quantity": 1, "billingCycle": "monthly", "channel": "other"}),
            StatusCode::FORBIDDEN,
            "role_not_allowed",
        ),
        (
            json!({"offerId": "o365-e3", "quantity": 1, "billingCycle": "monthly", "status": "suspended"}),
            StatusCode::FORBIDDEN,
            "role_not_allowed",
        ),
    ];
    for (body, status, code) in cases {
        assert_problem(admin.post(&path, &body).await, status, code).await;
    }
    let upgraded = json!({"offerId": "o365-e3", "quantity": 1, "billingCycle": "monthly", "status": "upgraded"});
    assert_problem(
        app.platform().post(&path, &upgraded).await,
        StatusCode::BAD_REQUEST,
        "invalid_status",
    )
    .await;
    let listed: Value = admin.get(&path).await.json().await.unwrap();
    assert_eq!(listed["items"], json!([]));
}

#[tokio::test]
async fn the_business_family_cap_counts_every_channel() {
    let app = spawn_app().await;
    let admin = app.admin();
    let customer = admin.customer("US").await;
    let path = format!("/v1/customers/{customer}/subscriptions");
    app.platform()
        .create(&path, json!({"offerId": "m365-business-standard", "quantity": 200, "billingCycle": "annual", "channel": "other"}))
        .await;
    admin
        .subscription(&customer, "m365-business-basic", 100)
        .await;

    let over = admin
        .post(
            &path,
            &json!({"offerId": "m365-apps-business", "quantity": 1, "billingCycle": "monthly"}),
        )
        .await;

    assert_problem(
        over,
        StatusCode::UNPROCESSABLE_ENTITY,
        "seat_limit_exceeded",
    )
    .await;
    admin.subscription(&customer, "o365-e3", 1000).await;
}

#[tokio::test]
async fn licenses_are_assigned_within_seats_once_per_user() {
    let app = spawn_app().await;
    let admin = app.admin();
    let customer = admin.customer("US").await;
    let subscription = admin
        .subscription(&customer, "m365-business-standard", 2)
        .await;
    let path = format!("/v1/customers/{customer}/subscriptions/{subscription}/license-assignments");
    let ada = admin.user(&customer, "ada@contoso.com").await;
    let bob = admin.user(&customer, "bob@contoso.com").await;
    let eve = admin.user(&customer, "eve@contoso.com").await;
    let stranger_customer = admin.customer("US").await;
    let stranger = admin.user(&stranger_customer, "zed@fabrikam.com").await;

    let first = admin
        .create(
            &path,
            json!({"userId": ada, "disabledServices": ["BOOKINGS"]}),
        )
        .await;
    assert_eq!(first["disabledServices"], json!(["BOOKINGS"]));
    assert_eq!(first["email"], "ada@contoso.com");
    let cases = [
        (
            json!({"userId": ada}),
            StatusCode::CONFLICT,
            "license_already_assigned",
        ),
        (
            json!({"userId": stranger}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "user_not_found",
        ),
        (
            json!({"userId": bob, "disabledServices": ["POWER_BI_PRO"]}),
            StatusCode::BAD_REQUEST,
            "invalid_disabled_services",
        ),
        (
            json!({"userId": bob, "disabledServices": ["TEAMS", "TEAMS"]}),
            StatusCode::BAD_REQUEST,
            "invalid_disabled_services",
        ),
        (
            json!({"userId": "not-a-uuid"}),
            StatusCode::BAD_REQUEST,
            "invalid_body",
        ),
    ];
    for (body, status, code) in cases {
        assert_problem(admin.post(&path, &body).await, status, code).await;
    }
    admin.create(&path, json!({"userId": bob})).await;
    let full = admin.post(&path, &json!({"userId": eve})).await;
    assert_problem(full, StatusCode::CONFLICT, "no_seats_available").await;

    let listed: Value = admin.get(&path).await.json().await.unwrap();
    let users: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["userId"].as_str().unwrap())
        .collect();
    assert_eq!(users, [ada.as_str(), bob.as_str()]);
}

#[tokio::test]
async fn licenses_come_only_from_active_subscriptions() {
    let app = spawn_app().await;
    let customer = app.admin().customer("US").await;
    let suspended = app
        .platform()
        .create(
            &format!("/v1/customers/{customer}/subscriptions"),
            json!({"offerId": "o365-e1", "quantity": 5, "billingCycle": "monthly", "status": "suspended"}),
        )
        .await;
    let user = app.admin().user(&customer, "ada@contoso.com").await;

    let response = app
        .admin()
        .post(
            &format!(
                "/v1/customers/{customer}/subscriptions/{}/license-assignments",
                suspended["id"].as_str().unwrap()
            ),
            &json!({"userId": user}),
        )
        .await;

    assert_problem(response, StatusCode::CONFLICT, "subscription_not_active").await;
}
