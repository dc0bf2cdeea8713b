//! Command line and environment (docs/configuration.md). Every setting is a flag with an
//! environment variable behind it and a default that works on a developer's machine.

use std::net::SocketAddr;
use std::time::Duration;

use axum::http::HeaderValue;
use clap::{Parser, Subcommand};
use ipnet::IpNet;
use uuid::Uuid;

use crate::auth::KeySettings;
use crate::domain::webhook::address::parse_network;

use crate::telemetry::LogFormat;

/// The default `DATABASE_URL`: the local Postgres, trust authentication.
pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/subscription_upgrades";

/// `subscription-upgrades`: upgrade Microsoft CSP customer subscriptions safely.
#[derive(Debug, Parser)]
#[command(name = "subscription-upgrades", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub settings: Settings,
}

/// What to do; `serve` when none is given.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Create the database if missing, apply migrations and serve HTTP (the default).
    Serve,
    /// Create the database if missing and apply migrations, then exit.
    Migrate,
    /// Print the OpenAPI document.
    Openapi,
    /// Load the demo data (idempotent): partners, customers in US, IT and IN, subscriptions,
    /// users and relationships showing every eligibility outcome. With --scale, synthetic data
    /// for load benchmarks instead.
    SeedDemo(SeedArgs),
    /// Load a dated price list (new commerce) from a JSON file: `{"effectiveFrom": "YYYY-MM-DD",
    /// "prices": [{"offerId", "market", "termDuration", "billingCycle", "monthlyUnitPrice"}]}`.
    /// A price listed again for the same day replaces the earlier one; all or nothing.
    LoadPrices(LoadPricesArgs),
    /// Exit 0 when the service at BIND_ADDR answers /healthz (for container health checks).
    Healthcheck,
    /// Mint a development token (HS256, with AUTH_JWT_SECRET or the development secret).
    Token(TokenArgs),
}

/// What `seed-demo` loads.
#[derive(Debug, Clone, clap::Args)]
pub struct SeedArgs {
    /// Instead of the demo data, load this many synthetic subscriptions (ten per customer, a
    /// partner per hundred customers, ten licensed users per customer; up to 1,000,000).
    #[arg(long, value_parser = clap::value_parser!(i64).range(10..=1_000_000))]
    pub scale: Option<i64>,
    /// With --scale: customers per partner (at most 1,000 partners, the rest wrap around).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(i64).range(1..=100_000))]
    pub customers_per_partner: i64,
}

/// Where `load-prices` reads the price list.
#[derive(Debug, Clone, clap::Args)]
pub struct LoadPricesArgs {
    /// The JSON file; `-` reads standard input.
    pub file: std::path::PathBuf,
}

/// What the minted token says.
#[derive(Debug, Clone, clap::Args)]
pub struct TokenArgs {
    /// The partner tenant id (`tid`).
    #[arg(long)]
    pub partner: Uuid,
    /// A role (`global_admin`, `user_management_admin`, `admin_agent`, `sales_agent`,
    /// `helpdesk_agent`, `platform`, or any other string); repeat for several.
    #[arg(long = "role", required = true)]
    pub roles: Vec<String>,
    /// The user id (`sub`).
    #[arg(long, default_value = "dev-user")]
    pub user: String,
    /// Lifetime: seconds, or a number with s, m, h or d.
    #[arg(long, default_value = "1h", value_parser = parse_ttl)]
    pub ttl: Duration,
}

fn parse_origin(value: &str) -> Result<HeaderValue, String> {
    let value = value.trim();
    let well_formed = ["https://", "http://"].iter().any(|scheme| {
        value
            .strip_prefix(scheme)
            .is_some_and(|host| !host.is_empty() && !host.contains('/'))
    });
    if !well_formed {
        return Err(format!(
            "{value:?} is not an origin like https://portal.example.com"
        ));
    }
    HeaderValue::from_str(value).map_err(|_| format!("{value:?} is not a valid origin"))
}

