//! The dated price list (`load-prices`), kept in memory: the price per seat per month of an offer
//! in a market on a plan, in force on a day, is the latest price listed for them that took effect
//! on or before that day; none when none had. The renewals page prices each row's next term with
//! it instead of looking the price up once per row in Postgres.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use super::plan::Plan;

/// One listed price.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedPrice {
    pub offer_id: String,
    pub market: String,
    pub plan: Plan,
    pub effective_from: NaiveDate,
    pub monthly_unit_price: i64,
}

/// The whole list, by offer, then market and plan (a handful per offer, found by a scan), each
/// one's prices in date order: a lookup borrows its keys rather than copying them, as a page of
/// renewals makes one per row.
#[derive(Debug, Clone, Default)]
pub struct PriceBook {
    offers: BTreeMap<String, Vec<Dated>>,
}

/// The prices of one offer in one market on one plan, in date order.
#[derive(Debug, Clone)]
struct Dated {
    market: String,
    plan: Plan,
    prices: Vec<(NaiveDate, i64)>,
}

impl PriceBook {
    /// The book of every listed price (one per offer, market, plan and day, as the table keeps
    /// them).
    pub fn new(prices: impl IntoIterator<Item = ListedPrice>) -> Self {
        let mut offers: BTreeMap<String, Vec<Dated>> = BTreeMap::new();
        for price in prices {
            let listed = offers.entry(price.offer_id).or_default();
            let at = match listed
                .iter()
                .position(|d| d.market == price.market && d.plan == price.plan)
            {
                Some(at) => at,
                None => {
                    listed.push(Dated {
                        market: price.market,
                        plan: price.plan,
                        prices: Vec::new(),
                    });
                    listed.len() - 1
                }
            };
            listed[at]
                .prices
                .push((price.effective_from, price.monthly_unit_price));
        }
        for dated in offers.values_mut().flatten() {
            dated.prices.sort_unstable();
        }
        PriceBook { offers }
    }

    /// The price of `offer_id` in `market` on `plan` in force on `on`.
    pub fn in_force(&self, offer_id: &str, market: &str, plan: Plan, on: NaiveDate) -> Option<i64> {
        let prices = &self
            .offers
            .get(offer_id)?
            .iter()
            .find(|d| d.market == market && d.plan == plan)?
            .prices;
        let taken_effect = prices.partition_point(|(from, _)| *from <= on);
        taken_effect.checked_sub(1).map(|latest| prices[latest].1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::plan::{BillingCycle, TermDuration};

    const YEAR_MONTHLY: Plan = Plan::new(TermDuration::P1Y, BillingCycle::Monthly);
    const YEAR_ANNUAL: Plan = Plan::new(TermDuration::P1Y, BillingCycle::Annual);

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn listed(offer: &str, market: &str, plan: Plan, from: &str, price: i64) -> ListedPrice {
        ListedPrice {
            offer_id: offer.to_owned(),
            market: market.to_owned(),
            plan,
            effective_from: day(from),
            monthly_unit_price: price,
        }
    }

    /// Listed out of order on purpose: the book sorts each one's dates.
    fn book() -> PriceBook {
        PriceBook::new([
            listed("E3", "US", YEAR_MONTHLY, "2027-03-01", 2_400),
            listed("E3", "US", YEAR_MONTHLY, "2026-01-01", 2_200),
            listed("E3", "US", YEAR_ANNUAL, "2026-01-01", 2_100),
            listed("E3", "IT", YEAR_MONTHLY, "2026-06-01", 2_050),
            listed("E5", "US", YEAR_MONTHLY, "2026-01-01", 3_800),
        ])
    }

    #[test]
    fn the_price_in_force_is_the_latest_that_took_effect_on_or_before_the_day() {
        let cases = [
            ("E3", "US", YEAR_MONTHLY, "2025-12-31", None),
            ("E3", "US", YEAR_MONTHLY, "2026-01-01", Some(2_200)),
            ("E3", "US", YEAR_MONTHLY, "2027-02-28", Some(2_200)),
            ("E3", "US", YEAR_MONTHLY, "2027-03-01", Some(2_400)),
            ("E3", "US", YEAR_MONTHLY, "2030-01-01", Some(2_400)),
            ("E3", "US", YEAR_ANNUAL, "2027-03-01", Some(2_100)),
            ("E3", "IT", YEAR_MONTHLY, "2026-05-31", None),
            ("E3", "IT", YEAR_MONTHLY, "2026-06-01", Some(2_050)),
            ("E5", "US", YEAR_MONTHLY, "2027-03-01", Some(3_800)),
            ("E5", "IT", YEAR_MONTHLY, "2027-03-01", None),
            ("E5", "US", YEAR_ANNUAL, "2027-03-01", None),
            ("F3", "US", YEAR_MONTHLY, "2027-03-01", None),
        ];
        let book = book();
        for (offer, market, plan, on, expected) in cases {
            assert_eq!(
                book.in_force(offer, market, plan, day(on)),
                expected,
                "{offer} in {market} on {plan:?} on {on}"
            );
        }
    }

    #[test]
    fn an_empty_list_has_no_price() {
        let book = PriceBook::new([]);
        assert_eq!(
            book.in_force("E3", "US", YEAR_MONTHLY, day("2027-01-01")),
            None
        );
    }
}
