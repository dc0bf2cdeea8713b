//! `GET /v1/offers`, `GET /v1/offers/{offerId}`, `GET /v1/upgrade-paths`: the catalog, read-only.

use axum::extract::State;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::caller::Caller;
use super::extract::{DateField, Json, Path, Query};
use super::openapi::rules::{BaseOfferId, MarketCode, OfferId, ServiceCode};
use super::pagination::{Page, PageRequest, Paging};
use super::problem::{AuthProblems, Problem};
use crate::domain::plan::{BillingCycle, PlanPrice, TermDuration};
use crate::domain::{Catalog, ErrorCode, Offer, OfferKind, Operation, UpgradePath, UpgradeType};
use crate::error::Error;

/// The catalog routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_offers))
        .routes(routes!(get_offer))
        .routes(routes!(list_upgrade_paths))
}

/// An offer (product SKU).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OfferView {
    /// Stable slug, e.g. `m365-business-basic`.
    #[schema(value_type = OfferId)]
    id: String,
    name: String,
    kind: OfferKind,
    /// The family whose seat cap this offer shares, if any.
    family_id: Option<String>,
    /// Most seats one subscription may have; `null` when uncapped.
    seat_cap: Option<u32>,
    /// Most seats a customer may hold across the family's subscriptions; `null` when uncapped.
    family_seat_cap: Option<u32>,
    /// Service codes the offer includes.
    #[schema(value_type = Vec<ServiceCode>)]
    services: Vec<String>,
    /// Where the offer is sold, and at what price.
    prices: Vec<PriceView>,
    /// For an add-on: the base offers it may be attached to.
    #[schema(value_type = Vec<BaseOfferId>)]
    attaches_to: Vec<String>,
    /// Offers this one can be upgraded to (before market and customer rules).
    #[schema(value_type = Vec<BaseOfferId>)]
    upgrade_targets: Vec<String>,
}

/// The price of an offer in one market.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PriceView {
    #[schema(value_type = MarketCode)]
    market: String,
    /// ISO 4217 code.
    currency: String,
    /// Price per seat per month in minor units of the currency (cents, paise): the catalog's
    /// price, which legacy subscriptions are billed at.
    monthly_unit_price: i64,
    /// New commerce: each plan sold here and its price per seat per month in force on the day
    /// asked for (`date`, today by default), with the day that price took effect.
    plans: Vec<PlanPriceView>,
}

/// An offer's price on one plan in one market, in force on the day asked for.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlanPriceView {
    term_duration: TermDuration,
    billing_cycle: BillingCycle,
    /// Price per seat per month in minor units of the currency.
    monthly_unit_price: i64,
    effective_from: NaiveDate,
}

/// One path of the upgrade matrix.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpgradePathView {
    #[schema(value_type = BaseOfferId)]
    source_offer_id: String,
    source_offer_name: String,
    #[schema(value_type = BaseOfferId)]
    target_offer_id: String,
    target_offer_name: String,
    upgrade_type: UpgradeType,
    /// Markets where a customer can take this path (both offers are sold there).
    #[schema(value_type = Vec<MarketCode>)]
    markets: Vec<String>,
}

/// Filters and paging for the offer list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OfferListQuery {
    /// Only offers sold in this market.
    #[param(value_type = Option<MarketCode>)]
    market: Option<String>,
    /// The day whose new-commerce prices are shown (`YYYY-MM-DD`); today when absent.
    #[param(value_type = Option<String>, format = Date)]
    date: Option<DateField>,
    /// Items per page, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200, default = 50)]
    limit: Option<u32>,
    /// The token from the previous page.
    continuation_token: Option<String>,
}

/// The day whose prices one offer is shown with.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OfferQuery {
    /// The day whose new-commerce prices are shown (`YYYY-MM-DD`); today when absent.
    #[param(value_type = Option<String>, format = Date)]
    date: Option<DateField>,
}

