//! One upgrade, evaluated: eligibility, the license plan and the bill together, so that the
//! listing, the dry run and the real upgrade all give the same answer from the same facts.

use chrono::NaiveDate;

use super::billing::{self, Billing, Proration};
use super::catalog::UpgradeType;
use super::eligibility::{self, Failure, UpgradeFacts};
use super::reassignment::{self, LicenseHolder, ReassignmentPlan};
use super::subscription::BillingCycle;

/// The source's billing terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceTerms {
    pub cycle: BillingCycle,
    pub term_start: NaiveDate,
    pub term_end: NaiveDate,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
}

/// Everything known about one source subscription.
#[derive(Debug, Clone)]
pub struct UpgradeCase<'a> {
    pub facts: UpgradeFacts<'a>,
    pub terms: SourceTerms,
    pub holders: &'a [LicenseHolder],
    pub today: NaiveDate,
}

/// One target, evaluated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    pub target_offer_id: String,
    /// `None` when the target is not in the catalog.
    pub target_offer_name: Option<String>,
    /// `None` when the target is not one of the source's paths.
    pub upgrade_type: Option<UpgradeType>,
    pub quantity: i64,
    /// Every failing condition; empty when the upgrade may go ahead.
    pub failures: Vec<Failure>,
    /// `None` when either offer has no price in the customer's market.
    pub billing: Option<Billing>,
    /// `None` when the target is not one of the source's paths.
    pub reassignment: Option<ReassignmentPlan>,
}

impl Evaluation {
    /// Whether the upgrade may go ahead.
    pub fn eligible(&self) -> bool {
        self.failures.is_empty()
    }

    /// The upgrade to perform when it may go ahead; otherwise every failing condition. An
    /// eligible target is on one of the source's paths (`target_offer_not_allowed` says so
    /// otherwise), so it has a type and a license plan.
    pub fn into_eligible(self) -> Result<EligibleUpgrade, Vec<Failure>> {
        match (
            self.failures.is_empty(),
            self.upgrade_type,
            self.reassignment,
        ) {
            (true, Some(upgrade_type), Some(plan)) => Ok(EligibleUpgrade {
                target_offer_id: self.target_offer_id,
                upgrade_type,
                quantity: self.quantity,
                billing: self.billing,
                plan,
            }),
            _ => Err(self.failures),
        }
    }
}

/// An upgrade every condition allows, with what performing it involves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EligibleUpgrade {
    pub target_offer_id: String,
    pub upgrade_type: UpgradeType,
    pub quantity: i64,
    /// `None` when either offer has no price in the customer's market.
    pub billing: Option<Billing>,
    /// Whose licenses move, and who must be reassigned by hand.
    pub plan: ReassignmentPlan,
}

/// Evaluates upgrading the case's source to `target_offer_id` with `quantity` seats.
pub fn evaluate(case: &UpgradeCase<'_>, target_offer_id: &str, quantity: i64) -> Evaluation {
    let facts = &case.facts;
    let catalog = facts.catalog;
    let failures = eligibility::check(facts, target_offer_id, quantity);
    let source = catalog.offer(&facts.source.offer_id);
    let target = catalog.offer(target_offer_id);
    let path = catalog.path(&facts.source.offer_id, target_offer_id);
    let reassignment = match (source, target, path) {
        (Some(source), Some(target), Some(path)) => Some(reassignment::plan(
            source,
            target,
            path.upgrade_type,
            quantity,
            case.holders,
        )),
        _ => None,
    };
    let billing = source.zip(target).and_then(|(source, target)| {
        let market = catalog.market(facts.market)?;
        Some(billing::prorate(&Proration {
            currency: market.currency.clone(),
            cycle: case.terms.cycle,
            term_start: case.terms.term_start,
            period_start: case.terms.period_start,
            period_end: case.terms.period_end,
            source_quantity: facts.source.quantity,
            source_monthly_unit_price: source.monthly_price_in(facts.market)?,
            target_quantity: quantity.max(0),
            target_monthly_unit_price: target.monthly_price_in(facts.market)?,
            today: case.today,
        }))
    });
    Evaluation {
        target_offer_id: target_offer_id.to_owned(),
        target_offer_name: target.map(|t| t.name.clone()),
        upgrade_type: path.map(|p| p.upgrade_type),
        quantity,
        failures,
        billing,
        reassignment,
    }
}

/// Evaluates every target of the source's upgrade paths, in the catalog's order, keeping the
/// source's quantity.
pub fn evaluate_all(case: &UpgradeCase<'_>) -> Vec<Evaluation> {
    let source = &case.facts.source;
    case.facts
        .catalog
        .paths_from(&source.offer_id)
        .map(|path| evaluate(case, &path.target_offer_id, source.quantity))
        .collect()
}

#[cfg(test)]
mod tests;
