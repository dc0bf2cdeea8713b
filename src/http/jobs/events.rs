//! A job's progress as a `text/event-stream` (server-sent events), readable with `curl -N`, a
//! browser's `EventSource` or any HTTP client that reads a body as it arrives.
//!
//! A stream holds a connection, so streams are bounded (`http::stream_limit`): per partner and
//! per instance, and in time. Each event has an `id` derived from the job's progress (its status
//! and how many items are done, both of which only move forward), so a client that reconnects
//! with `Last-Event-ID` (as `EventSource` does by itself) resumes where it was: it is sent the job
//! again only once it has moved on, and gets the `end` event at once if the job ended meanwhile.
//! Events are snapshots, so nothing is lost in between.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream;
use tokio::time::Instant;

use crate::domain::{JobId, Operation};
use crate::error::Error;
use crate::http::AppState;
use crate::http::caller::Caller;
use crate::http::extract::Path;
use crate::http::openapi::rules::JobEvent;
use crate::http::problem::{AuthProblems, Problem};
use crate::http::stream_limit::StreamSlot;
use crate::service::jobs::JobView;
use crate::service::views::jobs::JobProgressView;
use crate::service::{Actor, App};

/// How often the job is read again while it runs.
const INTERVAL: Duration = Duration::from_millis(500);

/// The id of the `end` event.
const END_ID: &str = "end";

/// Follows the job: a `progress` event at once, then one each time the job moves on (looked at
/// every half second), then one `end` event with its final state, and the stream closes. Each
/// event's data is the job's progress (`JobProgress`), without its definition. A stream closes
/// after `JOB_EVENT_STREAM_MAX_SECS` whatever the job does: reconnect with `Last-Event-ID`. A
/// partner with as many streams open as it may, or an instance serving as many as it may,
/// answers 429 `too_many_streams` with `Retry-After`.
#[utoipa::path(
    get, path = "/v1/upgrade-jobs/{jobId}/events", tag = "upgrade-jobs",
    params(
        ("jobId" = Uuid, Path),
        ("Last-Event-ID" = Option<String>, Header, description = "The `id` of the last event received, when reconnecting"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Server-sent events: `progress` while the job runs, then `end`", content_type = "text/event-stream", body = JobEvent),
        (status = 204, description = "`Last-Event-ID` is the `end` event's: the client has the job's final state already"),
        (status = 400, description = "Malformed id", body = Problem, content_type = "application/problem+json"),
        AuthProblems,
        (status = 404, description = "No such job of yours", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(super) async fn job_events(
    State(state): State<AppState>,
    caller: Caller,
    Path(job_id): Path<JobId>,
    headers: HeaderMap,
) -> Result<Response, Error> {
    caller.require(Operation::ReadCustomers)?;
    let slot = state.streams.take(caller.partner_id.as_uuid())?;
    let actor = caller.into_actor();
    let first = state.app().job(&actor, job_id).await?;
    let last_id = headers
        .get("last-event-id")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    if first.job.status.is_final() && last_id.as_deref() == Some(END_ID) {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let follow = Follow {
        app: state.app().clone(),
        actor,
        job_id,
        deadline: Instant::now() + state.streams.limits().max_life,
        last_id,
        next: Next::Send(Box::new(first)),
        _slot: slot,
    };
    let events = stream::unfold(follow, next_event);
    Ok(Sse::new(events)
        .keep_alive(KeepAlive::default())
        .into_response())
}

/// One stream's state.
struct Follow {
    app: App,
    /// Who asked: the job is read again as theirs.
    actor: Actor,
    job_id: JobId,
    /// When the stream closes, ended or not.
    deadline: Instant,
    /// The id of the last event the client has (sent here, or before it reconnected).
    last_id: Option<String>,
    next: Next,
    /// This stream's place among the open ones, given back when the stream is dropped.
    _slot: StreamSlot,
}

enum Next {
    Send(Box<JobView>),
    Poll,
    Done,
}

/// The stream's next event, once there is one: the job when it has moved on since the client's
/// last event, its end, or an error; `None` when the stream is over.
async fn next_event(mut follow: Follow) -> Option<(Result<Event, Infallible>, Follow)> {
    loop {
        let view = match std::mem::replace(&mut follow.next, Next::Poll) {
            Next::Done => return None,
            Next::Send(view) => *view,
            Next::Poll => {
                let left = follow.deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return None;
                }
                tokio::time::sleep(INTERVAL.min(left)).await;
                match follow.app.job(&follow.actor, follow.job_id).await {
                    Ok(view) => view,
                    Err(error) => {
                        follow.next = Next::Done;
                        let event = Event::default().event("error").data(error.to_string());
                        return Some((Ok(event), follow));
                    }
                }
            }
        };
        let ended = view.job.status.is_final();
        let id = event_id(&view);
        if !ended && follow.last_id.as_deref() == Some(id.as_str()) {
            continue;
        }
        let data = serde_json::to_string(&JobProgressView::from(&view)).unwrap_or_default();
        let event = Event::default()
            .event(if ended { "end" } else { "progress" })
            .id(id.as_str())
            .data(data);
        follow.last_id = Some(id);
        follow.next = if ended { Next::Done } else { Next::Poll };
        return Some((Ok(event), follow));
    }
}

/// The event id of the job as it is: `end` once it has ended, otherwise its status and items done
/// (`running-1200`), which change only forward.
fn event_id(view: &JobView) -> String {
    if view.job.status.is_final() {
        END_ID.to_owned()
    } else {
        format!("{}-{}", view.job.status.as_str(), view.counts.done())
    }
}
