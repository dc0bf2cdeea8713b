//! The bulk case of the load benchmark: one partner's job of 10,000 real upgrades (every Business
//! Basic subscription of the bulk partner, loaded beside the scale data, to E1), and, submitted a
//! second after it, another partner's job of 10 upgrades: how fast the big one goes, and how long
//! the small one waits for its turn. Then the bulk partner right-sizes every subscription it has
//! left (the 10,000 targets) at its renewal: one term-end job of `quantity: "assigned"`.

use std::time::{Duration, Instant};

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use sqlx::{Connection, PgConnection};

use crate::statements;

/// The bulk partner's id (see `db::scale::seed_bulk`).
pub const PARTNER: &str = "a2000000-0000-4000-8000-000000000001";

/// Items of the big job.
pub const ITEMS: i64 = 10_000;

/// What the bulk case measured.
pub struct Bulk {
    pub seconds: f64,
    pub succeeded: i64,
    pub small_seconds: f64,
    pub small_items: usize,
    pub small_succeeded: i64,
    pub check: String,
    pub right_size_seconds: f64,
    pub right_size_succeeded: i64,
    pub right_size_check: String,
}

impl Bulk {
    pub fn items_per_second(&self) -> f64 {
        self.succeeded as f64 / self.seconds
    }
}

async fn submit(client: &Client, base: &str, token: &str, body: &Value) -> String {
    let response = client
        .post(format!("{base}/v1/upgrade-jobs"))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .expect("the job is submitted");
    assert_eq!(
        response.status(),
        StatusCode::ACCEPTED,
        "the job is accepted"
    );
    let job: Value = response.json().await.expect("a job");
    job["id"].as_str().expect("an id").to_owned()
}

/// Polls the job until it has ended; answers it and when it was seen ended.
async fn wait(client: &Client, base: &str, token: &str, id: &str) -> Value {
    loop {
        let job: Value = client
            .get(format!("{base}/v1/upgrade-jobs/{id}"))
            .bearer_auth(token)
            .send()
            .await
            .expect("the job is read")
            .json()
            .await
            .expect("a job");
        if job["status"] == "completed" || job["status"] == "cancelled" {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// [`vacuum`] on the database at `url`, after a load and before a write phase.
pub async fn vacuum_database(url: &str) {
    let pool = sqlx::PgPool::connect(url)
        .await
        .expect("the bench database");
    vacuum(&pool).await;
    pool.close().await;
}

/// What autovacuum does between the phases on a server that runs it (the default): the earlier
/// phases' dead rows cleaned up, the statistics brought up to date, and the pages marked
/// all-visible, so that index-only scans stay index-only. Some servers run without it
/// (`autovacuum = off`, as on the machine the committed results come from); there a job measured
/// right after another phase's 100,000 writes took four times as long as the same job on the same
/// data after a vacuum. Not timed.
async fn vacuum(pool: &sqlx::PgPool) {
    let autovacuum: String = sqlx::query_scalar("SHOW autovacuum")
        .fetch_one(pool)
        .await
        .expect("a setting");
    eprintln!("VACUUM (ANALYZE) before the next phase (autovacuum is {autovacuum}) …");
    sqlx::query("VACUUM (ANALYZE)")
        .execute(pool)
        .await
        .expect("the database is vacuumed");
}

/// Loads the bulk partner into `database`, runs both jobs against the service at `base`, and
/// checks the database afterwards: one upgrade per item, no source upgraded twice. Postgres's side
/// of each job goes to `postgres`, by item.
pub async fn run(
    database: &str,
    postgres: &mut statements::Counter,
    (client, base): (&Client, &str),
    bulk_token: &str,
    (small_token, small_items): (&str, Vec<Value>),
) -> Bulk {
    let pool = sqlx::PgPool::connect(database)
        .await
        .expect("the bench database");
    subscription_upgrades::db::scale::seed_bulk(&pool, ITEMS)
        .await
        .expect("the bulk partner loads");
    vacuum(&pool).await;

    let selection = json!({"selection": {"sourceOfferId": "m365-business-basic",
                                         "targetOfferId": "o365-e1"}});
    postgres.start().await;
    let started = Instant::now();
    let big = submit(client, base, bulk_token, &selection).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let small_count = small_items.len();
    let small_started = Instant::now();
    let small = submit(client, base, small_token, &json!({"items": small_items})).await;
    let small_job = wait(client, base, small_token, &small).await;
    let small_seconds = small_started.elapsed().as_secs_f64();
    let big_job = wait(client, base, bulk_token, &big).await;
    let seconds = started.elapsed().as_secs_f64();
    let succeeded = big_job["counts"]["succeeded"].as_i64().unwrap_or_default();
    let items = usize::try_from(succeeded).unwrap_or_default();
    postgres
        .stop_items(&format!("upgrade job of {ITEMS} items"), items)
        .await;

    let mut conn = PgConnection::connect(database)
        .await
        .expect("the bench database");
    let (upgrades, doubled): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM upgrades WHERE partner_id = $1::uuid),
                (SELECT count(*) FROM (SELECT 1 FROM upgrades GROUP BY customer_id, source_subscription_id
                                       HAVING count(*) > 1) d)",
    )
    .bind(PARTNER)
    .fetch_one(&mut conn)
    .await
    .expect("the check query");
    let verdict = if upgrades == succeeded && doubled == 0 {
        "consistent"
    } else {
        "INCONSISTENT"
    };

    // Every live subscription of the bulk partner (the targets just made) right-sized at its
    // renewal.
    vacuum(&pool).await;
    pool.close().await;
    let right_size = json!({"atTermEnd": true, "selection": {"quantity": "assigned"}});
    postgres.start().await;
    let started = Instant::now();
    let job = submit(client, base, bulk_token, &right_size).await;
    let job = wait(client, base, bulk_token, &job).await;
    let right_size_seconds = started.elapsed().as_secs_f64();
    let right_size_succeeded = job["counts"]["succeeded"].as_i64().unwrap_or_default();
    let items = usize::try_from(right_size_succeeded).unwrap_or_default();
    postgres.stop_items("right-sizing job", items).await;
    let (scheduled, sized): (i64, i64) = sqlx::query_as(
        "SELECT count(*), count(*) FILTER (WHERE sc.quantity_assigned AND sc.quantity = 1)
           FROM scheduled_changes sc
           JOIN subscriptions s ON s.customer_id = sc.customer_id AND s.id = sc.subscription_id
          WHERE s.partner_id = $1::uuid",
    )
    .bind(PARTNER)
    .fetch_one(&mut conn)
    .await
    .expect("the right-sizing check query");
    let right_size_verdict = if scheduled == right_size_succeeded && sized == scheduled {
        "consistent"
    } else {
        "INCONSISTENT"
    };
    Bulk {
        seconds,
        succeeded,
        small_seconds,
        small_items: small_count,
        small_succeeded: small_job["counts"]["succeeded"]
            .as_i64()
            .unwrap_or_default(),
        check: format!(
            "{succeeded} items succeeded; {upgrades} upgrade records of the bulk partner; \
             {doubled} sources upgraded twice: {verdict}"
        ),
        right_size_seconds,
        right_size_succeeded,
        right_size_check: format!(
            "{right_size_succeeded} items succeeded; {scheduled} changes scheduled for the \
             partner's renewals, {sized} of them right-sized to the licenses (none assigned: 1 \
             seat): {right_size_verdict}"
        ),
    }
}
