//! The facts of an upgrade, loaded in one statement: the customer's market, its subscriptions of
//! every channel, the partner's admin rights, the source's add-ons and license holders. Loaded
//! for one source (the listing, the upgrade itself) or for every active subscription the partner
//! sold the customer (recommendations); both rows become facts through the same mapping.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::Utc;
use sqlx::PgConnection;

use super::super::{customer_not_found, subscription_not_found};
use crate::db;
use crate::db::facts::{CustomerFactsRow, FactsRow, Freshness, RightsRow};
use crate::db::licenses::{AssignmentRow, HolderRow};
use crate::db::subscriptions::SubscriptionFactsRow;
use crate::domain::Catalog;
use crate::domain::eligibility::{AdminRights, SubscriptionFacts, UpgradeFacts};
use crate::domain::plan::Commerce;
use crate::domain::reassignment::{self, LicenseHolder, OtherLicense};
use crate::domain::records::{RelationshipStatus, Subscription};
use crate::domain::subscription::{Channel, SubscriptionStatus};
use crate::domain::upgrade::{PlanPrices, SourceTerms, UpgradeCase};
use crate::domain::{PartnerId, SubscriptionId};
use crate::error::Error;

/// Everything the rules look at for one source subscription, loaded from the database.
pub(super) struct Facts {
    market: String,
    source: SubscriptionFacts,
    others: Vec<SubscriptionFacts>,
    /// The partner's own other subscriptions of the customer: their ids and places in `others`.
    own: Vec<(SubscriptionId, usize)>,
    /// Shared by the facts of each of a customer's sources.
    rights: Arc<[AdminRights]>,
    add_ons: usize,
    holders: Vec<LicenseHolder>,
    terms: SourceTerms,
    /// New commerce: what a new target costs (loaded only for a new-commerce source).
    prices: Arc<PlanPrices>,
}

impl Facts {
    /// Loads the facts of an upgrade of `source`, already found (and locked) for the partner.
    pub(super) async fn load(
        conn: &mut PgConnection,
        catalog: &Catalog,
        partner_id: PartnerId,
        source: &Subscription,
    ) -> Result<Self, Error> {
        let row = db::facts::facts(
            conn,
            Freshness::Locked,
            partner_id,
            (source.customer_id, source.id),
            |_| true,
        )
        .await?
        .ok_or_else(|| customer_not_found(source.customer_id))?;
        let prices = plan_prices(conn, [source]).await?;
        Ok(Facts::new(row, source, (partner_id, catalog))?.with_prices(prices))
    }

    /// The facts with the prices a new target is bought at.
    pub(super) fn with_prices(self, prices: Arc<PlanPrices>) -> Self {
        Facts { prices, ..self }
    }

    /// The facts of an upgrade of `source` from the one-subscription query.
    pub(super) fn new(
        row: FactsRow,
        source: &Subscription,
        (partner_id, catalog): (PartnerId, &Catalog),
    ) -> Result<Self, Error> {
        let customer = CustomerFacts {
            market: &row.market_code,
            subscriptions: &row.subscriptions,
            rights: admin_rights(row.rights),
            assignments: &row.assignments,
            catalog,
        };
        let holders = row
            .holders
            .into_iter()
            .map(|h| customer.holder(h, source.id))
            .collect();
        let rights = customer.rights;
        // The one source's facts take the rows' offer ids rather than copies.
        let split = split(row.subscriptions.into_iter(), source.id, partner_id);
        facts_of(
            (&row.market_code, rights),
            source,
            row.add_ons,
            holders,
            split,
        )
    }

    /// The facts of upgrading each active subscription the partner sold the customer, with the
    /// subscription as of today, in id order, from the customer-wide query.
    pub(super) fn for_customer(
        row: CustomerFactsRow,
        (partner_id, catalog): (PartnerId, &Catalog),
    ) -> Result<Vec<(Subscription, Self)>, Error> {
        let customer = CustomerFacts {
            market: &row.market_code,
            subscriptions: &row.subscriptions,
            rights: admin_rights(row.rights),
            assignments: &row.assignments,
            catalog,
        };
        let mut holders: BTreeMap<SubscriptionId, Vec<LicenseHolder>> = BTreeMap::new();
        for row in row.holders {
            let held = holders.entry(row.subscription_id).or_default();
            held.push(customer.holder(row.holder, row.subscription_id));
        }
        row.sources
            .into_iter()
            .map(|source| {
                let source = source.as_of(super::super::today());
                let add_ons = row.add_ons.get(&source.id).copied().unwrap_or(0);
                let held = holders.remove(&source.id).unwrap_or_default();
                let rows = row.subscriptions.iter().cloned();
                let split = split(rows, source.id, partner_id);
                let customer = (customer.market, Arc::clone(&customer.rights));
                let facts = facts_of(customer, &source, add_ons, held, split)?;
                Ok((source, facts))
            })
            .collect()
    }

    /// The partner's active subscription of `offer_id` for the customer, if it has one (the
    /// oldest by id when several).
    pub(super) fn own_active(
        &self,
        offer_id: &str,
    ) -> Option<(SubscriptionId, &SubscriptionFacts)> {
        self.own
            .iter()
            .map(|&(id, at)| (id, &self.others[at]))
            .find(|(_, s)| s.offer_id == offer_id && s.status == SubscriptionStatus::Active)
    }

