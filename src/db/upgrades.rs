//! Performed upgrades: one row each, holding the answer given to the caller.

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::domain::ids::{CustomerId, PartnerId, SubscriptionId};

use super::licenses::{AssignmentRow, HolderRow};
use super::subscriptions::SubscriptionFactsRow;
use crate::domain::records::{PerformedUpgrade, RelationshipStatus, Subscription};
use crate::domain::subscription::{Channel, SubscriptionStatus};

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
    pub subscriptions: Vec<SubscriptionFactsRow>,
    /// The partner's delegated admin relationships with the customer.
    pub rights: Json<Vec<RightsRow>>,
    /// Active add-ons of the source.
    pub add_ons: i64,
    /// Holders of a license from the source, in license order.
    pub holders: Vec<HolderRow>,
    /// Every license of the customer: what the holders have elsewhere is read from them.
    pub assignments: Vec<AssignmentRow>,
}

/// The facts statement's row. The customer's subscriptions, the source's holders and the
/// customer's licenses come as one array per column, which Postgres builds and the service
/// decodes for a fraction of the cost of JSON (README, "Performance"); a license's switched-off
/// services come comma-joined (service codes have no commas).
struct FactsRecord {
    market_code: String,
    source: Option<Json<Subscription>>,
    subscription_ids: Vec<SubscriptionId>,
    subscription_offers: Vec<String>,
    subscription_statuses: Vec<SubscriptionStatus>,
    subscription_quantities: Vec<i32>,
    subscription_channels: Vec<Channel>,
    subscription_partners: Vec<Option<PartnerId>>,
    rights: Json<Vec<RightsRow>>,
    add_ons: i64,
    holder_ids: Vec<Uuid>,
    holder_names: Vec<String>,
    holder_emails: Vec<String>,
    holder_assigned_at: Vec<DateTime<Utc>>,
    holder_disabled: Vec<String>,
    license_users: Vec<Uuid>,
    license_subscriptions: Vec<SubscriptionId>,
    license_disabled: Vec<String>,
}

/// `EXCHANGE,BOOKINGS` as its codes; the empty string as none.
fn codes(joined: String) -> Vec<String> {
    joined
        .split(',')
        .filter(|code| !code.is_empty())
        .map(str::to_owned)
        .collect()
}

impl From<FactsRecord> for FactsRow {
    fn from(r: FactsRecord) -> Self {
        let subscriptions = (r.subscription_ids.into_iter())
            .zip(r.subscription_offers)
            .zip(r.subscription_statuses)
            .zip(r.subscription_quantities)
            .zip(r.subscription_channels)
            .zip(r.subscription_partners)
            .map(
                |(((((id, offer_id), status), quantity), channel), partner_id)| {
                    SubscriptionFactsRow {
                        id,
                        offer_id,
                        status,
                        quantity,
                        channel,
                        partner_id,
                    }
                },
            )
            .collect();
        let holders = (r.holder_ids.into_iter())
            .zip(r.holder_names)
            .zip(r.holder_emails)
            .zip(r.holder_assigned_at)
            .zip(r.holder_disabled)
            .map(
                |((((user_id, display_name), email), assigned_at), disabled)| HolderRow {
                    user_id,
                    display_name,
                    email,
                    assigned_at,
                    disabled_services: codes(disabled),
                },
            )
            .collect();
        let assignments = (r.license_users.into_iter())
            .zip(r.license_subscriptions)
            .zip(r.license_disabled)
            .map(|((user_id, subscription_id), disabled)| AssignmentRow {
                user_id,
                subscription_id,
                disabled_services: codes(disabled),
            })
            .collect();
        FactsRow {
            market_code: r.market_code,
            source: r.source,
            subscriptions,
            rights: r.rights,
            add_ons: r.add_ons,
            holders,
            assignments,
        }
    }
}

/// The facts of an upgrade of `subscription_id`, or `None` when the customer is not this
/// partner's. One statement: each round trip costs more than the rules themselves.
pub async fn facts(
    conn: &mut PgConnection,
    partner_id: PartnerId,
    customer_id: CustomerId,
    subscription_id: SubscriptionId,
) -> Result<Option<FactsRow>, sqlx::Error> {
    let record = sqlx::query_as!(
        FactsRecord,
        r#"SELECT c.market_code,
                  (SELECT to_json(s) FROM subscriptions s
                   WHERE s.customer_id = c.id AND s.id = $3
                     AND s.channel = 'partner' AND s.partner_id = $2) AS "source: Json<Subscription>",
                  subs.ids AS "subscription_ids!: Vec<SubscriptionId>", subs.offers AS "subscription_offers!",
                  subs.statuses AS "subscription_statuses!: Vec<SubscriptionStatus>",
                  subs.quantities AS "subscription_quantities!", subs.channels AS "subscription_channels!: Vec<Channel>",
                  subs.partners AS "subscription_partners!: Vec<Option<PartnerId>>",
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
                  held.ids AS "holder_ids!", held.names AS "holder_names!", held.emails AS "holder_emails!",
                  held.assigned AS "holder_assigned_at!", held.disabled AS "holder_disabled!",
                  lic.users AS "license_users!", lic.disabled AS "license_disabled!",
                  lic.subscriptions AS "license_subscriptions!: Vec<SubscriptionId>"
           FROM customers c
           JOIN reseller_relationships r ON r.customer_id = c.id AND r.partner_id = $2
           CROSS JOIN LATERAL (
               SELECT coalesce(array_agg(s.id ORDER BY s.id), '{}') AS ids,
                      coalesce(array_agg(s.offer_id ORDER BY s.id), '{}') AS offers,
                      coalesce(array_agg(s.status ORDER BY s.id), '{}') AS statuses,
                      coalesce(array_agg(s.quantity ORDER BY s.id), '{}') AS quantities,
                      coalesce(array_agg(s.channel ORDER BY s.id), '{}') AS channels,
                      coalesce(array_agg(s.partner_id ORDER BY s.id), '{}') AS partners
               FROM subscriptions s WHERE s.customer_id = c.id) subs
           CROSS JOIN LATERAL (
               SELECT coalesce(array_agg(a.user_id ORDER BY a.assigned_at, a.user_id), '{}') AS ids,
                      coalesce(array_agg(u.display_name ORDER BY a.assigned_at, a.user_id), '{}') AS names,
                      coalesce(array_agg(u.email ORDER BY a.assigned_at, a.user_id), '{}') AS emails,
                      coalesce(array_agg(a.assigned_at ORDER BY a.assigned_at, a.user_id), '{}') AS assigned,
                      coalesce(array_agg(array_to_string(a.disabled_services, ',')
                                         ORDER BY a.assigned_at, a.user_id), '{}') AS disabled
               FROM license_assignments a
               JOIN users u ON u.customer_id = a.customer_id AND u.id = a.user_id
               WHERE a.customer_id = c.id AND a.subscription_id = $3) held
           CROSS JOIN LATERAL (
               SELECT coalesce(array_agg(a.user_id ORDER BY a.subscription_id, a.user_id), '{}') AS users,
                      coalesce(array_agg(a.subscription_id ORDER BY a.subscription_id, a.user_id), '{}') AS subscriptions,
                      coalesce(array_agg(array_to_string(a.disabled_services, ',')
                                         ORDER BY a.subscription_id, a.user_id), '{}') AS disabled
               FROM license_assignments a WHERE a.customer_id = c.id) lic
           WHERE c.id = $1"#,
        customer_id.as_uuid(),
        partner_id.as_uuid(),
        subscription_id.as_uuid()
    )
    .fetch_optional(conn)
    .await?;
    Ok(record.map(FactsRow::from))
}
