//! Synthetic data at scale for load benchmarks (`seed-demo --scale N`): N subscriptions, ten per
//! customer, a partner per hundred customers (up to 1,000 partners), ten users per customer with
//! one license each.
//!
//! Rows are generated inside Postgres (`generate_series`) in batches of customers, one transaction
//! per batch, so the load is restartable batch by batch and reports progress. Ids are derived
//! from the row's position (customer `k` is `c1000000-0000-4000-8000-<k in hex>`, partner `p` is
//! `a1000000-…-<p>`, its subscription in slot `s` is `5100000<s>-…-<k>`), so the same scale
//! always yields the same ids, a rerun skips what exists, and inserts append to the indexes in
//! order. Customer `k`:
//! - market `US` (k mod 10 < 6), `IT` (6–8) or `IN` (9), sold to partner `(k / c) mod 1000`
//!   with `c` customers per partner (100 unless `--customers-per-partner` says otherwise), so a
//!   customer keeps its partner whatever the scale;
//! - a delegated admin relationship for every service (90 %), an expired one (5 %) or none (5 %);
//! - subscriptions in slots 0–9: Business Basic (India plan in `IN`; 20 seats, the upgrade source),
//!   Business Standard, E3, E5, Apps for enterprise, a suspended Business Premium (Apps for
//!   business India in `IN`), E1 for odd customers (Apps for business otherwise), a cancelled E3,
//!   Apps for enterprise bought through another channel, and a second Basic with an
//!   audio-conferencing add-on;
//! - users 0–4 licensed from slot 0, 5–6 from E3, 7 from E5, 8 from Apps for enterprise, 9 from
//!   Business Standard.

use sqlx::PgPool;

/// Customers per transaction.
const BATCH: i64 = 5_000;

const PARTNERS: &str = "
INSERT INTO partners (id, name)
SELECT ('a1000000-0000-4000-8000-' || lpad(to_hex(p), 12, '0'))::uuid, 'Scale partner ' || p
FROM generate_series(0, $1 - 1) AS p
ON CONFLICT DO NOTHING";

const CUSTOMERS: &str = "
INSERT INTO customers (id, name, market_code)
SELECT ('c1000000-0000-4000-8000-' || lpad(to_hex(k), 12, '0'))::uuid, 'Scale customer ' || k,
       CASE WHEN k % 10 < 6 THEN 'US' WHEN k % 10 < 9 THEN 'IT' ELSE 'IN' END
FROM generate_series($1, $2 - 1) AS k
ON CONFLICT DO NOTHING";

const RESELLERS: &str = "
INSERT INTO reseller_relationships (customer_id, partner_id)
SELECT ('c1000000-0000-4000-8000-' || lpad(to_hex(k), 12, '0'))::uuid, ('a1000000-0000-4000-8000-' || lpad(to_hex((k / $3) % 1000), 12, '0'))::uuid
FROM generate_series($1, $2 - 1) AS k
ON CONFLICT DO NOTHING";

const RELATIONSHIPS: &str = "
INSERT INTO delegated_admin_relationships
    (customer_id, id, partner_id, status, starts_at, ends_at, all_services)
SELECT ('c1000000-0000-4000-8000-' || lpad(to_hex(k), 12, '0'))::uuid, ('d1000000-0000-4000-8000-' || lpad(to_hex(k), 12, '0'))::uuid,
       ('a1000000-0000-4000-8000-' || lpad(to_hex((k / $3) % 1000), 12, '0'))::uuid,
       CASE WHEN k % 20 = 18 THEN 'expired' ELSE 'active' END,
       now() - interval '400 days',
       CASE WHEN k % 20 = 18 THEN now() - interval '10 days' ELSE now() + interval '700 days' END,
       true
FROM generate_series($1, $2 - 1) AS k
WHERE k % 20 <> 19
ON CONFLICT DO NOTHING";

const SUBSCRIPTIONS: &str = "
WITH slots (slot, global_offer, india_offer, quantity, status, channel, cycle) AS (VALUES
    (0, 'm365-business-basic',    'm365-business-basic-india',    20, 'active',    'partner', 'monthly'),
    (1, 'm365-business-standard', 'm365-business-standard-india', 10, 'active',    'partner', 'annual'),
    (2, 'o365-e3',                'o365-e3',                      30, 'active',    'partner', 'monthly'),
    (3, 'o365-e5',                'o365-e5',                       5, 'active',    'partner', 'annual'),
    (4, 'm365-apps-enterprise',   'm365-apps-enterprise',         10, 'active',    'partner', 'monthly'),
    (5, 'm365-business-premium',  'm365-apps-business-india',      5, 'suspended', 'partner', 'monthly'),
    (6, 'o365-e1',                'o365-e1',                      10, 'active',    'partner', 'monthly'),
    (7, 'o365-e3',                'o365-e3',                      10, 'cancelled', 'partner', 'monthly'),
    (8, 'm365-apps-enterprise',   'm365-apps-enterprise',          5, 'active',    'other',   'annual'),
    (9, 'm365-business-basic',    'm365-business-basic-india',    10, 'active',    'partner', 'monthly')
),
terms AS (
    SELECT k, current_date - ((k * 7) % 330)::int AS term_start
    FROM generate_series($1, $2 - 1) AS k
),
periods AS (
    SELECT k, term_start,
           (extract(year FROM age(current_date, term_start)) * 12
            + extract(month FROM age(current_date, term_start)))::int AS months
    FROM terms
)
INSERT INTO subscriptions
    (customer_id, id, offer_id, channel, partner_id, quantity, status, billing_cycle,
     term_start, term_end, current_period_start, current_period_end)
