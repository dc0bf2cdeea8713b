//! Upgrade recommendations (docs/upgrades.md, "Recommendations"): a subscription's eligible upgrades in the
//! order a sales agent should offer them, and the blocked ones with every failing condition. The
//! options are those of the subscription's listing, by the same rules (`upgrade::evaluate_all_eligible`:
//! `upgrade::evaluate_all` without the bill and license plan of a blocked target, which only its
//! failing conditions describe here), so both always agree; this module only orders them.
//!
//! **The ranking rule.** For an eligible upgrade, *gained* is the number of services the target
//! has that the source lacks, and *extra* the target's monthly price per seat minus the source's
//! in the customer's market (minor units). Its score is gained ÷ extra: what each unit of extra
//! monthly cost per seat buys. The options rank
//!
//! 1. first, those that gain services at no extra cost (extra ≤ 0, gained ≥ 1): more for the same
//!    money or less is the easiest sale, whatever the others' scores;
//! 2. then the priced ones, highest score first (compared exactly, as fractions, never as
//!    floats); one that gains no service scores 0, whatever its cost;
//! 3. last, those for which either offer has no price in the market: without a cost there is no
//!    score, and an agent cannot quote them;
//!
//! and ties (an equal score, or two options of group 1 or of group 3) go to the lower extra cost,
//! then to the lower target offer id. Target offer ids are distinct, so the order is total: the
//! same options give the same ranks whatever order they come in. Ranks start at 1. Blocked
//! options are not ranked; they keep the listing's (the catalog's) order.

use std::cmp::Ordering;
use std::collections::BTreeSet;

use super::catalog::{Catalog, Offer};
use super::eligibility::Failure;
use super::upgrade::{self, EligibleUpgrade, UpgradeCase};

/// What an upgrade brings and costs, as the ranking rule reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gain {
    /// The target's services the source lacks, by code, in code order.
    pub services: Vec<String>,
    /// The target's monthly price per seat minus the source's in the market, in minor units;
    /// `None` when either offer has no price there.
    pub extra_monthly_cost_per_seat: Option<i64>,
}

impl Gain {
    /// The gain of upgrading `source_offer_id` to `target_offer_id` for a customer in `market`.
    /// An offer missing from the catalog has no services and no price.
    pub fn of(
        catalog: &Catalog,
        market: &str,
        source_offer_id: &str,
        target_offer_id: &str,
    ) -> Gain {
        let source = catalog.offer(source_offer_id);
        let target = catalog.offer(target_offer_id);
        let had: BTreeSet<&String> = source
            .map(|o| o.services.iter().collect())
            .unwrap_or_default();
        let services = target
            .map(|t| {
                t.services
                    .iter()
                    .filter(|s| !had.contains(s))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        let price = |offer: Option<&Offer>| offer?.monthly_price_in(market);
        Gain {
            services,
            extra_monthly_cost_per_seat: price(target)
                .zip(price(source))
                .map(|(target, source)| target - source),
        }
    }

    /// Where the gain stands under the rule's three groups and its score.
    fn standing(&self) -> Standing {
        let gained = u64::try_from(self.services.len()).unwrap_or(u64::MAX);
        match self.extra_monthly_cost_per_seat {
            None => Standing::Unpriced,
            Some(_) if gained == 0 => Standing::Scored {
                gained: 0,
                extra: 1,
            },
            Some(extra) if extra <= 0 => Standing::Free,
            Some(extra) => Standing::Scored {
                gained,
                extra: extra.unsigned_abs(),
            },
        }
    }
}

/// The rule's groups, best first; `Scored` is the fraction `gained / extra` with `extra > 0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Standing {
    Free,
    Scored { gained: u64, extra: u64 },
    Unpriced,
}

impl Standing {
    /// `Less` when `self` ranks above `other`; equal scores are `Equal`.
    fn cmp(self, other: Standing) -> Ordering {
        match (self, other) {
            (Standing::Free, Standing::Free) | (Standing::Unpriced, Standing::Unpriced) => {
                Ordering::Equal
            }
            (Standing::Free, _) | (_, Standing::Unpriced) => Ordering::Less,
            (_, Standing::Free) | (Standing::Unpriced, _) => Ordering::Greater,
            (
                Standing::Scored { gained, extra },
                Standing::Scored {
                    gained: other_gained,
                    extra: other_extra,
                },
            ) => {
                // gained / extra > other_gained / other_extra ⇔ gained · other_extra >
                // other_gained · extra (both denominators positive; u128 cannot overflow).
                let ours = u128::from(gained) * u128::from(other_extra);
                let theirs = u128::from(other_gained) * u128::from(extra);
                theirs.cmp(&ours)
            }
        }
    }
}

/// The ranking rule: `Less` when the upgrade to `a.0` ranks above the one to `b.0`.
pub fn compare(a: (&str, &Gain), b: (&str, &Gain)) -> Ordering {
    let ((a_target, a_gain), (b_target, b_gain)) = (a, b);
    a_gain
        .standing()
        .cmp(b_gain.standing())
        .then_with(|| {
            a_gain
                .extra_monthly_cost_per_seat
                .cmp(&b_gain.extra_monthly_cost_per_seat)
        })
        .then_with(|| a_target.cmp(b_target))
}

/// An eligible upgrade, ranked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recommendation {
    /// 1 for the upgrade to offer first.
    pub rank: usize,
    /// `None` when the target is not in the catalog.
    pub target_offer_name: Option<String>,
    pub gain: Gain,
    /// The upgrade as the listing evaluates it: type, bill and license plan.
    pub upgrade: EligibleUpgrade,
}

