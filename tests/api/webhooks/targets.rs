//! Webhooks go to public internet addresses only: a URL whose host is, or resolves to, a
//! loopback, private, link-local (metadata), unique-local or other non-public address is refused
//! at registration, and again when connecting, unless the operator allows its network
//! (`WEBHOOK_ALLOWED_NETWORKS`; the other tests allow 127.0.0.0/8).

use reqwest::StatusCode;
use serde_json::json;

use super::{Receiver, SECRET, subscription};
use subscription_upgrades::domain::webhook::address::parse_network;

use crate::helpers::{TestApp, assert_problem, json_ok, spawn_app_with};

/// A service with the default setting: no network allowed beyond the public internet.
async fn strict_app() -> TestApp {
    spawn_app_with(|settings| settings.webhook_allowed_networks = Vec::new()).await
}

#[tokio::test]
async fn urls_that_are_or_resolve_to_non_public_addresses_are_refused_at_registration() {
    let app = strict_app().await;
    let admin = app.admin();

    for (url, why) in [
        ("http://127.0.0.1:8080/hook", "loopback"),
        ("http://localhost/hook", "localhost resolves to"),
        ("http://[::1]/hook", "loopback"),
        ("http://0x7f.1/hook", "loopback"),
        ("http://0.0.0.0/hook", "unspecified"),
        ("http://10.1.2.3/hook", "private"),
        ("https://172.16.0.1/hook", "private"),
        ("http://192.168.1.10/hook", "private"),
        ("http://100.64.0.1/hook", "carrier-grade NAT"),
        ("http://169.254.169.254/latest/meta-data/", "metadata"),
        ("http://[::ffff:169.254.169.254]/", "metadata"),
        ("http://[fe80::1]/hook", "link-local"),
        ("http://[fd00:ec2::254]/hook", "unique-local"),
        ("http://224.0.0.1/hook", "multicast"),
    ] {
        let body = json!({"url": url, "events": ["*"], "secret": SECRET});
        let problem = assert_problem(
            admin.post("/v1/webhooks", &body).await,
            StatusCode::BAD_REQUEST,
            "webhook_url_not_allowed",
        )
        .await;
        let detail = problem["detail"].as_str().unwrap();
        assert!(detail.contains(why), "{url}: {detail}");
    }
    assert_eq!(
        json_ok(admin.get("/v1/webhooks").await).await["items"],
        json!([]),
        "nothing was registered"
    );
}

#[tokio::test]
async fn a_host_that_is_or_resolves_to_a_refused_address_when_connecting_is_not_sent_anything() {
    let app = strict_app().await;
    let receiver = Receiver::start(0).await;
    let port = receiver.address.port();
    // Endpoints registered while their hosts were public (or the operator allowed them), now
    // pointing at loopback: written directly, as registration would refuse them today.
    let pool = sqlx::PgPool::connect(app.database_url()).await.unwrap();
    for url in [
        format!("http://localhost:{port}/hook"),
        format!("http://127.0.0.1:{port}/hook"),
    ] {
        sqlx::query(
            "INSERT INTO webhook_endpoints (partner_id, id, url, events, secret)
             VALUES ($1, gen_random_uuid(), $2, '{subscription.created}', $3)",
        )
        .bind(app.partner)
        .bind(url)
        .bind(SECRET)
        .execute(&pool)
        .await
        .unwrap();
    }

    subscription(&app.admin()).await;

    let errors = first_attempt_errors(&pool, 2).await;
    assert!(
        errors.iter().any(|e| e.contains("localhost resolves to")),
        "{errors:?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e.contains("127.0.0.1 is a loopback address")),
        "{errors:?}"
    );
    assert!(receiver.received().is_empty(), "the receiver got nothing");
    pool.close().await;
}

