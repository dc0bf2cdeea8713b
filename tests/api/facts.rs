//! The stored facts behind the eligibility listing (README, "Performance"): each customer's row
//! of `customer_facts` is rebuilt when a change to its tables commits, however the change was
//! made (through the service or straight in the database, one transaction or two at once), so
//! the listing never answers from data older than the last commit.

use serde_json::Value;
use sqlx::{Connection, PgConnection, PgPool};

use crate::helpers::{Api, TestApp, assert_invariants, json_ok, spawn_app};

/// Each option's failure codes, by target offer.
async fn failure_codes(api: &Api<'_>, customer: &str, source: &str) -> Vec<(String, Vec<String>)> {
    let path = format!("/v1/customers/{customer}/subscriptions/{source}/upgrades");
    let page: Value = json_ok(api.get(&path).await).await;
    let items = page["items"].as_array().expect("a page of options");
    items
        .iter()
        .map(|option| {
            let codes = option["failures"].as_array().expect("failures");
            let codes = codes.iter().map(|f| f["code"].as_str().unwrap().to_owned());
            (
                option["targetOfferId"].as_str().unwrap().to_owned(),
                codes.collect(),
            )
        })
        .collect()
}

/// Whether every option of the source names `code`.
async fn every_option_fails_with(api: &Api<'_>, customer: &str, source: &str, code: &str) -> bool {
    let options = failure_codes(api, customer, source).await;
    assert!(!options.is_empty(), "the source has upgrade paths");
    options
        .iter()
        .all(|(_, codes)| codes.iter().any(|c| c == code))
}

/// A US customer with a Business Basic subscription of five seats (the upgrade source), and
/// full admin rights when `rights`; answers the customer and the source.
async fn customer_with_source(admin: &Api<'_>, rights: bool) -> (String, String) {
    let customer = admin.customer("US").await;
    if rights {
        admin.relationship(&customer, &["*"]).await;
    }
    let source = admin
        .subscription(&customer, "m365-business-basic", 5)
        .await;
    (customer, source)
}

async fn connect(app: &TestApp) -> PgConnection {
    PgConnection::connect(app.database_url())
        .await
        .expect("a connection")
}

#[tokio::test]
async fn a_change_made_straight_in_the_database_shows_in_the_next_listing() {
    let app = spawn_app().await;
    let admin = app.admin();
    let (customer, source) = customer_with_source(&admin, false).await;
    assert!(every_option_fails_with(&admin, &customer, &source, "delegated_admin_missing").await);

    let pool = PgPool::connect(app.database_url()).await.unwrap();
    sqlx::query(
        "INSERT INTO delegated_admin_relationships
             (customer_id, id, partner_id, status, starts_at, ends_at, all_services)
         VALUES ($1::uuid, gen_random_uuid(), $2, 'active', now() - interval '1 day',
                 now() + interval '1 year', true)",
    )
    .bind(&customer)
    .bind(app.partner)
    .execute(&pool)
    .await
    .unwrap();
    assert!(!every_option_fails_with(&admin, &customer, &source, "delegated_admin_missing").await);

    sqlx::query("UPDATE subscriptions SET status = 'suspended' WHERE id = $1::uuid")
        .bind(&source)
        .execute(&pool)
        .await
        .unwrap();
    assert!(every_option_fails_with(&admin, &customer, &source, "subscription_not_active").await);
    pool.close().await;
    assert_invariants(app.database_url()).await;
}

#[tokio::test]
async fn a_change_rolled_back_leaves_the_stored_facts_as_they_were() {
    let app = spawn_app().await;
    let admin = app.admin();
    let (customer, source) = customer_with_source(&admin, true).await;
    let before = failure_codes(&admin, &customer, &source).await;

    let mut conn = connect(&app).await;
    let mut tx = conn.begin().await.unwrap();
    sqlx::query("UPDATE subscriptions SET status = 'suspended' WHERE id = $1::uuid")
        .bind(&source)
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.rollback().await.unwrap();

    assert_eq!(failure_codes(&admin, &customer, &source).await, before);
    assert_invariants(app.database_url()).await;
}

#[tokio::test]
async fn two_transactions_changing_one_customer_at_once_leave_both_changes_in_its_facts() {
    let app = spawn_app().await;
    let admin = app.admin();
    let (customer, source) = customer_with_source(&admin, false).await;
    let other = admin.subscription(&customer, "o365-e3", 5).await;

    // Neither transaction takes the customer's row lock (as the service's writes do), so only
    // the rebuild's own lock orders them; each commits after the other has written.
    let (mut first, mut second) = (connect(&app).await, connect(&app).await);
    let mut a = first.begin().await.unwrap();
    let mut b = second.begin().await.unwrap();
    for (tx, id, quantity) in [(&mut a, &source, 7), (&mut b, &other, 9)] {
        sqlx::query("UPDATE subscriptions SET quantity = $2 WHERE id = $1::uuid")
            .bind(id)
            .bind(quantity)
            .execute(&mut **tx)
            .await
            .unwrap();
    }
    let (committed_a, committed_b) = tokio::join!(a.commit(), b.commit());
    committed_a.unwrap();
    committed_b.unwrap();

    let quantities: Vec<i32> = sqlx::query_scalar(
        "SELECT unnest(subscription_quantities) FROM customer_facts WHERE customer_id = $1::uuid",
    )
    .bind(&customer)
    .fetch_all(&mut first)
    .await
    .unwrap();
    assert_eq!(quantities.iter().filter(|q| [7, 9].contains(q)).count(), 2);
    assert_invariants(app.database_url()).await;
}

#[tokio::test]
async fn every_write_through_the_service_keeps_the_stored_facts_current() {
    let app = spawn_app().await;
    let admin = app.admin();
    let (customer, source) = customer_with_source(&admin, true).await;
    let user = admin.user(&customer, "ada@contoso.com").await;
    admin.assign(&customer, &source, &user, &[]).await;
    let upgraded = admin
        .post(
            &format!("/v1/customers/{customer}/subscriptions/{source}/upgrades"),
            &serde_json::json!({"targetOfferId": "m365-business-standard"}),
        )
        .await;
    assert_eq!(upgraded.status(), reqwest::StatusCode::CREATED);
    // The source is upgraded: the listing says so from the stored row.
    assert!(every_option_fails_with(&admin, &customer, &source, "subscription_not_active").await);
    assert_invariants(app.database_url()).await;
}
