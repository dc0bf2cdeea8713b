//! Our own `Json`, `Path` and `Query`: axum's, with rejections turned into problem+json with a
//! specific code instead of axum's plain-text bodies.
#![allow(clippy::disallowed_types)]

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::problem::Problem;
use crate::domain::ErrorCode;
use crate::domain::input::{self, Expected, InvalidDate};

/// A JSON request body or response.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(Json(value)),
            Err(rejection) => Err(json_problem(&rejection)),
        }
    }
}

fn json_problem(rejection: &JsonRejection) -> Problem {
    let code = match rejection {
        // Unknown fields, missing fields and wrong types: serde names the field and position.
        JsonRejection::JsonDataError(_) => ErrorCode::InvalidBody,
        JsonRejection::JsonSyntaxError(_) => ErrorCode::MalformedJson,
        JsonRejection::MissingJsonContentType(_) => ErrorCode::UnsupportedMediaType,
        other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => ErrorCode::PayloadTooLarge,
        _ => ErrorCode::UnreadableBody,
    };
    Problem::new(code, rejection.body_text())
}

/// The least room an answer starts with: most answers are a few KiB, written with one allocation
/// where doubling from empty would take ten.
const LEAST_ROOM: usize = 4096;
/// The most room an answer starts with, whatever the one before it took.
const MOST_ROOM: usize = 256 * 1024;

thread_local! {
    /// The room this thread's last answer took: the next starts with as much and an eighth more,
    /// so that a page of tens of kilobytes is not copied at each doubling of its buffer.
    static LAST_ANSWER: std::cell::Cell<usize> = const { std::cell::Cell::new(LEAST_ROOM) };
}

/// Every answer ends with a newline, as a terminal or a log expects a line to.
impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        let last = LAST_ANSWER.get();
        let mut body = Vec::with_capacity((last + last / 8).clamp(LEAST_ROOM, MOST_ROOM));
        if let Err(error) = super::encode::to_writer(&mut body, &self.0) {
            return crate::error::Error::internal(error).into_response();
        }
        body.push(b'\n');
        LAST_ANSWER.set(body.len());
        let json = HeaderValue::from_static("application/json");
        ([(header::CONTENT_TYPE, json)], body).into_response()
    }
}

/// Path parameters.
#[derive(Debug, Clone)]
pub struct Path<T>(pub T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| Path(value))
            .map_err(|rejection: PathRejection| {
                Problem::new(ErrorCode::InvalidPathParameter, rejection.body_text())
            })
    }
}

/// Query-string parameters.
#[derive(Debug, Clone)]
pub struct Query<T>(pub T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| Query(value))
            .map_err(|rejection: QueryRejection| {
                Problem::new(ErrorCode::InvalidQueryParameter, rejection.body_text())
            })
    }
}

/// A date or timestamp field of a request body, as sent. It takes any JSON value and is checked
/// by [`input::date`] or [`input::timestamp`] once the body is read, so that every wrong value (a
/// number, a malformed string, a year out of range) gets the field's own code and message.
/// Declare it with `#[schema(value_type = String, format = Date)]` (or `DateTime`).
#[derive(Debug, Clone, Deserialize)]
#[serde(transparent)]
pub struct DateField(Value);

impl DateField {
    /// The field as a date (`YYYY-MM-DD`) within the accepted range.
    pub fn date(&self, field: &'static str) -> Result<NaiveDate, InvalidDate> {
        self.parse(field, Expected::Date, input::date)
    }

    /// The field as an RFC 3339 timestamp within the accepted range, in UTC.
    pub fn timestamp(&self, field: &'static str) -> Result<DateTime<Utc>, InvalidDate> {
        self.parse(field, Expected::Timestamp, input::timestamp)
    }

    fn parse<T>(
        &self,
        field: &'static str,
        expected: Expected,
        parse: fn(&'static str, &str) -> Result<T, InvalidDate>,
    ) -> Result<T, InvalidDate> {
        let got = match &self.0 {
            Value::String(text) => return parse(field, text),
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::Array(_) => "an array",
            Value::Object(_) => "an object",
        };
        Err(InvalidDate {
            field,
            expected,
            got: got.to_owned(),
        })
    }
}
