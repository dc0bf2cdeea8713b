//! The facts of every upgrade the partner could offer a customer: the upgrade facts of each of
//! its active subscriptions, loaded together.

use sqlx::PgConnection;
use sqlx::types::Json;

use super::facts::RightsRow;
use super::licenses::{AssignmentRow, HolderRow};
use super::subscriptions::SubscriptionFactsRow;
use crate::domain::ids::{CustomerId, PartnerId, SubscriptionId};
use crate::domain::records::Subscription;

/// How many active add-ons a subscription has (only subscriptions with some are listed).
#[derive(Debug, Clone, serde::Deserialize)]
pub struct AddOnCountRow {
    pub subscription_id: SubscriptionId,
    pub count: i64,
}

/// A holder of a license from one of the sources.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct SourceHolderRow {
    pub subscription_id: SubscriptionId,
    #[serde(flatten)]
    pub holder: HolderRow,
}

/// Everything the upgrade evaluations of a customer's subscriptions read, in one round trip.
#[derive(Debug, Clone)]
pub struct CustomerFactsRow {
    pub market_code: String,
    /// The active subscriptions the partner sold the customer, in id order: the sources.
    pub sources: Json<Vec<Subscription>>,
    /// Every subscription of the customer, every channel and status, the sources included.
    pub subscriptions: Json<Vec<SubscriptionFactsRow>>,
    /// The partner's delegated admin relationships with the customer.
    pub rights: Json<Vec<RightsRow>>,
    /// Active add-ons per subscription.
    pub add_ons: Json<Vec<AddOnCountRow>>,
    /// Holders of a license from each source, by source, each source's in license order.
    pub holders: Json<Vec<SourceHolderRow>>,
    /// Every license of the customer: what the holders have elsewhere is read from them.
    pub assignments: Json<Vec<AssignmentRow>>,
}

/// The facts of upgrading each active subscription the partner sold the customer, or `None` when
/// the customer is not this partner's. One statement, which reads the customer's subscriptions
/// once (for the sources and for the conditions) and its relationships once, whatever the number
/// of sources, and every license of the customer once, from which the holders' services
/// elsewhere are worked out in the service.
pub async fn customer_facts(
    conn: &mut PgConnection,
    partner_id: PartnerId,
    customer_id: CustomerId,
) -> Result<Option<CustomerFactsRow>, sqlx::Error> {
    sqlx::query_as!(
        CustomerFactsRow,
        r#"SELECT c.market_code,
                  subs.sources AS "sources!: Json<Vec<Subscription>>",
                  subs.subscriptions AS "subscriptions!: Json<Vec<SubscriptionFactsRow>>",
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
                  (SELECT coalesce(json_agg(json_build_object(
                              'subscription_id', n.subscription_id, 'count', n.count)), '[]')
                   FROM (SELECT ao.subscription_id, count(*) AS count
                         FROM subscription_add_ons ao
                         WHERE ao.customer_id = c.id AND ao.status = 'active'
                         GROUP BY ao.subscription_id) n) AS "add_ons!: Json<Vec<AddOnCountRow>>",
                  (SELECT coalesce(json_agg(json_build_object(
                              'subscription_id', a.subscription_id,
                              'user_id', a.user_id, 'display_name', u.display_name, 'email', u.email,
                              'assigned_at', a.assigned_at, 'disabled_services', a.disabled_services)
                              ORDER BY a.subscription_id, a.assigned_at, a.user_id), '[]')
                   FROM license_assignments a
                   JOIN subscriptions src ON src.customer_id = a.customer_id
                                         AND src.id = a.subscription_id
                   JOIN users u ON u.customer_id = a.customer_id AND u.id = a.user_id
                   WHERE a.customer_id = c.id
                     AND src.channel = 'partner' AND src.partner_id = $2
                     AND src.status = 'active') AS "holders!: Json<Vec<SourceHolderRow>>",
                  (SELECT coalesce(json_agg(json_build_object(
                              'user_id', a.user_id, 'subscription_id', a.subscription_id,
                              'disabled_services', a.disabled_services)), '[]')
                   FROM license_assignments a WHERE a.customer_id = c.id) AS "assignments!: Json<Vec<AssignmentRow>>"
           FROM customers c
           JOIN reseller_relationships r ON r.customer_id = c.id AND r.partner_id = $2
           CROSS JOIN LATERAL (
               SELECT coalesce(json_agg(to_json(s) ORDER BY s.id)
                                   FILTER (WHERE s.channel = 'partner' AND s.partner_id = $2
                                             AND s.status = 'active'), '[]') AS sources,
                      coalesce(json_agg(json_build_object(
                                   'id', s.id, 'offer_id', s.offer_id, 'status', s.status,
                                   'quantity', s.quantity, 'channel', s.channel,
                                   'partner_id', s.partner_id) ORDER BY s.id), '[]') AS subscriptions
               FROM subscriptions s WHERE s.customer_id = c.id) subs
           WHERE c.id = $1"#,
        customer_id.as_uuid(),
        partner_id.as_uuid()
    )
    .fetch_optional(conn)
    .await
}
