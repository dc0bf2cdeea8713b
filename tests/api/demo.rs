//! The demo data loads idempotently and shows what the README's walk-through relies on.

use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use crate::helpers::spawn_app;

const PARTNER_A: &str = "a0000000-0000-4000-8000-000000000001";
const PARTNER_B: &str = "b0000000-0000-4000-8000-000000000002";

async fn count(pool: &PgPool, table: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn demo_data_loads_twice_without_change_and_is_partitioned_by_partner() {
    let app = spawn_app().await;
    let pool = PgPool::connect(app.database_url()).await.unwrap();
    let tables = [
        "customers",
        "subscriptions",
        "users",
        "license_assignments",
        "delegated_admin_relationships",
    ];

    subscription_upgrades::db::seed_demo(&pool).await.unwrap();
    let mut first = Vec::new();
    for table in tables {
        first.push(count(&pool, table).await);
    }
    subscription_upgrades::db::seed_demo(&pool).await.unwrap();
    let mut second = Vec::new();
    for table in tables {
        second.push(count(&pool, table).await);
    }

    assert_eq!(first, second);
    let offers: i64 = sqlx::query_scalar("SELECT count(DISTINCT offer_id) FROM subscriptions")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(offers, 11, "a subscription on every base offer");
    let a = app.api(Uuid::parse_str(PARTNER_A).unwrap(), &["global_admin"]);
    let b = app.api(Uuid::parse_str(PARTNER_B).unwrap(), &["global_admin"]);
    let markets = |page: Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["market"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        markets(a.get("/v1/customers").await.json().await.unwrap()),
        ["US", "IT", "IN", "US", "US"]
    );
    assert_eq!(
        markets(b.get("/v1/customers").await.json().await.unwrap()),
        ["IT", "IN"]
    );
    let northwind: Value = a
        .get("/v1/customers/c0000000-0000-4000-8000-000000000001/subscriptions")
        .await
        .json()
        .await
        .unwrap();
    let statuses: Vec<&str> = northwind["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        ["active", "active", "active", "suspended", "cancelled"]
    );
    let adventure: Value = a
        .get("/v1/customers/c0000000-0000-4000-8000-000000000004/subscriptions")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        adventure["items"].as_array().unwrap().len(),
        2,
        "the other channel's E1 stays hidden"
    );
}
