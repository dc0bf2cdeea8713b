//! Webhooks go to public internet addresses only: a URL whose host is, or resolves to, a
//! loopback, private, link-local (metadata), unique-local or other non-public address is refused
//! at registration, and again when connecting, unless the operator allows its network
//! (`WEBHOOK_ALLOWED_NETWORKS`; the other tests allow 127.0.0.0/8).

use reqwest::StatusCode;
use serde_json::json;

use super::{Receiver, SECRET, subscription};
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
