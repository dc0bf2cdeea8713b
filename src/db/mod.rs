//! Persistence: connecting, creating the database, migrating, and the queries per aggregate.

pub mod add_ons;
pub mod catalog;
pub mod customers;
mod errors;
pub mod facts;
pub mod history;
pub mod idempotency;
pub mod jobs;
pub mod licenses;
#[cfg(test)]
mod lint;
pub mod notices;
pub mod pipeline;
pub mod relationships;
pub mod retention;
pub mod scale;
pub mod scheduled;
pub mod subscriptions;
mod types;
pub mod upgrades;
pub mod users;
pub mod webhooks;

pub use errors::violated_constraint;

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{AssertSqlSafe, ConnectOptions, Connection, Executor, PgConnection, PgPool};

/// The migrations in `migrations/`, embedded in the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!();

/// How long start-up waits for Postgres to answer before saying it cannot be reached.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Why the database could not be prepared at start-up; each displays as one readable line.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error(
        "DATABASE_URL is not a valid Postgres URL ({0}); expected postgres://user@host:5432/database"
    )]
    InvalidUrl(String),
    #[error(
        "DATABASE_URL names no database; add one, e.g. postgres://postgres@127.0.0.1:5432/subscription_upgrades"
    )]
    NoDatabaseName,
    #[error(
        "cannot reach Postgres at {target} ({cause}); start Postgres or point DATABASE_URL at a running server"
    )]
    Unreachable { target: String, cause: String },
    #[error("Postgres at {target} refused the connection: {cause}")]
    Refused { target: String, cause: String },
    #[error("could not create database {database}: {cause}")]
    CreateFailed { database: String, cause: String },
    #[error("could not apply migrations: {0}")]
    Migrate(String),
}

/// Parses `DATABASE_URL`; the database name is required.
pub fn parse_url(url: &str) -> Result<PgConnectOptions, SetupError> {
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return Err(SetupError::InvalidUrl(
            "it must start with postgres://".to_owned(),
        ));
    }
    let options =
        PgConnectOptions::from_str(url).map_err(|e| SetupError::InvalidUrl(e.to_string()))?;
    match options.get_database() {
        Some(name) if !name.is_empty() => Ok(options.application_name("subscription-upgrades")),
        _ => Err(SetupError::NoDatabaseName),
    }
}

/// `host:port/database`, for messages (never the password).
pub fn describe(options: &PgConnectOptions) -> String {
    format!(
        "{}:{}/{}",
        options.get_host(),
        options.get_port(),
        options.get_database().unwrap_or_default()
    )
}

/// Creates the database when it is missing. Safe when several instances start at once.
pub async fn ensure_database(options: &PgConnectOptions) -> Result<(), SetupError> {
    match timed_connect(options).await {
        // 3D000 invalid_catalog_name: the server is there, the database is not.
        Ok(Err(sqlx::Error::Database(e))) if e.code().as_deref() == Some("3D000") => {}
        attempt => {
            let connection = classify(options, attempt)?;
            let _ = connection.close().await;
            return Ok(());
        }
    }
    let database = options.get_database().unwrap_or_default().to_owned();
    let maintenance_options = options.clone().database("postgres");
    let mut maintenance = classify(
        &maintenance_options,
        timed_connect(&maintenance_options).await,
    )?;
    let create = format!("CREATE DATABASE \"{}\"", database.replace('"', "\"\""));
    let created = maintenance.execute(AssertSqlSafe(create)).await;
    let _ = maintenance.close().await;
    match created {
        Ok(_) => Ok(()),
        // 42P04 duplicate_database: another instance created it first.
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42P04") => Ok(()),
        Err(e) => Err(SetupError::CreateFailed {
            database,
            cause: e.to_string(),
        }),
    }
}

type ConnectAttempt = Result<Result<PgConnection, sqlx::Error>, tokio::time::error::Elapsed>;

