//! Delegated admin relationships (GDAP-like) between a partner and a customer.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::domain::ids::{CustomerId, PartnerId};

use crate::domain::records::{DelegatedAdminRelationship, RelationshipStatus};

/// What a new relationship says.
#[derive(Debug, Clone)]
pub struct NewRelationship<'a> {
    pub status: RelationshipStatus,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub all_services: bool,
    pub services: &'a [String],
}

/// Inserts a relationship and its granted services.
pub async fn create(
    conn: &mut PgConnection,
    customer_id: CustomerId,
    partner_id: PartnerId,
    new: &NewRelationship<'_>,
) -> Result<DelegatedAdminRelationship, sqlx::Error> {
    let id = Uuid::now_v7();
    let created_at = sqlx::query_scalar!(
        "INSERT INTO delegated_admin_relationships
             (customer_id, id, partner_id, status, starts_at, ends_at, all_services)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         RETURNING created_at",
        customer_id.as_uuid(),
        id,
        partner_id.as_uuid(),
        new.status.as_str(),
        new.starts_at,
        new.ends_at,
        new.all_services
    )
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query!(
        "INSERT INTO delegated_admin_relationship_services (customer_id, relationship_id, service_code)
         SELECT $1, $2, unnest($3::text[])",
        customer_id.as_uuid(),
        id,
        new.services
    )
    .execute(&mut *conn)
    .await?;
    Ok(DelegatedAdminRelationship {
        id,
        customer_id,
        partner_id,
        status: new.status,
        starts_at: new.starts_at,
        ends_at: new.ends_at,
        all_services: new.all_services,
        services: new.services.to_vec(),
        created_at,
    })
}

/// A page of the partner's relationships with the customer, in id order after `after`.
pub async fn list(
    pool: &PgPool,
    customer_id: CustomerId,
    partner_id: PartnerId,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<DelegatedAdminRelationship>, sqlx::Error> {
    sqlx::query_as!(
        DelegatedAdminRelationship,
        r#"SELECT d.id, d.customer_id AS "customer_id: CustomerId", d.partner_id AS "partner_id: PartnerId", d.status AS "status: RelationshipStatus", d.starts_at, d.ends_at, d.all_services,
                  ARRAY(SELECT s.service_code FROM delegated_admin_relationship_services s
                        WHERE s.customer_id = d.customer_id AND s.relationship_id = d.id
                        ORDER BY s.service_code) AS "services!",
                  d.created_at
           FROM delegated_admin_relationships d
           WHERE d.customer_id = $1 AND d.partner_id = $2 AND ($3::uuid IS NULL OR d.id > $3)
           ORDER BY d.id
           LIMIT $4"#,
        customer_id.as_uuid(),
        partner_id.as_uuid(),
        after,
        limit
    )
    .fetch_all(pool)
    .await
}