/// Filters and paging for the upgrade matrix.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UpgradePathListQuery {
    /// Only paths out of this offer.
    #[param(value_type = Option<OfferId>)]
    source_offer_id: Option<String>,
    /// Only paths a customer in this market can take.
    #[param(value_type = Option<MarketCode>)]
    market: Option<String>,
    /// Items per page, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200, default = 50)]
    limit: Option<u32>,
    /// The token from the previous page.
    continuation_token: Option<String>,
}

impl Paging for OfferListQuery {
    fn limit(&self) -> Option<u32> {
        self.limit
    }

    fn continuation_token(&self) -> Option<&str> {
        self.continuation_token.as_deref()
    }
}

impl Paging for UpgradePathListQuery {
    fn limit(&self) -> Option<u32> {
        self.limit
    }

    fn continuation_token(&self) -> Option<&str> {
        self.continuation_token.as_deref()
    }
}

/// Lists the offers, in catalog order.
#[utoipa::path(
    get,
    path = "/v1/offers",
    tag = "catalog",
    security(("bearer" = [])),
    params(OfferListQuery),
    responses(
        (status = 200, description = "A page of offers", body = Page<OfferView>),
        (status = 400, description = "Unknown market, bad date, limit or token", body = Problem, content_type = "application/problem+json"),
        AuthProblems,
    )
)]
async fn list_offers(
    State(state): State<AppState>,
    caller: Caller,
    PageRequest { query }: PageRequest<OfferListQuery>,
) -> Result<Json<Page<OfferView>>, Error> {
    caller.require(Operation::ReadCatalog)?;
    let page = query.bounds()?;
    let catalog = state.catalog();
    let market = known_market(&catalog, query.market.as_deref())?;
    let plans = plans_on(&state, query.date.as_ref()).await?;
    let offers = catalog
        .offers()
        .iter()
        .filter(|o| market.is_none_or(|m| o.is_sold_in(m)))
        .map(|o| offer_view(&catalog, o, &plans))
        .collect();
    Ok(Json(page.apply(offers, |o: &OfferView| o.id.clone())?))
}

/// One offer.
#[utoipa::path(
    get,
    path = "/v1/offers/{offerId}",
    tag = "catalog",
    security(("bearer" = [])),
    params(("offerId" = OfferId, Path, description = "Offer slug"), OfferQuery),
    responses(
        (status = 200, description = "The offer", body = OfferView),
        (status = 400, description = "Bad date", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such offer", body = Problem, content_type = "application/problem+json"),
        AuthProblems,
    )
)]
async fn get_offer(
    State(state): State<AppState>,
    caller: Caller,
    Path(offer_id): Path<String>,
    Query(query): Query<OfferQuery>,
) -> Result<Json<OfferView>, Error> {
    caller.require(Operation::ReadCatalog)?;
    let catalog = state.catalog();
    let offer = catalog.offer(&offer_id).ok_or_else(|| {
        Error::new(
            ErrorCode::OfferNotFound,
            format!("No offer has id {offer_id:?}."),
        )
    })?;
    let plans = plans_on(&state, query.date.as_ref()).await?;
    Ok(Json(offer_view(&catalog, offer, &plans)))
}

/// The new-commerce prices in force on `date` (today when absent).
async fn plans_on(state: &AppState, date: Option<&DateField>) -> Result<Vec<PlanPrice>, Error> {
    let on = match date {
        Some(date) => date.date("date")?,
        None => crate::service::today(),
    };
    state.app().prices_in_force(on).await
}

