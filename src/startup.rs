//! Building and running the application: database, catalog, router, listener, shutdown.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use sqlx::PgPool;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::auth::{Jwks, TokenVerifier};
use crate::config::Settings;
use crate::db::{self, PoolSettings, SetupError};
use crate::domain::Catalog;
use crate::error::Error;
use crate::http::rate_limit::Quota;
use crate::http::server::{self, ConnectionLimits};
use crate::http::stream_limit::StreamLimits;
use crate::http::{self, AppState, HttpLimits};
use crate::service::App;
use crate::service::jobs::JobLimits;
use crate::service::jobs::worker::{self as jobs, JobSettings};
use crate::service::renewals::{self, RenewalSettings};
use crate::service::retention::{self, RetentionSettings};
use crate::service::webhooks::{self, EndpointRules, WorkerSettings};

/// Why the service could not start; each displays as one readable line.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Database(#[from] SetupError),
    #[error("could not load the catalog: {0}")]
    Catalog(#[source] Error),
    #[error(transparent)]
    Keys(#[from] crate::auth::KeyError),
    #[error(
        "no token key is configured (development mode), so the service only listens on a loopback \
         address, not {0}; set AUTH_JWT_SECRET, AUTH_JWT_PUBLIC_KEY_FILE, AUTH_JWKS_URL or \
         AUTH_OIDC_ISSUER"
    )]
    DevelopmentModeNotLoopback(SocketAddr),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: io::Error },
}

/// Creates the database when missing, applies migrations, and opens the pool.
pub async fn prepare_database(settings: &Settings) -> Result<PgPool, SetupError> {
    let options = db::parse_url(&settings.database_url)?;
    db::ensure_database(&options).await?;
    let pool = db::open_pool(&options, &settings.pool()).await?;
    db::migrate(&pool).await?;
    Ok(pool)
}

/// A service ready to serve: database prepared, catalog loaded, port bound.
pub struct Application {
    listener: TcpListener,
    router: Router,
    grace: Duration,
    connections: ConnectionLimits,
    pool: PgPool,
    webhooks: WorkerSettings,
    retention: RetentionSettings,
    renewals: RenewalSettings,
    jobs: JobSettings,
    /// The identity provider's key cache, refreshed in the background while serving.
    provider_keys: Option<Arc<Jwks>>,
}

