-- New commerce (docs/new-commerce.md): each subscription's commerce model and plan, its locked
-- price and its cancellation windows; dated prices per offer, market and plan.

-- Every subscription recorded so far was billed under the legacy rules (a one-year term billed
-- monthly or annually), so existing rows become 'legacy'. The defaults stay: the service names
-- the model and term of every row it writes, and a row written by an instance still running the
-- code before this migration (a rolling deploy) is billed by that code's legacy rules.
ALTER TABLE subscriptions
    ADD COLUMN commerce text NOT NULL DEFAULT 'legacy',
    ADD COLUMN term_duration text NOT NULL DEFAULT 'P1Y',
    -- New commerce: the price per seat per month locked at purchase, at creation by an upgrade and
    -- at each renewal, in the market's minor units.
    ADD COLUMN unit_price_minor bigint NULL,
    -- New commerce: when the purchase's (or the last renewal's) 168-hour window closes.
    ADD COLUMN cancellation_window_ends_at timestamptz NULL,
    -- New commerce: the seats still refundable, `[{"quantity": n, "allowedUntil": t}]`, one
    -- entry per purchase, renewal or seat increase whose 168-hour window was open at the last
    -- write (a few entries at most: a write drops the closed ones). Kept in the row so that
    -- every read of a subscription stays one row.
    ADD COLUMN seat_windows jsonb NOT NULL DEFAULT '[]';

ALTER TABLE subscriptions DROP CONSTRAINT subscriptions_billing_cycle_valid;
ALTER TABLE subscriptions ADD CONSTRAINT subscriptions_billing_cycle_valid
    CHECK (billing_cycle IN ('monthly', 'annual', 'triennial'));
ALTER TABLE subscriptions ADD CONSTRAINT subscriptions_commerce_valid
    CHECK (commerce IN ('new', 'legacy'));
-- The plans sold: legacy is a one-year term billed monthly or annually; new commerce sells P1M
-- monthly, P1Y monthly or annual, P3Y monthly, annual or triennial.
ALTER TABLE subscriptions ADD CONSTRAINT subscriptions_plan_sold CHECK (
    (commerce = 'legacy' AND term_duration = 'P1Y' AND billing_cycle IN ('monthly', 'annual'))
    OR (commerce = 'new' AND (
        (term_duration = 'P1M' AND billing_cycle = 'monthly')
        OR (term_duration = 'P1Y' AND billing_cycle IN ('monthly', 'annual'))
        OR (term_duration = 'P3Y' AND billing_cycle IN ('monthly', 'annual', 'triennial')))));
ALTER TABLE subscriptions ADD CONSTRAINT subscriptions_unit_price_not_negative
    CHECK (unit_price_minor >= 0);

-- Dated prices: per offer, market and plan, the price per seat per month that takes effect on a
-- day; the price in force on a day is the latest one that took effect by then.
CREATE TABLE offer_plan_prices (
    offer_id                  text   NOT NULL,
    market_code               text   NOT NULL,
    term_duration             text   NOT NULL,
    billing_cycle             text   NOT NULL,
    effective_from            date   NOT NULL,
    monthly_unit_price_minor  bigint NOT NULL,
    CONSTRAINT offer_plan_prices_pkey
        PRIMARY KEY (offer_id, market_code, term_duration, billing_cycle, effective_from),
    CONSTRAINT offer_plan_prices_offer_market_fkey FOREIGN KEY (offer_id, market_code)
        REFERENCES offer_prices (offer_id, market_code) ON DELETE CASCADE,
    CONSTRAINT offer_plan_prices_plan_sold CHECK (
        (term_duration = 'P1M' AND billing_cycle = 'monthly')
        OR (term_duration = 'P1Y' AND billing_cycle IN ('monthly', 'annual'))
        OR (term_duration = 'P3Y' AND billing_cycle IN ('monthly', 'annual', 'triennial'))),
    CONSTRAINT offer_plan_prices_not_negative CHECK (monthly_unit_price_minor >= 0)
);

-- The first price list: each offer's catalog price is its one-year (and three-year) price; a
-- monthly term costs 20 % more, rounded to the nearest minor unit (x 6 / 5 leaves a remainder in
-- fifths, never a half, so there is no tie to break: (6 p + 2) / 5 in integers).
INSERT INTO offer_plan_prices
    (offer_id, market_code, term_duration, billing_cycle, effective_from, monthly_unit_price_minor)
SELECT p.offer_id, p.market_code, plan.term_duration, plan.billing_cycle, DATE '2000-01-01',
       CASE WHEN plan.term_duration = 'P1M' THEN (p.monthly_unit_price_minor * 6 + 2) / 5
            ELSE p.monthly_unit_price_minor END
  FROM offer_prices p
 CROSS JOIN (VALUES ('P1M', 'monthly'), ('P1Y', 'monthly'), ('P1Y', 'annual'),
                    ('P3Y', 'monthly'), ('P3Y', 'annual'), ('P3Y', 'triennial'))
       AS plan (term_duration, billing_cycle);
