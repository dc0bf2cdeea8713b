//! `spawn_app()`: a service on a random port over its own new database, dropped afterwards.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use subscription_upgrades::auth::{self, MintRequest};
use subscription_upgrades::config::{DEFAULT_DATABASE_URL, Settings};
use subscription_upgrades::startup::Application;
use uuid::Uuid;

pub use crate::invariants::assert_invariants;

/// The day `months` before today: a term start that has already ended, or not yet.
pub fn months_ago(months: u32) -> chrono::NaiveDate {
    chrono::Utc::now()
        .date_naive()
        .checked_sub_months(chrono::Months::new(months))
        .expect("a day in range")
}

/// The HS256 secret every test instance verifies tokens with.
pub const TEST_SECRET: &str = "integration-tests-secret-that-is-long-enough";

/// A running service and the database it owns.
pub struct TestApp {
    pub address: String,
    /// Shuts the service down (as SIGTERM would) when sent or dropped.
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    pub client: reqwest::Client,
    /// A partner whose global admin `get` and `admin()` act as.
    pub partner: Uuid,
    database_url: String,
    /// Whether this instance created its database (and so drops it).
    owns_database: bool,
}

/// The server URL of `DATABASE_URL` (or the local default) with another database name.
pub fn database_url_named(name: &str) -> String {
    let base = std::env::var("DATABASE_URL").unwrap_or_else(|_| DEFAULT_DATABASE_URL.to_owned());
    let (without_query, query) = match base.split_once('?') {
        Some((url, query)) => (url.to_owned(), format!("?{query}")),
        None => (base.clone(), String::new()),
    };
    let scheme_end = without_query.find("://").map_or(0, |i| i + 3);
    let server = match without_query[scheme_end..].find('/') {
        Some(slash) => &without_query[..scheme_end + slash],
        None => without_query.as_str(),
    };
    format!("{server}/{name}{query}")
}

/// Settings for a test instance: a new database, port 0, defaults for the rest.
pub fn test_settings(database_url: String) -> Settings {
    let mut settings = Settings::from_env().expect("test environment settings are valid");
    settings.database_url = database_url;
    settings.bind_addr = SocketAddr::from(([127, 0, 0, 1], 0));
    settings.auth_jwt_secret = Some(TEST_SECRET.to_owned());
    settings.auth_jwt_public_key_file = None;
    settings.auth_jwks_url = None;
    settings.auth_oidc_issuer = None;
    settings.auth_issuer = "subscription-upgrades".to_owned();
    settings.auth_audience = "subscription-upgrades".to_owned();
    settings.rate_limit_per_second = 0;
    settings.webhook_poll_ms = 100;
    settings.webhook_retry_base_ms = 100;
    // The test receivers listen on loopback, which webhooks may not reach by default.
    settings.webhook_allowed_networks = vec![
        subscription_upgrades::domain::webhook::address::parse_network("127.0.0.0/8").unwrap(),
    ];
    settings
}

/// Starts the service on its own new database (which the service itself creates; on a cluster,
/// the recipe of `crate::cluster` makes it first).
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Like [`spawn_app`], with settings adjusted first.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Settings)) -> TestApp {
    let database_url = database_url_named(&format!("su_test_{}", Uuid::new_v4().simple()));
    crate::cluster::create(&database_url, crate::cluster::Data::Empty).await;
    spawn_app_on_with(database_url, adjust).await
}

/// Starts the service on a database the test created (and perhaps filled) itself; like
/// [`spawn_app`]'s, it is dropped afterwards.
pub async fn spawn_app_on(database_url: String) -> TestApp {
    spawn_app_on_with(database_url, |_| {}).await
}

async fn spawn_app_on_with(database_url: String, adjust: impl FnOnce(&mut Settings)) -> TestApp {
    let mut settings = test_settings(database_url.clone());
    adjust(&mut settings);
    let (address, stop) = start(&settings).await;
    TestApp {
        address,
        stop: Some(stop),
        client: reqwest::Client::new(),
        partner: Uuid::new_v4(),
        database_url,
        owns_database: true,
    }
}

