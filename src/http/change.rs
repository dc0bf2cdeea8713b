//! The body of a PATCH that changes a quantity or a status.

use crate::domain::ErrorCode;
use crate::error::Error;

/// The one change a PATCH body asks for: a quantity or a status, never both or neither (400
/// `invalid_change`).
pub fn quantity_or_status<S, C>(
    quantity: Option<i64>,
    status: Option<S>,
    by_quantity: impl FnOnce(i64) -> C,
    by_status: impl FnOnce(S) -> C,
) -> Result<C, Error> {
    match (quantity, status) {
        (Some(quantity), None) => Ok(by_quantity(quantity)),
        (None, Some(status)) => Ok(by_status(status)),
        _ => Err(Error::new(
            ErrorCode::InvalidChange,
            "Send exactly one of quantity or status.",
        )),
    }
}