SELECT ('c1000000-0000-4000-8000-' || lpad(to_hex(p.k), 12, '0'))::uuid,
       ('5100000' || s.slot || '-0000-4000-8000-' || lpad(to_hex(p.k), 12, '0'))::uuid,
       CASE WHEN p.k % 10 = 9 THEN s.india_offer
            WHEN s.slot = 6 AND p.k % 2 = 0 THEN 'm365-apps-business'
            ELSE s.global_offer END,
       s.channel,
       CASE WHEN s.channel = 'partner' THEN ('a1000000-0000-4000-8000-' || lpad(to_hex((p.k / $3) % 1000), 12, '0'))::uuid END,
       s.quantity, s.status, s.cycle,
       p.term_start, (p.term_start + interval '12 months')::date,
       CASE WHEN s.cycle = 'annual' THEN p.term_start
            ELSE (p.term_start + make_interval(months => p.months))::date END,
       CASE WHEN s.cycle = 'annual' THEN (p.term_start + interval '12 months')::date
            ELSE (p.term_start + make_interval(months => p.months + 1))::date END
FROM periods p CROSS JOIN slots s
ON CONFLICT DO NOTHING";

const USERS: &str = "
INSERT INTO users (customer_id, id, display_name, email)
SELECT ('c1000000-0000-4000-8000-' || lpad(to_hex(k), 12, '0'))::uuid, ('1100000' || u || '-0000-4000-8000-' || lpad(to_hex(k), 12, '0'))::uuid,
       'User ' || u || ' of ' || k, 'user' || u || '@customer' || k || '.example'
FROM generate_series($1, $2 - 1) AS k CROSS JOIN generate_series(0, 9) AS u
ON CONFLICT DO NOTHING";

const ASSIGNMENTS: &str = "
INSERT INTO license_assignments (customer_id, subscription_id, user_id, disabled_services)
SELECT ('c1000000-0000-4000-8000-' || lpad(to_hex(k), 12, '0'))::uuid,
       ('5100000' || (ARRAY[0, 0, 0, 0, 0, 2, 2, 3, 4, 1])[u + 1] || '-0000-4000-8000-' || lpad(to_hex(k), 12, '0'))::uuid,
       ('1100000' || u || '-0000-4000-8000-' || lpad(to_hex(k), 12, '0'))::uuid,
       CASE WHEN u = 1 THEN ARRAY['BOOKINGS'] ELSE '{}' END
FROM generate_series($1, $2 - 1) AS k CROSS JOIN generate_series(0, 9) AS u
ON CONFLICT DO NOTHING";

const ADD_ONS: &str = "
INSERT INTO subscription_add_ons (customer_id, id, subscription_id, offer_id, quantity, status)
SELECT ('c1000000-0000-4000-8000-' || lpad(to_hex(k), 12, '0'))::uuid, ('ad100000-0000-4000-8000-' || lpad(to_hex(k), 12, '0'))::uuid,
       ('51000009-0000-4000-8000-' || lpad(to_hex(k), 12, '0'))::uuid, 'teams-audio-conferencing', 5, 'active'
FROM generate_series($1, $2 - 1) AS k
ON CONFLICT DO NOTHING";

/// Stores the facts of customers `$1..$2` at once (`customer_facts`; the triggers that keep them
/// current one customer at a time are off during bulk loads).
const FACTS: &str = "
SELECT store_customer_facts(ARRAY(
    SELECT ('c1000000-0000-4000-8000-' || lpad(to_hex(k), 12, '0'))::uuid
    FROM generate_series($1, $2 - 1) AS k))";

/// Turns off, for the transaction, the triggers that drop each changed customer's facts at
/// commit: a bulk load stores a whole batch's facts in one statement instead.
const BULK_LOAD: &str = "SET LOCAL subscription_upgrades.bulk_load = 'on'";