/// Starts the service on its own new database loaded with the demo data (on a cluster, loaded
/// before the recipe distributes the tables, as when an existing database moves to Citus).
pub async fn spawn_demo_app() -> TestApp {
    if crate::cluster::enabled() {
        let database_url = database_url_named(&format!("su_test_{}", Uuid::new_v4().simple()));
        crate::cluster::create(&database_url, crate::cluster::Data::Demo).await;
        return spawn_app_on(database_url).await;
    }
    let app = spawn_app().await;
    let pool = sqlx::PgPool::connect(app.database_url())
        .await
        .expect("a connection");
    subscription_upgrades::db::seed_demo(&pool)
        .await
        .expect("the demo data loads");
    pool.close().await;
    app
}

/// Builds and starts a service instance; returns its base URL and what stops it.
async fn start(settings: &Settings) -> (String, tokio::sync::oneshot::Sender<()>) {
    let app = match Application::build(settings).await {
        Ok(app) => app,
        Err(error) => panic!(
            "the integration tests need Postgres: {error}. Start it (README, 'Run it, test it') \
             or set DATABASE_URL to a server where this user may create databases."
        ),
    };
    let address = format!("http://{}", app.local_addr().expect("bound address"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    (address, stop)
}

/// A signed test token for a partner and roles, valid for an hour.
pub fn token(partner: Uuid, roles: &[&str]) -> String {
    let keys = test_settings(String::new()).keys();
    let request = MintRequest {
        partner,
        roles: roles.iter().map(|r| r.to_string()).collect(),
        user: format!("user-of-{partner}"),
        ttl: Duration::from_secs(3600),
    };
    auth::mint(&keys, &request).expect("test token")
}

/// Calls the service as one partner with one set of roles.
pub struct Api<'a> {
    pub app: &'a TestApp,
    token: String,
}

impl Api<'_> {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.app.address)
    }

    /// A request to `path` with this caller's token, to finish and send.
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.app
            .client
            .request(method, self.url(path))
            .bearer_auth(&self.token)
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> Response {
        self.app
            .client
            .get(self.url(path))
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("request sent")
    }

    /// `POST path` with a JSON body.
    pub async fn post(&self, path: &str, body: &Value) -> Response {
        self.app
            .client
            .post(self.url(path))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await
            .expect("request sent")
    }

    /// `POST path` with a JSON body and extra headers.
    pub async fn post_with(&self, path: &str, body: &Value, headers: &[(&str, &str)]) -> Response {
        self.send_with(reqwest::Method::POST, path, body, headers)
            .await
    }

    /// `PATCH path` with a JSON body and extra headers.
    pub async fn patch_with(&self, path: &str, body: &Value, headers: &[(&str, &str)]) -> Response {
        self.send_with(reqwest::Method::PATCH, path, body, headers)
            .await
    }

    async fn send_with(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &Value,
        headers: &[(&str, &str)],
    ) -> Response {
        let mut request = self.request(method, path).json(body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().await.expect("request sent")
    }

    /// `POST path` with a raw body and content type.
    pub async fn post_raw(
        &self,
        path: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> Response {
        self.app
            .client
            .post(self.url(path))
            .bearer_auth(&self.token)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("request sent")
    }

    /// `POST path`, asserting 201; returns the body.
    pub async fn create(&self, path: &str, body: Value) -> Value {
        let response = self.post(path, &body).await;
        let status = response.status();
        let text = response.text().await.unwrap();
        assert_eq!(status, StatusCode::CREATED, "POST {path} {body}: {text}");
        serde_json::from_str(&text).unwrap()
    }

    /// Creates a customer in a market; returns its id.
    pub async fn customer(&self, market: &str) -> String {
        let body = self
            .create(
                "/v1/customers",
                json!({"name": format!("Customer in {market}"), "market": market}),
            )
            .await;
        body["id"].as_str().unwrap().to_owned()
    }

    /// Creates a user; returns its id.
    pub async fn user(&self, customer: &str, email: &str) -> String {
        let path = format!("/v1/customers/{customer}/users");
        let body = self
            .create(&path, json!({"displayName": email, "email": email}))
            .await;
        body["id"].as_str().unwrap().to_owned()
    }

    /// Records an active delegated admin relationship for `services` (`["*"]` for all).
    pub async fn relationship(&self, customer: &str, services: &[&str]) {
        let path = format!("/v1/customers/{customer}/delegated-admin-relationships");
        self.create(
            &path,
            json!({"status": "active", "startsAt": "2020-01-01T00:00:00Z",
                   "endsAt": "2099-01-01T00:00:00Z", "services": services}),
        )
        .await;
    }

    /// Assigns a license from the subscription to the user.
    pub async fn assign(&self, customer: &str, subscription: &str, user: &str, disabled: &[&str]) {
        let path =
            format!("/v1/customers/{customer}/subscriptions/{subscription}/license-assignments");
        self.create(&path, json!({"userId": user, "disabledServices": disabled}))
            .await;
    }

    /// Buys a subscription; returns its id.
    pub async fn subscription(&self, customer: &str, offer: &str, quantity: i64) -> String {
        let path = format!("/v1/customers/{customer}/subscriptions");
        let body = self
            .create(
                &path,
                json!({"offerId": offer, "quantity": quantity, "billingCycle": "monthly"}),
            )
            .await;
        body["id"].as_str().unwrap().to_owned()
    }
}

impl TestApp {
    /// Acting as `partner` with `roles`.
    pub fn api(&self, partner: Uuid, roles: &[&str]) -> Api<'_> {
        Api {
            app: self,
            token: token(partner, roles),
        }
    }

    /// Acting as whoever `token` says.
    pub fn api_with_token(&self, token: String) -> Api<'_> {
        Api { app: self, token }
    }

    /// Acting as the global admin of this app's default partner.
    pub fn admin(&self) -> Api<'_> {
        self.api(self.partner, &["global_admin"])
    }

    /// Acting as the platform role of this app's default partner.
    pub fn platform(&self) -> Api<'_> {
        self.api(self.partner, &["platform"])
    }

    /// `GET path` with no credentials.
    pub async fn get_anonymous(&self, path: &str) -> Response {
        self.client
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .expect("request sent")
    }
}