async fn timed_connect(options: &PgConnectOptions) -> ConnectAttempt {
    tokio::time::timeout(CONNECT_TIMEOUT, options.connect()).await
}

fn classify(
    options: &PgConnectOptions,
    attempt: ConnectAttempt,
) -> Result<PgConnection, SetupError> {
    let target = describe(options);
    match attempt {
        Ok(Ok(connection)) => Ok(connection),
        Err(_) => Err(SetupError::Unreachable {
            target,
            cause: format!("no answer within {}s", CONNECT_TIMEOUT.as_secs()),
        }),
        Ok(Err(sqlx::Error::Database(e))) => Err(SetupError::Refused {
            target,
            cause: format!(
                "{} (SQLSTATE {})",
                e.message(),
                e.code().unwrap_or_default()
            ),
        }),
        Ok(Err(e)) => Err(SetupError::Unreachable {
            target,
            cause: e.to_string(),
        }),
    }
}

/// Applies every pending migration.
pub async fn migrate(pool: &PgPool) -> Result<(), SetupError> {
    MIGRATOR
        .run(pool)
        .await
        .map_err(|e| SetupError::Migrate(e.to_string()))
}

/// Pool sizing and time limits.
#[derive(Debug, Clone)]
pub struct PoolSettings {
    pub max_connections: u32,
    /// How long a request waits for a connection before it is answered 503.
    pub acquire_timeout: Duration,
    /// How long a statement waits for a row lock (Postgres `lock_timeout`).
    pub lock_timeout: Duration,
}

/// Opens the pool (one connection eagerly, so a dead server shows at start-up).
pub async fn open_pool(
    options: &PgConnectOptions,
    settings: &PoolSettings,
) -> Result<PgPool, SetupError> {
    let target = describe(options);
    PgPoolOptions::new()
        .max_connections(settings.max_connections)
        .acquire_timeout(settings.acquire_timeout)
        .connect_with(options.clone().options([(
            "lock_timeout",
            format!("{}ms", settings.lock_timeout.as_millis()),
        )]))
        .await
        .map_err(|e| SetupError::Unreachable {
            target,
            cause: e.to_string(),
        })
}

/// A pool for the statements a background worker runs on its queue (job items, webhook
/// deliveries), of at most `max_connections`, connecting as `pool` does, when first used. Its
/// statements are planned for each execution (`plan_cache_mode = force_custom_plan`), for the
/// table as it is then. A queue table is empty most of the time and then, at once, holds a job's
/// 10,000 items: a plan cached while it was empty (a prepared statement's generic plan, chosen
/// after a few executions that found nothing) reads the whole table for every claim and every
/// item's outcome, as long as the connection lives (docs/performance.md, "A plan cached on an
/// empty queue").
pub fn queue_pool(pool: &PgPool, max_connections: u32) -> PgPool {
    let options = (*pool.connect_options())
        .clone()
        .options([("plan_cache_mode", "force_custom_plan")]);
    PgPoolOptions::new()
        .max_connections(max_connections.max(1))
        .acquire_timeout(pool.options().get_acquire_timeout())
        .connect_lazy_with(options)
}

/// Begins a transaction whose `SET LOCAL`s and lock timeout hold on every node it touches. On a
/// Citus cluster the row locks of a customer's change are taken on a worker, which knows nothing
/// of this connection's settings (its `lock_timeout` option) unless the coordinator passes them
/// on: Citus sends a transaction's `SET LOCAL` statements to the workers when
/// `citus.propagate_set_commands` is `local`, each by its own text. So the transaction calls
/// `begin_settings()` (migration `20261216090000`), which on a cluster sets that, and the lock
/// timeout again as a `SET LOCAL` (a `SET LOCAL` sent with the `BEGIN` in one string would be
/// sent to the workers with its `BEGIN`), and on one Postgres returns at once. One round trip, as
/// a plain `BEGIN`.
pub async fn begin(
    pool: &PgPool,
) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error> {
    pool.begin_with(BEGIN).await
}

