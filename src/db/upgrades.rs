//! Performed upgrades: one row each, holding the answer given to the caller.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

/// An upgrade as stored.
#[derive(Debug, Clone)]
pub struct UpgradeRow {
    pub id: Uuid,
    pub customer_id: Uuid,
    pub partner_id: Uuid,
    pub source_subscription_id: Uuid,
    pub target_subscription_id: Uuid,
    pub result: serde_json::Value,
    pub actor_user_id: String,
    pub actor_roles: Vec<String>,
    pub request_id: String,
    pub performed_at: DateTime<Utc>,
}

/// What a new upgrade record says.
#[derive(Debug, Clone)]
pub struct NewUpgrade<'a> {
    pub id: Uuid,
    pub customer_id: Uuid,
    pub partner_id: Uuid,
    pub source_subscription_id: Uuid,
    pub target_subscription_id: Uuid,
    pub source_offer_id: &'a str,
    pub target_offer_id: &'a str,
    pub upgrade_type: &'a str,
    pub quantity: i32,
    pub result: &'a serde_json::Value,
    pub actor_user_id: &'a str,
    pub actor_roles: &'a [String],
    pub request_id: &'a str,
}

/// Records an upgrade; a second upgrade of one source violates `upgrades_source_key`.
pub async fn create(conn: &mut PgConnection, new: &NewUpgrade<'_>) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO upgrades
             (customer_id, id, partner_id, source_subscription_id, target_subscription_id,
              source_offer_id, target_offer_id, upgrade_type, quantity, result,
              actor_user_id, actor_roles, request_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        new.customer_id,
        new.id,
        new.partner_id,
        new.source_subscription_id,
        new.target_subscription_id,
        new.source_offer_id,
        new.target_offer_id,
        new.upgrade_type,
        new.quantity,
        new.result,
        new.actor_user_id,
        new.actor_roles,
        new.request_id
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The upgrade, if this partner performed it.
pub async fn find_for_partner(
    pool: &PgPool,
    customer_id: Uuid,
    partner_id: Uuid,
    id: Uuid,
) -> Result<Option<UpgradeRow>, sqlx::Error> {
    sqlx::query_as!(
        UpgradeRow,
        "SELECT id, customer_id, partner_id, source_subscription_id, target_subscription_id,
                result, actor_user_id, actor_roles, request_id, performed_at
         FROM upgrades WHERE customer_id = $1 AND partner_id = $2 AND id = $3",
        customer_id,
        partner_id,
        id
    )
    .fetch_optional(pool)
    .await
}

/// A page of the partner's upgrades for the customer, oldest first (ids are time-ordered).
pub async fn list_for_partner(
    pool: &PgPool,
    customer_id: Uuid,
    partner_id: Uuid,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<UpgradeRow>, sqlx::Error> {
    sqlx::query_as!(
        UpgradeRow,
        "SELECT id, customer_id, partner_id, source_subscription_id, target_subscription_id,
                result, actor_user_id, actor_roles, request_id, performed_at
         FROM upgrades
         WHERE customer_id = $1 AND partner_id = $2 AND ($3::uuid IS NULL OR id > $3)
         ORDER BY id LIMIT $4",
        customer_id,
        partner_id,
        after,
        limit
    )
    .fetch_all(pool)
    .await
}
