//! The dated prices of new commerce, as the catalog shows them (docs/new-commerce.md).

use chrono::NaiveDate;

use super::App;
use crate::db;
use crate::domain::plan::PlanPrice;
use crate::error::Error;

impl App {
    /// Every offer's price in every market on every plan, as in force on `on`.
    pub async fn prices_in_force(&self, on: NaiveDate) -> Result<Vec<PlanPrice>, Error> {
        Ok(db::catalog::plan_prices_on(self.pool(), on).await?)
    }
}
