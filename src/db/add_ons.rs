//! Add-ons bought for a base subscription. Callers reach them through a subscription they have
//! already found (or locked) for the partner.

use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::domain::ids::{AddOnId, CustomerId, SubscriptionId};

use crate::domain::add_on::AddOnStatus;
use crate::domain::records::AddOn;

/// Inserts an active add-on.
pub async fn create(
    conn: &mut PgConnection,
    customer_id: CustomerId,
    subscription_id: SubscriptionId,
    offer_id: &str,
    quantity: i32,
) -> Result<AddOn, sqlx::Error> {
    sqlx::query_as!(
        AddOn,
        r#"INSERT INTO subscription_add_ons (customer_id, id, subscription_id, offer_id, quantity, status)
         VALUES ($1, $2, $3, $4, $5, 'active')
         RETURNING id AS "id: AddOnId", customer_id AS "customer_id: CustomerId", subscription_id AS "subscription_id: SubscriptionId", offer_id, quantity, status AS "status: AddOnStatus", created_at,
                cancelled_at"#,
        customer_id.as_uuid(),
        Uuid::now_v7(),
        subscription_id.as_uuid(),
        offer_id,
        quantity
    )
    .fetch_one(conn)
    .await
}

/// The add-on of the subscription, locked for update.
pub async fn lock(
    conn: &mut PgConnection,
    customer_id: CustomerId,
    subscription_id: SubscriptionId,
    id: AddOnId,
) -> Result<Option<AddOn>, sqlx::Error> {
    sqlx::query_as!(
        AddOn,
        r#"SELECT id AS "id: AddOnId", customer_id AS "customer_id: CustomerId", subscription_id AS "subscription_id: SubscriptionId", offer_id, quantity, status AS "status: AddOnStatus", created_at,
                cancelled_at
         FROM subscription_add_ons
         WHERE customer_id = $1 AND subscription_id = $2 AND id = $3
         FOR UPDATE"#,
        customer_id.as_uuid(),
        subscription_id.as_uuid(),
        id.as_uuid()
    )
    .fetch_optional(conn)
    .await
}

/// The add-on of the subscription.
pub async fn find(
    pool: &PgPool,
    customer_id: CustomerId,
    subscription_id: SubscriptionId,
    id: AddOnId,
) -> Result<Option<AddOn>, sqlx::Error> {
    sqlx::query_as!(
        AddOn,
        r#"SELECT id AS "id: AddOnId", customer_id AS "customer_id: CustomerId", subscription_id AS "subscription_id: SubscriptionId", offer_id, quantity, status AS "status: AddOnStatus", created_at,
                cancelled_at
         FROM subscription_add_ons
         WHERE customer_id = $1 AND subscription_id = $2 AND id = $3"#,
        customer_id.as_uuid(),
        subscription_id.as_uuid(),
        id.as_uuid()
    )
    .fetch_optional(pool)
    .await
}

/// A page of the subscription's add-ons, active and cancelled, in id order after `after`.
pub async fn list(
    pool: &PgPool,
    customer_id: CustomerId,
    subscription_id: SubscriptionId,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<AddOn>, sqlx::Error> {
    sqlx::query_as!(
        AddOn,
        r#"SELECT id AS "id: AddOnId", customer_id AS "customer_id: CustomerId", subscription_id AS "subscription_id: SubscriptionId", offer_id, quantity, status AS "status: AddOnStatus", created_at,
                cancelled_at
         FROM subscription_add_ons
         WHERE customer_id = $1 AND subscription_id = $2 AND ($3::uuid IS NULL OR id > $3)
         ORDER BY id LIMIT $4"#,
        customer_id.as_uuid(),
        subscription_id.as_uuid(),
        after,
        limit
    )
    .fetch_all(pool)
    .await
}

/// The subscription's active add-ons.
pub async fn active(
    conn: &mut PgConnection,
    customer_id: CustomerId,
    subscription_id: SubscriptionId,
) -> Result<Vec<AddOn>, sqlx::Error> {
    sqlx::query_as!(
        AddOn,
        r#"SELECT id AS "id: AddOnId", customer_id AS "customer_id: CustomerId", subscription_id AS "subscription_id: SubscriptionId", offer_id, quantity, status AS "status: AddOnStatus", created_at,
                cancelled_at
         FROM subscription_add_ons
         WHERE customer_id = $1 AND subscription_id = $2 AND status = 'active'
         ORDER BY id"#,
        customer_id.as_uuid(),
        subscription_id.as_uuid()
    )
    .fetch_all(conn)
    .await
}

/// Sets the add-on's quantity and status (`cancelled_at` follows the status).
pub async fn update(
    conn: &mut PgConnection,
    customer_id: CustomerId,
    id: AddOnId,
    quantity: i32,
    status: &str,
) -> Result<AddOn, sqlx::Error> {
    // The transaction's time, read first and passed in: Citus refuses `now()` inside CASE or
    // COALESCE in an UPDATE of a distributed table (docs/distributed.md).
    let now = sqlx::query_scalar!(r#"SELECT now() AS "now!""#)
        .fetch_one(&mut *conn)
        .await?;
    sqlx::query_as!(
        AddOn,
        r#"UPDATE subscription_add_ons
         SET quantity = $3, status = $4,
             cancelled_at = CASE WHEN $4 = 'cancelled' THEN coalesce(cancelled_at, $5) END
         WHERE customer_id = $1 AND id = $2
         RETURNING id AS "id: AddOnId", customer_id AS "customer_id: CustomerId", subscription_id AS "subscription_id: SubscriptionId", offer_id, quantity, status AS "status: AddOnStatus", created_at,
                cancelled_at"#,
        customer_id.as_uuid(),
        id.as_uuid(),
        quantity,
        status,
        now
    )
    .fetch_one(conn)
    .await
}

/// Moves the subscription's active add-ons, as they are, to another one (a migration's
/// replacement); how many moved.
pub async fn move_active(
    conn: &mut PgConnection,
    customer_id: CustomerId,
    from_subscription_id: SubscriptionId,
    to_subscription_id: SubscriptionId,
) -> Result<u64, sqlx::Error> {
    let moved = sqlx::query!(
        "UPDATE subscription_add_ons SET subscription_id = $3
          WHERE customer_id = $1 AND subscription_id = $2 AND status = 'active'",
        customer_id.as_uuid(),
        from_subscription_id.as_uuid(),
        to_subscription_id.as_uuid()
    )
    .execute(conn)
    .await?;
    Ok(moved.rows_affected())
}

/// Cancels the subscription's active add-ons; returns them as cancelled, in id order.
pub async fn cancel_all(
    conn: &mut PgConnection,
    customer_id: CustomerId,
    subscription_id: SubscriptionId,
) -> Result<Vec<AddOn>, sqlx::Error> {
    sqlx::query_as!(
        AddOn,
        r#"WITH cancelled AS (
             UPDATE subscription_add_ons SET status = 'cancelled', cancelled_at = now()
             WHERE customer_id = $1 AND subscription_id = $2 AND status = 'active'
             RETURNING id, customer_id, subscription_id, offer_id, quantity, status, created_at,
                       cancelled_at)
         SELECT id AS "id!: AddOnId", customer_id AS "customer_id!: CustomerId", subscription_id AS "subscription_id!: SubscriptionId",
                offer_id AS "offer_id!", quantity AS "quantity!", status AS "status!: AddOnStatus",
                created_at AS "created_at!", cancelled_at
         FROM cancelled ORDER BY id"#,
        customer_id.as_uuid(),
        subscription_id.as_uuid()
    )
    .fetch_all(conn)
    .await
}
