//! One upgrade, evaluated: eligibility, the license plan and the bill together, so that the
//! listing, the dry run and the real upgrade all give the same answer from the same facts.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;

use super::billing::{self, Billing, Proration};
use super::catalog::Offer;
use super::catalog::UpgradeType;
use super::commerce::{self, Term};
use super::eligibility::{self, Failure, FailureCode, SubscriptionFacts, UpgradeFacts};
use super::partial::{self, ExistingTarget, PartialRefusal, PartialRequest, PartialSeats};
use super::plan::{BillingCycle, Commerce, Plan, TermDuration};
use super::reassignment::{self, AccountToReassign, LicenseHolder, ReassignmentPlan};

/// The source's billing terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceTerms {
    pub commerce: Commerce,
    pub term_duration: TermDuration,
    /// New commerce: the price per seat per month locked for the source's term.
    pub unit_price: Option<i64>,
    pub cycle: BillingCycle,
    pub term_start: NaiveDate,
    pub term_end: NaiveDate,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
}

impl SourceTerms {
    /// The source's plan.
    pub fn plan(&self) -> Plan {
        Plan::new(self.term_duration, self.cycle)
    }
}

/// New commerce: the price per seat per month in force today of each offer on each plan, in the
/// customer's market (empty for legacy sources, which bill at the catalog's price).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanPrices(pub BTreeMap<(String, Plan), i64>);

impl PlanPrices {
    /// The price of `offer_id` on `plan`.
    pub fn get(&self, offer_id: &str, plan: Plan) -> Option<i64> {
        self.0.get(&(offer_id.to_owned(), plan)).copied()
    }
}

/// Everything known about one source subscription.
#[derive(Debug, Clone)]
pub struct UpgradeCase<'a> {
    pub facts: UpgradeFacts<'a>,
    pub terms: SourceTerms,
    /// New commerce: the prices a new target is bought at.
    pub prices: &'a PlanPrices,
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
    /// The seats of both subscriptions after a partial upgrade; `None` for a whole one.
    pub partial: Option<PartialSeats>,
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
                partial: self.partial,
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
    /// The seats of both subscriptions after a partial upgrade; `None` for a whole one.
    pub partial: Option<PartialSeats>,
}

/// Evaluates upgrading the case's source to `target_offer_id` with `quantity` seats.
pub fn evaluate(case: &UpgradeCase<'_>, target_offer_id: &str, quantity: i64) -> Evaluation {
    let failures = eligibility::check(&case.facts, target_offer_id, quantity);
    evaluated(case, target_offer_id, quantity, failures)
}

/// `evaluate(case, target_offer_id, quantity).into_eligible()`, without working out the license
/// plan and the bill of an upgrade its conditions refuse: for the recommendations, which show only
/// the failing conditions of a blocked target.
pub fn evaluate_eligible(
    case: &UpgradeCase<'_>,
    target_offer_id: &str,
    quantity: i64,
) -> Result<EligibleUpgrade, Vec<Failure>> {
    let failures = eligibility::check(&case.facts, target_offer_id, quantity);
    if !failures.is_empty() {
        return Err(failures);
    }
    evaluated(case, target_offer_id, quantity, failures).into_eligible()
}

/// The evaluation of the upgrade to `target_offer_id` whose conditions gave `failures`.
fn evaluated(
    case: &UpgradeCase<'_>,
    target_offer_id: &str,
    quantity: i64,
    failures: Vec<Failure>,
) -> Evaluation {
    let facts = &case.facts;
    let catalog = facts.catalog;
    let offers = offers(case, target_offer_id);
    let reassignment = offers.map(|(source, target, upgrade_type)| {
        reassignment::plan(source, target, upgrade_type, quantity, case.holders)
    });
    let target = catalog.offer(target_offer_id);
    Evaluation {
        target_offer_id: target_offer_id.to_owned(),
        target_offer_name: target.map(|t| t.name.clone()),
        upgrade_type: offers.map(|(_, _, upgrade_type)| upgrade_type),
        quantity,
        failures,
        billing: bill(
            case,
            (target_offer_id, None),
            (facts.source.quantity, quantity.max(0)),
        ),
        reassignment,
        partial: None,
    }
}

