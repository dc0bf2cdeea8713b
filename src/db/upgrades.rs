//! Performed upgrades: one row each, holding the answer given to the caller.

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::domain::ids::{CustomerId, PartnerId, SubscriptionId};

use super::licenses::{AssignmentRow, HolderRow};
use super::subscriptions::SubscriptionFactsRow;
use crate::domain::records::{PerformedUpgrade, RelationshipStatus, Subscription};

/// What a new upgrade record says.
#[derive(Debug, Clone)]
pub struct NewUpgrade<'a> {
    pub id: Uuid,
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
pub async fn create(conn: &mut PgConnection, new: &NewUpgrade<'_>) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO upgrades
             (customer_id, id, partner_id, source_subscription_id, target_subscription_id,
              source_offer_id, target_offer_id, upgrade_type, quantity, partial, result,
              actor_user_id, actor_roles, request_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        new.customer_id.as_uuid(),
        new.id,
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
    id: Uuid,
) -> Result<Option<PerformedUpgrade>, sqlx::Error> {
    sqlx::query_as!(
        PerformedUpgrade,
        r#"SELECT id, customer_id AS "customer_id: CustomerId", partner_id AS "partner_id: PartnerId", source_subscription_id AS "source_subscription_id: SubscriptionId", target_subscription_id AS "target_subscription_id: SubscriptionId",
                partial, quantity, result, actor_user_id, actor_roles, request_id, performed_at
         FROM upgrades WHERE customer_id = $1 AND partner_id = $2 AND id = $3"#,
        customer_id.as_uuid(),
        partner_id.as_uuid(),
        id
    )
    .fetch_optional(pool)
    .await
}

/// A page of the partner's upgrades for the customer, oldest first (ids are time-ordered).
pub async fn list_for_partner(
    pool: &PgPool,
    customer_id: CustomerId,
    partner_id: PartnerId,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<PerformedUpgrade>, sqlx::Error> {
    sqlx::query_as!(
        PerformedUpgrade,
        r#"SELECT id, customer_id AS "customer_id: CustomerId", partner_id AS "partner_id: PartnerId", source_subscription_id AS "source_subscription_id: SubscriptionId", target_subscription_id AS "target_subscription_id: SubscriptionId",
                partial, quantity, result, actor_user_id, actor_roles, request_id, performed_at
         FROM upgrades
         WHERE customer_id = $1 AND partner_id = $2 AND ($3::uuid IS NULL OR id > $3)
         ORDER BY id LIMIT $4"#,
        customer_id.as_uuid(),
        partner_id.as_uuid(),
        after,
        limit
    )
    .fetch_all(pool)
    .await
}

/// A delegated admin relationship as the eligibility rules read it. Its times come as
/// microseconds since the epoch, which decode whatever the year (Postgres writes years outside
/// 1..=9999 in JSON in forms no RFC 3339 reader reads back).
#[derive(Debug, Clone, serde::Deserialize)]
pub struct RightsRow {
    pub status: RelationshipStatus,
    #[serde(with = "chrono::serde::ts_microseconds")]
    pub starts_at: DateTime<Utc>,
    #[serde(with = "chrono::serde::ts_microseconds")]
    pub ends_at: DateTime<Utc>,
    pub all_services: bool,
    pub services: Vec<String>,
}

/// Everything an upgrade evaluation reads, fetched in one round trip.
#[derive(Debug, Clone)]
pub struct FactsRow {
    pub market_code: String,
    /// The source, when this partner sold it to the customer.
    pub source: Option<Json<Subscription>>,
    /// Every subscription of the customer, every channel and status, the source included.
    pub subscriptions: Json<Vec<SubscriptionFactsRow>>,
    /// The partner's delegated admin relationships with the customer.
    pub rights: Json<Vec<RightsRow>>,
    /// Active add-ons of the source.
    pub add_ons: i64,
    /// Holders of a license from the source, in license order.
    pub holders: Json<Vec<HolderRow>>,
    /// Every license of the customer: what the holders have elsewhere is read from them.
    pub assignments: Json<Vec<AssignmentRow>>,
}

/// The facts of an upgrade of `subscription_id`, or `None` when the customer is not this
/// partner's. One statement: each round trip costs more than the rules themselves.
pub async fn facts(
    conn: &mut PgConnection,
    partner_id: PartnerId,
    customer_id: CustomerId,
    subscription_id: SubscriptionId,
) -> Result<Option<FactsRow>, sqlx::Error> {
    sqlx::query_as!(
        FactsRow,
        r#"SELECT c.market_code,
                  (SELECT to_json(s) FROM subscriptions s
                   WHERE s.customer_id = c.id AND s.id = $3
                     AND s.channel = 'partner' AND s.partner_id = $2) AS "source: Json<Subscription>",
                  (SELECT coalesce(json_agg(json_build_object(
                              'id', s.id, 'offer_id', s.offer_id, 'status', s.status,
                              'quantity', s.quantity, 'channel', s.channel,
                              'partner_id', s.partner_id) ORDER BY s.id), '[]')
                   FROM subscriptions s WHERE s.customer_id = c.id) AS "subscriptions!: Json<Vec<SubscriptionFactsRow>>",
                  (SELECT coalesce(json_agg(json_build_object(
                              'status', d.status,
                              'starts_at', (extract(epoch FROM d.starts_at) * 1000000)::bigint,
                              'ends_at', (extract(epoch FROM d.ends_at) * 1000000)::bigint,
                              'all_services', d.all_services,
                              'services', ARRAY(SELECT ds.service_code
                                                FROM delegated_admin_relationship_services ds
                                                WHERE ds.customer_id = d.customer_id
                                                  AND ds.relationship_id = d.id)) ORDER BY d.id), '[]')
                   FROM delegated_admin_relationships d
                   WHERE d.customer_id = c.id AND d.partner_id = $2) AS "rights!: Json<Vec<RightsRow>>",
                  (SELECT count(*) FROM subscription_add_ons ao
                   WHERE ao.customer_id = c.id AND ao.subscription_id = $3
                     AND ao.status = 'active') AS "add_ons!",
                  (SELECT coalesce(json_agg(json_build_object(
                              'user_id', a.user_id, 'display_name', u.display_name, 'email', u.email,
                              'assigned_at', a.assigned_at, 'disabled_services', a.disabled_services)
                              ORDER BY a.assigned_at, a.user_id), '[]')
                   FROM license_assignments a
                   JOIN users u ON u.customer_id = a.customer_id AND u.id = a.user_id
                   WHERE a.customer_id = c.id AND a.subscription_id = $3) AS "holders!: Json<Vec<HolderRow>>",
                  (SELECT coalesce(json_agg(json_build_object(
                              'user_id', a.user_id, 'subscription_id', a.subscription_id,
                              'disabled_services', a.disabled_services)), '[]')
                   FROM license_assignments a WHERE a.customer_id = c.id) AS "assignments!: Json<Vec<AssignmentRow>>"
           FROM customers c
           JOIN reseller_relationships r ON r.customer_id = c.id AND r.partner_id = $2
           WHERE c.id = $1"#,
        customer_id.as_uuid(),
        partner_id.as_uuid(),
        subscription_id.as_uuid()
    )
    .fetch_optional(conn)
    .await
}
