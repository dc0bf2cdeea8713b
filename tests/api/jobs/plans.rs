//! The queue's statements are planned for the queue as it is when they run: a queue table is
//! empty between jobs, then holds a job's items at once.

use sqlx::{Connection, PgConnection, PgPool};

use super::*;

/// What Postgres plans for a lookup by primary key, prepared on `conn` and run a few times while
/// its table was empty (and analysed so), once the table holds 10,000 rows.
async fn plan_after_the_queue_filled(conn: &mut PgConnection) -> String {
    for statement in [
        "CREATE TEMP TABLE queue (seq int PRIMARY KEY, outcome text NOT NULL)",
        "VACUUM ANALYZE queue",
        "PREPARE next_item(int) AS SELECT outcome FROM queue WHERE seq = $1",
    ] {
        sqlx::raw_sql(statement).execute(&mut *conn).await.unwrap();
    }
    // Postgres settles on a prepared statement's generic plan after five executions.
    for _ in 0..6 {
        sqlx::raw_sql("EXECUTE next_item(1)")
            .execute(&mut *conn)
            .await
            .unwrap();
    }
    sqlx::raw_sql("INSERT INTO queue SELECT seq, 'pending' FROM generate_series(1, 10000) seq")
        .execute(&mut *conn)
        .await
        .unwrap();
    let lines: Vec<String> = sqlx::query_scalar("EXPLAIN EXECUTE next_item(5000)")
        .fetch_all(&mut *conn)
        .await
        .unwrap();
    lines.join("\n")
}

/// On the pool the workers read their queue through, the lookup uses the key's index once the
/// table has filled; on an ordinary connection, the same steps leave a plan that reads the whole
/// table for every item, which is what a job of 10,000 items used to meet after an idle spell.
#[tokio::test]
async fn queue_statements_are_planned_for_the_queue_as_it_is_now() {
    let app = spawn_app().await;
    let pool = PgPool::connect(app.database_url()).await.unwrap();
    let queue = subscription_upgrades::db::queue_pool(&pool, 1);

    let plan = plan_after_the_queue_filled(&mut queue.acquire().await.unwrap()).await;
    assert!(plan.contains("Index"), "{plan}");
    assert!(!plan.contains("Seq Scan"), "{plan}");

    let mut ordinary = PgConnection::connect(app.database_url()).await.unwrap();
    let plan = plan_after_the_queue_filled(&mut ordinary).await;
    assert!(plan.contains("Seq Scan on queue"), "{plan}");
    ordinary.close().await.unwrap();
    queue.close().await;
    pool.close().await;
}