impl Application {
    /// Prepares everything the service needs; binds `settings.bind_addr` (port 0 picks a free one).
    pub async fn build(settings: &Settings) -> Result<Self, StartupError> {
        let keys = settings.keys();
        let verifier = TokenVerifier::new(&keys)?;
        let provider_keys = verifier.provider_keys();
        if keys.is_development() {
            if !settings.bind_addr.ip().is_loopback() {
                return Err(StartupError::DevelopmentModeNotLoopback(settings.bind_addr));
            }
            tracing::warn!(
                "DEVELOPMENT MODE: no AUTH_JWT_SECRET, AUTH_JWT_PUBLIC_KEY_FILE, AUTH_JWKS_URL or \
                 AUTH_OIDC_ISSUER is set; tokens are \
                 checked against the public development secret. Never run like this in production."
            );
        }
        let pool = prepare_database(settings).await?;
        let catalog = db::catalog::load(&pool)
            .await
            .map_err(StartupError::Catalog)?;
        let limits = HttpLimits {
            max_body_bytes: usize::try_from(settings.max_body_bytes).unwrap_or(usize::MAX),
            request_timeout: settings.request_timeout(),
            cors_allowed_origins: settings.cors_allowed_origins.clone(),
        };
        let shared = Arc::new(catalog);
        let (renewals, jobs) = (
            settings.renewals(shared.clone()),
            settings.jobs(shared.clone()),
        );
        let app = App::new(pool.clone(), shared)
            .with_job_limits(settings.job_limits())
            .with_webhook_rules(EndpointRules {
                allowed_networks: settings.webhook_allowed_networks.clone(),
                per_partner: settings.webhook_endpoints_per_partner,
            });
        let router = http::router(
            AppState::new(app, verifier, settings.rate_limit())
                .with_stream_limits(settings.stream_limits()),
            &limits,
        );
        let listener = TcpListener::bind(settings.bind_addr)
            .await
            .map_err(|source| StartupError::Bind {
                addr: settings.bind_addr,
                source,
            })?;
        Ok(Application {
            listener,
            router,
            grace: settings.shutdown_grace(),
            connections: settings.connection_limits(),
            pool,
            webhooks: settings.webhook_worker(),
            retention: settings.retention(),
            renewals,
            jobs,
            provider_keys,
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves, and delivers webhooks, until `shutdown` completes; then stops accepting
    /// connections and delivering, and gives in-flight requests the grace period to finish.
    /// Deliveries in flight are abandoned and their leases handed back: sent again (at least once).
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> io::Result<()> {
        let (stopping_tx, stopping_rx) = tokio::sync::oneshot::channel::<()>();
        let (worker_stop_tx, _) = tokio::sync::watch::channel(false);
        let stopped = || {
            let mut stop = worker_stop_tx.subscribe();
            async move {
                let _ = stop.wait_for(|stop| *stop).await;
            }
        };
        let retention = tokio::spawn(retention::run(self.pool.clone(), self.retention, stopped()));
        let renewals = tokio::spawn(renewals::run(self.pool.clone(), self.renewals, stopped()));
        let jobs = tokio::spawn(jobs::run(self.pool.clone(), self.jobs, stopped()));
        let outbox = tokio::spawn(webhooks::outbox::measure(self.pool.clone(), stopped()));
        let worker = tokio::spawn(webhooks::deliver(self.pool, self.webhooks, stopped()));
        let server = server::serve(self.listener, self.router, self.connections, async move {
            shutdown.await;
            tracing::info!("shutting down: finishing in-flight requests");
            let _ = worker_stop_tx.send(true);
            let _ = stopping_tx.send(());
        });
        let grace = self.grace;
        let deadline = async move {
            if stopping_rx.await.is_ok() {
                tokio::time::sleep(grace).await;
            } else {
                std::future::pending::<()>().await;
            }
        };
        let _retention = AbortOnDrop(retention);
        let _renewals = AbortOnDrop(renewals);
        let _jobs = AbortOnDrop(jobs);
        let _outbox = AbortOnDrop(outbox);
        let _metrics = AbortOnDrop(tokio::spawn(crate::telemetry::metrics::keep_up()));
        let _keys = self
            .provider_keys
            .map(|keys| AbortOnDrop(tokio::spawn(keys.keep_fresh())));
        let mut worker = AbortOnDrop(worker);
        let finished = tokio::select! {
            () = server => Ok(()),
            () = deadline => {
                tracing::warn!(grace_secs = grace.as_secs(), "grace period over; exiting with requests in flight");
                Ok(())
            }
        };
        // The worker hands back the leases of deliveries in flight, so they are sent again at once.
        let _ = tokio::time::timeout(Duration::from_secs(2), &mut worker.0).await;
        finished
    }
}

/// Aborts a background task (webhook worker, renewal worker, retention job) when the server is done, however it
/// ended.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
}

/// How the parts this module assembles are set up, from the flags: the composition root maps
/// settings to each layer's own types, so the configuration knows none of them.
impl Settings {
    /// Pool settings from the flags.
    fn pool(&self) -> PoolSettings {
        PoolSettings {
            max_connections: self.db_max_connections,
            acquire_timeout: Duration::from_millis(self.db_acquire_timeout_ms),
            lock_timeout: Duration::from_millis(self.db_lock_timeout_ms),
        }
    }

    /// The per-partner quota, or `None` when rate limiting is off.
    fn rate_limit(&self) -> Option<Quota> {
        (self.rate_limit_per_second > 0).then(|| Quota {
            per_second: f64::from(self.rate_limit_per_second),
            burst: f64::from(self.rate_limit_burst),
        })
    }

    /// The webhook delivery worker's settings.
    fn webhook_worker(&self) -> WorkerSettings {
        WorkerSettings {
            poll: Duration::from_millis(self.webhook_poll_ms),
            retry_base: Duration::from_millis(self.webhook_retry_base_ms),
            timeout: Duration::from_secs(self.webhook_timeout_secs),
            retry_for: Duration::from_secs(self.webhook_retry_for_secs),
            concurrency: usize::from(self.webhook_concurrency),
            endpoint_concurrency: usize::from(self.webhook_endpoint_concurrency),
            partner_concurrency: self.webhook_partner_concurrency.map_or(
                usize::from(self.webhook_concurrency / 2).max(1),
                usize::from,
            ),
            allowed_networks: self.webhook_allowed_networks.clone(),
        }
    }

    /// The renewal worker's settings.
    fn renewals(&self, catalog: Arc<Catalog>) -> RenewalSettings {
        RenewalSettings {
            poll: Duration::from_secs(self.renewal_poll_secs),
            catalog,
            notice_days: self.renewal_notice_days.clone(),
        }
    }

    /// The upgrade job workers' settings.
    fn jobs(&self, catalog: Arc<Catalog>) -> JobSettings {
        JobSettings {
            workers: usize::from(self.job_workers),
            batch: i64::from(self.job_batch),
            poll: Duration::from_millis(self.job_poll_ms),
            lease: Duration::from_secs(self.job_lease_secs),
            catalog,
        }
    }

    /// What one partner may hold of the job queue.
    fn job_limits(&self) -> JobLimits {
        JobLimits {
            max_active: i64::from(self.job_max_active_per_partner),
            max_pending_items: i64::from(self.job_max_pending_items_per_partner),
        }
    }

    /// The job event streams' bounds: the instance's never more than half its connections, so
    /// the probes and other requests always find one.
    fn stream_limits(&self) -> StreamLimits {
        let connections = usize::try_from(self.http_max_connections).unwrap_or(usize::MAX);
        let instance = usize::try_from(self.job_event_streams).unwrap_or(usize::MAX);
        StreamLimits {
            per_instance: instance.min(connections / 2).max(1),
            per_partner: usize::try_from(self.job_event_streams_per_partner).unwrap_or(usize::MAX),
            max_life: Duration::from_secs(self.job_event_stream_max_secs),
        }
    }

    /// The retention job's settings.
    fn retention(&self) -> RetentionSettings {
        RetentionSettings {
            interval: Duration::from_secs(self.retention_interval_secs),
            keep_outbox: Duration::from_secs(self.outbox_retention_hours * 3600),
            keep_jobs: Duration::from_secs(self.job_retention_hours * 3600),
        }
    }

    /// Limits on open connections.
    fn connection_limits(&self) -> ConnectionLimits {
        ConnectionLimits {
            max_connections: usize::try_from(self.http_max_connections).unwrap_or(usize::MAX),
            header_read_timeout: Duration::from_secs(self.http_header_read_timeout_secs),
            idle_timeout: Duration::from_secs(self.http_idle_timeout_secs),
        }
    }
}

/// Asks the service listening at `bind_addr` for `/healthz`: the container health check, done
/// with a plain HTTP/1.1 exchange so the runtime image needs no curl.
pub async fn probe_health(bind_addr: SocketAddr) -> Result<(), String> {
    let mut target = bind_addr;
    if target.ip().is_unspecified() {
        target.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let exchange = async {
        let mut stream = TcpStream::connect(target).await?;
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .await?;
        let mut head = [0u8; 12];
        stream.read_exact(&mut head).await?;
        Ok::<_, io::Error>(head)
    };
    match tokio::time::timeout(Duration::from_secs(3), exchange).await {
        Ok(Ok(head)) if head.starts_with(b"HTTP/1.1 200") => Ok(()),
        Ok(Ok(head)) => Err(format!("unhealthy: {}", String::from_utf8_lossy(&head))),
        Ok(Err(e)) => Err(format!("no answer from {target}: {e}")),
        Err(_) => Err(format!("no answer from {target} within 3s")),
    }
}
