//! License assignments: which user holds a license from which subscription.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::domain::ids::{CustomerId, SubscriptionId, UserId};

use crate::domain::records::LicenseAssignment;

/// Licenses assigned from the subscription.
pub async fn count(
    conn: &mut PgConnection,
    customer_id: CustomerId,
    subscription_id: SubscriptionId,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "count!" FROM license_assignments
           WHERE customer_id = $1 AND subscription_id = $2"#,
        customer_id.as_uuid(),
        subscription_id.as_uuid()
    )
    .fetch_one(conn)
    .await
}

/// Assigns a license; a second license from the same subscription violates
/// `license_assignments_pkey`.
pub async fn create(
    conn: &mut PgConnection,
    customer_id: CustomerId,
    subscription_id: SubscriptionId,
    user_id: UserId,
    disabled_services: &[String],
) -> Result<LicenseAssignment, sqlx::Error> {
    sqlx::query_as!(
        LicenseAssignment,
        r#"WITH inserted AS (
             INSERT INTO license_assignments (customer_id, subscription_id, user_id, disabled_services)
             VALUES ($1, $2, $3, $4)
             RETURNING customer_id, subscription_id, user_id, disabled_services, assigned_at)
         SELECT i.subscription_id AS "subscription_id: SubscriptionId", i.user_id AS "user_id: UserId", u.display_name, u.email, i.disabled_services, i.assigned_at
         FROM inserted i JOIN users u ON u.customer_id = i.customer_id AND u.id = i.user_id"#,
        customer_id.as_uuid(),
        subscription_id.as_uuid(),
        user_id.as_uuid(),
        disabled_services
    )
    .fetch_one(conn)
    .await
}

/// A page of the subscription's assignments, in user id order after `after`.
pub async fn list(
    pool: &PgPool,
    customer_id: CustomerId,
    subscription_id: SubscriptionId,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<LicenseAssignment>, sqlx::Error> {
    sqlx::query_as!(
        LicenseAssignment,
        r#"SELECT a.subscription_id AS "subscription_id: SubscriptionId", a.user_id AS "user_id: UserId", u.display_name, u.email, a.disabled_services, a.assigned_at
         FROM license_assignments a
         JOIN users u ON u.customer_id = a.customer_id AND u.id = a.user_id
         WHERE a.customer_id = $1 AND a.subscription_id = $2 AND ($3::uuid IS NULL OR a.user_id > $3)
         ORDER BY a.user_id LIMIT $4"#,
        customer_id.as_uuid(),
        subscription_id.as_uuid(),
        after,
        limit
    )
    .fetch_all(pool)
    .await
}

/// The users holding a license from the subscription.
pub async fn holders(
    conn: &mut PgConnection,
    customer_id: CustomerId,
    subscription_id: SubscriptionId,
) -> Result<Vec<UserId>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT user_id AS "user_id: UserId" FROM license_assignments
           WHERE customer_id = $1 AND subscription_id = $2"#,
        customer_id.as_uuid(),
        subscription_id.as_uuid()
    )
    .fetch_all(conn)
    .await
}

/// A holder of a license from a subscription.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct HolderRow {
    pub user_id: UserId,
    pub display_name: String,
    pub email: String,
    pub assigned_at: DateTime<Utc>,
    pub disabled_services: Vec<String>,
}

/// A license of the customer's, as the services its holder has elsewhere are read from it.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct AssignmentRow {
    pub user_id: UserId,
    pub subscription_id: SubscriptionId,
    pub disabled_services: Vec<String>,
}

/// Moves the listed users' licenses from one subscription to another, each with the services
/// that stay switched off. `transfers` is a JSON array of `{"userId", "disabledServices"}`.
pub async fn transfer(
    conn: &mut PgConnection,
    customer_id: CustomerId,
    from_subscription_id: SubscriptionId,
    to_subscription_id: SubscriptionId,
    transfers: &serde_json::Value,
) -> Result<u64, sqlx::Error> {
    let moved = sqlx::query!(
        r#"UPDATE license_assignments a
           SET subscription_id = $3, disabled_services = t."disabledServices"
           FROM jsonb_to_recordset($4::jsonb) AS t("userId" uuid, "disabledServices" text[])
           WHERE a.customer_id = $1 AND a.subscription_id = $2 AND a.user_id = t."userId""#,
        customer_id.as_uuid(),
        from_subscription_id.as_uuid(),
        to_subscription_id.as_uuid(),
        transfers
    )
    .execute(conn)
    .await?;
    Ok(moved.rows_affected())
}

/// Moves every license of the subscription, as it is, to another one (a migration's
/// replacement); how many moved.
pub async fn move_all(
    conn: &mut PgConnection,
    customer_id: CustomerId,
    from_subscription_id: SubscriptionId,
    to_subscription_id: SubscriptionId,
) -> Result<u64, sqlx::Error> {
    let moved = sqlx::query!(
        "UPDATE license_assignments SET subscription_id = $3
          WHERE customer_id = $1 AND subscription_id = $2",
        customer_id.as_uuid(),
        from_subscription_id.as_uuid(),
        to_subscription_id.as_uuid()
    )
    .execute(conn)
    .await?;
    Ok(moved.rows_affected())
}

/// Keeps switched off, on every license of the subscription, only the services in `services`
/// (its offer's, after the offer changed).
pub async fn keep_services(
    conn: &mut PgConnection,
    customer_id: CustomerId,
    subscription_id: SubscriptionId,
    services: &[String],
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE license_assignments
            SET disabled_services = ARRAY(
                SELECT s FROM unnest(disabled_services) AS s WHERE s = ANY ($3) ORDER BY s)
          WHERE customer_id = $1 AND subscription_id = $2
            AND NOT disabled_services <@ $3",
        customer_id.as_uuid(),
        subscription_id.as_uuid(),
        services
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Removes every license assigned from the subscription; returns what was removed.
pub async fn release_all(
    conn: &mut PgConnection,
    customer_id: CustomerId,
    subscription_id: SubscriptionId,
) -> Result<Vec<LicenseAssignment>, sqlx::Error> {
    sqlx::query_as!(
        LicenseAssignment,
        r#"WITH released AS (
             DELETE FROM license_assignments WHERE customer_id = $1 AND subscription_id = $2
             RETURNING customer_id, subscription_id, user_id, disabled_services, assigned_at)
         SELECT r.subscription_id AS "subscription_id: SubscriptionId", r.user_id AS "user_id: UserId", u.display_name, u.email, r.disabled_services, r.assigned_at
         FROM released r JOIN users u ON u.customer_id = r.customer_id AND u.id = r.user_id
         ORDER BY r.assigned_at, r.user_id"#,
        customer_id.as_uuid(),
        subscription_id.as_uuid()
    )
    .fetch_all(conn)
    .await
}
