//! A database outage mid-load, through a TCP proxy this test controls: while Postgres is cut off
//! every request that needs it gets 503 problem+json with `Retry-After` within the acquire
//! timeout, `/readyz` says not ready; once it is back the service recovers by itself, and the
//! retried upgrades leave nothing partial.

use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::json;
use sqlx::postgres::PgConnectOptions;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;

use crate::helpers::{
    Api, CustomerLock, assert_invariants, assert_problem, database_url_named, json_ok,
    spawn_app_with, wait_for_a_lock_wait,
};

/// A TCP proxy to Postgres that can be cut (every open connection closed, new ones refused)
/// and restored.
struct Proxy {
    address: SocketAddr,
    cut: Arc<AtomicBool>,
    pipes: Arc<Mutex<Vec<AbortHandle>>>,
    accepting: AbortHandle,
}

impl Proxy {
    async fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
        let address = listener.local_addr().expect("bound");
        let cut = Arc::new(AtomicBool::new(false));
        let pipes = Arc::new(Mutex::new(Vec::<AbortHandle>::new()));
        let accepting = tokio::spawn({
            let (cut, pipes) = (Arc::clone(&cut), Arc::clone(&pipes));
            async move {
                while let Ok((mut client, _)) = listener.accept().await {
                    if cut.load(Ordering::SeqCst) {
                        continue;
                    }
                    let pipe = tokio::spawn(async move {
                        if let Ok(mut server) = TcpStream::connect(upstream).await {
                            let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                        }
                    });
                    pipes.lock().unwrap().push(pipe.abort_handle());
                }
            }
        })
        .abort_handle();
        Proxy {
            address,
            cut,
            pipes,
            accepting,
        }
    }

    /// Closes every connection through the proxy and refuses new ones.
    fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        for pipe in self.pipes.lock().unwrap().drain(..) {
            pipe.abort();
        }
    }

    fn restore(&self) {
        self.cut.store(false, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accepting.abort();
        self.cut();
    }
}

/// `url` with its host and port replaced by `address`.
fn through(url: &str, address: SocketAddr) -> String {
    let scheme_end = url.find("://").expect("a URL") + 3;
    let authority_end = scheme_end + url[scheme_end..].find('/').expect("a database name");
    let authority = &url[scheme_end..authority_end];
    let credentials = authority.rfind('@').map_or("", |at| &authority[..=at]);
    format!(
        "{}{credentials}{address}{}",
        &url[..scheme_end],
        &url[authority_end..]
    )
}

const ACQUIRE_TIMEOUT: Duration = Duration::from_millis(1000);
/// What an answer may take beyond the acquire timeout on a loaded 2-core machine.
const SLACK: Duration = Duration::from_millis(1500);
const SOURCES: usize = 12;

/// One answer as the load saw it.
#[derive(Debug)]
struct Answer {
    status: StatusCode,
    took: Duration,
    retry_after: bool,
    problem_json: bool,
}

async fn answer(request: reqwest::RequestBuilder) -> Answer {
    let started = Instant::now();
    let response = request.send().await.expect("the service answers");
    let headers = response.headers().clone();
    let status = response.status();
    let _ = response.bytes().await;
    Answer {
        status,
        took: started.elapsed(),
        retry_after: headers.contains_key("retry-after"),
        problem_json: headers
            .get("content-type")
            .is_some_and(|v| v == "application/problem+json"),
    }
}

