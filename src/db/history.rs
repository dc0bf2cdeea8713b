//! The audit trail of subscription changes.

use sqlx::PgConnection;
use uuid::Uuid;

/// One change to record.
#[derive(Debug, Clone)]
pub struct NewHistoryEntry<'a> {
    pub customer_id: Uuid,
    pub subscription_id: Uuid,
    pub partner_id: Uuid,
    /// `created`, `upgrade`, `quantity_change`, `status_change`, `add_on_purchase`, `add_on_cancel`.
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
