-- New commerce (docs/new-commerce.md): each subscription's commerce model and plan, its locked
-- price and its cancellation windows; dated prices per offer, market and plan.

-- Every subscription recorded so far was billed under the legacy rules (a one-year term billed
-- monthly or annually), so existing rows become 'legacy'; the service names the model of every
-- new row itself, so the columns keep no default.
ALTER TABLE subscriptions
    ADD COLUMN commerce text NOT NULL DEFAULT 'legacy',
    ADD COLUMN term_duration text NOT NULL DEFAULT 'P1Y',
    -- New commerce: the price per seat per month locked at purchase, at creation by an upgrade and
    -- at each renewal, in the market's minor units.
    ADD COLUMN unit_price_minor bigint NULL,
    -- New commerce: when the purchase's (or the last renewal's) 168-hour window closes.
    ADD COLUMN cancellation_window_ends_at timestamptz NULL;
ALTER TABLE subscriptions ALTER COLUMN commerce DROP DEFAULT;
ALTER TABLE subscriptions ALTER COLUMN term_duration DROP DEFAULT;

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

-- New commerce: the seats a seat increase added, refundable until `allowed_until` (168 hours).
-- The purchase's (and each renewal's) seats are a window too. A reduction takes seats from the
-- windows that close last; windows once closed are never read again and go with the
-- subscription's history retention.
CREATE TABLE subscription_seat_windows (
    customer_id      uuid        NOT NULL,
    subscription_id  uuid        NOT NULL,
    id               uuid        NOT NULL,
    quantity         integer     NOT NULL,
    allowed_until    timestamptz NOT NULL,
    CONSTRAINT subscription_seat_windows_pkey PRIMARY KEY (customer_id, id),
    CONSTRAINT subscription_seat_windows_subscription_fkey FOREIGN KEY (customer_id, subscription_id)
        REFERENCES subscriptions (customer_id, id),
    CONSTRAINT subscription_seat_windows_quantity_positive CHECK (quantity >= 1)
);
CREATE INDEX subscription_seat_windows_subscription_idx
    ON subscription_seat_windows (customer_id, subscription_id, allowed_until);

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
