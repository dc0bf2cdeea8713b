//! The answer to a request that created a resource.

use axum::http::{StatusCode, header};

use super::extract::Json;

/// A created resource: 201, its `Location`, and its representation.
pub type Created<T> = (StatusCode, [(header::HeaderName, String); 1], Json<T>);

/// 201 Created with a Location header.
pub fn created<T>(location: String, body: T) -> Created<T> {
    (
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(body),
    )
}