impl TestApp {
    /// `GET path` as the default partner's global admin.
    pub async fn get(&self, path: &str) -> Response {
        self.admin().get(path).await
    }

    /// A second service process over the same database, acting for the same partner (as when
    /// the service is scaled out).
    pub async fn another_instance(&self) -> TestApp {
        self.another_instance_with(|_| {}).await
    }

    /// Another instance whose renewal worker looks every second (a test instance's own looks only
    /// after a minute, so nothing renews while a test sets up).
    pub async fn renewing_instance(&self) -> TestApp {
        self.another_instance_with(|settings| settings.renewal_poll_secs = 1)
            .await
    }

    /// Like [`Self::another_instance`], with settings adjusted first.
    pub async fn another_instance_with(&self, adjust: impl FnOnce(&mut Settings)) -> TestApp {
        let mut settings = test_settings(self.database_url.clone());
        adjust(&mut settings);
        let (address, stop) = start(&settings).await;
        TestApp {
            address,
            stop: Some(stop),
            client: reqwest::Client::new(),
            partner: self.partner,
            database_url: self.database_url.clone(),
            owns_database: false,
        }
    }

    /// Shuts this instance down as SIGTERM would (its database stays until it is dropped).
    pub fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    /// The database URL of this instance, for tests that inspect tables directly.
    pub fn database_url(&self) -> &str {
        &self.database_url
    }
}

impl Drop for TestApp {
    /// Drops the test database (terminating the server's connections), so runs leave nothing.
    fn drop(&mut self) {
        if !self.owns_database {
            return;
        }
        let url = self.database_url.clone();
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(drop_database(&url))
        })
        .join();
        if let Ok(Err(error)) = dropped {
            eprintln!("could not drop test database: {error}");
        }
    }
}

