//! What one partner may put in the job queue, and for how long it stays (docs/upgrade-jobs.md,
//! "Limits"): bounded lists, a bounded definition in every answer, caps on a partner's jobs
//! queued or running and on its pending items, and retention of finished jobs.

use super::*;

/// A selection of 1,000 customers is accepted, but its answers (creation, one job, the list)
/// show the customers as a count, and listing jobs stays small.
#[tokio::test]
async fn a_big_selection_is_shown_as_a_summary_not_echoed() {
    let app = spawn_app_with(|settings| settings.job_workers = 0).await;
    let admin = app.admin();
    let customers: Vec<String> = (0..1_000).map(|_| Uuid::new_v4().to_string()).collect();
    let selection = json!({"sourceOfferId": "m365-business-basic", "targetOfferId": "o365-e1",
                           "customerIds": customers, "market": "US"});
    let id = submit(&admin, &json!({"selection": selection, "dryRun": true})).await;

    let job = json_ok(admin.get(&format!("/v1/upgrade-jobs/{id}")).await).await;
    assert_eq!(
        job["definition"],
        json!({"selection": {"sourceOfferId": "m365-business-basic", "targetOfferId": "o365-e1",
                             "customerCount": 1000, "market": "US"}, "items": null})
    );
    let listed = admin.get("/v1/upgrade-jobs").await.text().await.unwrap();
    assert!(listed.len() < 2_000, "{} bytes", listed.len());
}

/// Past its jobs queued or running, or its pending items, a partner's new job is refused with
/// 429 and `Retry-After`, and nothing is queued; a retry of a job already accepted is still
/// answered; another partner is not affected; cancelling makes room.
#[tokio::test]
async fn a_partner_may_queue_only_so_many_jobs_and_items() {
    let app = spawn_app_with(|settings| {
        settings.job_workers = 0;
        settings.job_max_active_per_partner = 2;
        settings.job_max_pending_items_per_partner = 5;
    })
    .await;
    let admin = app.admin();
    let (customer, subscriptions) = customer_with(&admin, 1).await;
    let job = |n: usize| json!({"dryRun": true, "items": (0..n).map(|_| item(&customer, &subscriptions[0], "o365-e1")).collect::<Vec<_>>()});
    let key = [("idempotency-key", "first-job")];
    let first = admin.post_with("/v1/upgrade-jobs", &job(3), &key).await;
    assert_eq!(first.status(), StatusCode::ACCEPTED);
    let first: Value = first.json().await.unwrap();
    submit(&admin, &job(2)).await;

    let before = snapshot(&app).await;
    let refused = admin.post("/v1/upgrade-jobs", &job(1)).await;
    assert_eq!(refused.headers()["retry-after"], "30");
    assert_problem(refused, StatusCode::TOO_MANY_REQUESTS, "too_many_jobs").await;
    assert_eq!(snapshot(&app).await, before, "nothing queued");
    let replayed = admin.post_with("/v1/upgrade-jobs", &job(3), &key).await;
    assert_eq!(
        replayed.status(),
        StatusCode::ACCEPTED,
        "a retry is answered"
    );

    let cancel = format!("/v1/upgrade-jobs/{}/cancel", first["id"].as_str().unwrap());
    json_ok(admin.post(&cancel, &json!({})).await).await;
    let refused = admin.post("/v1/upgrade-jobs", &job(4)).await;
    assert!(refused.headers().contains_key("retry-after"));
    assert_problem(
        refused,
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_pending_items",
    )
    .await;
    submit(&admin, &job(3)).await;

    let other = app.api(Uuid::new_v4(), &["global_admin"]);
    let (customer, subscriptions) = customer_with(&other, 1).await;
    let theirs = json!({"items": [item(&customer, &subscriptions[0], "o365-e1")]});
    submit(&other, &theirs).await;
}

/// Finished jobs older than `JOB_RETENTION_HOURS` go, with their items; recent ones and jobs
/// still queued stay.
#[tokio::test]
async fn finished_jobs_are_removed_after_the_retention_period() {
    let app = spawn_app_with(|settings| {
        settings.job_retention_hours = 1;
        settings.retention_interval_secs = 1;
    })
    .await;
    let admin = app.admin();
    let (customer, subscriptions) = customer_with(&admin, 1).await;
    let body = json!({"dryRun": true, "items": [item(&customer, &subscriptions[0], "o365-e1")]});
    let old = submit(&admin, &body).await;
    let recent = submit(&admin, &body).await;
    ended(&admin, &old).await;
    ended(&admin, &recent).await;
    let pool = sqlx::PgPool::connect(app.database_url()).await.unwrap();
    sqlx::query(
        "UPDATE upgrade_jobs SET created_at = now() - interval '3 hours',
                finished_at = now() - interval '2 hours' WHERE id = $1::uuid",
    )
    .bind(&old)
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;

    wait_for_rows(
        app.database_url(),
        "SELECT count(*) FROM (SELECT 1) AS one
          WHERE NOT EXISTS (SELECT 1 FROM upgrade_jobs WHERE finished_at < now() - interval '1 hour')
            AND NOT EXISTS (SELECT 1 FROM upgrade_job_items i
                             WHERE NOT EXISTS (SELECT 1 FROM upgrade_jobs j WHERE j.id = i.job_id))",
        "the expired job was never removed",
    )
    .await;
    assert_problem(
        admin.get(&format!("/v1/upgrade-jobs/{old}")).await,
        StatusCode::NOT_FOUND,
        "job_not_found",
    )
    .await;
    let kept = json_ok(admin.get(&format!("/v1/upgrade-jobs/{recent}")).await).await;
    assert_eq!(kept["counts"]["succeeded"], 1);
    assert_eq!(items(&admin, &recent, None).await.len(), 1);
}