#[tokio::test]
async fn ipv6_forms_embedding_an_allowed_ipv4_address_are_not_allowed_by_it() {
    let app = spawn_app_with(|settings| {
        settings.webhook_allowed_networks = vec![parse_network("127.0.0.1/32").unwrap()];
    })
    .await;
    let admin = app.admin();
    let receiver = Receiver::start(0).await;
    let port = receiver.address.port();

    for (form, why) in [
        ("64:ff9b::7f00:1", "64:ff9b::7f00:1 is a loopback address"),
        (
            "64:ff9b:1::7f00:1",
            "64:ff9b:1::7f00:1 is a reserved address",
        ),
        ("2002:7f00:1::", "2002:7f00:1:: is a loopback address"),
        ("::7f00:1", "::7f00:1 is a reserved address"),
        (
            "::ffff:0:127.0.0.1",
            "::ffff:0:7f00:1 is a reserved address",
        ),
    ] {
        let url = format!("http://[{form}]:{port}/hook");
        let body = json!({"url": url, "events": ["*"], "secret": SECRET});
        let problem = assert_problem(
            admin.post("/v1/webhooks", &body).await,
            StatusCode::BAD_REQUEST,
            "webhook_url_not_allowed",
        )
        .await;
        let detail = problem["detail"].as_str().unwrap();
        assert!(detail.contains(why), "{form}: {detail}");
    }
    // The IPv4-mapped form is the allowed address itself: the socket connects to 127.0.0.1.
    let mapped = json!({"url": format!("http://[::ffff:127.0.0.1]:{port}/hook"),
                        "events": ["*"], "secret": SECRET});
    assert_eq!(
        admin.post("/v1/webhooks", &mapped).await.status(),
        StatusCode::CREATED
    );
    subscription(&admin).await;
    receiver.delivered(1).await;
}

#[tokio::test]
async fn the_siit_form_of_loopback_is_refused_with_no_allow_list() {
    let app = strict_app().await;
    let body =
        json!({"url": "http://[::ffff:0:127.0.0.1]/hook", "events": ["*"], "secret": SECRET});

    let problem = assert_problem(
        app.admin().post("/v1/webhooks", &body).await,
        StatusCode::BAD_REQUEST,
        "webhook_url_not_allowed",
    )
    .await;

    assert!(
        problem["detail"].as_str().unwrap().contains("reserved"),
        "{problem}"
    );
}

#[tokio::test]
async fn a_delivery_to_an_embedding_form_is_not_sent_although_its_ipv4_address_is_allowed() {
    let app = spawn_app_with(|settings| {
        settings.webhook_allowed_networks = vec![parse_network("127.0.0.1/32").unwrap()];
    })
    .await;
    let pool = sqlx::PgPool::connect(app.database_url()).await.unwrap();
    // Registered before the rule changed: written directly, as registration refuses it now.
    sqlx::query(
        "INSERT INTO webhook_endpoints (partner_id, id, url, events, secret)
         VALUES ($1, gen_random_uuid(), 'http://[::7f00:1]:9/hook', '{subscription.created}', $2)",
    )
    .bind(app.partner)
    .bind(SECRET)
    .execute(&pool)
    .await
    .unwrap();

    subscription(&app.admin()).await;

    let errors = first_attempt_errors(&pool, 1).await;
    assert!(
        errors[0].contains("not sent: ::7f00:1 is a reserved address"),
        "{errors:?}"
    );
    pool.close().await;
}

/// The error of each endpoint's first attempt, once `endpoints` endpoints have one.
async fn first_attempt_errors(pool: &sqlx::PgPool, endpoints: usize) -> Vec<String> {
    let started = std::time::Instant::now();
    loop {
        let errors: Vec<Option<String>> = sqlx::query_scalar(
            "SELECT DISTINCT ON (endpoint_id) error FROM webhook_attempts
              ORDER BY endpoint_id, attempt",
        )
        .fetch_all(pool)
        .await
        .unwrap();
        if errors.len() == endpoints {
            return errors.into_iter().map(Option::unwrap_or_default).collect();
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "attempts: {errors:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
