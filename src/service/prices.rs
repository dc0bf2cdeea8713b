//! The dated prices of new commerce, as the catalog shows them (docs/new-commerce.md), and the
//! whole list kept in memory for the renewals page.

use std::sync::{Arc, PoisonError, RwLock};

use chrono::NaiveDate;

use super::App;
use crate::db;
use crate::domain::plan::PlanPrice;
use crate::domain::price_book::PriceBook;
use crate::error::Error;

/// The price list as last read, with its version (`price_list_version`, which storing a list
/// raises).
#[derive(Debug, Default)]
pub(super) struct PriceBookCopy(RwLock<Option<(i64, Arc<PriceBook>)>>);

impl App {
    /// Every offer's price in every market on every plan, as in force on `on`.
    pub async fn prices_in_force(&self, on: NaiveDate) -> Result<Vec<PlanPrice>, Error> {
        Ok(db::catalog::plan_prices_on(self.pool(), on).await?)
    }

    /// The price list at `version`: the copy in memory when it is that version, otherwise the list
    /// read again, which becomes the copy (a version that went down, as after a restore, is read
    /// again too).
    pub(super) async fn price_book(&self, version: i64) -> Result<Arc<PriceBook>, Error> {
        let copy = &self.price_book_copy().0;
        if let Some((read, book)) = &*copy.read().unwrap_or_else(PoisonError::into_inner)
            && *read == version
        {
            return Ok(Arc::clone(book));
        }
        let (read, prices) = db::catalog::price_list(self.pool()).await?;
        let book = Arc::new(PriceBook::new(prices));
        *copy.write().unwrap_or_else(PoisonError::into_inner) = Some((read, Arc::clone(&book)));
        Ok(book)
    }
}
