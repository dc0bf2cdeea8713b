//! The database's promises after any mix of concurrent requests, faults and retries, checked
//! one customer at a time: every statement names the customer on each table it reads, so on a
//! Citus cluster it runs on the one node holding that customer, correlated subqueries included
//! (Citus cannot push a correlated subquery over distributed tables down across nodes).

/// Every customer that has a row in a table the check reads (a row whose customer is missing
/// from `customers` is still checked).
const CUSTOMERS: &str = "SELECT id FROM customers
     UNION SELECT customer_id FROM subscriptions
     UNION SELECT customer_id FROM upgrades
     UNION SELECT customer_id FROM license_assignments
     UNION SELECT customer_id FROM subscription_history
     UNION SELECT customer_id FROM idempotency_records
     UNION SELECT customer_id FROM customer_facts";

/// The violations of customer `$1`'s rows.
const VIOLATIONS: &str = "
    SELECT 'upgraded source ' || s.id || ' has ' || count(t.id) || ' targets'
      FROM subscriptions s
      LEFT JOIN subscriptions t ON t.customer_id = $1 AND t.upgraded_from_id = s.id
     WHERE s.customer_id = $1 AND s.status = 'upgraded'
     GROUP BY s.id HAVING count(t.id) <> 1
    UNION ALL
    SELECT 'target ' || t.id || ' does not match its source'
      FROM subscriptions t
      LEFT JOIN subscriptions s ON s.customer_id = $1 AND s.id = t.upgraded_from_id
     WHERE t.customer_id = $1 AND t.upgraded_from_id IS NOT NULL
       AND (s.status IS DISTINCT FROM 'upgraded' OR s.upgraded_to_id IS DISTINCT FROM t.id)
    UNION ALL
    SELECT 'upgraded source ' || s.id || ' has no matching upgrade row'
      FROM subscriptions s
     WHERE s.customer_id = $1 AND s.status = 'upgraded' AND NOT EXISTS (
           SELECT 1 FROM upgrades u JOIN subscriptions t
               ON t.customer_id = $1 AND t.id = u.target_subscription_id
            WHERE u.customer_id = $1 AND u.source_subscription_id = s.id
              AND NOT u.partial
              AND u.target_subscription_id = s.upgraded_to_id AND t.quantity = u.quantity)
    UNION ALL
    SELECT 'whole upgrade ' || u.id || ' of a source that is not upgraded'
      FROM upgrades u JOIN subscriptions s
        ON s.customer_id = $1 AND s.id = u.source_subscription_id
     WHERE u.customer_id = $1 AND NOT u.partial AND s.status <> 'upgraded'
    UNION ALL
    SELECT 'partial upgrade ' || u.id || ' retired its source'
      FROM upgrades u JOIN subscriptions s
        ON s.customer_id = $1 AND s.id = u.source_subscription_id
     WHERE u.customer_id = $1 AND u.partial AND s.upgraded_to_id = u.target_subscription_id
    UNION ALL
    SELECT 'upgrade ' || u.id || ' lacks its history'
      FROM upgrades u
     WHERE u.customer_id = $1
       AND ((SELECT count(*) FROM subscription_history h
              WHERE h.customer_id = $1 AND h.subscription_id = u.source_subscription_id
                AND h.change_kind = CASE WHEN u.partial THEN 'partial_upgrade' ELSE 'upgrade' END
                AND h.after_state ->> 'upgradeId' = u.id::text) <> 1
         OR (SELECT count(*) FROM subscription_history h
              WHERE h.customer_id = $1 AND h.subscription_id = u.target_subscription_id
                AND h.change_kind = CASE WHEN u.partial THEN 'partial_upgrade' ELSE 'created' END
                AND h.after_state ->> 'upgradeId' = u.id::text) <> 1)
    UNION ALL
    SELECT 'user ' || a.user_id || ' holds licenses on both ends of upgrade ' || u.id
      FROM upgrades u
      JOIN license_assignments a ON a.customer_id = $1
                                AND a.subscription_id = u.source_subscription_id
      JOIN license_assignments b ON b.customer_id = $1
                                AND b.subscription_id = u.target_subscription_id
                                AND b.user_id = a.user_id
     WHERE u.customer_id = $1 AND NOT u.partial
    UNION ALL
    SELECT 'subscription ' || s.id || ' has more licenses than seats'
      FROM subscriptions s
     WHERE s.customer_id = $1 AND s.quantity < (
           SELECT count(*) FROM license_assignments a
            WHERE a.customer_id = $1 AND a.subscription_id = s.id)
    UNION ALL
    SELECT 'idempotency key ' || idempotency_key || ' recorded without its answer'
      FROM idempotency_records WHERE customer_id = $1 AND response_status IS NULL";

/// The stored facts row of customer `$1` when it differs from the live one (a function over
/// several tables: called on its own, from the coordinator, with the customer as a value).
const STALE_FACTS: &str = "
    SELECT 'customer ' || f.customer_id || ' has stored facts that differ from its tables'
      FROM customers c JOIN customer_facts f ON f.customer_id = $1
     WHERE c.id = $1
       AND NOT EXISTS (SELECT 1 FROM customer_facts_of(ARRAY[$1]::uuid[]) l
                        WHERE l.market_code = f.market_code AND l.partners = f.partners
                          AND customer_facts_packed(l) = f.facts)";

/// The database's promises after any mix of concurrent requests, faults and retries: every
/// `upgraded` source has exactly one target and one whole-upgrade row that agree with it, each
/// upgrade has its two history entries (`upgrade` and `created`, or `partial_upgrade` on both
/// ends), a partially upgraded source is still active, nobody holds a license on both ends of a
/// whole upgrade, no subscription has more licenses than seats, no request is left
/// half-recorded, and every stored facts row equals the live one. Panics listing every
/// violation.
pub async fn assert_invariants(database_url: &str) {
    let pool = sqlx::PgPool::connect(database_url)
        .await
        .expect("a connection");
    let customers: Vec<uuid::Uuid> = sqlx::query_scalar(CUSTOMERS)
        .fetch_all(&pool)
        .await
        .expect("the customers are listed");
    let mut violations: Vec<String> = Vec::new();
    for customer in customers {
        for check in [VIOLATIONS, STALE_FACTS] {
            let found: Vec<String> = sqlx::query_scalar(check)
                .bind(customer)
                .fetch_all(&pool)
                .await
                .unwrap_or_else(|error| panic!("the invariant query runs: {error}"));
            violations.extend(found);
        }
    }
    pool.close().await;
    assert!(violations.is_empty(), "invariants broken: {violations:#?}");
}
