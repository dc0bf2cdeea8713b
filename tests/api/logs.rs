//! Bearer tokens never reach the logs: the real binary, at the most verbose level, serves valid,
//! forged and malformed tokens, and its whole log output is searched for them.

use reqwest::StatusCode;
use uuid::Uuid;

use crate::helpers::{ServiceProcess, token};

#[tokio::test]
async fn tokens_never_appear_in_the_logs_even_at_trace_level() {
    let log_path = std::env::temp_dir().join(format!("su_test_logs_{}.log", Uuid::new_v4()));
    let log = std::fs::File::create(&log_path).unwrap();
    let mut service =
        ServiceProcess::start(&[("LOG_FORMAT", "json"), ("RUST_LOG", "trace")], log.into()).await;
    let (base, client) = (service.base.clone(), reqwest::Client::new());

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
    service.terminate();
    service.wait();
    let logs = std::fs::read_to_string(&log_path).unwrap();
    let _ = std::fs::remove_file(&log_path);

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
