//! The catalog (docs/catalog.md): offers, the services they include, where they are sold and
//! at what price, and the upgrade matrix. Loaded from Postgres; the rules only ever see this model,
//! so a test can build any catalog it likes.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

mod lists;

pub(crate) use lists::named_schema;
pub use lists::{
    ADD_ON_OFFER_IDS, AddOnOfferId, BASE_OFFER_IDS, BaseOfferId, MARKET_CODES, MarketCode, OfferId,
    SERVICE_CODES, ServiceCode, string_enum,
};

/// A market a customer belongs to, with the currency its prices and bills are in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Market {
    pub code: String,
    pub name: String,
    pub currency: String,
    /// Digits after the decimal point of the currency (2 for cents).
    pub currency_minor_units: u8,
}

/// Whether an offer is bought on its own or attached to a base subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OfferKind {
    Base,
    AddOn,
}

impl OfferKind {
    /// The wire and database name.
    pub fn as_str(self) -> &'static str {
        match self {
            OfferKind::Base => "base",
            OfferKind::AddOn => "add_on",
        }
    }

    /// Parses the database name; `None` for anything else.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "base" => Some(OfferKind::Base),
            "add_on" => Some(OfferKind::AddOn),
            _ => None,
        }
    }
}

/// What happens to the users' licenses when a path is taken (the article's two kinds of upgrade).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UpgradeType {
    /// Users are moved to the new subscription automatically.
    UpgradeWithLicenseTransfer,
    /// A new subscription is created; the partner reassigns users by hand.
    UpgradeOnly,
}

impl UpgradeType {
    /// The wire and database name.
    pub fn as_str(self) -> &'static str {
        match self {
            UpgradeType::UpgradeWithLicenseTransfer => "upgrade_with_license_transfer",
            UpgradeType::UpgradeOnly => "upgrade_only",
        }
    }

    /// Parses the database name; `None` for anything else.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "upgrade_with_license_transfer" => Some(UpgradeType::UpgradeWithLicenseTransfer),
            "upgrade_only" => Some(UpgradeType::UpgradeOnly),
            _ => None,
        }
    }
}

/// A group of offers sharing one per-customer seat cap (the Microsoft 365 Business plans).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferFamily {
    pub id: String,
    pub name: String,
    pub seat_cap: Option<u32>,
}

/// A product SKU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    pub id: String,
    pub name: String,
    pub kind: OfferKind,
    pub family_id: Option<String>,
    /// Largest quantity of one subscription; `None` when uncapped.
    pub seat_cap: Option<u32>,
    pub services: BTreeSet<String>,
    /// Price per seat per month in minor units, by market code; an offer is sold exactly where it
    /// has a price.
    pub monthly_prices: BTreeMap<String, i64>,
    /// For an add-on, the base offers it may be attached to.
    pub attaches_to: BTreeSet<String>,
}

impl Offer {
    /// Whether the offer is sold in the market.
    pub fn is_sold_in(&self, market: &str) -> bool {
        self.monthly_prices.contains_key(market)
    }

    /// Price per seat per month in the market, in minor units.
    pub fn monthly_price_in(&self, market: &str) -> Option<i64> {
        self.monthly_prices.get(market).copied()
    }

    /// Whether `quantity` seats fit this offer's own cap.
    pub fn fits_seat_cap(&self, quantity: u32) -> bool {
        self.seat_cap.is_none_or(|cap| quantity <= cap)
    }
}

/// One row of the article's matrix: `source` may be upgraded to `target`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpgradePath {
    pub source_offer_id: String,
    pub target_offer_id: String,
    pub upgrade_type: UpgradeType,
}

/// A catalog that refers to something it does not contain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogError {
    #[error("offer {offer} is priced in unknown market {market}")]
    UnknownMarket { offer: String, market: String },
    #[error("offer {offer} belongs to unknown family {family}")]
    UnknownFamily { offer: String, family: String },
    #[error("upgrade path {source_offer} -> {target} names an unknown offer")]
    UnknownPathOffer {
        source_offer: String,
        target: String,
    },
    #[error("upgrade path {source_offer} -> {target} involves an add-on")]
    PathInvolvesAddOn {
        source_offer: String,
        target: String,
    },
    #[error("add-on {add_on} attaches to {base}, which is not a base offer")]
    AddOnBaseNotBase { add_on: String, base: String },
}

/// The services of one offer as bits over the catalog's service codes (bit *i* of word *i / 64*
/// is the *i*-th code in code order), so that the rules compare offers' services without
/// comparing strings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceSet(Box<[u64]>);

impl ServiceSet {
    /// Word `w` of the set (0 past its end).
    pub fn word(&self, w: usize) -> u64 {
        self.0.get(w).copied().unwrap_or(0)
    }

    /// How many words the catalog's sets have.
    pub fn words(&self) -> usize {
        self.0.len()
    }
}

/// The whole catalog, in display order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Catalog {
    markets: Vec<Market>,
    families: Vec<OfferFamily>,
    offers: Vec<Offer>,
    paths: Vec<UpgradePath>,
    /// Every service code any offer includes, in code order: the bits of a [`ServiceSet`].
    service_codes: Vec<String>,
    /// Each offer's services, in the order of `offers`.
    service_sets: Vec<ServiceSet>,
}

