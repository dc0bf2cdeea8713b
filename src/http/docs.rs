//! `/docs`: interactive API documentation (Swagger UI over `/openapi.json`) that works with no
//! internet access. The Swagger UI assets are vendored in `src/http/docs/` (npm
//! `swagger-ui-dist`, see `scripts/vendor-swagger-ui`) and compiled into the binary.

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use axum::routing::get;

use super::AppState;

const INDEX: &str = include_str!("docs/index.html");
const INIT: &str = include_str!("docs/init.js");
const BUNDLE: &str = include_str!("docs/swagger-ui-bundle.js");
const CSS: &str = include_str!("docs/swagger-ui.css");

/// The documentation routes (outside the OpenAPI document: they serve it, they are not the API).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/docs",
            get(|| asset("text/html; charset=utf-8", INDEX, false)),
        )
        .route(
            "/docs/",
            get(|| asset("text/html; charset=utf-8", INDEX, false)),
        )
        .route(
            "/docs/init.js",
            get(|| asset("text/javascript; charset=utf-8", INIT, false)),
        )
        .route(
            "/docs/swagger-ui-bundle.js",
            get(|| asset("text/javascript; charset=utf-8", BUNDLE, true)),
        )
        .route(
            "/docs/swagger-ui.css",
            get(|| asset("text/css; charset=utf-8", CSS, true)),
        )
}

/// A static asset; the vendored ones change only with a new build, so browsers may keep them.
async fn asset(
    content_type: &'static str,
    body: &'static str,
    cacheable: bool,
) -> impl IntoResponse {
    let cache = if cacheable {
        "public, max-age=86400"
    } else {
        "no-cache"
    };
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        ],
        body,
    )
}