/// A customer's row held locked by another connection, as a concurrent change would hold it:
/// changes of that customer wait until it is released.
pub struct CustomerLock(sqlx::PgConnection);

impl CustomerLock {
    pub async fn hold(database_url: &str, customer: &str) -> CustomerLock {
        use sqlx::{Connection, Executor};
        let mut connection = sqlx::PgConnection::connect(database_url)
            .await
            .expect("a connection");
        connection.execute("BEGIN").await.expect("BEGIN");
        sqlx::query("SELECT 1 FROM customers WHERE id = $1::uuid FOR UPDATE")
            .bind(customer)
            .execute(&mut connection)
            .await
            .expect("the customer row locked");
        CustomerLock(connection)
    }

    pub async fn release(mut self) {
        use sqlx::Executor;
        self.0.execute("ROLLBACK").await.expect("ROLLBACK");
    }
}

/// The real `subscription-upgrades` binary serving on its own new database, for what only a
/// process shows: its log output, its signals, its exit status.
pub struct ServiceProcess {
    pub child: std::process::Child,
    pub base: String,
    pub database_url: String,
    /// Whether this process created its database (and so drops it).
    owns_database: bool,
}

impl ServiceProcess {
    /// Starts `serve` with the test secret and `env`, stderr to `stderr`; waits until ready.
    pub async fn start(env: &[(&str, &str)], stderr: std::process::Stdio) -> ServiceProcess {
        let database_url =
            database_url_named(&format!("su_test_process_{}", Uuid::new_v4().simple()));
        let mut service = ServiceProcess::start_on(database_url, env, stderr).await;
        service.owns_database = true;
        service
    }

    /// Like [`Self::start`], over a database another instance already serves (not dropped by
    /// this one).
    pub async fn start_on(
        database_url: String,
        env: &[(&str, &str)],
        stderr: std::process::Stdio,
    ) -> ServiceProcess {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_subscription-upgrades"))
            .arg("serve")
            .env("DATABASE_URL", &database_url)
            .env("BIND_ADDR", format!("127.0.0.1:{port}"))
            .env("AUTH_JWT_SECRET", TEST_SECRET)
            .env("RATE_LIMIT_PER_SECOND", "0")
            .envs(env.iter().copied())
            .stdout(std::process::Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("the service starts");
        let service = ServiceProcess {
            child,
            base: format!("http://127.0.0.1:{port}"),
            database_url,
            owns_database: false,
        };
        let client = reqwest::Client::new();
        let started = std::time::Instant::now();
        while client
            .get(format!("{}/readyz", service.base))
            .send()
            .await
            .is_err()
        {
            assert!(started.elapsed() < Duration::from_secs(30), "not ready");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        service
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) {
        let status = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
    }

    /// Waits for the process to exit.
    pub fn wait(&mut self) -> std::process::ExitStatus {
        self.child.wait().expect("the service exits")
    }
}

impl Drop for ServiceProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if !self.owns_database {
            return;
        }
        let url = self.database_url.clone();
        let _ = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime")
                .block_on(drop_database(&url))
        })
        .join();
    }
}

async fn drop_database(url: &str) -> Result<(), sqlx::Error> {
    use sqlx::{Connection, Executor};
    let name = url
        .rsplit('/')
        .next()
        .and_then(|tail| tail.split('?').next())
        .unwrap_or_default()
        .to_owned();
    let mut admin = sqlx::PgConnection::connect(&database_url_named("postgres")).await?;
    admin
        .execute(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
        )))
        .await?;
    crate::cluster::drop_on_workers(url).await;
    Ok(())
}

