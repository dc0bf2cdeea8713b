//! Loads the catalog tables into the domain model.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use sqlx::{PgConnection, PgPool};

use crate::domain::ids::CustomerId;
use crate::domain::plan::{BillingCycle, Plan, PlanPrice, PriceList, TermDuration};
use crate::domain::price_book::ListedPrice;
use crate::domain::upgrade::PlanPrices;
use crate::domain::{Catalog, Market, Offer, OfferFamily, OfferKind, UpgradePath, UpgradeType};
use crate::error::Error;

/// Reads the whole catalog (a few dozen rows) in four queries.
pub async fn load(pool: &PgPool) -> Result<Catalog, Error> {
    let markets = sqlx::query_as!(
        MarketRow,
        "SELECT code, name, currency, currency_minor_units FROM markets ORDER BY code"
    )
    .fetch_all(pool)
    .await?;
    let families = sqlx::query!("SELECT id, name, seat_cap FROM offer_families ORDER BY id")
        .fetch_all(pool)
        .await?
        .into_iter()
        .map(|row| OfferFamily {
            id: row.id,
            name: row.name,
            seat_cap: row.seat_cap.and_then(|cap| u32::try_from(cap).ok()),
        })
        .collect();
    let offers = sqlx::query_as!(
        OfferRow,
        r#"
        SELECT o.id, o.name, o.kind, o.family_id, o.seat_cap,
               ARRAY(SELECT s.service_code FROM offer_services s
                     WHERE s.offer_id = o.id ORDER BY s.service_code) AS "services!",
               ARRAY(SELECT p.market_code FROM offer_prices p
                     WHERE p.offer_id = o.id ORDER BY p.market_code) AS "price_markets!",
               ARRAY(SELECT p.monthly_unit_price_minor FROM offer_prices p
                     WHERE p.offer_id = o.id ORDER BY p.market_code) AS "price_amounts!",
               ARRAY(SELECT a.base_offer_id FROM add_on_base_offers a
                     WHERE a.add_on_offer_id = o.id ORDER BY a.base_offer_id) AS "attaches_to!"
        FROM offers o
        ORDER BY o.sort_order, o.id
        "#
    )
    .fetch_all(pool)
    .await?;
    let paths = sqlx::query_as!(
        PathRow,
        r#"
        SELECT p.source_offer_id, p.target_offer_id, p.upgrade_type
        FROM upgrade_paths p
        JOIN offers s ON s.id = p.source_offer_id
        JOIN offers t ON t.id = p.target_offer_id
        ORDER BY s.sort_order, t.sort_order
        "#
    )
    .fetch_all(pool)
    .await?;

    let offers = offers
        .into_iter()
        .map(OfferRow::into_offer)
        .collect::<Result<_, _>>()?;
    let paths = paths
        .into_iter()
        .map(PathRow::into_path)
        .collect::<Result<_, _>>()?;
    let markets = markets.into_iter().map(MarketRow::into_market).collect();
    Catalog::new(markets, families, offers, paths).map_err(Error::internal)
}

struct MarketRow {
    code: String,
    name: String,
    currency: String,
    currency_minor_units: i16,
}

impl MarketRow {
    fn into_market(self) -> Market {
        Market {
            code: self.code,
            name: self.name,
            currency: self.currency,
            // The CHECK constraint keeps this within 0..=4.
            currency_minor_units: u8::try_from(self.currency_minor_units).unwrap_or(2),
        }
    }
}

struct OfferRow {
    id: String,
    name: String,
    kind: String,
    family_id: Option<String>,
    seat_cap: Option<i32>,
    services: Vec<String>,
    price_markets: Vec<String>,
    price_amounts: Vec<i64>,
    attaches_to: Vec<String>,
}

impl OfferRow {
    fn into_offer(self) -> Result<Offer, Error> {
        let kind = OfferKind::parse(&self.kind)
            .ok_or_else(|| Error::internal(format!("offer {} has kind {}", self.id, self.kind)))?;
        let monthly_prices: BTreeMap<_, _> = self
            .price_markets
            .into_iter()
            .zip(self.price_amounts)
            .collect();
        Ok(Offer {
            id: self.id,
            name: self.name,
            kind,
            family_id: self.family_id,
            seat_cap: self.seat_cap.and_then(|cap| u32::try_from(cap).ok()),
            services: self.services.into_iter().collect(),
            monthly_prices,
            attaches_to: self.attaches_to.into_iter().collect(),
        })
    }
}

struct PathRow {
    source_offer_id: String,
    target_offer_id: String,
    upgrade_type: String,
}

impl PathRow {
    fn into_path(self) -> Result<UpgradePath, Error> {
        let upgrade_type = UpgradeType::parse(&self.upgrade_type).ok_or_else(|| {
            Error::internal(format!("upgrade path has type {}", self.upgrade_type))
        })?;
        Ok(UpgradePath {
            source_offer_id: self.source_offer_id,
            target_offer_id: self.target_offer_id,
            upgrade_type,
        })
    }
}