    pub(super) fn case<'a>(&'a self, catalog: &'a Catalog) -> UpgradeCase<'a> {
        let now = Utc::now();
        UpgradeCase {
            facts: UpgradeFacts {
                catalog,
                market: &self.market,
                source: &self.source,
                others: &self.others,
                admin_rights: &self.rights,
                active_add_ons: self.add_ons,
                now,
            },
            terms: self.terms,
            prices: &self.prices,
            holders: &self.holders,
            today: super::super::today(),
        }
    }
}

/// What the rules read about the customer, the same whichever of its subscriptions is the
/// source: both queries' rows are mapped to the rules' facts here, and only here.
struct CustomerFacts<'r> {
    market: &'r str,
    subscriptions: &'r [SubscriptionFactsRow],
    rights: Arc<[AdminRights]>,
    /// Every license of the customer.
    assignments: &'r [AssignmentRow],
    catalog: &'r Catalog,
}

impl CustomerFacts<'_> {
    /// A holder of a license from `source_id`, with the services its other licenses give it:
    /// worked out here from the customer's licenses and the catalog, rather than joined per
    /// holder in the database.
    fn holder(&self, h: HolderRow, source_id: SubscriptionId) -> LicenseHolder {
        let elsewhere = self
            .assignments
            .iter()
            .filter(|a| a.user_id == h.user_id && a.subscription_id != source_id)
            .filter_map(|a| {
                let subscription = self
                    .subscriptions
                    .iter()
                    .find(|s| s.id == a.subscription_id)?;
                Some(OtherLicense {
                    offer: self.catalog.offer(&subscription.offer_id)?,
                    live: matches!(
                        subscription.status,
                        SubscriptionStatus::Active | SubscriptionStatus::Suspended
                    ),
                    disabled: &a.disabled_services,
                })
            });
        LicenseHolder {
            other_services: reassignment::services_elsewhere(elsewhere),
            user_id: h.user_id,
            display_name: h.display_name,
            email: h.email,
            assigned_at: h.assigned_at,
            disabled_services: h.disabled_services.into_iter().collect(),
        }
    }
}

/// The facts of an upgrade of `source` in the customer's market with the partner's rights, with
/// its active add-ons, license holders and the customer's subscriptions split around it.
fn facts_of(
    (market, rights): (&str, Arc<[AdminRights]>),
    source: &Subscription,
    add_ons: i64,
    holders: Vec<LicenseHolder>,
    split: Split,
) -> Result<Facts, Error> {
    let source_facts = split
        .source
        .ok_or_else(|| subscription_not_found(source.id))?;
    Ok(Facts {
        market: market.to_owned(),
        source: source_facts,
        others: split.others,
        own: split.own,
        rights,
        add_ons: usize::try_from(add_ons).map_err(Error::internal)?,
        holders,
        prices: Arc::default(),
        terms: SourceTerms {
            commerce: source.commerce,
            term_duration: source.term_duration,
            unit_price: source.unit_price,
            cycle: source.billing_cycle,
            term_start: source.term_start,
            term_end: source.term_end,
            period_start: source.current_period_start,
            period_end: source.current_period_end,
        },
    })
}

/// The prices in force today when one of `sources` is a new-commerce subscription (one query);
/// none otherwise, so a legacy customer's reads cost nothing more.
pub(super) async fn plan_prices<'s>(
    conn: &mut PgConnection,
    sources: impl IntoIterator<Item = &'s Subscription>,
) -> Result<Arc<PlanPrices>, Error> {
    let mut sources = sources.into_iter();
    match sources.find(|s| s.commerce == Commerce::New) {
        Some(source) => {
            let today = super::super::today();
            let prices = db::catalog::prices_in_force(conn, source.customer_id, today).await?;
            Ok(Arc::new(prices))
        }
        None => Ok(Arc::default()),
    }
}

fn admin_rights(rows: Vec<RightsRow>) -> Arc<[AdminRights]> {
    rows.into_iter()
        .map(|r| AdminRights {
            active: r.status == RelationshipStatus::Active,
            starts_at: r.starts_at,
            ends_at: r.ends_at,
            services: (!r.all_services).then(|| r.services.into_iter().collect()),
        })
        .collect()
}

/// The customer's subscriptions as the rules see them: the source, the others, and which of the
/// others the partner sold.
struct Split {
    source: Option<SubscriptionFacts>,
    others: Vec<SubscriptionFacts>,
    own: Vec<(SubscriptionId, usize)>,
}

fn split(
    rows: impl ExactSizeIterator<Item = SubscriptionFactsRow>,
    source_id: SubscriptionId,
    partner_id: PartnerId,
) -> Split {
    let mut split = Split {
        source: None,
        others: Vec::with_capacity(rows.len()),
        own: Vec::new(),
    };
    for row in rows {
        let facts = SubscriptionFacts {
            status: row.status,
            channel: row.channel,
            quantity: i64::from(row.quantity),
            offer_id: row.offer_id,
        };
        if row.id == source_id {
            split.source = Some(facts);
            continue;
        }
        if row.channel == Channel::Partner && row.partner_id == Some(partner_id) {
            split.own.push((row.id, split.others.len()));
        }
        split.others.push(facts);
    }
    split
}
