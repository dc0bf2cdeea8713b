//! Cluster mode: with `CITUS_WORKERS=host:port,...` set and `DATABASE_URL` at a Citus
//! coordinator (`scripts/test-citus` runs chosen tests so), each test database is made as the
//! docs/distributed.md says: created on every node with the extension, the workers
//! (and the coordinator, unless `CITUS_COORDINATOR=unregistered`) registered, migrated, and
//! `deploy/citus/distribute.sql` run on it, as `psql -f` would, before the service starts.

use std::str::FromStr;

use sqlx::postgres::PgConnectOptions;
use sqlx::{AssertSqlSafe, ConnectOptions, Connection, Executor, PgConnection, PgPool};

/// The recipe, as committed.
const RECIPE: &str = include_str!("../../deploy/citus/distribute.sql");

/// What a new test database holds before the recipe runs.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Data {
    /// The migrated schema only.
    Empty,
    /// The demo data too: the recipe then distributes tables that already hold rows.
    Demo,
}

/// The workers named by `CITUS_WORKERS`, when the tests run on a cluster.
fn workers() -> Option<Vec<(String, u16)>> {
    let listed = std::env::var("CITUS_WORKERS").ok()?;
    let workers = (listed.split(',').map(str::trim))
        .filter(|worker| !worker.is_empty())
        .map(|worker| {
            let (host, port) = worker
                .rsplit_once(':')
                .expect("CITUS_WORKERS lists host:port pairs");
            (host.to_owned(), port.parse().expect("a port number"))
        })
        .collect::<Vec<_>>();
    (!workers.is_empty()).then_some(workers)
}

/// Whether the tests run on a Citus cluster.
pub fn enabled() -> bool {
    workers().is_some()
}

/// The coordinator's and each worker's connection options, to database `name`.
fn nodes(database_url: &str, name: &str) -> Vec<PgConnectOptions> {
    let coordinator = PgConnectOptions::from_str(database_url)
        .expect("DATABASE_URL is a Postgres URL")
        .database(name);
    let mut nodes = vec![coordinator.clone()];
    for (host, port) in workers().unwrap_or_default() {
        nodes.push(coordinator.clone().host(&host).port(port));
    }
    nodes
}

fn name_of(options: &PgConnectOptions) -> String {
    options.get_database().unwrap_or_default().to_owned()
}

/// Makes `database_url`'s database on the cluster as the recipe of docs/distributed.md does: a database with
/// the extension on every node, the nodes registered, then `migrate` (the same migrator as
/// `subscription-upgrades migrate`), `data`, and the recipe. No-op off a cluster.
pub async fn create(database_url: &str, data: Data) {
    if !enabled() {
        return;
    }
    // One at a time: registering nodes and the recipe's ALTER DATABASE write catalogs shared by
    // every database of a node, and two at once fail ("tuple concurrently updated").
    static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _one = ONE_AT_A_TIME.lock().await;
    let probe = PgConnectOptions::from_str(database_url).expect("a Postgres URL");
    let name = name_of(&probe);
    let nodes = nodes(database_url, &name);
    for node in &nodes {
        let mut server = node
            .clone()
            .database("postgres")
            .connect()
            .await
            .expect("a node");
        let create = format!("CREATE DATABASE \"{name}\"");
        server
            .execute(AssertSqlSafe(create))
            .await
            .expect("CREATE DATABASE");
        let mut database = node.connect().await.expect("the new database");
        database
            .execute("CREATE EXTENSION IF NOT EXISTS citus")
            .await
            .expect("Citus is installed on every node");
    }
    let mut coordinator = nodes[0].connect().await.expect("the coordinator");
    if std::env::var("CITUS_COORDINATOR").as_deref() != Ok("unregistered") {
        sqlx::query("SELECT citus_set_coordinator_host($1, $2)")
            .bind(nodes[0].get_host())
            .bind(i32::from(nodes[0].get_port()))
            .execute(&mut coordinator)
            .await
            .expect("the coordinator registered");
    }
    for worker in &nodes[1..] {
        sqlx::query("SELECT citus_add_node($1, $2)")
            .bind(worker.get_host())
            .bind(i32::from(worker.get_port()))
            .execute(&mut coordinator)
            .await
            .expect("a worker registered");
    }
    let pool = PgPool::connect_with(nodes[0].clone())
        .await
        .expect("a pool");
    subscription_upgrades::db::migrate(&pool)
        .await
        .expect("migrated");
    if data == Data::Demo {
        subscription_upgrades::db::seed_demo(&pool)
            .await
            .expect("the demo data");
    }
    pool.close().await;
    sqlx::raw_sql(RECIPE)
        .execute(&mut coordinator)
        .await
        .unwrap_or_else(|error| panic!("deploy/citus/distribute.sql failed: {error}"));
    let _ = coordinator.close().await;
}

/// Drops `database_url`'s database on every worker (the caller drops the coordinator's).
pub async fn drop_on_workers(database_url: &str) {
    if !enabled() {
        return;
    }
    let name = name_of(&PgConnectOptions::from_str(database_url).expect("a Postgres URL"));
    for worker in &nodes(database_url, &name)[1..] {
        let Ok(mut server) = worker.clone().database("postgres").connect().await else {
            continue;
        };
        let drop = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
        let _ = server.execute(AssertSqlSafe(drop)).await;
        let _ = PgConnection::close(server).await;
    }
}
