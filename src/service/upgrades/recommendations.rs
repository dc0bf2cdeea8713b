//! Recommendations (docs/upgrades.md, "Recommendations"): every active subscription the partner sold the
//! customer, with its eligible upgrades ranked and the others with every failing condition. One
//! query loads the facts of them all; each subscription is then evaluated exactly as its own
//! listing is (`domain::recommendation::recommend` over `upgrade::evaluate_all_eligible`).

use std::sync::Arc;

use sqlx::PgPool;

use super::facts::{self, Facts};
use crate::db;
use crate::domain::recommendation::{self, Recommendations};
use crate::domain::records::Subscription;
use crate::domain::{Catalog, CustomerId, PartnerId};
use crate::error::Error;
use crate::service::{Actor, App, customer_not_found};

/// One active subscription the partner sold the customer, with its upgrade options.
#[derive(Debug, Clone)]
pub struct SubscriptionRecommendations {
    /// As of today.
    pub subscription: Subscription,
    /// `None` when its offer is not in the catalog.
    pub offer_name: Option<String>,
    pub options: Recommendations,
}

/// What a sales agent sees first about a customer.
#[derive(Debug, Clone)]
pub struct CustomerRecommendations {
    pub customer_id: CustomerId,
    pub market: String,
    /// The market's currency, which prices and bills are in.
    pub currency: String,
    /// In subscription id order.
    pub subscriptions: Vec<SubscriptionRecommendations>,
}

impl App {
    /// The upgrade options of every active subscription the actor's partner sold the customer;
    /// 404 when the customer is not the partner's.
    pub async fn recommendations(
        &self,
        actor: &Actor,
        customer_id: CustomerId,
    ) -> Result<CustomerRecommendations, Error> {
        for_customer(self.pool(), self.catalog(), actor.partner_id, customer_id).await
    }
}

/// The recommendations, read through the pool (no transaction: one query, then the rules).
async fn for_customer(
    pool: &PgPool,
    catalog: &Catalog,
    partner_id: PartnerId,
    customer_id: CustomerId,
) -> Result<CustomerRecommendations, Error> {
    let mut conn = pool.acquire().await?;
    let row = db::facts::customer_facts(&mut conn, partner_id, customer_id)
        .await?
        .ok_or_else(|| customer_not_found(customer_id))?;
    let prices = facts::plan_prices(&mut conn, &row.sources).await?;
    drop(conn);
    let market = row.market_code.clone();
    let currency = catalog
        .market(&market)
        .map(|m| m.currency.clone())
        .ok_or_else(|| Error::internal(format!("market {market} is not in the catalog")))?;
    let subscriptions = Facts::for_customer(row, (partner_id, catalog))?
        .into_iter()
        .map(|(subscription, facts)| (subscription, facts.with_prices(Arc::clone(&prices))))
        .map(|(subscription, facts)| SubscriptionRecommendations {
            offer_name: catalog
                .offer(&subscription.offer_id)
                .map(|o| o.name.clone()),
            options: recommendation::recommend(&facts.case(catalog)),
            subscription,
        })
        .collect();
    Ok(CustomerRecommendations {
        customer_id,
        market,
        currency,
        subscriptions,
    })
}
