//! The order of a customer's upgrade history (docs/upgrades.md): the order the
//! upgrades committed in, which `performedAt` follows, even when an upgrade that started first
//! committed last.

use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::{Connection, Executor};

use crate::helpers::{json_ok, spawn_app, wait_for_rows};

/// A whole upgrade starts first but is held (before it takes the customer's lock) until a partial
/// upgrade of the same customer has committed: the history lists the partial one first, and the
/// `performedAt` of the list never goes backwards, page by page as on one page.
#[tokio::test]
async fn upgrades_list_in_commit_order_and_performed_at_follows_it() {
    let app = spawn_app().await;
    let admin = app.admin();
    let customer = admin.customer("US").await;
    admin.relationship(&customer, &["*"]).await;
    let whole = admin
        .subscription(&customer, "m365-business-basic", 2)
        .await;
    let split = admin
        .subscription(&customer, "m365-business-basic", 10)
        .await;
    let upgrades = |subscription: &str| {
        format!("/v1/customers/{customer}/subscriptions/{subscription}/upgrades")
    };
    // A keyed upgrade reads its `Idempotency-Key` record first, inside its transaction: held here.
    let mut holder = sqlx::PgConnection::connect(app.database_url())
        .await
        .unwrap();
    holder.execute("BEGIN").await.unwrap();
    holder
        .execute("LOCK TABLE idempotency_records IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    let first = {
        let request = admin
            .request(reqwest::Method::POST, &upgrades(&whole))
            .header("idempotency-key", "whole-upgrade")
            .json(&json!({"targetOfferId": "o365-e1"}));
        tokio::spawn(async move { request.send().await.unwrap() })
    };
    wait_for_rows(
        app.database_url(),
        "SELECT count(*) FROM pg_stat_activity
          WHERE datname = current_database() AND wait_event_type = 'Lock'
            AND query LIKE 'SELECT%idempotency_records%'",
        "the whole upgrade never started",
    )
    .await;

    let partial = admin
        .post(
            &upgrades(&split),
            &json!({"targetOfferId": "m365-business-standard", "partial": true, "quantity": 3}),
        )
        .await;
    assert_eq!(partial.status(), StatusCode::CREATED);
    let partial: Value = partial.json().await.unwrap();
    holder.execute("ROLLBACK").await.unwrap();
    let first = first.await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.unwrap();

    let listed = json_ok(
        admin
            .get(&format!("/v1/customers/{customer}/upgrades"))
            .await,
    )
    .await;
    let listed = listed["items"].as_array().unwrap().clone();
    let ids: Vec<&Value> = listed.iter().map(|u| &u["id"]).collect();
    assert_eq!(
        ids,
        [&partial["upgradeId"], &first["upgradeId"]],
        "the partial upgrade committed first"
    );
    let performed: Vec<chrono::DateTime<chrono::Utc>> = listed
        .iter()
        .map(|u| u["performedAt"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(performed[0] <= performed[1], "{performed:?}");
    let page = json_ok(
        admin
            .get(&format!("/v1/customers/{customer}/upgrades?limit=1"))
            .await,
    )
    .await;
    let token = page["continuationToken"].as_str().unwrap();
    let next = json_ok(
        admin
            .get(&format!(
                "/v1/customers/{customer}/upgrades?limit=1&continuationToken={token}"
            ))
            .await,
    )
    .await;
    assert_eq!(page["items"][0]["id"], *ids[0]);
    assert_eq!(next["items"][0]["id"], *ids[1]);
}
