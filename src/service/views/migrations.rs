//! A migration to new commerce, as answered when performed now (by a request or a job's item).

use chrono::NaiveDate;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::super::idempotency::StoredAnswer;
use super::super::migrations::Migration;
use crate::domain::billing::Billing;
use crate::domain::catalog::BaseOfferId;
use crate::domain::plan::{BillingCycle, TermDuration};
use crate::domain::subscription::SubscriptionStatus;
use crate::domain::{CustomerId, SubscriptionId};
use crate::error::Error;

/// A legacy subscription moved to new commerce (or, for a dry run, the move that would be made).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MigrationView {
    /// The legacy subscription; `migrated` once done.
    source_subscription_id: Uuid,
    #[schema(value_type = SubscriptionStatus)]
    source_status: SubscriptionStatus,
    /// The new-commerce subscription that replaces it; `null` for a dry run.
    target_subscription_id: Option<Uuid>,
    #[schema(value_type = BaseOfferId)]
    offer_id: String,
    /// Seats of the new subscription.
    quantity: i64,
    term_duration: TermDuration,
    billing_cycle: BillingCycle,
    /// The new subscription's price per seat per month, in minor units, in force on its first
    /// day and locked for its term.
    unit_price: i64,
    term_start: NaiveDate,
    term_end: NaiveDate,
    /// Licenses moved to the new subscription, as they were.
    licenses_moved: u64,
    /// Active add-ons moved to the new subscription.
    add_ons_moved: u64,
    /// Credit for the legacy subscription under the legacy rules (in full within the first month
    /// of its term, otherwise daily over the unused days of its period) and charge for the new
    /// subscription's first billing period in full; `null` when the legacy price is not listed.
    billing: Option<Billing>,
    dry_run: bool,
}

impl From<Migration> for MigrationView {
    fn from(migration: Migration) -> Self {
        MigrationView {
            source_subscription_id: migration.source.id.into(),
            source_status: migration.source.status,
            target_subscription_id: migration.target.as_ref().map(|t| t.id.as_uuid()),
            offer_id: migration.source.offer_id,
            quantity: migration.quantity,
            term_duration: migration.plan.term_duration,
            billing_cycle: migration.plan.billing_cycle,
            unit_price: migration.unit_price,
            term_start: migration.dates.term_start,
            term_end: migration.dates.term_end,
            licenses_moved: migration.licenses_moved,
            add_ons_moved: migration.add_ons_moved,
            billing: migration.billing,
            dry_run: migration.dry_run,
        }
    }
}

/// A migration is created (201) at the new subscription's location; a dry run is answered 200.
pub fn answer(customer_id: CustomerId, migration: Migration) -> Result<StoredAnswer, Error> {
    let target = migration.target.as_ref().map(|t| t.id);
    let body = serde_json::to_vec(&MigrationView::from(migration)).map_err(Error::internal)?;
    Ok(match target {
        None => StoredAnswer::new(200, body),
        Some(target) => StoredAnswer::new(201, body).with_location(format!(
            "/v1/customers/{customer_id}/subscriptions/{}",
            SubscriptionId::as_uuid(target)
        )),
    })
}
