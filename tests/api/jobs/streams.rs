//! Job event streams under abuse (docs/upgrade-jobs.md, "Limits"): bounded per partner and per
//! instance while the probes and other partners are served, closed after their maximum life, and
//! resumed with `Last-Event-ID` without missing the end.

use super::*;

/// One server-sent event: its name, id and data.
#[derive(Debug)]
struct Sent {
    name: String,
    id: Option<String>,
    data: Value,
}

fn parse(text: &str) -> Vec<Sent> {
    text.split("\n\n")
        .filter_map(|block| {
            let (mut name, mut id, mut data) = (None, None, String::new());
            for line in block.lines() {
                if let Some(value) = line.strip_prefix("event:") {
                    name = Some(value.trim().to_owned());
                } else if let Some(value) = line.strip_prefix("id:") {
                    id = Some(value.trim().to_owned());
                } else if let Some(value) = line.strip_prefix("data:") {
                    data.push_str(value.trim_start());
                }
            }
            let data = serde_json::from_str(&data).ok()?;
            Some(Sent {
                name: name?,
                id,
                data,
            })
        })
        .collect()
}

/// Opens the job's stream as `bearer`, resuming after `last_id` when given.
async fn open(
    app: &crate::helpers::TestApp,
    bearer: &str,
    id: &str,
    last_id: Option<&str>,
) -> reqwest::Response {
    let mut request = app
        .client
        .get(format!("{}/v1/upgrade-jobs/{id}/events", app.address))
        .bearer_auth(bearer);
    if let Some(last_id) = last_id {
        request = request.header("last-event-id", last_id);
    }
    request.send().await.unwrap()
}

/// Reads the stream until its first whole event.
async fn first_event(response: &mut reqwest::Response) -> Sent {
    let mut text = String::new();
    loop {
        if let Some(sent) = parse(&text).into_iter().next() {
            return sent;
        }
        let chunk = tokio::time::timeout(Duration::from_secs(10), response.chunk())
            .await
            .expect("an event comes")
            .unwrap()
            .expect("the stream is open");
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
}

/// Reads the stream to its end; fails if it stays open for `within`.
async fn to_the_end(response: &mut reqwest::Response, within: Duration) -> Vec<Sent> {
    let mut text = String::new();
    while let Some(chunk) = tokio::time::timeout(within, response.chunk())
        .await
        .expect("the stream closes")
        .unwrap()
    {
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    parse(&text)
}

/// A queued job of `partner` (no instance processes jobs in these tests, so it stays queued and
/// its stream open).
async fn queued_job(app: &crate::helpers::TestApp, partner: Uuid) -> String {
    let api = app.api(partner, &["global_admin"]);
    let (customer, subscriptions) = customer_with(&api, 1).await;
    submit(
        &api,
        &json!({"dryRun": true, "items": [item(&customer, &subscriptions[0], "o365-e1")]}),
    )
    .await
}

/// One partner opens streams up to its share; its next one is refused with 429 and
/// `Retry-After`; another partner still gets streams up to the instance's total, then is refused
/// too; and while all of them stay open, the probes and the other partner's requests are
/// answered at once.
#[tokio::test]
async fn streams_are_bounded_per_partner_and_per_instance_and_the_rest_is_served() {
    let app = spawn_app_with(|settings| {
        settings.job_workers = 0;
        settings.job_event_streams = 4;
        settings.job_event_streams_per_partner = 3;
    })
    .await;
    let (greedy, other) = (app.partner, Uuid::new_v4());
    let greedy_job = queued_job(&app, greedy).await;
    let other_job = queued_job(&app, other).await;
    let greedy_bearer = token(greedy, &["global_admin"]);
    let other_bearer = token(other, &["global_admin"]);

    let mut open_streams = Vec::new();
    for _ in 0..3 {
        let mut stream = open(&app, &greedy_bearer, &greedy_job, None).await;
        assert_eq!(stream.status(), StatusCode::OK);
        assert_eq!(first_event(&mut stream).await.name, "progress");
        open_streams.push(stream);
    }
    let refused = open(&app, &greedy_bearer, &greedy_job, None).await;
    assert_eq!(refused.headers()["retry-after"], "10");
    assert_problem(refused, StatusCode::TOO_MANY_REQUESTS, "too_many_streams").await;

    let mut theirs = open(&app, &other_bearer, &other_job, None).await;
    assert_eq!(
        theirs.status(),
        StatusCode::OK,
        "another partner has its own share"
    );
    first_event(&mut theirs).await;
    let refused = open(&app, &other_bearer, &other_job, None).await;
    assert!(refused.headers().contains_key("retry-after"));
    assert_problem(refused, StatusCode::TOO_MANY_REQUESTS, "too_many_streams").await;

    let other_api = app.api(other, &["global_admin"]);
    for response in [
        tokio::time::timeout(Duration::from_secs(5), app.get_anonymous("/healthz")).await,
        tokio::time::timeout(Duration::from_secs(5), app.get_anonymous("/readyz")).await,
        tokio::time::timeout(Duration::from_secs(5), other_api.get("/v1/upgrade-jobs")).await,
    ] {
        assert_eq!(response.expect("answered at once").status(), StatusCode::OK);
    }
    drop(open_streams);
}

/// A stream closes after its maximum life though its job still runs; reconnected with the last
/// event's id once the job has ended, it answers the `end` event at once, whose counts are
/// never behind what the client saw; reconnected after the `end` event, it answers 204 (the
/// client has everything).
#[tokio::test]
async fn a_stream_closes_after_its_life_and_resumes_with_last_event_id() {
    let app = spawn_app_with(|settings| {
        settings.job_event_stream_max_secs = 1;
        settings.job_workers = 1;
        settings.job_batch = 1;
    })
    .await;
    let admin = app.admin();
    let (customer, subscriptions) = customer_with(&admin, 1).await;
    let lock = CustomerLock::hold(app.database_url(), &customer).await;
    let body = json!({"dryRun": true,
        "items": (0..5).map(|_| item(&customer, &subscriptions[0], "o365-e1")).collect::<Vec<_>>()});
    let id = submit(&admin, &body).await;
    wait_for_a_lock_wait(app.database_url(), "the job never reached its first item").await;
    let bearer = token(app.partner, &["global_admin"]);

    let mut stream = open(&app, &bearer, &id, None).await;
    let seen = to_the_end(&mut stream, Duration::from_secs(10)).await;
    let last = seen
        .last()
        .expect("a progress event before the stream closed");
    assert!(seen.iter().all(|sent| sent.name == "progress"), "{seen:?}");
    let last_id = last.id.clone().expect("every event has an id");
    let pending_then = last.data["counts"]["pending"].as_i64().unwrap();
    assert!(last.data.get("definition").is_none(), "{}", last.data);

    lock.release().await;
    let job = ended(&admin, &id).await;
    let mut resumed = open(&app, &bearer, &id, Some(&last_id)).await;
    assert_eq!(resumed.status(), StatusCode::OK);
    let events = to_the_end(&mut resumed, Duration::from_secs(5)).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].name, "end");
    assert_eq!(events[0].data["counts"], job["counts"]);
    assert!(events[0].data["counts"]["pending"].as_i64().unwrap() <= pending_then);
    let end_id = events[0].id.clone().expect("the end event has an id");

    let again = open(&app, &bearer, &id, Some(&end_id)).await;
    assert_eq!(again.status(), StatusCode::NO_CONTENT);
}
