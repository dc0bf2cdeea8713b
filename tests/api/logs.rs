//! Bearer tokens never reach the logs: the real binary, at the most verbose level, serves valid,
//! forged and malformed tokens, and its whole log output is searched for them.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use sqlx::{Connection, PgConnection};
use uuid::Uuid;

use crate::helpers::{TEST_SECRET, database_url_named, token};

#[tokio::test]
async fn tokens_never_appear_in_the_logs_even_at_trace_level() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let database = format!("su_test_logs_{}", Uuid::new_v4().simple());
    let log_path = std::env::temp_dir().join(format!("{database}.log"));
    let log = std::fs::File::create(&log_path).unwrap();
    let mut service = Command::new(env!("CARGO_BIN_EXE_subscription-upgrades"))
        .arg("serve")
        .env("DATABASE_URL", database_url_named(&database))
        .env("BIND_ADDR", format!("127.0.0.1:{port}"))
        .env("AUTH_JWT_SECRET", TEST_SECRET)
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", "trace")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let started = Instant::now();
    while client.get(format!("{base}/readyz")).send().await.is_err() {
        assert!(started.elapsed() < Duration::from_secs(30), "not ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let valid = token(Uuid::new_v4(), &["global_admin"]);
    let (header, _) = valid.rsplit_once('.').unwrap();
    let forged = format!("{header}.c2lnbmF0dXJlLWZvcmdlZC1ieS1hLXRlc3Q");
    let malformed = "not-a-jwt-but-a-secret-marker-4242".to_owned();
    let mut answers = Vec::new();
    for bearer in [&valid, &forged, &malformed] {
        let body = serde_json::json!({"name": "Logs Ltd", "market": "US"});
        let created = client
            .post(format!("{base}/v1/customers"))
            .bearer_auth(bearer)
            .header("x-request-id", "logs-test")
            .json(&body)
            .send()
            .await
            .unwrap();
        answers.push(created.status());
    }
    let _ = Command::new("kill")
        .args(["-TERM", &service.id().to_string()])
        .status();
    service.wait().unwrap();
    let logs = std::fs::read_to_string(&log_path).unwrap();
    let _ = std::fs::remove_file(&log_path);
    let mut admin = PgConnection::connect(&database_url_named("postgres"))
        .await
        .unwrap();
    let drop = format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)");
    sqlx::raw_sql(sqlx::AssertSqlSafe(drop))
        .execute(&mut admin)
        .await
        .unwrap();

    assert_eq!(
        answers,
        [
            StatusCode::CREATED,
            StatusCode::UNAUTHORIZED,
            StatusCode::UNAUTHORIZED
        ]
    );
    assert!(
        logs.matches("logs-test").count() >= 3,
        "the requests were logged"
    );
    for secret in [&valid, &forged, &malformed, &header.to_owned()] {
        assert!(!logs.contains(secret.as_str()), "a token reached the logs");
    }
    let signature = valid.rsplit_once('.').unwrap().1;
    assert!(!logs.contains(signature), "a signature reached the logs");
}
