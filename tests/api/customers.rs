//! Customers, delegated admin relationships and users: creation, reading, paging, bad input.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{assert_problem, spawn_app};

#[tokio::test]
async fn a_created_customer_can_be_read_back_and_listed() {
    let app = spawn_app().await;
    let admin = app.admin();

    let response = admin
        .post(
            "/v1/customers",
            &json!({"name": "  Contoso Italia  ", "market": "IT"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let created: Value = response.json().await.unwrap();

    assert_eq!(created["name"], "Contoso Italia");
    assert_eq!(created["market"], "IT");
    assert_eq!(
        location,
        format!("/v1/customers/{}", created["id"].as_str().unwrap())
    );
    let read: Value = admin.get(&location).await.json().await.unwrap();
    assert_eq!(read, created);
    let listed: Value = admin.get("/v1/customers").await.json().await.unwrap();
    assert_eq!(listed["items"], json!([created]));
}

#[tokio::test]
async fn customer_pages_follow_the_continuation_token() {
    let app = spawn_app().await;
    let admin = app.admin();
    let mut created = Vec::new();
    for _ in 0..5 {
        created.push(admin.customer("US").await);
    }

    let first: Value = admin
        .get("/v1/customers?limit=3")
        .await
        .json()
        .await
        .unwrap();
    let token = first["continuationToken"].as_str().unwrap();
    let second: Value = admin
        .get(&format!("/v1/customers?limit=3&continuationToken={token}"))
        .await
        .json()
        .await
        .unwrap();

    let ids: Vec<&str> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .chain(second["items"].as_array().unwrap())
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, created.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(second["continuationToken"], Value::Null);
}

#[tokio::test]
async fn invalid_customers_are_refused_and_nothing_is_written() {
    let app = spawn_app().await;
    let admin = app.admin();
    let cases = [
        (json!({"name": "A", "market": "FR"}), "unknown_market"),
        (json!({"name": "", "market": "US"}), "invalid_customer_name"),
        (
            json!({"name": "   ", "market": "US"}),
            "invalid_customer_name",
        ),
        (
            json!({"name": "x".repeat(201), "market": "US"}),
            "invalid_customer_name",
        ),
        (
            json!({"name": "bell\u{7}", "market": "US"}),
            "invalid_customer_name",
        ),
        (
            json!({"name": "A", "market": "US", "tier": "gold"}),
            "invalid_body",
        ),
        (json!({"name": 42, "market": "US"}), "invalid_body"),
        (json!({"market": "US"}), "invalid_body"),
    ];
    for (body, code) in cases {
        let response = admin.post("/v1/customers", &body).await;
        assert_problem(response, StatusCode::BAD_REQUEST, code).await;
    }
    let malformed = admin
        .post_raw("/v1/customers", "application/json", "{\"name\": ")
        .await;
    assert_problem(malformed, StatusCode::BAD_REQUEST, "malformed_json").await;
    let wrong_type = admin.post_raw("/v1/customers", "text/plain", "{}").await;
    assert_problem(
        wrong_type,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;
    let huge = admin
        .post_raw(
            "/v1/customers",
            "application/json",
            format!("{{\"name\": \"{}\"}}", "x".repeat(100_000)),
        )
        .await;
    assert_problem(huge, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
    let bad_id = admin.get("/v1/customers/not-a-uuid").await;
    assert_problem(bad_id, StatusCode::BAD_REQUEST, "invalid_path_parameter").await;

    let listed: Value = admin.get("/v1/customers").await.json().await.unwrap();
    assert_eq!(listed["items"], json!([]));
}

#[tokio::test]
async fn relationships_record_services_and_say_whether_they_are_in_effect() {
    let app = spawn_app().await;
    let admin = app.admin();
    let customer = admin.customer("US").await;
    let path = format!("/v1/customers/{customer}/delegated-admin-relationships");

    let current = admin
        .create(&path, json!({"status": "active", "startsAt": "2026-01-01T00:00:00Z", "endsAt": "2099-01-01T00:00:00Z", "services": ["EXCHANGE", "TEAMS"]}))
        .await;
    let lapsed = admin
        .create(&path, json!({"status": "active", "startsAt": "2020-01-01T00:00:00Z", "endsAt": "2021-01-01T00:00:00Z", "services": ["*"]}))
        .await;
    let terminated = admin
        .create(&path, json!({"status": "terminated", "startsAt": "2026-01-01T00:00:00Z", "endsAt": "2099-01-01T00:00:00Z", "services": ["*"]}))
        .await;

    assert_eq!(current["services"], json!(["EXCHANGE", "TEAMS"]));
    assert_eq!(current["effective"], true);
    assert_eq!(lapsed["services"], json!(["*"]));
    assert_eq!(lapsed["effective"], false, "past its end time");
    assert_eq!(terminated["effective"], false);
    let listed: Value = admin.get(&path).await.json().await.unwrap();
    assert_eq!(listed["items"], json!([current, lapsed, terminated]));
}

#[tokio::test]
async fn invalid_relationships_are_refused() {
    let app = spawn_app().await;
    let admin = app.admin();
    let customer = admin.customer("US").await;
    let path = format!("/v1/customers/{customer}/delegated-admin-relationships");
    let body = |status: &str, start: &str, end: &str, services: Value| json!({"status": status, "startsAt": start, "endsAt": end, "services": services});
    let (a, b) = ("2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z");
    let cases = [
        (
            body("active", b, a, json!(["*"])),
            "invalid_relationship_period",
        ),
        (
            body("active", a, a, json!(["*"])),
            "invalid_relationship_period",
        ),
        (body("active", a, b, json!([])), "invalid_services"),
        (
            body("active", a, b, json!(["NOT_A_SERVICE"])),
            "invalid_services",
        ),
        (
            body("active", a, b, json!(["EXCHANGE", "EXCHANGE"])),
            "invalid_services",
        ),
        (
            body("active", a, b, json!(["*", "EXCHANGE"])),
            "invalid_services",
        ),
        (body("pending", a, b, json!(["*"])), "invalid_body"),
        (
            body("active", "yesterday", b, json!(["*"])),
            "invalid_timestamp",
        ),
    ];
    for (request, code) in cases {
        assert_problem(
            admin.post(&path, &request).await,
            StatusCode::BAD_REQUEST,
            code,
        )
        .await;
    }
    let listed: Value = admin.get(&path).await.json().await.unwrap();
    assert_eq!(listed["items"], json!([]));
}

#[tokio::test]
async fn users_have_unique_addresses_within_a_customer() {
    let app = spawn_app().await;
    let admin = app.admin();
    let customer = admin.customer("US").await;
    let other = admin.customer("US").await;
    let path = format!("/v1/customers/{customer}/users");
    admin.user(&customer, "ada@contoso.com").await;

    let duplicate = admin
        .post(
            &path,
            &json!({"displayName": "Ada again", "email": "ADA@contoso.com"}),
        )
        .await;
    assert_problem(duplicate, StatusCode::CONFLICT, "user_email_taken").await;
    admin.user(&other, "ada@contoso.com").await;

    let cases = [
        (
            json!({"displayName": "", "email": "a@b.com"}),
            "invalid_display_name",
        ),
        (
            json!({"displayName": "B", "email": "not-an-address"}),
            "invalid_email",
        ),
        (
            json!({"displayName": "B", "email": "b@contoso.com", "role": "admin"}),
            "invalid_body",
        ),
    ];
    for (body, code) in cases {
        assert_problem(
            admin.post(&path, &body).await,
            StatusCode::BAD_REQUEST,
            code,
        )
        .await;
    }
    let listed: Value = admin.get(&path).await.json().await.unwrap();
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
}
