//! Cancelling jobs while workers are busy with them (docs/upgrade-jobs.md): one lock
//! order for the job and its items, so a cancel never deadlocks with a worker.

use super::*;

/// Four 3,000-item dry-run jobs, each on its own customer, processed by eight workers claiming
/// small batches as fast as they can; once each has started, all four are cancelled at once:
/// every cancel answers 200 `cancelled` (never 503 `lock_timeout` from a deadlock), and no item is
/// left pending but those in flight.
#[tokio::test]
async fn cancelling_busy_jobs_under_load_answers_200() {
    const JOBS: usize = 4;
    let app = spawn_app_with(|settings| {
        settings.job_workers = 8;
        settings.job_batch = 2;
        settings.job_poll_ms = 10;
    })
    .await;
    let admin = app.admin();
    let mut ids = Vec::new();
    for _ in 0..JOBS {
        let (customer, subscriptions) = customer_with(&admin, 2).await;
        let many: Vec<Value> = (0..3_000)
            .map(|n| item(&customer, &subscriptions[n % 2], "o365-e1"))
            .collect();
        ids.push(submit(&admin, &json!({"dryRun": true, "items": many})).await);
    }
    wait_for_rows(
        app.database_url(),
        "SELECT count(*) FROM (SELECT 1 FROM upgrade_jobs j
                                WHERE EXISTS (SELECT 1 FROM upgrade_job_items i
                                               WHERE i.job_id = j.id AND i.outcome <> 'pending')
                               OFFSET 3 LIMIT 1) AS fourth",
        "the jobs never all got going",
    )
    .await;

    let cancels = ids.iter().map(|id| {
        let path = format!("/v1/upgrade-jobs/{id}/cancel");
        let admin = &admin;
        async move { admin.post(&path, &json!({})).await }
    });
    for response in futures::future::join_all(cancels).await {
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["status"], "cancelled");
        assert!(body["counts"]["skipped"].as_i64().unwrap() > 0, "{body}");
    }
}
