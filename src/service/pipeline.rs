//! The renewals pipeline (docs/renewals.md): what renews soon across all of a partner's
//! customers, with what a person acts on before each renewal.

use chrono::NaiveDate;

use super::{Actor, App, today};
use crate::db;
use crate::db::pipeline::{Renewal, RenewalFilter};
use crate::domain::pipeline;
use crate::domain::plan::Plan;
use crate::domain::{CustomerId, ErrorCode, SubscriptionId};
use crate::error::Error;

/// The renewals asked for, as sent.
#[derive(Debug, Clone, Default)]
pub struct RenewalAsk {
    pub term_end_from: Option<NaiveDate>,
    pub term_end_to: Option<NaiveDate>,
    pub offer_id: Option<String>,
    pub market: Option<String>,
    pub customer_id: Option<CustomerId>,
    pub auto_renew: Option<bool>,
    pub scheduled: Option<bool>,
}

impl App {
    /// The filter `ask` names: 400 `invalid_term_end_window` for a window out of bounds,
    /// `unknown_offer` or `unknown_market` for a filter the catalog does not have.
    pub fn renewal_filter(&self, ask: RenewalAsk) -> Result<RenewalFilter, Error> {
        let catalog = self.catalog();
        if let Some(id) = ask
            .offer_id
            .as_deref()
            .filter(|id| catalog.offer(id).is_none())
        {
            return Err(Error::new(
                ErrorCode::UnknownOffer,
                format!("offerId {id:?} is not an offer in the catalog"),
            ));
        }
        if let Some(code) = ask
            .market
            .as_deref()
            .filter(|m| catalog.market(m).is_none())
        {
            let known: Vec<_> = catalog.markets().iter().map(|m| m.code.as_str()).collect();
            return Err(Error::new(
                ErrorCode::UnknownMarket,
                format!("market {code:?} is not one of {}", known.join(", ")),
            ));
        }
        Ok(RenewalFilter {
            window: pipeline::window(ask.term_end_from, ask.term_end_to, today())?,
            offer_id: ask.offer_id,
            market: ask.market,
            customer_id: ask.customer_id,
            auto_renew: ask.auto_renew,
            scheduled: ask.scheduled,
        })
    }

    /// A page of the actor's partner's renewals matching `filter`, in term-end order, after the
    /// `(term end, id)` key, if any.
    pub async fn renewals(
        &self,
        actor: &Actor,
        filter: &RenewalFilter,
        after: Option<(NaiveDate, SubscriptionId)>,
        limit: i64,
    ) -> Result<Vec<Renewal>, Error> {
        let page = db::pipeline::list(self.pool(), actor.partner_id, filter, after, limit).await?;
        let mut renewals = page.renewals;
        let Some(version) = page.price_list_version else {
            return Ok(renewals);
        };
        let book = self.price_book(version).await?;
        for renewal in &mut renewals {
            let current = (
                renewal.offer_id.as_str(),
                Plan::new(renewal.term_duration, renewal.billing_cycle),
            );
            let (offer_id, plan) = pipeline::next_term(current, renewal.scheduled.as_ref());
            let price = book.in_force(offer_id, &renewal.market, plan, renewal.term_end);
            renewal.next_unit_price = price;
        }
        Ok(renewals)
    }
}