/// A target the subscription cannot be upgraded to now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocked {
    pub target_offer_id: String,
    pub target_offer_name: Option<String>,
    /// Every failing condition.
    pub failures: Vec<Failure>,
}

/// A subscription's upgrade options: the eligible ones ranked, the others with why not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recommendations {
    /// In rank order.
    pub recommended: Vec<Recommendation>,
    /// In the catalog's order.
    pub blocked: Vec<Blocked>,
}

/// Evaluates every upgrade of the case's source exactly as its listing does, and ranks the
/// eligible ones.
pub fn recommend(case: &UpgradeCase<'_>) -> Recommendations {
    let facts = &case.facts;
    let catalog = facts.catalog;
    let options = upgrade::evaluate_all_eligible(case).map(|(target_offer_id, evaluated)| {
        evaluated.map_err(|failures| Blocked {
            target_offer_id: target_offer_id.to_owned(),
            target_offer_name: catalog.offer(target_offer_id).map(|o| o.name.clone()),
            failures,
        })
    });
    rank(catalog, facts.market, &facts.source.offer_id, options)
}

/// Splits a source's upgrade options into the eligible ones, ranked by the rule, and the blocked
/// ones, in the order given.
pub fn rank(
    catalog: &Catalog,
    market: &str,
    source_offer_id: &str,
    options: impl IntoIterator<Item = Result<EligibleUpgrade, Blocked>>,
) -> Recommendations {
    let mut eligible = Vec::new();
    let mut blocked = Vec::new();
    for option in options {
        match option {
            Ok(upgrade) => {
                let target_offer_id = upgrade.target_offer_id.as_str();
                let target_offer_name = catalog.offer(target_offer_id).map(|o| o.name.clone());
                let gain = Gain::of(catalog, market, source_offer_id, target_offer_id);
                eligible.push((target_offer_name, gain, upgrade));
            }
            Err(option) => blocked.push(option),
        }
    }
    eligible.sort_by(|(_, a, a_upgrade), (_, b, b_upgrade)| {
        compare(
            (&a_upgrade.target_offer_id, a),
            (&b_upgrade.target_offer_id, b),
        )
    });
    let recommended = eligible
        .into_iter()
        .enumerate()
        .map(|(at, (target_offer_name, gain, upgrade))| Recommendation {
            rank: at + 1,
            target_offer_name,
            gain,
            upgrade,
        })
        .collect();
    Recommendations {
        recommended,
        blocked,
    }
}

#[cfg(test)]
mod tests;