/// Evaluates moving `request.quantity` seats of the case's source to `target_offer_id`, a new
/// subscription or the existing one `request.into` names (the rules of `domain::partial`). A
/// refused request is an error; failing conditions are the evaluation's `failures`.
pub fn evaluate_partial(
    case: &UpgradeCase<'_>,
    target_offer_id: &str,
    request: &PartialRequest<'_>,
) -> Result<Evaluation, PartialRefusal> {
    let facts = &case.facts;
    let seats = partial::check_request(facts.source, target_offer_id, case.holders, request)?;
    let failures = partial_failures(case, target_offer_id, request, &seats);
    let offers = offers(case, target_offer_id);
    let reassignment = partial_plan(case, offers, request, &seats);
    if let (true, Some(plan)) = (failures.is_empty(), &reassignment) {
        partial::check_source_seats(&seats, case.holders.len(), plan.transfers.len())?;
    }
    let moved = seats.seats_moved;
    Ok(Evaluation {
        target_offer_id: target_offer_id.to_owned(),
        target_offer_name: facts.catalog.offer(target_offer_id).map(|t| t.name.clone()),
        upgrade_type: offers.map(|(_, _, upgrade_type)| upgrade_type),
        quantity: moved,
        failures,
        billing: bill(
            case,
            (target_offer_id, request.into.and_then(|t| t.unit_price)),
            (moved, moved),
        ),
        reassignment,
        partial: Some(seats),
    })
}

/// The failing conditions of a partial upgrade: every eligibility condition on the customer's
/// subscriptions as they would be after it (`others_after`), and a new-commerce source's checks
/// of the existing target's term.
fn partial_failures(
    case: &UpgradeCase<'_>,
    target_offer_id: &str,
    request: &PartialRequest<'_>,
    seats: &PartialSeats,
) -> Vec<Failure> {
    let others = others_after(&case.facts, request.into, seats);
    let after = UpgradeFacts {
        others: &others,
        ..case.facts.clone()
    };
    let mut failures = eligibility::check(&after, target_offer_id, seats.target_quantity);
    if case.terms.commerce == Commerce::New
        && let Some(target_term) = request.into.and_then(|t| t.term)
    {
        let source_term = Term {
            duration: case.terms.term_duration,
            end: case.terms.term_end,
        };
        failures.extend(commerce::existing_target_failures(source_term, target_term));
    }
    failures
}

/// Whose licenses a partial upgrade moves, when the target is one of the paths.
fn partial_plan(
    case: &UpgradeCase<'_>,
    offers: Option<(&Offer, &Offer, UpgradeType)>,
    request: &PartialRequest<'_>,
    seats: &PartialSeats,
) -> Option<ReassignmentPlan> {
    let no_one = BTreeSet::new();
    let on_target = request.into.map_or(&no_one, |t| &t.licensed_users);
    offers.map(|(source, target, upgrade_type)| {
        let can_move = partial::can_move((source, target), upgrade_type, on_target);
        let movers = partial::movers(case.holders, request.users, seats.seats_moved, can_move);
        reassignment::plan_movers(source, target, upgrade_type, &movers, on_target)
    })
}

/// A move down a matrix path at the renewal (new commerce) that every condition allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Downgrade {
    pub target_offer_id: String,
    pub quantity: i64,
    /// The users who lose a service; every license stays on the subscription.
    pub accounts: Vec<AccountToReassign>,
}

/// Evaluates moving the case's source down to `target_offer_id` with `quantity` seats at its
/// renewal: every failing condition (`eligibility::check_downgrade`), or the move with the users
/// who lose services (`reassignment::services_lost`).
pub fn evaluate_downgrade(
    case: &UpgradeCase<'_>,
    target_offer_id: &str,
    quantity: i64,
) -> Result<Downgrade, Vec<Failure>> {
    let facts = &case.facts;
    let failures = eligibility::check_downgrade(facts, target_offer_id, quantity);
    let offers = (
        facts.catalog.offer(&facts.source.offer_id),
        facts.catalog.offer(target_offer_id),
    );
    match (failures.is_empty(), offers) {
        (true, (Some(source), Some(target))) => Ok(Downgrade {
            target_offer_id: target_offer_id.to_owned(),
            quantity,
            accounts: reassignment::services_lost(source, target, case.holders),
        }),
        _ => Err(failures),
    }
}

/// The customer's other subscriptions after a partial upgrade, as the conditions see them: the
/// source keeps its remaining seats (the family cap counts them beside the target's), and the
/// subscription that grows is the target itself, not another one (one equal to it is left out:
/// the conditions read nothing else of it).
fn others_after(
    facts: &UpgradeFacts<'_>,
    into: Option<&ExistingTarget>,
    seats: &PartialSeats,
) -> Vec<SubscriptionFacts> {
    let mut others = facts.others.to_vec();
    if let Some(existing) = into
        && let Some(at) = others.iter().position(|o| *o == existing.subscription)
    {
        others.remove(at);
    }
    others.push(SubscriptionFacts {
        quantity: seats.source_quantity,
        ..facts.source.clone()
    });
    others
}

/// The source and target offers and the path's type, when the target is one of the paths.
fn offers<'a>(
    case: &UpgradeCase<'a>,
    target_offer_id: &str,
) -> Option<(&'a Offer, &'a Offer, UpgradeType)> {
    let catalog = case.facts.catalog;
    let source_offer_id = &case.facts.source.offer_id;
    let path = catalog.path(source_offer_id, target_offer_id)?;
    Some((
        catalog.offer(source_offer_id)?,
        catalog.offer(target_offer_id)?,
        path.upgrade_type,
    ))
}

