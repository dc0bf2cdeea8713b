//! An upgrade's answer: [`UpgradeResult`], stored as sent.

use super::super::idempotency::StoredAnswer;
pub use super::super::upgrades::UpgradeResult;
use crate::domain::CustomerId;
use crate::error::Error;

/// A performed upgrade is created (201) at its record's location; a dry run is answered 200.
pub fn answer(customer_id: CustomerId, result: &UpgradeResult) -> Result<StoredAnswer, Error> {
    let body = serde_json::to_vec(result).map_err(Error::internal)?;
    Ok(match result.upgrade_id {
        Some(upgrade_id) if !result.dry_run => StoredAnswer::new(201, body)
            .with_location(format!("/v1/customers/{customer_id}/upgrades/{upgrade_id}")),
        _ => StoredAnswer::new(200, body),
    })
}