/// The statement [`begin`] begins with.
const BEGIN: &str = "BEGIN; SELECT begin_settings()";

/// Whether the database answers a trivial query now.
pub async fn ping(pool: &PgPool) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT 1").execute(pool).await.map(|_| ())
}

/// The benchmark floor's one indexed query: a subscription's seats, no rules, no tenancy check
/// beyond the key (built only with the `bench-floor` feature).
#[cfg(feature = "bench-floor")]
pub async fn floor_quantity(
    pool: &PgPool,
    customer_id: crate::domain::CustomerId,
    subscription_id: crate::domain::SubscriptionId,
) -> Result<Option<i32>, sqlx::Error> {
    sqlx::query_scalar("SELECT quantity FROM subscriptions WHERE customer_id = $1 AND id = $2")
        .bind(customer_id)
        .bind(subscription_id)
        .fetch_optional(pool)
        .await
}

/// The benchmark's write floor: one transaction that locks one subscription row, updates it,
/// inserts one history row and commits; the seats it now has (built only with the `bench-floor`
/// feature).
#[cfg(feature = "bench-floor")]
pub async fn floor_write(
    pool: &PgPool,
    customer_id: crate::domain::CustomerId,
    subscription_id: crate::domain::SubscriptionId,
) -> Result<Option<i32>, sqlx::Error> {
    let mut tx = begin(pool).await?;
    let locked: Option<i32> = sqlx::query_scalar(
        "SELECT quantity FROM subscriptions WHERE customer_id = $1 AND id = $2 FOR UPDATE",
    )
    .bind(customer_id)
    .bind(subscription_id)
    .fetch_optional(&mut *tx)
    .await?;
    if locked.is_none() {
        return Ok(None);
    }
    let quantity: i32 = sqlx::query_scalar(
        "UPDATE subscriptions SET version = version + 1, updated_at = now()
          WHERE customer_id = $1 AND id = $2 RETURNING quantity",
    )
    .bind(customer_id)
    .bind(subscription_id)
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO subscription_history
             (customer_id, id, subscription_id, change_kind, before_state, after_state,
              actor_user_id, actor_roles, request_id)
         VALUES ($1, gen_random_uuid(), $2, 'quantity_change', jsonb_build_object('quantity', $3::int),
                 jsonb_build_object('quantity', $3::int), 'bench', ARRAY['admin_agent'], 'bench-floor')",
    )
    .bind(customer_id)
    .bind(subscription_id)
    .bind(quantity)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some(quantity))
}

/// The demo partners' tenant ids (see `seed_demo.sql`).
pub const DEMO_PARTNERS: [(&str, &str); 2] = [
    (
        "a0000000-0000-4000-8000-000000000001",
        "Contoso Cloud Partner",
    ),
    ("b0000000-0000-4000-8000-000000000002", "Fabrikam Reseller"),
];

/// Loads the demo data in one transaction; rows that exist are left as they are.
pub async fn seed_demo(pool: &PgPool) -> Result<(), sqlx::Error> {
    let mut tx = begin(pool).await?;
    sqlx::raw_sql(include_str!("seed_demo.sql"))
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

#[cfg(test)]
mod tests {
    use super::MIGRATOR;

    #[test]
    fn the_binary_embeds_every_migration_in_the_folder() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations");
        let mut files: Vec<i64> = std::fs::read_dir(dir)
            .expect("the migrations folder")
            .filter_map(|entry| {
                let name = entry.ok()?.file_name().into_string().ok()?;
                let version = name.strip_suffix(".sql")?.split('_').next()?.parse().ok()?;
                Some(version)
            })
            .collect();
        files.sort_unstable();
        let embedded: Vec<i64> = MIGRATOR.iter().map(|m| m.version).collect();
        assert_eq!(
            embedded, files,
            "a build that did not see a migration (build.rs watches the folder)"
        );
    }
}
