//! The stored facts behind the eligibility listing and the recommendations
//! (docs/performance.md): a change to a customer's tables drops its row of `customer_facts` when it
//! commits, however the change was made (through the service or straight in the database, one
//! transaction or two at once), and the next read stores it again, so neither ever answers from
//! data older than the last commit.

use serde_json::Value;
use sqlx::{Connection, PgConnection};

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

/// Suspends the subscription `$1`.
const SUSPEND: &str = "UPDATE subscriptions SET status = 'suspended' WHERE id = $1::uuid";
/// Turns off auto-renewal of the subscription `$1`: a change that drops its customer's facts.
const AUTO_RENEW_OFF: &str = "UPDATE subscriptions SET auto_renew = false WHERE id = $1::uuid";
/// Locks the customer `$1`'s row, as every write of the service does first.
const LOCK_CUSTOMER: &str = "SELECT 1 FROM customers WHERE id = $1::uuid FOR UPDATE";
/// Stores the customer `$1`'s facts (uncommitted, in the caller's transaction).
const STORE_UNCOMMITTED: &str = "SELECT store_customer_facts(ARRAY[$1::uuid])";

/// Commits a change of the customer's `source`, which drops its stored facts, so that the next
/// read refills them.
async fn drop_stored_facts(conn: &mut PgConnection, customer: &str, source: &str) {
    execute(&mut *conn, AUTO_RENEW_OFF, source).await;
    assert_eq!(stored_rows(conn, customer).await, 0);
}

/// Runs `statement` with the id `$1`.
async fn execute(conn: &mut PgConnection, statement: &'static str, id: &str) {
    sqlx::query(statement).bind(id).execute(conn).await.unwrap();
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

    let mut conn = connect(&app).await;
    sqlx::query(
        "INSERT INTO delegated_admin_relationships
             (customer_id, id, partner_id, status, starts_at, ends_at, all_services)
         VALUES ($1::uuid, gen_random_uuid(), $2, 'active', now() - interval '1 day',
                 now() + interval '1 year', true)",
    )
    .bind(&customer)
    .bind(app.partner)
    .execute(&mut conn)
    .await
    .unwrap();
    assert!(!every_option_fails_with(&admin, &customer, &source, "delegated_admin_missing").await);

    execute(&mut conn, SUSPEND, &source).await;
    assert!(every_option_fails_with(&admin, &customer, &source, "subscription_not_active").await);
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
    execute(&mut tx, SUSPEND, &source).await;
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
    // the facts lock orders their drops; each commits after the other has written. Both drop
    // the row, and the next listing stores it with both changes.
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

    assert_eq!(stored_rows(&mut first, &customer).await, 0);
    let listed = failure_codes(&admin, &customer, &source).await;
    assert!(!listed.is_empty());
    let quantities: Vec<i32> = sqlx::query_scalar(
        "SELECT (unnest(l.subscriptions)).quantity
           FROM customer_facts f, customer_facts_of(ARRAY[$1::uuid]) l
          WHERE f.customer_id = $1::uuid AND f.facts = customer_facts_packed(l)",
    )
    .bind(&customer)
    .fetch_all(&mut first)
    .await
    .unwrap();
    assert_eq!(quantities.iter().filter(|q| [7, 9].contains(q)).count(), 2);
    assert_invariants(app.database_url()).await;
}

/// How many stored rows of facts the customer has (0 or 1).
async fn stored_rows(conn: &mut PgConnection, customer: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM customer_facts WHERE customer_id = $1::uuid")
        .bind(customer)
        .fetch_one(conn)
        .await
        .unwrap()
}

