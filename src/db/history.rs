//! The audit trail of subscription changes.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

/// One change to record.
#[derive(Debug, Clone)]
pub struct NewHistoryEntry<'a> {
    pub customer_id: Uuid,
    pub subscription_id: Uuid,
    pub partner_id: Uuid,
    /// `created`, `upgrade`, `quantity_change`, `status_change`, `add_on_purchase`,
    /// `add_on_quantity_change`, `add_on_cancel`.
    pub change_kind: &'a str,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub actor_user_id: &'a str,
    pub actor_roles: &'a [String],
    pub request_id: &'a str,
}

/// Appends a change.
pub async fn record(
    conn: &mut PgConnection,
    entry: &NewHistoryEntry<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO subscription_history
             (customer_id, id, subscription_id, partner_id, change_kind, before_state, after_state,
              actor_user_id, actor_roles, request_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        entry.customer_id,
        Uuid::now_v7(),
        entry.subscription_id,
        entry.partner_id,
        entry.change_kind,
        entry.before,
        entry.after,
        entry.actor_user_id,
        entry.actor_roles,
        entry.request_id
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// A recorded change.
#[derive(Debug, Clone)]
pub struct HistoryRow {
    pub id: Uuid,
    pub subscription_id: Uuid,
    pub change_kind: String,
    pub before_state: Option<serde_json::Value>,
    pub after_state: Option<serde_json::Value>,
    pub actor_user_id: String,
    pub actor_roles: Vec<String>,
    pub request_id: String,
    pub occurred_at: DateTime<Utc>,
}

/// A page of the subscription's changes, oldest first (ids are time-ordered), after `after`.
pub async fn list(
    pool: &PgPool,
    customer_id: Uuid,
    subscription_id: Uuid,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<HistoryRow>, sqlx::Error> {
    sqlx::query_as!(
        HistoryRow,
        "SELECT id, subscription_id, change_kind, before_state, after_state, actor_user_id,
                actor_roles, request_id, occurred_at
         FROM subscription_history
         WHERE customer_id = $1 AND subscription_id = $2 AND ($3::uuid IS NULL OR id > $3)
         ORDER BY id LIMIT $4",
        customer_id,
        subscription_id,
        after,
        limit
    )
    .fetch_all(pool)
    .await
}
