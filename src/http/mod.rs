//! The HTTP layer: router and middleware, one module per resource, extractors, the error mapping
//! and the OpenAPI document. Handlers extract, call below, and map the result; no rules here.

pub mod add_ons;
pub mod caller;
mod catalog;
mod change;
mod conditional;
mod coterm;
mod created;
mod customers;
mod docs;
pub mod encode;
pub mod extract;
#[cfg(feature = "bench-floor")]
mod floor;
mod health;
mod history;
mod jobs;
mod licenses;
pub mod metrics;
pub mod middleware;
mod migrations;
pub mod openapi;
pub mod pagination;
pub mod problem;
pub mod rate_limit;
mod recommendations;
mod relationships;
mod renewals;
pub mod request_id;
mod scheduled;
pub mod server;
pub mod stream_limit;
mod subscriptions;
mod upgrades;
mod users;
mod webhooks;

use std::any::Any;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::PrometheusHandle;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::TokenVerifier;
use crate::domain::{Catalog, ErrorCode};
use crate::service::App;
use problem::Problem;
use rate_limit::{Quota, RateLimiter};
use stream_limit::{StreamLimits, StreamSlots};

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The application: every operation, and every transaction, goes through it.
    app: App,
    metrics: PrometheusHandle,
    openapi: Arc<String>,
    verifier: Arc<TokenVerifier>,
    /// Per-partner request quota; `None` when rate limiting is off.
    rate_limiter: Option<Arc<RateLimiter>>,
    /// The job event streams open on this instance.
    streams: Arc<StreamSlots>,
}

impl AppState {
    /// State over the application, the token verifier and the per-partner quota (none:
    /// unlimited).
    pub fn new(app: App, verifier: TokenVerifier, quota: Option<Quota>) -> Self {
        AppState {
            app,
            metrics: crate::telemetry::metrics::handle(),
            openapi: Arc::new(openapi::document_json()),
            verifier: Arc::new(verifier),
            rate_limiter: quota.map(|quota| Arc::new(RateLimiter::new(quota))),
            streams: Arc::new(StreamSlots::new(StreamLimits::default())),
        }
    }

    /// Bounds the job event streams open at once.
    pub fn with_stream_limits(mut self, streams: StreamLimits) -> Self {
        self.streams = Arc::new(StreamSlots::new(streams));
        self
    }

    /// The application the handlers call.
    pub fn app(&self) -> &App {
        &self.app
    }

    /// The catalog loaded at start-up.
    pub fn catalog(&self) -> Arc<Catalog> {
        Arc::clone(self.app.catalog())
    }
}

/// Limits applied to every request.
#[derive(Debug, Clone)]
pub struct HttpLimits {
    pub max_body_bytes: usize,
    pub request_timeout: Duration,
    /// Origins granted CORS; empty: no grant, ever.
    pub cors_allowed_origins: Vec<HeaderValue>,
}

/// Every documented route, with its OpenAPI description; the document lists them in this order.
pub fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(metrics::metrics))
        .routes(routes!(openapi::openapi_json))
        .merge(catalog::routes())
        .merge(customers::routes())
        .merge(relationships::routes())
        .merge(users::routes())
        .merge(subscriptions::routes())
        .merge(licenses::routes())
        .merge(history::routes())
        .merge(add_ons::routes())
        .merge(upgrades::routes())
        .merge(webhooks::routes())
        .merge(scheduled::routes())
        .merge(migrations::routes())
        .merge(coterm::routes())
        .merge(jobs::routes())
        .merge(recommendations::routes())
        .merge(renewals::routes())
}

/// The service: routes plus the middleware stack (outermost first: request id, span, log and
/// metrics; panic catcher; problem+json safety net; timeout; body limit).
pub fn router(state: AppState, limits: &HttpLimits) -> Router {
    let (routes, _) = api_routes().split_for_parts();
    #[cfg(feature = "bench-floor")]
    let routes = routes.merge(floor::routes());
    let router = routes
        .merge(docs::routes())
        .fallback(route_not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            limits.request_timeout,
        ))
        .layer(axum::middleware::from_fn(middleware::problem_safety_net))
        .layer(axum::middleware::from_fn(middleware::limit_head))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(axum::middleware::from_fn(middleware::observe))
        // Every answer may carry customer data or a problem about it: never sniffed, never cached.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .with_state(state);
    if limits.cors_allowed_origins.is_empty() {
        return router;
    }
    router.layer(cors(limits.cors_allowed_origins.clone()))
}

/// Grants the allow-listed origins what a browser-based portal needs: the API's methods and
/// request headers, and sight of the response headers clients act on.
fn cors(origins: Vec<HeaderValue>) -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([Method::GET, Method::POST, Method::PATCH, Method::DELETE])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::IF_MATCH,
            HeaderName::from_static("idempotency-key"),
            HeaderName::from_static("x-request-id"),
        ])
        .expose_headers([
            header::ETAG,
            header::LOCATION,
            header::RETRY_AFTER,
            HeaderName::from_static("x-request-id"),
        ])
        .max_age(Duration::from_secs(600))
}

async fn route_not_found() -> Problem {
    Problem::new(ErrorCode::RouteNotFound, "No such route.")
}

async fn method_not_allowed() -> Problem {
    Problem::for_status(StatusCode::METHOD_NOT_ALLOWED)
}

fn panic_response(cause: Box<dyn Any + Send + 'static>) -> Response {
    let message = cause
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| cause.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    tracing::error!(panic = %message, "handler panicked");
    Problem::for_status(StatusCode::INTERNAL_SERVER_ERROR).into_response()
}
