//! The retention job keeps the outbox and the `Idempotency-Key` records from growing forever:
//! deliveries finished longer ago than `OUTBOX_RETENTION_HOURS` go with their attempts, then
//! events no delivery refers to, and expired idempotency records; recent and pending rows stay.

use std::time::{Duration, Instant};

use serde_json::json;

use super::{Receiver, change_quantity, register, subscription};
use crate::helpers::spawn_app_with;

/// Counts of what is left, in a fixed order for comparison.
const LEFT: &str = "SELECT ARRAY[
    (SELECT count(*) FROM webhook_deliveries WHERE status = 'delivered'),
    (SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'),
    (SELECT count(*) FROM webhook_attempts a JOIN webhook_deliveries d USING (endpoint_id, event_seq)
      WHERE d.status = 'delivered'),
    (SELECT count(*) FROM webhook_events),
    (SELECT count(*) FROM idempotency_records)]";

#[tokio::test]
async fn old_delivered_events_and_expired_idempotency_records_are_removed_and_the_rest_stays() {
    let app = spawn_app_with(|settings| settings.retention_interval_secs = 1).await;
    let admin = app.admin();
    let receiver = Receiver::start(0).await;
    register(&admin, &receiver.url(), json!(["subscription.created"])).await;
    let down = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let down_url = format!("http://{}/hook", down.local_addr().unwrap());
    drop(down);
    register(&admin, &down_url, json!(["subscription.quantity_changed"])).await;
    let (customer, old) = subscription(&admin).await;
    let (recent_customer, recent) = subscription(&admin).await;
    receiver.delivered(2).await;
    // Pending for ever (its receiver is down), with its event.
    change_quantity(&admin, &customer, &old, 6).await;
    // Two requests with an Idempotency-Key (no endpoint wants their events).
    let path = format!("/v1/customers/{recent_customer}/subscriptions/{recent}");
    for (key, status) in [
        ("retention-old", "suspended"),
        ("retention-recent", "active"),
    ] {
        let answer = admin
            .patch_with(
                &path,
                &json!({"status": status}),
                &[("Idempotency-Key", key)],
            )
            .await;
        assert!(
            answer.status().is_success(),
            "{status}: {}",
            answer.status()
        );
    }

    let pool = sqlx::PgPool::connect(app.database_url()).await.unwrap();
    let left = || async {
        sqlx::query_scalar::<_, Vec<i64>>(LEFT)
            .fetch_one(&pool)
            .await
            .unwrap()
    };
    assert_eq!(left().await, [2, 1, 2, 3, 2]);
    // Age the old subscription's creation (delivered) and every event past the 30 days kept,
    // and expire one idempotency record.
    sqlx::query(
        "UPDATE webhook_deliveries SET delivered_at = now() - interval '31 days'
          WHERE status = 'delivered'
            AND event_seq IN (SELECT seq FROM webhook_events WHERE subscription_id = $1)",
    )
    .bind(uuid::Uuid::parse_str(&old).unwrap())
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query("UPDATE webhook_events SET occurred_at = now() - interval '31 days'")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query(
        "UPDATE idempotency_records SET expires_at = now() - interval '1 second'
          WHERE idempotency_key = 'retention-old'",
    )
    .execute(&pool)
    .await
    .unwrap();

    // Left: the recent delivery and its attempt, the pending delivery, their two events (the
    // pending one's event is old but still needed), and the unexpired record.
    let started = Instant::now();
    loop {
        let now = left().await;
        if now == [1, 1, 1, 2, 1] {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "left: {now:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let kept: String = sqlx::query_scalar("SELECT idempotency_key FROM idempotency_records")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(kept, "retention-recent");
    pool.close().await;
}
