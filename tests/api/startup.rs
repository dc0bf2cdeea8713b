//! Start-up: the database is created when missing, and a bad DATABASE_URL or an unreachable
//! Postgres is one readable error rather than a panic or a hang.

use std::time::{Duration, Instant};

use sqlx::Connection;
use subscription_upgrades::startup::Application;

use crate::helpers::{database_url_named, spawn_app, test_settings};

#[tokio::test]
async fn serve_creates_the_missing_database_and_applies_migrations() {
    let app = spawn_app().await;

    let mut connection = sqlx::PgConnection::connect(app.database_url())
        .await
        .unwrap();
    let paths: i64 = sqlx::query_scalar("SELECT count(*) FROM upgrade_paths")
        .fetch_one(&mut connection)
        .await
        .unwrap();
    let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations WHERE success")
        .fetch_one(&mut connection)
        .await
        .unwrap();

    assert_eq!(paths, 18);
    assert_eq!(
        applied,
        subscription_upgrades::db::MIGRATOR.iter().count() as i64
    );
}

#[tokio::test]
async fn unreachable_postgres_is_one_readable_error() {
    let settings = test_settings("postgres://postgres@127.0.0.1:1/anything".to_owned());

    let started = Instant::now();
    let error = Application::build(&settings)
        .await
        .err()
        .expect("start-up fails");

    let message = error.to_string();
    assert!(
        message.starts_with("cannot reach Postgres at 127.0.0.1:1/anything"),
        "{message}"
    );
    assert!(!message.contains('\n'));
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test]
async fn malformed_database_url_is_one_readable_error() {
    for url in [
        "not a url",
        "mysql://root@localhost/db",
        &database_url_named(""),
    ] {
        let settings = test_settings(url.to_owned());

        let error = Application::build(&settings)
            .await
            .err()
            .expect("start-up fails");

        let message = error.to_string();
        assert!(message.starts_with("DATABASE_URL"), "{url}: {message}");
    }
}
