//! One partner's failing endpoints do not delay another partner's webhooks: a partner has at
//! most `WEBHOOK_PARTNER_CONCURRENCY` deliveries in flight (half of the 16 senders by default),
//! and claims serve the partners with the fewest in flight first.

use std::time::{Duration, Instant};

use serde_json::json;
use uuid::Uuid;

use super::isolation::{HangingReceiver, patient_app};
use super::{Receiver, register, subscription};

/// The default share of one partner: half of `WEBHOOK_CONCURRENCY`'s 16.
const PARTNER_SHARE: usize = 8;

#[tokio::test]
async fn a_partner_whose_many_endpoints_never_answer_leaves_senders_to_another_partner() {
    let app = patient_app().await;
    let noisy = app.admin();
    let hanging = HangingReceiver::start().await;
    // More endpoints than senders, each with events queued: claimed in event order, these
    // would take all 16 senders for the 30 s timeout.
    for _ in 0..24 {
        register(&noisy, &hanging.url(), json!(["subscription.created"])).await;
    }
    let customer = noisy.customer("US").await;
    for _ in 0..3 {
        noisy
            .subscription(&customer, "m365-business-basic", 1)
            .await;
    }
    hanging.wait_for_requests(PARTNER_SHARE).await;

    let other = app.api(Uuid::new_v4(), &["global_admin"]);
    let receiver = Receiver::start(0).await;
    register(&other, &receiver.url(), json!(["*"])).await;
    let started = Instant::now();
    subscription(&other).await;
    receiver.delivered(1).await;

    assert!(
        started.elapsed() < Duration::from_secs(3),
        "the other partner's event took {:?}",
        started.elapsed()
    );
    assert!(
        hanging.requests() <= PARTNER_SHARE,
        "at most {PARTNER_SHARE} of the partner's deliveries in flight, not {}",
        hanging.requests()
    );
    let pool = sqlx::PgPool::connect(app.database_url()).await.unwrap();
    let backlog: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM webhook_deliveries WHERE partner_id = $1 AND status = 'pending'",
    )
    .bind(app.partner)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        backlog, 72,
        "the hanging partner's deliveries are all still pending"
    );
    pool.close().await;
}