/// Waits until a session of this database waits for a lock of the kind `event` names
/// (`advisory`, `transactionid`).
async fn wait_for_a_lock_wait(conn: &mut PgConnection, event: &str) {
    let waiting = "SELECT count(*) FROM pg_stat_activity
                   WHERE datname = current_database() AND wait_event_type = 'Lock'
                     AND wait_event = $1";
    while sqlx::query_scalar::<_, i64>(waiting)
        .bind(event)
        .fetch_one(&mut *conn)
        .await
        .unwrap()
        == 0
    {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

/// A read refilling the row while a write commits: the refill has built the facts and waits to
/// store them (held up here by an uncommitted row of the same customer) when the write commits.
/// The write's drop waits for the refill's facts lock and deletes what the refill stored, so
/// the next listing sees the write; without that lock the refill's older facts would stay.
#[tokio::test]
async fn a_refill_racing_a_commit_never_leaves_the_facts_the_commit_changed() {
    let app = spawn_app().await;
    let admin = app.admin();
    let (customer, source) = customer_with_source(&admin, true).await;
    assert!(!every_option_fails_with(&admin, &customer, &source, "subscription_not_active").await);

    let (mut blocker, mut writer, mut watcher) = (
        connect(&app).await,
        connect(&app).await,
        connect(&app).await,
    );
    drop_stored_facts(&mut writer, &customer, &source).await;

    // An uncommitted row of the customer's facts: the refill's insert waits for it to end.
    let mut held = blocker.begin().await.unwrap();
    execute(&mut held, STORE_UNCOMMITTED, &customer).await;
    let read = async {
        let path = format!("/v1/customers/{customer}/subscriptions/{source}/upgrades");
        admin.get(&path).await.status()
    };
    let write_meanwhile = async {
        // The refill holds the facts lock and has built its facts.
        wait_for_a_lock_wait(&mut watcher, "transactionid").await;
        let mut tx = writer.begin().await.unwrap();
        execute(&mut tx, SUSPEND, &source).await;
        // The commit's drop waits for the refill's facts lock (were it not to, the commit
        // would end first, and the refill would then store the facts it built before it).
        let commit = tx.commit();
        tokio::pin!(commit);
        let committed = tokio::select! {
            committed = &mut commit => Some(committed),
            () = wait_for_a_lock_wait(&mut watcher, "advisory") => None,
        };
        held.rollback().await.unwrap();
        match committed {
            Some(committed) => committed.unwrap(),
            None => commit.await.unwrap(),
        }
    };
    let (status, ()) = tokio::join!(read, write_meanwhile);
    assert_eq!(status, reqwest::StatusCode::OK);

    assert!(every_option_fails_with(&admin, &customer, &source, "subscription_not_active").await);
    assert_invariants(app.database_url()).await;
}

/// A refill takes no lock a writer holds: a read of a customer whose row a write has locked
/// (as every write of the service does, then commits, its drop waiting for the refill) is
/// answered at once, and the write's commit still lands in the next listing.
#[tokio::test]
async fn a_refill_never_waits_for_the_row_locks_of_a_write_in_flight() {
    let app = spawn_app().await;
    let admin = app.admin();
    let (customer, source) = customer_with_source(&admin, true).await;
    let mut writer = connect(&app).await;
    let mut watcher = connect(&app).await;
    drop_stored_facts(&mut writer, &customer, &source).await;

    let mut tx = writer.begin().await.unwrap();
    execute(&mut tx, LOCK_CUSTOMER, &customer).await;
    execute(&mut tx, SUSPEND, &source).await;
    // Refilled while the write holds the customer's row: not yet suspended.
    assert!(!every_option_fails_with(&admin, &customer, &source, "subscription_not_active").await);
    assert_eq!(stored_rows(&mut watcher, &customer).await, 1);
    tx.commit().await.unwrap();

    assert_eq!(stored_rows(&mut watcher, &customer).await, 0);
    assert!(every_option_fails_with(&admin, &customer, &source, "subscription_not_active").await);
    assert_invariants(app.database_url()).await;
}

/// An upgrade reads the stored row under its locks unless its own transaction has changed the
/// customer (the renewal's scheduled partial upgrade, after the renewal): the row is then older
/// than what the transaction sees, so it is hidden from that transaction alone.
#[tokio::test]
async fn a_transaction_that_changed_a_customer_does_not_read_its_stored_facts() {
    let app = spawn_app().await;
    let admin = app.admin();
    let (customer, source) = customer_with_source(&admin, true).await;
    let (other, other_source) = customer_with_source(&admin, true).await;
    failure_codes(&admin, &customer, &source).await;
    failure_codes(&admin, &other, &other_source).await;
    let mut conn = connect(&app).await;
    let unchanged = "SELECT count(*) FROM customer_facts
                      WHERE customer_id = $1::uuid AND NOT customer_facts_mine($1::uuid)";
    let count = async |conn: &mut PgConnection, statement: &str, id: &str| -> i64 {
        sqlx::query_scalar(sqlx::AssertSqlSafe(statement.to_owned()))
            .bind(id)
            .fetch_one(conn)
            .await
            .unwrap()
    };
    assert_eq!(count(&mut conn, unchanged, &customer).await, 1);

    let mut tx = conn.begin().await.unwrap();
    execute(&mut tx, SUSPEND, &source).await;
    assert_eq!(count(&mut tx, unchanged, &customer).await, 0);
    assert_eq!(stored_rows(&mut tx, &customer).await, 1);
    assert_eq!(count(&mut tx, unchanged, &other).await, 1);
    tx.rollback().await.unwrap();

    assert_eq!(count(&mut conn, unchanged, &customer).await, 1);
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
    // The upgrade dropped the row at commit; the listing stores it again, and says the source
    // is upgraded.
    let mut conn = connect(&app).await;
    assert_eq!(stored_rows(&mut conn, &customer).await, 0);
    assert!(every_option_fails_with(&admin, &customer, &source, "subscription_not_active").await);
    assert_eq!(stored_rows(&mut conn, &customer).await, 1);
    assert_invariants(app.database_url()).await;
}
