//! `spawn_app()`: a service on a random port over its own new database, dropped afterwards.

use std::net::SocketAddr;

use reqwest::{Response, StatusCode};
use serde_json::Value;
use subscription_upgrades::config::{DEFAULT_DATABASE_URL, Settings};
use subscription_upgrades::startup::Application;
use uuid::Uuid;

/// A running service and the database it owns.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    database_url: String,
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
    settings
}

/// Starts the service on its own new database (which the service itself creates).
pub async fn spawn_app() -> TestApp {
    let database_url = database_url_named(&format!("su_test_{}", Uuid::new_v4().simple()));
    let settings = test_settings(database_url.clone());
    let app = match Application::build(&settings).await {
        Ok(app) => app,
        Err(error) => panic!(
            "the integration tests need Postgres: {error}. Start it (README, 'Running the tests') \
             or set DATABASE_URL to a server where this user may create databases."
        ),
    };
    let address = format!("http://{}", app.local_addr().expect("bound address"));
    tokio::spawn(app.run_until(std::future::pending()));
    TestApp {
        address,
        client: reqwest::Client::new(),
        database_url,
    }
}

impl TestApp {
    /// `GET path` with no credentials.
    pub async fn get(&self, path: &str) -> Response {
        self.client
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .expect("request sent")
    }

    /// The database URL of this instance, for tests that inspect tables directly.
    pub fn database_url(&self) -> &str {
        &self.database_url
    }
}

impl Drop for TestApp {
    /// Drops the test database (terminating the server's connections), so runs leave nothing.
    fn drop(&mut self) {
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
