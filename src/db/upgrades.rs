//! Performed upgrades: one row each, holding the answer given to the caller.

use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::domain::ids::{CustomerId, PartnerId, SubscriptionId, UpgradeId};
use crate::domain::records::PerformedUpgrade;

/// What a new upgrade record says.
#[derive(Debug, Clone)]
pub struct NewUpgrade<'a> {
    pub id: UpgradeId,
    pub customer_id: CustomerId,
    pub partner_id: PartnerId,
    pub source_subscription_id: SubscriptionId,
    pub target_subscription_id: SubscriptionId,
    pub source_offer_id: &'a str,
    pub target_offer_id: &'a str,
    pub upgrade_type: &'a str,
    /// Seats the target gains.
    pub quantity: i32,
    pub partial: bool,
    pub result: &'a serde_json::Value,
    pub actor_user_id: &'a str,
    pub actor_roles: &'a [String],
    pub request_id: &'a str,
}

/// Records an upgrade; a second whole upgrade of one source violates `upgrades_source_key`.
///
/// `performed_at` is the database's clock when the row is written, not the transaction's start
/// (`now()`): the caller holds the customer's row lock until it commits, so of one customer's
/// upgrades, this order is the order they committed in, whichever started first.
pub async fn create(conn: &mut PgConnection, new: &NewUpgrade<'_>) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO upgrades
             (customer_id, id, partner_id, source_subscription_id, target_subscription_id,
              source_offer_id, target_offer_id, upgrade_type, quantity, partial, result,
              actor_user_id, actor_roles, request_id, performed_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, clock_timestamp())",
        new.customer_id.as_uuid(),
        new.id.as_uuid(),
        new.partner_id.as_uuid(),
        new.source_subscription_id.as_uuid(),
        new.target_subscription_id.as_uuid(),
        new.source_offer_id,
        new.target_offer_id,
        new.upgrade_type,
        new.quantity,
        new.partial,
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
    customer_id: CustomerId,
    partner_id: PartnerId,
    id: UpgradeId,
) -> Result<Option<PerformedUpgrade>, sqlx::Error> {
    sqlx::query_as!(
        PerformedUpgrade,
        r#"SELECT id AS "id: UpgradeId", customer_id AS "customer_id: CustomerId", partner_id AS "partner_id: PartnerId", source_subscription_id AS "source_subscription_id: SubscriptionId", target_subscription_id AS "target_subscription_id: SubscriptionId",
                partial, quantity, result, actor_user_id, actor_roles, request_id, performed_at
         FROM upgrades WHERE customer_id = $1 AND partner_id = $2 AND id = $3"#,
        customer_id.as_uuid(),
        partner_id.as_uuid(),
        id.as_uuid()
    )
    .fetch_optional(pool)
    .await
}

/// A page of the partner's upgrades for the customer in the order they committed (`performed_at`,
/// then id for equal instants), after the upgrade `after`.
pub async fn list_for_partner(
    pool: &PgPool,
    customer_id: CustomerId,
    partner_id: PartnerId,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<PerformedUpgrade>, sqlx::Error> {
    sqlx::query_as!(
        PerformedUpgrade,
        r#"SELECT id AS "id: UpgradeId", customer_id AS "customer_id: CustomerId", partner_id AS "partner_id: PartnerId", source_subscription_id AS "source_subscription_id: SubscriptionId", target_subscription_id AS "target_subscription_id: SubscriptionId",
                partial, quantity, result, actor_user_id, actor_roles, request_id, performed_at
         FROM upgrades
         WHERE customer_id = $1 AND partner_id = $2
           AND ($3::uuid IS NULL OR (performed_at, id) > (
                SELECT a.performed_at, a.id FROM upgrades a
                 WHERE a.customer_id = $1 AND a.partner_id = $2 AND a.id = $3))
         ORDER BY performed_at, id LIMIT $4"#,
        customer_id.as_uuid(),
        partner_id.as_uuid(),
        after,
        limit
    )
    .fetch_all(pool)
    .await
}
