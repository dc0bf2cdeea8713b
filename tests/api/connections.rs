//! Connections over real sockets: a client that sends nothing, or half a request head, or idles
//! after its answer is disconnected; open connections are capped; over-long heads are answered
//! with problem+json; clients cannot add label values to the metrics.

use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{CustomerLock, TestApp, spawn_app, spawn_app_with, wait_for_a_lock_wait};

/// A service that closes a connection after one second without a request head, or two idle.
async fn spawn_strict_app(max_connections: u64) -> TestApp {
    spawn_app_with(|settings| {
        settings.http_header_read_timeout_secs = 1;
        settings.http_idle_timeout_secs = 2;
        settings.http_max_connections = max_connections;
    })
    .await
}

async fn connect(app: &TestApp) -> TcpStream {
    TcpStream::connect(app.address.trim_start_matches("http://"))
        .await
        .expect("the service accepts a connection")
}

/// Reads until the server closes the connection; what it sent, and how long closing took.
async fn read_until_closed(stream: &mut TcpStream, within: Duration) -> (String, Duration) {
    let started = Instant::now();
    let mut received = Vec::new();
    let read = tokio::time::timeout(within, stream.read_to_end(&mut received)).await;
    assert!(
        read.is_ok(),
        "the server kept the connection open for {within:?}; it sent {:?}",
        String::from_utf8_lossy(&received)
    );
    (
        String::from_utf8_lossy(&received).into_owned(),
        started.elapsed(),
    )
}