/// Upgrades `source` under its own Idempotency-Key until it is answered 201 (a first answer or
/// the stored one), recording every answer; gives up after `deadline`.
async fn upgrade_until_done(
    api: &Api<'_>,
    customer: &str,
    source: &str,
    deadline: Instant,
) -> Vec<Answer> {
    let path = format!("/v1/customers/{customer}/subscriptions/{source}/upgrades");
    let mut answers = Vec::new();
    while Instant::now() < deadline {
        let request = api
            .request(reqwest::Method::POST, &path)
            .header("Idempotency-Key", format!("upgrade-{source}"))
            .json(&json!({"targetOfferId": "m365-business-standard"}));
        let answer = answer(request).await;
        let done = answer.status == StatusCode::CREATED;
        answers.push(answer);
        if done {
            return answers;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{source} was not upgraded by the deadline: {answers:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_gets_503_with_retry_after_then_the_service_recovers_with_nothing_partial()
 {
    let direct = PgConnectOptions::from_str(&database_url_named("postgres")).expect("a URL");
    let upstream = tokio::net::lookup_host((direct.get_host(), direct.get_port()))
        .await
        .expect("the Postgres host resolves")
        .next()
        .expect("an address");
    let proxy = Proxy::start(upstream).await;
    let app = spawn_app_with(|settings| {
        settings.database_url = through(&settings.database_url, proxy.address);
        settings.db_acquire_timeout_ms = ACQUIRE_TIMEOUT.as_millis() as u64;
    })
    .await;
    let admin = app.admin();
    // One customer per source: a customer may own the target offer only once.
    let mut sources = Vec::new();
    for n in 0..SOURCES {
        let customer = admin.customer("US").await;
        admin.relationship(&customer, &["*"]).await;
        let source = admin
            .subscription(&customer, "m365-business-basic", 3)
            .await;
        let user = admin.user(&customer, &format!("user{n}@contoso.com")).await;
        admin.assign(&customer, &source, &user, &[]).await;
        sources.push((customer, source));
    }
    let customer = sources[0].0.clone();
    // The third upgrade waits for this lock inside its transaction when the connection is cut.
    let in_flight = CustomerLock::hold(app.database_url(), &sources[2].0).await;

    let deadline = Instant::now() + Duration::from_secs(60);
    let load = sources.iter().enumerate().map(|(n, (customer, source))| {
        let admin = app.admin();
        async move {
            // Spread the upgrades over the time before, during and after the cut.
            tokio::time::sleep(Duration::from_millis(250 * n as u64)).await;
            upgrade_until_done(&admin, customer, source, deadline).await
        }
    });
    let outage = async {
        wait_for_a_lock_wait(app.database_url(), "no request waits on a lock").await;
        proxy.cut();
        let cut_at = Instant::now();
        let readiness = answer(app.client.get(format!("{}/readyz", app.address))).await;
        let read = app.get(&format!("/v1/customers/{customer}")).await;
        tokio::time::sleep(Duration::from_millis(2500).saturating_sub(cut_at.elapsed())).await;
        proxy.restore();
        in_flight.release().await;
        (readiness, read)
    };
    let (answers, (readiness, read)) = tokio::join!(join_all(load), outage);

    assert_eq!(readiness.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        readiness.retry_after && readiness.problem_json,
        "{readiness:?}"
    );
    assert!(readiness.took < ACQUIRE_TIMEOUT + SLACK, "{readiness:?}");
    let retry_after = read.headers().get("retry-after").cloned();
    assert_problem(
        read,
        StatusCode::SERVICE_UNAVAILABLE,
        "database_unavailable",
    )
    .await;
    assert_eq!(retry_after.expect("Retry-After"), "2");

    let cut_mid_transaction = &answers[2][0];
    assert_eq!(cut_mid_transaction.status, StatusCode::SERVICE_UNAVAILABLE);
    let answers: Vec<&Answer> = answers.iter().flatten().collect();
    let refused: Vec<&&Answer> = answers
        .iter()
        .filter(|a| a.status != StatusCode::CREATED)
        .collect();
    assert!(!refused.is_empty(), "the cut refused some upgrades");
    for answer in &refused {
        assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE, "{answer:?}");
        assert!(answer.retry_after && answer.problem_json, "{answer:?}");
    }
    for answer in &answers {
        assert!(answer.took < ACQUIRE_TIMEOUT + SLACK, "no hang: {answer:?}");
    }

    let ready = json_ok(app.get("/readyz").await).await;
    assert_eq!(ready["status"], "ready");
    for (customer, source) in &sources {
        let path = format!("/v1/customers/{customer}/subscriptions/{source}");
        let subscription = json_ok(admin.get(&path).await).await;
        assert_eq!(subscription["status"], "upgraded", "{subscription}");
    }
    assert_invariants(app.database_url()).await;
}

#[test]
fn the_proxied_url_keeps_credentials_database_and_options() {
    let address = SocketAddr::from(([127, 0, 0, 1], 6543));
    assert_eq!(
        through(
            "postgres://u:p@db.example:5432/name?sslmode=disable",
            address
        ),
        "postgres://u:p@127.0.0.1:6543/name?sslmode=disable"
    );
    assert_eq!(
        through("postgres://127.0.0.1:5432/name", address),
        "postgres://127.0.0.1:6543/name"
    );
}