/// The bill of crediting `quantities.0` source seats and charging `quantities.1` target seats;
/// `None` when a price is unknown. A legacy source is billed at the catalog's prices; a
/// new-commerce one credits its locked price and charges a new target's price in force today on
/// the source's plan, or an existing target's locked price (`target_locked`).
fn bill(
    case: &UpgradeCase<'_>,
    (target_offer_id, target_locked): (&str, Option<i64>),
    quantities: (i64, i64),
) -> Option<Billing> {
    let facts = &case.facts;
    let catalog = facts.catalog;
    let market = catalog.market(facts.market)?;
    let (source_price, target_price) = match case.terms.commerce {
        Commerce::Legacy => (
            catalog
                .offer(&facts.source.offer_id)?
                .monthly_price_in(facts.market)?,
            catalog
                .offer(target_offer_id)?
                .monthly_price_in(facts.market)?,
        ),
        Commerce::New => (
            case.terms.unit_price?,
            target_locked.or_else(|| case.prices.get(target_offer_id, case.terms.plan()))?,
        ),
    };
    Some(billing::prorate(&Proration {
        commerce: case.terms.commerce,
        currency: market.currency.clone(),
        cycle: case.terms.cycle,
        term_start: case.terms.term_start,
        period_start: case.terms.period_start,
        period_end: case.terms.period_end,
        source_quantity: quantities.0,
        source_monthly_unit_price: source_price,
        target_quantity: quantities.1,
        target_monthly_unit_price: target_price,
        today: case.today,
    }))
}

/// Whether a partial upgrade to `whole`'s target is possible, as the listing shows it: one seat
/// moved, into `into` when the partner already has the target, with the rule picking the user;
/// exactly the failures (or refusal) of [`evaluate_partial`], without its bill. `whole` is the
/// whole upgrade's evaluation with the source's quantity: into a new subscription, its failures
/// are the partial one's but for the seat caps, which are checked again with the source's
/// remaining seats counted (a partial upgrade changes nothing else the conditions read).
pub fn partial_option(
    case: &UpgradeCase<'_>,
    whole: &Evaluation,
    into: Option<&ExistingTarget>,
) -> Result<Vec<Failure>, PartialRefusal> {
    let facts = &case.facts;
    let target_offer_id = whole.target_offer_id.as_str();
    let request = PartialRequest {
        quantity: 1,
        users: None,
        into,
    };
    let seats = partial::check_request(facts.source, target_offer_id, case.holders, &request)?;
    let reusable = into.is_none()
        && whole.quantity == facts.source.quantity
        && facts.source.offer_id != target_offer_id;
    let failures = if reusable {
        let remaining = SubscriptionFacts {
            quantity: seats.source_quantity,
            ..facts.source.clone()
        };
        let seat_limit = FailureCode::SeatLimitExceeded;
        (whole.failures.iter())
            .filter(|f| f.code != seat_limit)
            .cloned()
            .chain(eligibility::seat_limit_with(
                facts,
                (target_offer_id, seats.target_quantity),
                &remaining,
            ))
            .collect()
    } else {
        partial_failures(case, target_offer_id, &request, &seats)
    };
    if failures.is_empty()
        && let Some(plan) = partial_plan(case, offers(case, target_offer_id), &request, &seats)
    {
        partial::check_source_seats(&seats, case.holders.len(), plan.transfers.len())?;
    }
    Ok(failures)
}

/// Evaluates every target of the source's upgrade paths, in the catalog's order, keeping the
/// source's quantity.
pub fn evaluate_all(case: &UpgradeCase<'_>) -> Vec<Evaluation> {
    let quantity = case.facts.source.quantity;
    targets(case)
        .map(|target| evaluate(case, target, quantity))
        .collect()
}

/// [`evaluate_eligible`] of every target of the source's upgrade paths, in the catalog's order,
/// keeping the source's quantity: the targets of [`evaluate_all`], each with its upgrade or its
/// failing conditions.
pub fn evaluate_all_eligible<'c>(
    case: &'c UpgradeCase<'_>,
) -> impl Iterator<Item = (&'c str, Result<EligibleUpgrade, Vec<Failure>>)> {
    let quantity = case.facts.source.quantity;
    targets(case).map(move |target| (target, evaluate_eligible(case, target, quantity)))
}

/// The targets of the source's upgrade paths, in the catalog's order.
fn targets<'c>(case: &UpgradeCase<'c>) -> impl Iterator<Item = &'c str> + use<'c> {
    let UpgradeFacts {
        catalog, source, ..
    } = case.facts;
    catalog
        .paths_from(&source.offer_id)
        .map(|path| path.target_offer_id.as_str())
}

#[cfg(test)]
mod tests;