/// Sends raw bytes on a new connection and reads the whole answer (`Connection: close`).
async fn exchange(app: &TestApp, request: &[u8]) -> String {
    let mut stream = connect(app).await;
    stream.write_all(request).await.unwrap();
    read_until_closed(&mut stream, Duration::from_secs(10))
        .await
        .0
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed_after_the_header_timeout() {
    let app = spawn_strict_app(64).await;
    let mut silent = connect(&app).await;

    let (sent, after) = read_until_closed(&mut silent, Duration::from_secs(5)).await;

    assert_eq!(
        sent, "",
        "nothing is answered to a client that asked nothing"
    );
    assert!(
        after >= Duration::from_millis(900),
        "closed after {after:?}"
    );
}

#[tokio::test]
async fn a_connection_that_sends_half_a_head_is_closed_after_the_header_timeout() {
    let app = spawn_strict_app(64).await;
    let mut half = connect(&app).await;
    half.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
        .await
        .unwrap();

    let (_, after) = read_until_closed(&mut half, Duration::from_secs(5)).await;

    assert!(
        after >= Duration::from_millis(900),
        "closed after {after:?}"
    );
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    let app = spawn_strict_app(64).await;
    let mut stream = connect(&app).await;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let mut first = [0u8; 12];
    stream.read_exact(&mut first).await.unwrap();
    assert_eq!(&first, b"HTTP/1.1 200");

    let (_, after) = read_until_closed(&mut stream, Duration::from_secs(6)).await;

    // The idle timeout (2 s), not the header timeout (1 s), applies between requests.
    assert!(
        after >= Duration::from_millis(1500),
        "closed after {after:?}"
    );
}

#[tokio::test]
async fn a_head_sent_in_pieces_within_the_header_timeout_is_answered() {
    let app = spawn_strict_app(64).await;
    let mut stream = connect(&app).await;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\n")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    stream
        .write_all(b"Host: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();

    let (answer, _) = read_until_closed(&mut stream, Duration::from_secs(5)).await;

    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[tokio::test]
async fn open_connections_are_capped_and_the_next_is_served_when_one_closes() {
    let app = spawn_app_with(|settings| settings.http_max_connections = 3).await;
    let mut silent = Vec::new();
    for _ in 0..3 {
        silent.push(connect(&app).await);
    }
    let mut waiting = connect(&app).await;
    waiting
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut first = [0u8; 1];
    let answered_early =
        tokio::time::timeout(Duration::from_millis(500), waiting.peek(&mut first)).await;
    assert!(
        answered_early.is_err(),
        "a fourth connection was served while three were open"
    );

    drop(silent.pop());
    let (answer, _) = read_until_closed(&mut waiting, Duration::from_secs(5)).await;

    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[tokio::test]
async fn three_hundred_silent_sockets_do_not_keep_readiness_from_answering() {
    let app = spawn_strict_app(100).await;
    let mut silent = Vec::new();
    for _ in 0..300 {
        silent.push(connect(&app).await);
    }

    let started = Instant::now();
    let answer = exchange(
        &app,
        b"GET /readyz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    )
    .await;

    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    // Three waves of 100 silent sockets, each closed after the one-second header timeout.
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn an_over_long_request_target_is_a_414_problem() {
    let app = spawn_app().await;
    let request = format!(
        "GET /v1/offers?market={} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
        "X".repeat(9 * 1024)
    );

    let answer = exchange(&app, request.as_bytes()).await;

    assert!(answer.starts_with("HTTP/1.1 414"), "{answer}");
    assert!(answer.contains("application/problem+json"), "{answer}");
    assert!(answer.contains(r#""code":"uri_too_long""#), "{answer}");
}

#[tokio::test]
async fn an_over_large_header_section_is_a_431_problem() {
    let app = spawn_app().await;
    let big = format!(
        "GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Big: {}\r\nConnection: close\r\n\r\n",
        "a".repeat(20 * 1024)
    );
    let mut many =
        String::from("GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
    for i in 0..150 {
        many.push_str(&format!("X-Header-{i}: {i}\r\n"));
    }
    many.push_str("\r\n");

    for request in [big, many] {
        let answer = exchange(&app, request.as_bytes()).await;

        assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");
        assert!(answer.contains("application/problem+json"), "{answer}");
        assert!(answer.contains(r#""code":"headers_too_large""#), "{answer}");
    }
}

#[tokio::test]
async fn made_up_methods_are_counted_as_other_and_never_become_label_values() {
    let app = spawn_app().await;
    for i in 0..30 {
        let request = format!(
            "XMETHOD{i}Q /v1/offers/{i} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
        );
        let answer = exchange(&app, request.as_bytes()).await;
        assert!(answer.starts_with("HTTP/1.1 "), "{answer}");
    }

    let metrics = app.get("/metrics").await.text().await.unwrap();

    assert!(
        !metrics.contains("XMETHOD"),
        "a made-up method became a label"
    );
    assert!(
        !metrics.contains("/v1/offers/7"),
        "a raw path became a label"
    );
    assert!(metrics.contains(r#"method="other""#));
}

#[tokio::test]
async fn a_request_answered_for_longer_than_both_timeouts_is_not_cut() {
    let app = spawn_strict_app(64).await;
    let admin = app.admin();
    let customer = admin.customer("US").await;
    let subscription = admin
        .subscription(&customer, "m365-business-basic", 5)
        .await;
    let path = format!("/v1/customers/{customer}/subscriptions/{subscription}");
    let held = CustomerLock::hold(app.database_url(), &customer).await;

    let body = json!({"quantity": 6});
    let change = admin.patch_with(&path, &body, &[]);
    let release = async {
        wait_for_a_lock_wait(
            app.database_url(),
            "the change never waited on the customer's lock",
        )
        .await;
        // Longer than the header (1 s) and idle (2 s) timeouts together.
        tokio::time::sleep(Duration::from_millis(3200)).await;
        held.release().await;
    };
    let (response, ()) = tokio::join!(change, release);

    assert_eq!(response.status(), reqwest::StatusCode::OK);
}

#[tokio::test]
async fn a_header_section_of_half_a_mebibyte_or_of_many_lines_is_still_a_431_problem() {
    let app = spawn_app().await;
    let huge = format!(
        "GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Huge: {}\r\nConnection: close\r\n\r\n",
        "a".repeat(512 * 1024)
    );
    let mut lines =
        String::from("GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
    for i in 0..600 {
        lines.push_str(&format!("X-Line-{i}: {i}\r\n"));
    }
    lines.push_str("\r\n");

    for request in [huge, lines] {
        let answer = exchange(&app, request.as_bytes()).await;

        assert!(
            answer.starts_with("HTTP/1.1 431"),
            "{}",
            &answer[..answer.len().min(200)]
        );
        assert!(answer.contains(r#""code":"headers_too_large""#));
    }
}