/// Asserts a problem+json answer with this status and code; returns the body.
pub async fn assert_problem(response: Response, status: StatusCode, code: &str) -> Value {
    assert_eq!(response.status(), status, "status");
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let request_id = response
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body: Value = response.json().await.expect("JSON body");
    assert_eq!(
        content_type, "application/problem+json",
        "content type of {body}"
    );
    assert_eq!(body["code"], code, "code of {body}");
    assert_eq!(body["status"], status.as_u16(), "status field of {body}");
    assert_eq!(
        body["requestId"],
        request_id.as_str(),
        "requestId matches header"
    );
    for field in ["type", "title", "detail"] {
        assert!(body[field].is_string(), "{field} missing in {body}");
    }
    body
}

/// Asserts a 200 JSON answer; returns the body.
pub async fn json_ok(response: Response) -> Value {
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.expect("JSON body")
}

/// Every row of every table, as text: equal snapshots mean nothing was written. The stored
/// customer facts are left out: a cache of the other tables, which any read may fill
/// (`assert_invariants` checks that each stored row equals its tables).
pub async fn snapshot(app: &TestApp) -> BTreeMap<String, String> {
    let pool = sqlx::PgPool::connect(app.database_url()).await.unwrap();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT tablename::text FROM pg_tables
          WHERE schemaname = 'public' AND tablename <> 'customer_facts' ORDER BY 1",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let mut rows = BTreeMap::new();
    for table in tables {
        let dump: String = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '') FROM {table} t"
        )))
        .fetch_one(&pool)
        .await
        .unwrap();
        rows.insert(table, dump);
    }
    pool.close().await;
    rows
}

/// Polls `count_query` (a `SELECT count(*)`) on the database until it counts at least one row;
/// fails after 20 seconds saying `what` never happened.
pub async fn wait_for_rows(database_url: &str, count_query: &str, what: &str) {
    let pool = sqlx::PgPool::connect(database_url)
        .await
        .expect("a connection");
    let started = std::time::Instant::now();
    loop {
        // The tests' own statements.
        let rows: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(count_query.to_owned()))
            .fetch_one(&pool)
            .await
            .expect("the count query runs");
        if rows > 0 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "{what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    pool.close().await;
}

/// Waits until a request of the service waits on a row lock of its database (for example, on a
/// [`CustomerLock`]); fails saying `what` never happened.
pub async fn wait_for_a_lock_wait(database_url: &str, what: &str) {
    wait_for_lock_waits(database_url, 1, what).await;
}

/// Waits until `waiting` sessions of the database wait on a lock; fails saying `what` never
/// happened.
pub async fn wait_for_lock_waits(database_url: &str, waiting: u32, what: &str) {
    // On a cluster the wait happens on the worker holding the customer's shard, where the
    // coordinator's own activity does not show it; `citus_stat_activity` is every node's.
    let activity = if crate::cluster::enabled() {
        "citus_stat_activity"
    } else {
        "pg_stat_activity"
    };
    let waits = format!(
        "SELECT count(*) FROM (SELECT 1 FROM {activity}
          WHERE datname = current_database() AND wait_event_type = 'Lock'
          OFFSET {} LIMIT 1) AS enough",
        waiting.saturating_sub(1)
    );
    wait_for_rows(database_url, &waits, what).await;
}

/// The `code` of each failing condition of a problem's `failures`, in order.
pub fn failure_codes(failures: &Value) -> Vec<String> {
    failures
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_owned())
        .collect()
}

/// A date field of an answer (`YYYY-MM-DD`).
pub fn date(value: &Value) -> chrono::NaiveDate {
    value.as_str().unwrap().parse().unwrap()
}

/// `numerator / denominator` rounded to the nearest integer, ties to even: how the service rounds
/// money, computed here on its own to check it.
pub fn round_half_even(numerator: i64, denominator: i64) -> i64 {
    let (quotient, remainder) = (numerator / denominator, numerator % denominator);
    match (2 * remainder).cmp(&denominator) {
        std::cmp::Ordering::Greater => quotient + 1,
        std::cmp::Ordering::Equal => quotient + (quotient & 1),
        std::cmp::Ordering::Less => quotient,
    }
}