fn parse_ttl(value: &str) -> Result<Duration, String> {
    let (number, unit) = match value.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&value[..i], c),
        _ => (value, 's'),
    };
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{value:?} is not a duration like 3600, 90m or 1h"))?;
    let seconds = match unit {
        's' => number,
        'm' => number * 60,
        'h' => number * 3600,
        'd' => number * 86_400,
        _ => return Err(format!("{value:?}: the unit must be s, m, h or d")),
    };
    if seconds == 0 || seconds > 366 * 86_400 {
        return Err("the lifetime must be between 1 second and 366 days".to_owned());
    }
    Ok(Duration::from_secs(seconds))
}

/// Settings shared by every command.
#[derive(Debug, Clone, clap::Args)]
pub struct Settings {
    /// Postgres connection URL; the database is created when missing.
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL, global = true, hide_env_values = true)]
    pub database_url: String,
    /// Address the HTTP server listens on.
    #[arg(
        long,
        env = "BIND_ADDR",
        default_value = "127.0.0.1:8080",
        global = true
    )]
    pub bind_addr: SocketAddr,
    /// Log format.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Pretty, global = true)]
    pub log_format: LogFormat,
    /// Largest number of Postgres connections this instance opens.
    #[arg(long, env = "DB_MAX_CONNECTIONS", default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=1000), global = true)]
    pub db_max_connections: u32,
    /// Milliseconds a request waits for a database connection before it is answered 503.
    #[arg(long, env = "DB_ACQUIRE_TIMEOUT_MS", default_value_t = 2000, value_parser = clap::value_parser!(u64).range(1..=600_000), global = true)]
    pub db_acquire_timeout_ms: u64,
    /// Milliseconds a request waits for a row another request has locked (the same customer
    /// changed concurrently) before it is answered 503 `lock_timeout`.
    #[arg(long, env = "DB_LOCK_TIMEOUT_MS", default_value_t = 5000, value_parser = clap::value_parser!(u64).range(1..=600_000), global = true)]
    pub db_lock_timeout_ms: u64,
    /// Seconds a request may take before it is answered 503.
    #[arg(long, env = "REQUEST_TIMEOUT_SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600), global = true)]
    pub request_timeout_secs: u64,
    /// Seconds in-flight requests get to finish after SIGTERM or SIGINT.
    #[arg(long, env = "SHUTDOWN_GRACE_SECS", default_value_t = 20, value_parser = clap::value_parser!(u64).range(0..=3600), global = true)]
    pub shutdown_grace_secs: u64,
    /// Seconds a client has to send a request's head, from connecting or from the request's
    /// first byte; then the connection is closed.
    #[arg(long, env = "HTTP_HEADER_READ_TIMEOUT_SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600), global = true)]
    pub http_header_read_timeout_secs: u64,
    /// Seconds a keep-alive connection may stay idle between requests before it is closed.
    #[arg(long, env = "HTTP_IDLE_TIMEOUT_SECS", default_value_t = 75, value_parser = clap::value_parser!(u64).range(1..=3600), global = true)]
    pub http_idle_timeout_secs: u64,
    /// Connections open at once; more wait until one closes.
    #[arg(long, env = "HTTP_MAX_CONNECTIONS", default_value_t = 512, value_parser = clap::value_parser!(u64).range(1..=100_000), global = true)]
    pub http_max_connections: u64,
    /// Largest request body accepted, in bytes (413 above it).
    #[arg(long, env = "MAX_BODY_BYTES", default_value_t = 64 * 1024, value_parser = clap::value_parser!(u64).range(1..=64 * 1024 * 1024), global = true)]
    pub max_body_bytes: u64,
    /// Requests per second each partner may make to this instance, sustained (0: unlimited).
    /// Above it, 429 `rate_limited` with `Retry-After`.
    #[arg(
        long,
        env = "RATE_LIMIT_PER_SECOND",
        default_value_t = 100,
        global = true
    )]
    pub rate_limit_per_second: u32,
    /// Requests a partner may make at once after being idle (the bucket's size).
    #[arg(long, env = "RATE_LIMIT_BURST", default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..), global = true)]
    pub rate_limit_burst: u32,
    /// Milliseconds the webhook worker waits before looking again when nothing was due.
    #[arg(long, env = "WEBHOOK_POLL_MS", default_value_t = 500, value_parser = clap::value_parser!(u64).range(10..=60_000), global = true)]
    pub webhook_poll_ms: u64,
    /// Milliseconds before a failed webhook delivery's first retry; doubles each time, up to an hour.
    #[arg(long, env = "WEBHOOK_RETRY_BASE_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(10..=3_600_000), global = true)]
    pub webhook_retry_base_ms: u64,
    /// Seconds a webhook receiver gets to answer before the attempt counts as failed.
    #[arg(long, env = "WEBHOOK_TIMEOUT_SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=300), global = true)]
    pub webhook_timeout_secs: u64,
    /// Seconds a webhook delivery may keep failing before it is given up and its endpoint
    /// disabled (3 days by default).
    #[arg(long, env = "WEBHOOK_RETRY_FOR_SECS", default_value_t = 259_200, value_parser = clap::value_parser!(u64).range(1..=366 * 86_400), global = true)]
    pub webhook_retry_for_secs: u64,
    /// Webhook deliveries this instance sends at once.
    #[arg(long, env = "WEBHOOK_CONCURRENCY", default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=1024), global = true)]
    pub webhook_concurrency: u16,
    /// Webhook deliveries of one endpoint in flight at once, across instances.
    #[arg(long, env = "WEBHOOK_ENDPOINT_CONCURRENCY", default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=64), global = true)]
    pub webhook_endpoint_concurrency: u16,
    /// Webhook deliveries of one partner in flight at once, across instances; unset, half of
    /// `WEBHOOK_CONCURRENCY` (at least 1), so one partner's hanging receivers leave the other
    /// half of the senders to the other partners.
    #[arg(long, env = "WEBHOOK_PARTNER_CONCURRENCY", value_parser = clap::value_parser!(u16).range(1..=1024), global = true)]
    pub webhook_partner_concurrency: Option<u16>,
    /// Webhook endpoints one partner may register (a partner's endpoints share its senders).
    #[arg(long, env = "WEBHOOK_ENDPOINTS_PER_PARTNER", default_value_t = crate::service::webhooks::DEFAULT_ENDPOINTS_PER_PARTNER, value_parser = clap::value_parser!(u32).range(1..=10_000), global = true)]
    pub webhook_endpoints_per_partner: u32,
    /// Networks webhooks may be sent to although they are not public, comma-separated CIDRs or
    /// addresses (e.g. `10.20.0.0/16`); none by default, so loopback, private, link-local,
    /// unique-local and metadata addresses are refused.
    #[arg(long, env = "WEBHOOK_ALLOWED_NETWORKS", value_delimiter = ',', value_parser = parse_network, global = true)]
    pub webhook_allowed_networks: Vec<IpNet>,
    /// Seconds between the renewal worker's looks for ended terms (the first one this long after
    /// start-up).
    #[arg(long, env = "RENEWAL_POLL_SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=86_400), global = true)]
    pub renewal_poll_secs: u64,
    /// Days before a term end at which `subscription.renewal_upcoming` is sent, comma-separated,
    /// each 1–400 (the renewal worker sends the notices on its passes).
    #[arg(long, env = "RENEWAL_NOTICE_DAYS", value_delimiter = ',', default_value = "30,7,1", value_parser = clap::value_parser!(u16).range(1..=400), global = true)]
    pub renewal_notice_days: Vec<u16>,
    /// Upgrade job workers in this instance, each processing one item at a time.
    #[arg(long, env = "JOB_WORKERS", default_value_t = 4, value_parser = clap::value_parser!(u16).range(0..=64), global = true)]
    pub job_workers: u16,
    /// Job items a worker claims at a time (a bigger batch is less fair between jobs).
    #[arg(long, env = "JOB_BATCH", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=500), global = true)]
    pub job_batch: u16,
    /// Seconds a claimed job item stays with its worker; an item whose worker died is taken
    /// again after this long.
    #[arg(long, env = "JOB_LEASE_SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600), global = true)]
    pub job_lease_secs: u64,
    /// Milliseconds an idle job worker waits before looking for items again.
    #[arg(long, env = "JOB_POLL_MS", default_value_t = 250, value_parser = clap::value_parser!(u64).range(10..=60_000), global = true)]
    pub job_poll_ms: u64,
    /// Job event streams (`GET /v1/upgrade-jobs/{jobId}/events`) this instance serves at once,
    /// over every partner; at most half of HTTP_MAX_CONNECTIONS, so other requests always find a
    /// connection. Beyond it, 429 `too_many_streams`.
    #[arg(long, env = "JOB_EVENT_STREAMS", default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=50_000), global = true)]
    pub job_event_streams: u32,
    /// Job event streams one partner may have open on this instance at once. Beyond it, 429
    /// `too_many_streams`.
    #[arg(long, env = "JOB_EVENT_STREAMS_PER_PARTNER", default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=50_000), global = true)]
    pub job_event_streams_per_partner: u32,
    /// Seconds a job event stream stays open at most; then it closes, and the client reconnects
    /// with `Last-Event-ID`.
    #[arg(long, env = "JOB_EVENT_STREAM_MAX_SECS", default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=86_400), global = true)]
    pub job_event_stream_max_secs: u64,
    /// Jobs one partner may have queued or running at once. Beyond it, 429 `too_many_jobs`.
    #[arg(long, env = "JOB_MAX_ACTIVE_PER_PARTNER", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=10_000), global = true)]
    pub job_max_active_per_partner: u32,
    /// Items of one partner's queued or running jobs that may wait at once. Beyond it, 429
    /// `too_many_pending_items`.
    #[arg(long, env = "JOB_MAX_PENDING_ITEMS_PER_PARTNER", default_value_t = 50_000, value_parser = clap::value_parser!(u32).range(1..=10_000_000), global = true)]
    pub job_max_pending_items_per_partner: u32,
    /// Hours finished (completed or cancelled) upgrade jobs and their items are kept.
    #[arg(long, env = "JOB_RETENTION_HOURS", default_value_t = 720, value_parser = clap::value_parser!(u64).range(1..=87_600), global = true)]
    pub job_retention_hours: u64,
    /// Seconds between runs of the retention job (the first at start-up).
    #[arg(long, env = "RETENTION_INTERVAL_SECS", default_value_t = 3600, value_parser = clap::value_parser!(u64).range(1..=86_400), global = true)]
    pub retention_interval_secs: u64,
    /// Hours delivered and given-up webhook deliveries, their attempts and events are kept.
    #[arg(long, env = "OUTBOX_RETENTION_HOURS", default_value_t = 720, value_parser = clap::value_parser!(u64).range(1..=87_600), global = true)]
    pub outbox_retention_hours: u64,
    /// Browser origins allowed to call the API cross-origin, comma-separated (e.g.
    /// `https://portal.example.com`); none by default, and then no CORS grant is ever given.
    #[arg(long, env = "CORS_ALLOWED_ORIGINS", value_delimiter = ',', value_parser = parse_origin, global = true)]
    pub cors_allowed_origins: Vec<HeaderValue>,
    /// HS256 shared secret for bearer tokens (at least 32 bytes).
    #[arg(long, env = "AUTH_JWT_SECRET", global = true, hide_env_values = true)]
    pub auth_jwt_secret: Option<String>,
    /// PEM file with the RSA (RS256) or P-256 (ES256) public key that verifies bearer tokens.
    #[arg(long, env = "AUTH_JWT_PUBLIC_KEY_FILE", global = true)]
    pub auth_jwt_public_key_file: Option<String>,
    /// URL of the identity provider's key set (JWKS) that verifies bearer tokens; https (plain
    /// http only to a loopback host).
    #[arg(long, env = "AUTH_JWKS_URL", global = true)]
    pub auth_jwks_url: Option<String>,
    /// OpenID Connect issuer: the required `iss` (instead of AUTH_ISSUER), and where the key set
    /// is discovered (`{issuer}/.well-known/openid-configuration`) unless AUTH_JWKS_URL is set.
    /// `{tenantid}` stands for the token's own `tid` (Entra ID multi-tenant applications).
    #[arg(long, env = "AUTH_OIDC_ISSUER", global = true)]
    pub auth_oidc_issuer: Option<String>,
    /// Seconds at least between two fetches of the provider's key set (a token with an unknown
    /// `kid` fetches it again, at most this often).
    #[arg(long, env = "AUTH_JWKS_MIN_REFRESH_SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600), global = true)]
    pub auth_jwks_min_refresh_secs: u64,
    /// Seconds at most between two fetches of the provider's key set (a shorter
    /// `Cache-Control: max-age` is honoured), so removed keys stop working.
    #[arg(long, env = "AUTH_JWKS_REFRESH_SECS", default_value_t = 3600, value_parser = clap::value_parser!(u64).range(1..=86_400), global = true)]
    pub auth_jwks_refresh_secs: u64,
    /// Required `iss` of bearer tokens.
    #[arg(
        long,
        env = "AUTH_ISSUER",
        default_value = "subscription-upgrades",
        global = true
    )]
    pub auth_issuer: String,
    /// Required `aud` of bearer tokens.
    #[arg(
        long,
        env = "AUTH_AUDIENCE",
        default_value = "subscription-upgrades",
        global = true
    )]
    pub auth_audience: String,
    /// OpenTelemetry trace export (off unless an OTLP endpoint is set).
    #[command(flatten)]
    pub otel: crate::telemetry::otel::OtelSettings,
}

