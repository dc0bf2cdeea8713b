-- Catalog: markets, services, offers and the upgrade matrix (SPEC section 2).
-- The catalog is data, not code: the rules in src/domain are generic over whatever these tables
-- hold, so changing an offer, a price or an upgrade path is a new migration, never a Rust change.

CREATE TABLE markets (
    code                 text     NOT NULL,
    name                 text     NOT NULL,
    currency             text     NOT NULL,
    -- Prices and bills are integer minor units; this says how many digits follow the decimal point.
    currency_minor_units smallint NOT NULL DEFAULT 2,
    CONSTRAINT markets_pkey PRIMARY KEY (code),
    CONSTRAINT markets_code_format CHECK (code ~ '^[A-Z]{2}$'),
    CONSTRAINT markets_currency_format CHECK (currency ~ '^[A-Z]{3}$'),
    CONSTRAINT markets_minor_units_range CHECK (currency_minor_units BETWEEN 0 AND 4)
);

CREATE TABLE services (
    code text NOT NULL,
    name text NOT NULL,
    CONSTRAINT services_pkey PRIMARY KEY (code),
    CONSTRAINT services_code_format CHECK (code ~ '^[A-Z][A-Z0-9_]*$')
);

-- A family groups offers that share a per-customer seat cap (the Microsoft 365 Business plans
-- are capped at 300 seats per customer across the family, not per subscription).
CREATE TABLE offer_families (
    id        text    NOT NULL,
    name      text    NOT NULL,
    seat_cap  integer NULL,
    CONSTRAINT offer_families_pkey PRIMARY KEY (id),
    CONSTRAINT offer_families_id_format CHECK (id ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    CONSTRAINT offer_families_seat_cap_positive CHECK (seat_cap IS NULL OR seat_cap > 0)
);

CREATE TABLE offers (
    id          text    NOT NULL,
    name        text    NOT NULL,
    kind        text    NOT NULL,
    family_id   text    NULL,
    -- Largest quantity of one subscription; NULL means uncapped (enterprise offers).
    seat_cap    integer NULL,
    sort_order  integer NOT NULL,
    CONSTRAINT offers_pkey PRIMARY KEY (id),
    CONSTRAINT offers_name_key UNIQUE (name),
    CONSTRAINT offers_id_format CHECK (id ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    CONSTRAINT offers_kind_valid CHECK (kind IN ('base', 'add_on')),
    CONSTRAINT offers_seat_cap_positive CHECK (seat_cap IS NULL OR seat_cap > 0),
    CONSTRAINT offers_family_fkey FOREIGN KEY (family_id) REFERENCES offer_families (id)
);

CREATE TABLE offer_services (
    offer_id     text NOT NULL,
    service_code text NOT NULL,
    CONSTRAINT offer_services_pkey PRIMARY KEY (offer_id, service_code),
    CONSTRAINT offer_services_offer_fkey FOREIGN KEY (offer_id) REFERENCES offers (id) ON DELETE CASCADE,
    CONSTRAINT offer_services_service_fkey FOREIGN KEY (service_code) REFERENCES services (code)
);

-- An offer is sold in a market exactly when it has a price there (the India rule of SPEC section 2
-- is nothing more than which rows exist here). Price per seat per month, in the market's currency.
CREATE TABLE offer_prices (
    offer_id                  text   NOT NULL,
    market_code               text   NOT NULL,
    monthly_unit_price_minor  bigint NOT NULL,
    CONSTRAINT offer_prices_pkey PRIMARY KEY (offer_id, market_code),
    CONSTRAINT offer_prices_offer_fkey FOREIGN KEY (offer_id) REFERENCES offers (id) ON DELETE CASCADE,
    CONSTRAINT offer_prices_market_fkey FOREIGN KEY (market_code) REFERENCES markets (code),
    CONSTRAINT offer_prices_not_negative CHECK (monthly_unit_price_minor >= 0)
);
CREATE INDEX offer_prices_market_idx ON offer_prices (market_code, offer_id);

-- Which base offers an add-on may be attached to.
CREATE TABLE add_on_base_offers (
    add_on_offer_id text NOT NULL,
    base_offer_id   text NOT NULL,
    CONSTRAINT add_on_base_offers_pkey PRIMARY KEY (add_on_offer_id, base_offer_id),
    CONSTRAINT add_on_base_offers_add_on_fkey FOREIGN KEY (add_on_offer_id) REFERENCES offers (id) ON DELETE CASCADE,
    CONSTRAINT add_on_base_offers_base_fkey FOREIGN KEY (base_offer_id) REFERENCES offers (id) ON DELETE CASCADE
);
CREATE INDEX add_on_base_offers_base_idx ON add_on_base_offers (base_offer_id);

-- The article's matrix. A path does not carry a market: whether a customer may take it is decided
-- by where the target is sold (offer_prices), which keeps the India footnote a pure data fact.
CREATE TABLE upgrade_paths (
    source_offer_id text NOT NULL,
    target_offer_id text NOT NULL,
    upgrade_type    text NOT NULL,
    CONSTRAINT upgrade_paths_pkey PRIMARY KEY (source_offer_id, target_offer_id),
    CONSTRAINT upgrade_paths_source_fkey FOREIGN KEY (source_offer_id) REFERENCES offers (id) ON DELETE CASCADE,
    CONSTRAINT upgrade_paths_target_fkey FOREIGN KEY (target_offer_id) REFERENCES offers (id) ON DELETE CASCADE,
    CONSTRAINT upgrade_paths_not_to_itself CHECK (source_offer_id <> target_offer_id),
    CONSTRAINT upgrade_paths_type_valid CHECK (upgrade_type IN ('upgrade_with_license_transfer', 'upgrade_only'))
);
CREATE INDEX upgrade_paths_target_idx ON upgrade_paths (target_offer_id);
