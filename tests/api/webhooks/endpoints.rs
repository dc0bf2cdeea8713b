//! A partner's endpoints: listed a page at a time like every list, and no more of them than
//! `WEBHOOK_ENDPOINTS_PER_PARTNER` (a partner's endpoints share its senders).

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use super::SECRET;
use crate::helpers::{assert_problem, json_ok, spawn_app, spawn_app_with};

fn endpoint(n: usize) -> Value {
    json!({"url": format!("https://hooks{n}.contoso.example/csp"), "events": ["*"], "secret": SECRET})
}

#[tokio::test]
async fn a_partner_may_register_up_to_its_limit_of_endpoints_and_another_once_one_is_removed() {
    let app = spawn_app_with(|settings| settings.webhook_endpoints_per_partner = 3).await;
    let admin = app.admin();
    let mut ids = Vec::new();
    for n in 0..3 {
        ids.push(admin.create("/v1/webhooks", endpoint(n)).await["id"].clone());
    }

    let problem = assert_problem(
        admin.post("/v1/webhooks", &endpoint(3)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "webhook_endpoint_limit_reached",
    )
    .await;

    assert!(
        problem["detail"].as_str().unwrap().contains('3'),
        "{problem}"
    );
    let other = app.api(Uuid::new_v4(), &["global_admin"]);
    assert_eq!(
        other.post("/v1/webhooks", &endpoint(4)).await.status(),
        StatusCode::CREATED,
        "the limit is per partner"
    );
    let removed = admin
        .request(
            Method::DELETE,
            &format!("/v1/webhooks/{}", ids[0].as_str().unwrap()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        admin.post("/v1/webhooks", &endpoint(5)).await.status(),
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn registrations_at_once_never_pass_the_limit() {
    let app = spawn_app_with(|settings| settings.webhook_endpoints_per_partner = 3).await;
    let admin = app.admin();

    let bodies: Vec<Value> = (0..8).map(endpoint).collect();

    let answers =
        futures::future::join_all(bodies.iter().map(|body| admin.post("/v1/webhooks", body))).await;

    let created = answers
        .iter()
        .filter(|answer| answer.status() == StatusCode::CREATED)
        .count();
    assert_eq!(created, 3);
    let listed = json_ok(admin.get("/v1/webhooks?limit=10").await).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn the_endpoint_list_pages_with_limit_and_continuation_token() {
    let app = spawn_app().await;
    let admin = app.admin();
    let mut registered = Vec::new();
    for n in 0..5 {
        registered.push(admin.create("/v1/webhooks", endpoint(n)).await["id"].clone());
    }

    let mut seen = Vec::new();
    let mut path = "/v1/webhooks?limit=2".to_owned();
    loop {
        let page = json_ok(admin.get(&path).await).await;
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 2, "{page}");
        seen.extend(items.iter().map(|item| item["id"].clone()));
        match page["continuationToken"].as_str() {
            Some(token) => path = format!("/v1/webhooks?limit=2&continuationToken={token}"),
            None => break,
        }
    }

    assert_eq!(seen, registered, "every endpoint once, oldest first");
    let first = json_ok(admin.get("/v1/webhooks").await).await;
    assert_eq!(first["items"].as_array().unwrap().len(), 5, "50 by default");
    for (query, code) in [
        ("limit=0", "invalid_limit"),
        ("limit=201", "invalid_limit"),
        ("continuationToken=nope", "invalid_continuation_token"),
    ] {
        let answer = admin.get(&format!("/v1/webhooks?{query}")).await;
        assert_problem(answer, StatusCode::BAD_REQUEST, code).await;
    }
    let other = app.api(Uuid::new_v4(), &["global_admin"]);
    let theirs = json_ok(other.get("/v1/webhooks?limit=2").await).await;
    assert_eq!(theirs["items"], json!([]));
}
