//! The application object (omicron's `Nexus`): built once at start-up, holding the pool, the
//! catalog and the settings its operations apply. Handlers call its methods (one file of `impl App` per aggregate, beside the operations
//! they run) with the [`Actor`](super::Actor) making the request, and get domain outcomes back;
//! every transaction is opened here, so nothing above `service` ever holds a connection.

use std::sync::Arc;

use sqlx::{PgConnection, PgPool};

use super::idempotency::{self, Answered, Scope, StoredAnswer};
use super::jobs::{JobLimits, RecentCounts};
use super::prices::PriceBookCopy;
use super::webhooks::EndpointRules;
use crate::db;
use crate::domain::Catalog;
use crate::error::Error;

/// The service's operations over its database and catalog; cheap to clone (both are shared).
#[derive(Clone)]
pub struct App {
    pool: PgPool,
    /// Read once at start-up; a catalog change needs a restart.
    catalog: Arc<Catalog>,
    /// What one partner may hold of the job queue.
    job_limits: JobLimits,
    /// What a webhook endpoint's registration checks: its networks, the partner's count.
    webhook_rules: Arc<EndpointRules>,
    /// The price list as last read (the renewals page prices next terms with it).
    price_book: Arc<PriceBookCopy>,
    /// Running jobs' counts as read in the last moment, shared by the requests that poll them.
    job_counts: Arc<RecentCounts>,
}

impl App {
    /// The application over an open pool and the catalog loaded from it, with the default limits.
    pub fn new(pool: PgPool, catalog: Arc<Catalog>) -> Self {
        App {
            pool,
            catalog,
            job_limits: JobLimits::default(),
            webhook_rules: Arc::new(EndpointRules::default()),
            price_book: Arc::default(),
            job_counts: Arc::default(),
        }
    }

    /// Bounds what one partner may hold of the job queue.
    pub fn with_job_limits(mut self, limits: JobLimits) -> Self {
        self.job_limits = limits;
        self
    }

    /// The rules webhook endpoints are registered by.
    pub fn with_webhook_rules(mut self, rules: EndpointRules) -> Self {
        self.webhook_rules = Arc::new(rules);
        self
    }

    /// The catalog loaded at start-up.
    pub fn catalog(&self) -> &Arc<Catalog> {
        &self.catalog
    }

    /// Whether the database answers now (readiness).
    pub async fn database_ready(&self) -> Result<(), sqlx::Error> {
        db::ping(&self.pool).await
    }

    /// Publishes the pool's size, idle connections and cap as gauges (read when scraped).
    pub fn record_pool_metrics(&self) {
        crate::telemetry::metrics::record_pool(
            self.pool.size(),
            self.pool.num_idle(),
            self.pool.options().get_max_connections(),
        );
    }

    /// The benchmark floor: one indexed query through the pool, no transaction, no rules.
    #[cfg(feature = "bench-floor")]
    pub async fn floor_quantity(
        &self,
        customer_id: crate::domain::CustomerId,
        subscription_id: crate::domain::SubscriptionId,
    ) -> Result<Option<i32>, Error> {
        Ok(db::floor_quantity(&self.pool, customer_id, subscription_id).await?)
    }

    /// The benchmark's write floor: one transaction locking, updating and recording one row.
    #[cfg(feature = "bench-floor")]
    pub async fn floor_write(
        &self,
        customer_id: crate::domain::CustomerId,
        subscription_id: crate::domain::SubscriptionId,
    ) -> Result<Option<i32>, Error> {
        Ok(db::floor_write(&self.pool, customer_id, subscription_id).await?)
    }

    /// The pool, for the operations' reads that need no transaction.
    pub(super) fn pool(&self) -> &PgPool {
        &self.pool
    }

    pub(super) fn job_counts(&self) -> &RecentCounts {
        &self.job_counts
    }

    pub(super) fn price_book_copy(&self) -> &PriceBookCopy {
        &self.price_book
    }

    /// What one partner may hold of the job queue.
    pub(super) fn job_limits(&self) -> JobLimits {
        self.job_limits
    }

    /// What a webhook endpoint's registration checks.
    pub(super) fn webhook_rules(&self) -> &EndpointRules {
        &self.webhook_rules
    }

    /// Runs a write through the one keyed runner ([`idempotency::run_keyed`]): `change` makes the
    /// answer in the transaction, and a retry under the same key gets the stored one.
    pub(super) async fn keyed(
        &self,
        scope: Option<&Scope>,
        change: impl AsyncFnOnce(&mut PgConnection) -> Result<StoredAnswer, Error>,
    ) -> Result<Answered, Error> {
        idempotency::run_keyed(&self.pool, scope, change).await
    }

    /// Runs `change` in a transaction of its own ([`idempotency::in_transaction`]).
    pub(super) async fn transaction<T>(
        &self,
        change: impl AsyncFnOnce(&mut PgConnection) -> Result<T, Error>,
    ) -> Result<T, Error> {
        idempotency::in_transaction(&self.pool, change).await
    }
}
