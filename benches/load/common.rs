//! What both benchmarks need around the service they measure: the Postgres server, a fresh
//! database on it, and stopping the service as an orchestrator would.

use std::process::{Child, Command};

use sqlx::{Connection, PgConnection};

/// The server of `DATABASE_URL` (default the local one), without a database name.
pub fn server_url() -> String {
    let url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let url = url.split('?').next().unwrap_or_default().to_owned();
    url.rsplit_once('/')
        .map_or(url.clone(), |(server, _)| server.to_owned())
}

/// Drops the database `name` on `server` if it exists, and creates it empty.
pub async fn recreate_database(server: &str, name: &str) {
    let mut conn = PgConnection::connect(&format!("{server}/postgres"))
        .await
        .expect("Postgres reachable at DATABASE_URL's server");
    for statement in [
        format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        format!("CREATE DATABASE {name}"),
    ] {
        sqlx::raw_sql(sqlx::AssertSqlSafe(statement))
            .execute(&mut conn)
            .await
            .expect("recreate the bench database");
    }
}

/// Stops the service with SIGTERM and waits for it.
pub fn stop(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
}