/// Lists the upgrade matrix, in catalog order of source then target.
#[utoipa::path(
    get,
    path = "/v1/upgrade-paths",
    tag = "catalog",
    security(("bearer" = [])),
    params(UpgradePathListQuery),
    responses(
        (status = 200, description = "A page of upgrade paths", body = Page<UpgradePathView>),
        (status = 400, description = "Unknown market or offer, bad limit or token", body = Problem, content_type = "application/problem+json"),
        AuthProblems,
    )
)]
async fn list_upgrade_paths(
    State(state): State<AppState>,
    caller: Caller,
    PageRequest { query }: PageRequest<UpgradePathListQuery>,
) -> Result<Json<Page<UpgradePathView>>, Error> {
    caller.require(Operation::ReadCatalog)?;
    let page = query.bounds()?;
    let catalog = state.catalog();
    let market = known_market(&catalog, query.market.as_deref())?;
    let source = known_source(&catalog, query.source_offer_id.as_deref())?;
    let paths = catalog
        .paths()
        .iter()
        .filter(|p| source.is_none_or(|s| p.source_offer_id == s))
        .map(|p| path_view(&catalog, p))
        .filter(|v| market.is_none_or(|m| v.markets.iter().any(|x| x == m)))
        .collect();
    let key = |v: &UpgradePathView| format!("{}>{}", v.source_offer_id, v.target_offer_id);
    Ok(Json(page.apply(paths, key)?))
}

fn known_market<'a>(catalog: &Catalog, market: Option<&'a str>) -> Result<Option<&'a str>, Error> {
    match market {
        Some(code) if catalog.market(code).is_none() => {
            let known: Vec<_> = catalog.markets().iter().map(|m| m.code.as_str()).collect();
            Err(Error::new(
                ErrorCode::UnknownMarket,
                format!("market {code:?} is not one of {}", known.join(", ")),
            ))
        }
        other => Ok(other),
    }
}

fn known_source<'a>(catalog: &Catalog, source: Option<&'a str>) -> Result<Option<&'a str>, Error> {
    match source {
        Some(id) if catalog.offer(id).is_none() => Err(Error::new(
            ErrorCode::UnknownOffer,
            format!("sourceOfferId {id:?} is not an offer in the catalog"),
        )),
        other => Ok(other),
    }
}

fn offer_view(catalog: &Catalog, offer: &Offer, plans: &[PlanPrice]) -> OfferView {
    let prices = offer
        .monthly_prices
        .iter()
        .filter_map(|(code, &amount)| {
            let market = catalog.market(code)?;
            let plans = plans
                .iter()
                .filter(|p| p.offer_id == offer.id && &p.market_code == code)
                .map(|p| PlanPriceView {
                    term_duration: p.term_duration,
                    billing_cycle: p.billing_cycle,
                    monthly_unit_price: p.monthly_unit_price,
                    effective_from: p.effective_from,
                })
                .collect();
            Some(PriceView {
                market: code.clone(),
                currency: market.currency.clone(),
                monthly_unit_price: amount,
                plans,
            })
        })
        .collect();
    OfferView {
        id: offer.id.clone(),
        name: offer.name.clone(),
        kind: offer.kind,
        family_id: offer.family_id.clone(),
        seat_cap: offer.seat_cap,
        family_seat_cap: offer
            .family_id
            .as_deref()
            .and_then(|f| catalog.family(f))
            .and_then(|f| f.seat_cap),
        services: offer.services.iter().cloned().collect(),
        prices,
        attaches_to: offer.attaches_to.iter().cloned().collect(),
        upgrade_targets: catalog
            .paths_from(&offer.id)
            .map(|p| p.target_offer_id.clone())
            .collect(),
    }
}

fn path_view(catalog: &Catalog, path: &UpgradePath) -> UpgradePathView {
    let name = |id: &str| {
        catalog
            .offer(id)
            .map(|o| o.name.clone())
            .unwrap_or_default()
    };
    UpgradePathView {
        source_offer_id: path.source_offer_id.clone(),
        source_offer_name: name(&path.source_offer_id),
        target_offer_id: path.target_offer_id.clone(),
        target_offer_name: name(&path.target_offer_id),
        upgrade_type: path.upgrade_type,
        markets: catalog
            .path_markets(path)
            .into_iter()
            .map(str::to_owned)
            .collect(),
    }
}
