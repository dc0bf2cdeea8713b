//! Partners, customers and the reseller relationship that makes a customer visible to a partner.

use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::domain::ids::{CustomerId, PartnerId};

use crate::domain::records::Customer;

/// Creates the customer and the caller's reseller relationship with it (and the partner's row on
/// its first write).
pub async fn create(
    conn: &mut PgConnection,
    partner_id: PartnerId,
    name: &str,
    market_code: &str,
) -> Result<Customer, sqlx::Error> {
    sqlx::query!(
        "INSERT INTO partners (id) VALUES ($1) ON CONFLICT (id) DO NOTHING",
        partner_id.as_uuid()
    )
    .execute(&mut *conn)
    .await?;
    let customer = sqlx::query_as!(
        Customer,
        r#"INSERT INTO customers (id, name, market_code) VALUES ($1, $2, $3)
         RETURNING id AS "id: CustomerId", name, market_code, created_at"#,
        Uuid::now_v7(),
        name,
        market_code
    )
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query!(
        "INSERT INTO reseller_relationships (customer_id, partner_id) VALUES ($1, $2)",
        customer.id.as_uuid(),
        partner_id.as_uuid()
    )
    .execute(&mut *conn)
    .await?;
    Ok(customer)
}

/// The customer, if the partner has a reseller relationship with it.
pub async fn find_for_partner(
    pool: &PgPool,
    partner_id: PartnerId,
    customer_id: CustomerId,
) -> Result<Option<Customer>, sqlx::Error> {
    sqlx::query_as!(
        Customer,
        r#"SELECT c.id AS "id: CustomerId", c.name, c.market_code, c.created_at
         FROM customers c
         JOIN reseller_relationships r ON r.customer_id = c.id AND r.partner_id = $1
         WHERE c.id = $2"#,
        partner_id.as_uuid(),
        customer_id.as_uuid()
    )
    .fetch_optional(pool)
    .await
}

/// Locks the customer row (when the partner may see it) for the rest of the transaction: every
/// write that checks a rule across the customer's subscriptions takes this lock first, so two
/// such writes for one customer run one after the other.
pub async fn lock_for_partner(
    conn: &mut PgConnection,
    partner_id: PartnerId,
    customer_id: CustomerId,
) -> Result<Option<Customer>, sqlx::Error> {
    sqlx::query_as!(
        Customer,
        r#"SELECT c.id AS "id: CustomerId", c.name, c.market_code, c.created_at
         FROM customers c
         WHERE c.id = $2
           AND EXISTS (SELECT 1 FROM reseller_relationships r
                       WHERE r.customer_id = c.id AND r.partner_id = $1)
         FOR UPDATE OF c"#,
        partner_id.as_uuid(),
        customer_id.as_uuid()
    )
    .fetch_optional(conn)
    .await
}

/// A page of the partner's customers, in id (creation) order after `after`.
pub async fn list_for_partner(
    pool: &PgPool,
    partner_id: PartnerId,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Customer>, sqlx::Error> {
    sqlx::query_as!(
        Customer,
        r#"SELECT c.id AS "id: CustomerId", c.name, c.market_code, c.created_at
         FROM reseller_relationships r
         JOIN customers c ON c.id = r.customer_id
         WHERE r.partner_id = $1 AND ($2::uuid IS NULL OR r.customer_id > $2)
         ORDER BY r.customer_id
         LIMIT $3"#,
        partner_id.as_uuid(),
        after,
        limit
    )
    .fetch_all(pool)
    .await
}

/// Locks a customer's row for the rest of the transaction, whoever its partner (the renewal
/// worker's first lock, in the order every change takes: customer, then subscription).
pub async fn lock(
    conn: &mut PgConnection,
    customer_id: CustomerId,
) -> Result<Option<Customer>, sqlx::Error> {
    sqlx::query_as!(
        Customer,
        r#"SELECT id AS "id: CustomerId", name, market_code, created_at
           FROM customers WHERE id = $1 FOR UPDATE"#,
        customer_id.as_uuid()
    )
    .fetch_optional(conn)
    .await
}
