-- The price in force on a day (the latest price list of an offer, market and plan that took
-- effect by then) is looked up per row by the renewals pipeline and once by every purchase,
-- renewal and new target. The primary key orders by `effective_from` too, but the table is small
-- enough that the planner preferred scanning and sorting it per row: 0.65 of the 1.1 ms of a page
-- of 50 at 100,000 subscriptions. This covering index, newest first with the price included, is
-- one index-only probe per row (docs/renewals.md): the page then takes 0.33 ms.
CREATE INDEX offer_plan_prices_in_force_idx
    ON offer_plan_prices (offer_id, market_code, term_duration, billing_cycle, effective_from DESC)
    INCLUDE (monthly_unit_price_minor);