/// The bulk partner of the load benchmark's job case: `$1` customers, each with a delegated admin
/// relationship for every service and one Business Basic subscription of 5 seats (term started 40
/// days ago), which may all go to E1.
const BULK: [&str; 6] = [
    BULK_LOAD,
    "INSERT INTO partners (id, name) VALUES ('a2000000-0000-4000-8000-000000000001', 'Bulk partner')
     ON CONFLICT DO NOTHING",
    "INSERT INTO customers (id, name, market_code)
     SELECT ('c2000000-0000-4000-8000-' || lpad(to_hex(k), 12, '0'))::uuid, 'Bulk customer ' || k, 'US'
     FROM generate_series(0, $1 - 1) AS k
     ON CONFLICT DO NOTHING",
    "INSERT INTO reseller_relationships (customer_id, partner_id)
     SELECT ('c2000000-0000-4000-8000-' || lpad(to_hex(k), 12, '0'))::uuid, 'a2000000-0000-4000-8000-000000000001'
     FROM generate_series(0, $1 - 1) AS k
     ON CONFLICT DO NOTHING",
    "WITH rights AS (
         INSERT INTO delegated_admin_relationships
             (customer_id, id, partner_id, status, starts_at, ends_at, all_services)
         SELECT ('c2000000-0000-4000-8000-' || lpad(to_hex(k), 12, '0'))::uuid,
                ('d2000000-0000-4000-8000-' || lpad(to_hex(k), 12, '0'))::uuid,
                'a2000000-0000-4000-8000-000000000001', 'active', now() - interval '400 days',
                now() + interval '700 days', true
         FROM generate_series(0, $1 - 1) AS k
         ON CONFLICT DO NOTHING
     )
     INSERT INTO subscriptions
         (customer_id, id, offer_id, channel, partner_id, quantity, status, billing_cycle,
          term_start, term_end, current_period_start, current_period_end)
     SELECT ('c2000000-0000-4000-8000-' || lpad(to_hex(k), 12, '0'))::uuid,
            ('52000000-0000-4000-8000-' || lpad(to_hex(k), 12, '0'))::uuid,
            'm365-business-basic', 'partner', 'a2000000-0000-4000-8000-000000000001', 5, 'active',
            'monthly', current_date - 40, (current_date - 40 + interval '12 months')::date,
            (current_date - 40 + interval '1 month')::date,
            (current_date - 40 + interval '2 months')::date
     FROM generate_series(0, $1 - 1) AS k
     ON CONFLICT DO NOTHING",
    "SELECT store_customer_facts(ARRAY(
         SELECT ('c2000000-0000-4000-8000-' || lpad(to_hex(k), 12, '0'))::uuid
         FROM generate_series(0, $1 - 1) AS k))",
];

/// Loads the bulk partner of the load benchmark's job case (see `BULK`), in one transaction.
pub async fn seed_bulk(pool: &PgPool, customers: i64) -> Result<(), sqlx::Error> {
    let mut tx = super::begin(pool).await?;
    for statement in BULK {
        let query = sqlx::query(statement);
        let query = if statement.contains("$1") {
            query.bind(customers)
        } else {
            query
        };
        query.execute(&mut *tx).await?;
    }
    tx.commit().await?;
    sqlx::query("ANALYZE").execute(pool).await?;
    Ok(())
}

/// Loads `subscriptions` (rounded up to a multiple of ten) subscriptions and everything around
/// them, two batches at a time (one per core of a small machine), calling
/// `progress(customers_done, customers_total)` after each batch.
pub async fn seed(
    pool: &PgPool,
    (subscriptions, per_partner): (i64, i64),
    mut progress: impl FnMut(i64, i64),
) -> Result<(), sqlx::Error> {
    const IN_FLIGHT: usize = 2;
    let customers = (subscriptions + 9) / 10;
    let partners = ((customers + per_partner - 1) / per_partner).min(1_000);
    sqlx::query(PARTNERS).bind(partners).execute(pool).await?;
    let mut batches = tokio::task::JoinSet::new();
    let mut done = 0;
    for start in (0..customers).step_by(usize::try_from(BATCH).unwrap_or(1)) {
        let end = (start + BATCH).min(customers);
        if batches.len() == IN_FLIGHT
            && let Some(finished) = batches.join_next().await
        {
            done += finished.map_err(|e| sqlx::Error::Protocol(e.to_string()))??;
            progress(done, customers);
        }
        batches.spawn(load_batch(pool.clone(), (start, end), per_partner));
    }
    while let Some(finished) = batches.join_next().await {
        done += finished.map_err(|e| sqlx::Error::Protocol(e.to_string()))??;
        progress(done, customers);
    }
    sqlx::query("ANALYZE").execute(pool).await?;
    Ok(())
}

/// Loads customers `start..end`, `per_partner` to a partner, in one transaction; answers how
/// many.
async fn load_batch(
    pool: PgPool,
    (start, end): (i64, i64),
    per_partner: i64,
) -> Result<i64, sqlx::Error> {
    let mut tx = super::begin(&pool).await?;
    // Synthetic data: a crash loses at most the batch, which a rerun loads again.
    sqlx::query("SET LOCAL synchronous_commit = off")
        .execute(&mut *tx)
        .await?;
    sqlx::query(BULK_LOAD).execute(&mut *tx).await?;
    for statement in [
        CUSTOMERS,
        RESELLERS,
        RELATIONSHIPS,
        SUBSCRIPTIONS,
        USERS,
        ASSIGNMENTS,
        ADD_ONS,
        FACTS,
    ] {
        let query = sqlx::query(statement).bind(start).bind(end);
        let query = if statement.contains("$3") {
            query.bind(per_partner)
        } else {
            query
        };
        query.execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(end - start)
}
