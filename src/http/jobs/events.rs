//! A job's progress as a `text/event-stream` (server-sent events), readable with `curl -N`, a
//! browser's `EventSource` or any HTTP client that reads a body as it arrives.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::{self, Stream};
use uuid::Uuid;

use super::views::JobView;
use crate::domain::Operation;
use crate::error::Error;
use crate::http::AppState;
use crate::http::caller::Caller;
use crate::http::extract::Path;
use crate::http::openapi::rules::JobEvent;
use crate::http::problem::{AuthProblems, Problem};
use crate::service::jobs;

/// How often progress is sent while the job runs.
const INTERVAL: Duration = Duration::from_millis(500);

enum Step {
    Send(Box<jobs::JobView>),
    Poll,
    Done,
}

/// Follows the job: a `progress` event at once and every half second while it runs (its data is
/// the job, as `GET /v1/upgrade-jobs/{jobId}` answers it), then one `end` event with its final
/// state, and the stream closes. A job that has already ended gets its `end` event at once.
#[utoipa::path(
    get, path = "/v1/upgrade-jobs/{jobId}/events", tag = "upgrade-jobs",
    params(("jobId" = Uuid, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Server-sent events: `progress` while the job runs, then `end`", content_type = "text/event-stream", body = JobEvent),
        (status = 400, description = "Malformed id", body = Problem, content_type = "application/problem+json"),
        AuthProblems,
        (status = 404, description = "No such job of yours", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(super) async fn job_events(
    State(state): State<AppState>,
    caller: Caller,
    Path(job_id): Path<Uuid>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, Error> {
    caller.require(Operation::ReadCustomers)?;
    let partner_id = caller.partner_id;
    let first = jobs::find(&state.pool, partner_id, job_id).await?;
    let pool = state.pool.clone();
    let events = stream::unfold(Step::Send(Box::new(first)), move |step| {
        let pool = pool.clone();
        async move {
            let view = match step {
                Step::Done => return None,
                Step::Send(view) => *view,
                Step::Poll => {
                    tokio::time::sleep(INTERVAL).await;
                    match jobs::find(&pool, partner_id, job_id).await {
                        Ok(view) => view,
                        Err(error) => {
                            let event = Event::default().event("error").data(error.to_string());
                            return Some((Ok(event), Step::Done));
                        }
                    }
                }
            };
            let ended = view.job.status.is_final();
            let data = serde_json::to_string(&JobView::from(view)).unwrap_or_default();
            let event = Event::default()
                .event(if ended { "end" } else { "progress" })
                .data(data);
            Some((Ok(event), if ended { Step::Done } else { Step::Poll }))
        }
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}