/// The price per seat per month of `offer_id` in the customer's market on `plan`, in force on
/// `on`: the latest dated price that took effect by then; `None` when the price list has none.
/// (One row read through the customer's: on a cluster it runs on the customer's node, where the
/// price list is a reference table.)
pub async fn price_in_force(
    conn: &mut PgConnection,
    (customer_id, offer_id): (CustomerId, &str),
    plan: Plan,
    on: NaiveDate,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT p.monthly_unit_price_minor
           FROM customers c
           JOIN offer_plan_prices p ON p.market_code = c.market_code
          WHERE c.id = $1 AND p.offer_id = $2 AND p.term_duration = $3 AND p.billing_cycle = $4
            AND p.effective_from <= $5
          ORDER BY p.effective_from DESC LIMIT 1",
        customer_id.as_uuid(),
        offer_id,
        plan.term_duration.as_str(),
        plan.billing_cycle.as_str(),
        on
    )
    .fetch_optional(conn)
    .await
}

/// Every offer's price per seat per month in force on `on` on every plan, in the customer's
/// market (an upgrade of a new-commerce subscription prices its target with them).
pub async fn prices_in_force(
    conn: &mut PgConnection,
    customer_id: CustomerId,
    on: NaiveDate,
) -> Result<PlanPrices, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT DISTINCT ON (p.offer_id, p.term_duration, p.billing_cycle)
                  p.offer_id, p.term_duration AS "term_duration: TermDuration",
                  p.billing_cycle AS "billing_cycle: BillingCycle", p.monthly_unit_price_minor
             FROM customers c
             JOIN offer_plan_prices p ON p.market_code = c.market_code
            WHERE c.id = $1 AND p.effective_from <= $2
            ORDER BY p.offer_id, p.term_duration, p.billing_cycle, p.effective_from DESC"#,
        customer_id.as_uuid(),
        on
    )
    .fetch_all(conn)
    .await?;
    Ok(PlanPrices(
        rows.into_iter()
            .map(|r| {
                let plan = Plan::new(r.term_duration, r.billing_cycle);
                ((r.offer_id, plan), r.monthly_unit_price_minor)
            })
            .collect(),
    ))
}

/// Every price in force on `on` (for the catalog's answers), by offer, market and plan.
pub async fn plan_prices_on(pool: &PgPool, on: NaiveDate) -> Result<Vec<PlanPrice>, sqlx::Error> {
    sqlx::query_as!(
        PlanPrice,
        r#"SELECT DISTINCT ON (offer_id, market_code, term_duration, billing_cycle)
                  offer_id, market_code, term_duration AS "term_duration: TermDuration",
                  billing_cycle AS "billing_cycle: BillingCycle", effective_from,
                  monthly_unit_price_minor AS monthly_unit_price
             FROM offer_plan_prices
            WHERE effective_from <= $1
            ORDER BY offer_id, market_code, term_duration, billing_cycle, effective_from DESC"#,
        on
    )
    .fetch_all(pool)
    .await
}

/// Stores a price list in one transaction: a price listed again for the same day replaces the
/// earlier one, and the list's version goes up by one (so every instance's copy of the list is
/// read again). Answers how many prices were stored.
pub async fn store_price_list(pool: &PgPool, list: &PriceList) -> Result<u64, sqlx::Error> {
    let mut tx = super::begin(pool).await?;
    let mut stored = 0;
    for price in &list.prices {
        stored += sqlx::query!(
            "INSERT INTO offer_plan_prices (offer_id, market_code, term_duration, billing_cycle,
                                            effective_from, monthly_unit_price_minor)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (offer_id, market_code, term_duration, billing_cycle, effective_from)
             DO UPDATE SET monthly_unit_price_minor = EXCLUDED.monthly_unit_price_minor",
            price.offer_id,
            price.market,
            price.term_duration.as_str(),
            price.billing_cycle.as_str(),
            list.effective_from,
            price.monthly_unit_price
        )
        .execute(&mut *tx)
        .await?
        .rows_affected();
    }
    sqlx::query!("UPDATE price_list_version SET version = version + 1")
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(stored)
}

/// The whole dated price list and its version, read in one snapshot.
pub async fn price_list(pool: &PgPool) -> Result<(i64, Vec<ListedPrice>), sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT v.version, p.offer_id AS "offer_id?", p.market_code AS "market_code?",
                  p.term_duration AS "term_duration?: TermDuration",
                  p.billing_cycle AS "billing_cycle?: BillingCycle",
                  p.effective_from AS "effective_from?",
                  p.monthly_unit_price_minor AS "monthly_unit_price_minor?"
             FROM price_list_version v
             LEFT JOIN offer_plan_prices p ON true"#
    )
    .fetch_all(pool)
    .await?;
    let version = rows.first().map_or(0, |row| row.version);
    let prices = rows
        .into_iter()
        .filter_map(|row| {
            Some(ListedPrice {
                offer_id: row.offer_id?,
                market: row.market_code?,
                plan: Plan::new(row.term_duration?, row.billing_cycle?),
                effective_from: row.effective_from?,
                monthly_unit_price: row.monthly_unit_price_minor?,
            })
        })
        .collect();
    Ok((version, prices))
}