impl Settings {
    /// Per-request time limit.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_secs)
    }

    /// Grace period for in-flight requests at shutdown.
    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_secs(self.shutdown_grace_secs)
    }

    /// Token key settings.
    pub fn keys(&self) -> KeySettings {
        KeySettings {
            secret: self.auth_jwt_secret.clone(),
            public_key_file: self.auth_jwt_public_key_file.clone(),
            jwks_url: self.auth_jwks_url.clone(),
            oidc_issuer: self.auth_oidc_issuer.clone(),
            jwks_min_refresh: Duration::from_secs(self.auth_jwks_min_refresh_secs),
            jwks_refresh: Duration::from_secs(self.auth_jwks_refresh_secs),
            issuer: self.auth_issuer.clone(),
            audience: self.auth_audience.clone(),
        }
    }

    /// Settings as the defaults and the environment give them (for tests and tools).
    pub fn from_env() -> Result<Self, clap::Error> {
        Cli::try_parse_from(["subscription-upgrades"]).map(|cli| cli.settings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cors_origins_are_scheme_and_host_only() {
        for origin in [
            "https://portal.example.com",
            "http://localhost:3000",
            " https://a.example ",
        ] {
            assert!(parse_origin(origin).is_ok(), "{origin}");
        }
        for origin in [
            "",
            "*",
            "portal.example.com",
            "https://",
            "https://portal.example.com/",
            "https://portal.example.com/path",
            "ftp://portal.example.com",
        ] {
            assert!(parse_origin(origin).is_err(), "{origin}");
        }
    }

    #[test]
    fn the_allow_list_is_comma_separated_and_empty_by_default() {
        let parse = |args: &[&str]| {
            Cli::try_parse_from(
                std::iter::once("subscription-upgrades").chain(args.iter().copied()),
            )
            .map(|cli| cli.settings.cors_allowed_origins)
        };
        assert_eq!(parse(&[]).unwrap(), Vec::<HeaderValue>::new());
        assert_eq!(
            parse(&[
                "--cors-allowed-origins",
                "https://a.example,https://b.example"
            ])
            .unwrap(),
            vec![
                HeaderValue::from_static("https://a.example"),
                HeaderValue::from_static("https://b.example")
            ]
        );
        assert!(parse(&["--cors-allowed-origins", "https://a.example,*"]).is_err());
    }

    #[test]
    fn webhook_networks_are_comma_separated_cidrs_and_none_by_default() {
        let parse = |args: &[&str]| {
            Cli::try_parse_from(
                std::iter::once("subscription-upgrades").chain(args.iter().copied()),
            )
            .map(|cli| cli.settings.webhook_allowed_networks)
        };
        assert_eq!(parse(&[]).unwrap(), Vec::<IpNet>::new());
        let allowed = parse(&[
            "--webhook-allowed-networks",
            "127.0.0.0/8,fd00::/8,10.0.0.7",
        ]);
        let allowed: Vec<String> = allowed.unwrap().iter().map(ToString::to_string).collect();
        assert_eq!(allowed, ["127.0.0.0/8", "fd00::/8", "10.0.0.7/32"]);
        assert!(parse(&["--webhook-allowed-networks", "10.0.0.0/8,everything"]).is_err());
    }
}