impl Catalog {
    /// Builds a catalog and checks that everything it refers to is in it.
    pub fn new(
        markets: Vec<Market>,
        families: Vec<OfferFamily>,
        offers: Vec<Offer>,
        paths: Vec<UpgradePath>,
    ) -> Result<Self, CatalogError> {
        let service_codes: Vec<String> = offers
            .iter()
            .flat_map(|o| o.services.iter().cloned())
            .collect::<BTreeSet<String>>()
            .into_iter()
            .collect();
        let words = service_codes.len().div_ceil(64);
        let service_sets = offers
            .iter()
            .map(|offer| {
                let mut bits = vec![0u64; words];
                for service in &offer.services {
                    if let Ok(i) = service_codes.binary_search(service) {
                        bits[i / 64] |= 1 << (i % 64);
                    }
                }
                ServiceSet(bits.into_boxed_slice())
            })
            .collect();
        let catalog = Catalog {
            markets,
            families,
            offers,
            paths,
            service_codes,
            service_sets,
        };
        catalog.check_references()?;
        Ok(catalog)
    }

    fn check_references(&self) -> Result<(), CatalogError> {
        for offer in &self.offers {
            if let Some(market) = offer
                .monthly_prices
                .keys()
                .find(|m| self.market(m).is_none())
            {
                return Err(CatalogError::UnknownMarket {
                    offer: offer.id.clone(),
                    market: market.clone(),
                });
            }
            if let Some(family) = offer
                .family_id
                .as_ref()
                .filter(|f| self.family(f).is_none())
            {
                return Err(CatalogError::UnknownFamily {
                    offer: offer.id.clone(),
                    family: family.clone(),
                });
            }
            for base in &offer.attaches_to {
                if self.offer(base).is_none_or(|b| b.kind != OfferKind::Base) {
                    return Err(CatalogError::AddOnBaseNotBase {
                        add_on: offer.id.clone(),
                        base: base.clone(),
                    });
                }
            }
        }
        for path in &self.paths {
            let (source, target) = (&path.source_offer_id, &path.target_offer_id);
            let ends = (self.offer(source), self.offer(target));
            let (Some(s), Some(t)) = ends else {
                return Err(CatalogError::UnknownPathOffer {
                    source_offer: source.clone(),
                    target: target.clone(),
                });
            };
            if s.kind == OfferKind::AddOn || t.kind == OfferKind::AddOn {
                return Err(CatalogError::PathInvolvesAddOn {
                    source_offer: source.clone(),
                    target: target.clone(),
                });
            }
        }
        Ok(())
    }

    /// Every market, in code order.
    pub fn markets(&self) -> &[Market] {
        &self.markets
    }

    /// The market with this code.
    pub fn market(&self, code: &str) -> Option<&Market> {
        self.markets.iter().find(|m| m.code == code)
    }

    /// The family with this id.
    pub fn family(&self, id: &str) -> Option<&OfferFamily> {
        self.families.iter().find(|f| f.id == id)
    }

    /// Every service code any offer includes.
    pub fn service_codes(&self) -> BTreeSet<&str> {
        self.service_codes.iter().map(String::as_str).collect()
    }

    /// The services of the offer with this id, as bits.
    pub fn service_set(&self, offer_id: &str) -> Option<&ServiceSet> {
        let at = self.offers.iter().position(|o| o.id == offer_id)?;
        self.service_sets.get(at)
    }

    /// The service codes of the bits set in `words`, in code order.
    pub fn service_names<'a>(&'a self, words: &'a [u64]) -> impl Iterator<Item = &'a str> {
        self.service_codes
            .iter()
            .enumerate()
            .filter(move |(i, _)| words.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0))
            .map(|(_, code)| code.as_str())
    }

    /// Every offer, in display order.
    pub fn offers(&self) -> &[Offer] {
        &self.offers
    }

    /// The offer with this id.
    pub fn offer(&self, id: &str) -> Option<&Offer> {
        self.offers.iter().find(|o| o.id == id)
    }

    /// Every upgrade path, in the matrix's order.
    pub fn paths(&self) -> &[UpgradePath] {
        &self.paths
    }

    /// The paths out of `source`, in the matrix's order.
    pub fn paths_from<'a>(&'a self, source: &'a str) -> impl Iterator<Item = &'a UpgradePath> {
        self.paths
            .iter()
            .filter(move |p| p.source_offer_id == source)
    }

    /// The path from `source` to `target`, if the matrix has one.
    pub fn path(&self, source: &str, target: &str) -> Option<&UpgradePath> {
        self.paths
            .iter()
            .find(|p| p.source_offer_id == source && p.target_offer_id == target)
    }

    /// Markets where a customer can take `path`: both its source and its target are sold there.
    pub fn path_markets(&self, path: &UpgradePath) -> Vec<&str> {
        let sold = |id: &str, market: &str| self.offer(id).is_some_and(|o| o.is_sold_in(market));
        self.markets
            .iter()
            .map(|m| m.code.as_str())
            .filter(|m| sold(&path.source_offer_id, m) && sold(&path.target_offer_id, m))
            .collect()
    }
}

#[cfg(test)]
mod tests;
