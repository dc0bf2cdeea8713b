-- Partners, customers and everything a customer owns (SPEC section 3), plus upgrade history and
-- idempotency records (section 6).
--
-- Distribution: every table holding customer data carries customer_id and leads its primary key
-- with it, and every foreign key between customer tables includes it, so the tables can be
-- distributed and co-located by customer (Citus-style) without changing a rule or a query.

CREATE TABLE partners (
    id         uuid        NOT NULL,
    name       text        NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT partners_pkey PRIMARY KEY (id)
);

CREATE TABLE customers (
    id          uuid        NOT NULL,
    name        text        NOT NULL,
    market_code text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT customers_pkey PRIMARY KEY (id),
    CONSTRAINT customers_market_fkey FOREIGN KEY (market_code) REFERENCES markets (code),
    CONSTRAINT customers_name_length CHECK (char_length(name) BETWEEN 1 AND 200)
);

-- A partner sees a customer only through this relationship (made when it creates or onboards the
-- customer). Its absence is why every other partner gets 404 for the customer.
CREATE TABLE reseller_relationships (
    customer_id uuid        NOT NULL,
    partner_id  uuid        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT reseller_relationships_pkey PRIMARY KEY (customer_id, partner_id),
    CONSTRAINT reseller_relationships_customer_fkey FOREIGN KEY (customer_id) REFERENCES customers (id),
    CONSTRAINT reseller_relationships_partner_fkey FOREIGN KEY (partner_id) REFERENCES partners (id)
);
-- A partner's customer list, newest-first pagination by id.
CREATE INDEX reseller_relationships_partner_idx ON reseller_relationships (partner_id, customer_id);

-- Admin rights (GDAP-like), separate from the reseller relationship. all_services = true grants
-- every service; otherwise the granted services are the rows of the child table.
CREATE TABLE delegated_admin_relationships (
    customer_id  uuid        NOT NULL,
    id           uuid        NOT NULL,
    partner_id   uuid        NOT NULL,
    status       text        NOT NULL,
    starts_at    timestamptz NOT NULL,
    ends_at      timestamptz NOT NULL,
    all_services boolean     NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT delegated_admin_relationships_pkey PRIMARY KEY (customer_id, id),
    CONSTRAINT delegated_admin_relationships_customer_fkey FOREIGN KEY (customer_id) REFERENCES customers (id),
    CONSTRAINT delegated_admin_relationships_partner_fkey FOREIGN KEY (partner_id) REFERENCES partners (id),
    CONSTRAINT delegated_admin_relationships_status_valid CHECK (status IN ('active', 'expired', 'terminated')),
    CONSTRAINT delegated_admin_relationships_period_valid CHECK (ends_at > starts_at)
);
CREATE INDEX delegated_admin_relationships_partner_idx
    ON delegated_admin_relationships (customer_id, partner_id, ends_at);

CREATE TABLE delegated_admin_relationship_services (
    customer_id     uuid NOT NULL,
    relationship_id uuid NOT NULL,
    service_code    text NOT NULL,
    CONSTRAINT delegated_admin_relationship_services_pkey PRIMARY KEY (customer_id, relationship_id, service_code),
    CONSTRAINT delegated_admin_relationship_services_relationship_fkey FOREIGN KEY (customer_id, relationship_id)
        REFERENCES delegated_admin_relationships (customer_id, id) ON DELETE CASCADE,
    CONSTRAINT delegated_admin_relationship_services_service_fkey FOREIGN KEY (service_code) REFERENCES services (code)
);

CREATE TABLE subscriptions (
    customer_id          uuid        NOT NULL,
    id                   uuid        NOT NULL,
    offer_id             text        NOT NULL,
    -- 'partner': sold by partner_id; 'other': another partner or a direct purchase (multichannel),
    -- recorded by internal sync so that the rules can see it, never shown in detail.
    channel              text        NOT NULL,
    partner_id           uuid        NULL,
    quantity             integer     NOT NULL,
    status               text        NOT NULL,
    billing_cycle        text        NOT NULL,
    term_start           date        NOT NULL,
    term_end             date        NOT NULL,
    current_period_start date        NOT NULL,
    current_period_end   date        NOT NULL,
    upgraded_to_id       uuid        NULL,
    upgraded_from_id     uuid        NULL,
    -- Bumped on every change; the ETag is derived from it.
    version              bigint      NOT NULL DEFAULT 1,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT subscriptions_pkey PRIMARY KEY (customer_id, id),
    CONSTRAINT subscriptions_customer_fkey FOREIGN KEY (customer_id) REFERENCES customers (id),
    CONSTRAINT subscriptions_offer_fkey FOREIGN KEY (offer_id) REFERENCES offers (id),
    CONSTRAINT subscriptions_partner_fkey FOREIGN KEY (partner_id) REFERENCES partners (id),
    CONSTRAINT subscriptions_channel_valid CHECK (
        (channel = 'partner' AND partner_id IS NOT NULL) OR (channel = 'other' AND partner_id IS NULL)),
    CONSTRAINT subscriptions_quantity_positive CHECK (quantity >= 1),
    CONSTRAINT subscriptions_status_valid CHECK (status IN ('active', 'suspended', 'cancelled', 'upgraded')),
    CONSTRAINT subscriptions_billing_cycle_valid CHECK (billing_cycle IN ('monthly', 'annual')),
    CONSTRAINT subscriptions_term_valid CHECK (term_end > term_start),
    CONSTRAINT subscriptions_period_valid CHECK (
        current_period_end > current_period_start AND current_period_start >= term_start
        AND current_period_end <= term_end),
    -- An upgraded subscription always points at its replacement, and only an upgraded one does.
    CONSTRAINT subscriptions_upgraded_link CHECK ((status = 'upgraded') = (upgraded_to_id IS NOT NULL)),
    CONSTRAINT subscriptions_upgraded_to_fkey FOREIGN KEY (customer_id, upgraded_to_id)
        REFERENCES subscriptions (customer_id, id),
    CONSTRAINT subscriptions_upgraded_from_fkey FOREIGN KEY (customer_id, upgraded_from_id)
        REFERENCES subscriptions (customer_id, id),
    -- A source is replaced at most once: the database itself refuses a double upgrade.
    CONSTRAINT subscriptions_upgraded_from_key UNIQUE (customer_id, upgraded_from_id),
    CONSTRAINT subscriptions_upgraded_to_key UNIQUE (customer_id, upgraded_to_id)
);
-- A partner's subscription list for a customer, and the rules' "all the customer's subscriptions".
CREATE INDEX subscriptions_partner_idx ON subscriptions (customer_id, partner_id, id);
CREATE INDEX subscriptions_offer_idx ON subscriptions (customer_id, offer_id) WHERE status IN ('active', 'suspended');

CREATE TABLE subscription_add_ons (
    customer_id     uuid        NOT NULL,
    id              uuid        NOT NULL,
    subscription_id uuid        NOT NULL,
    offer_id        text        NOT NULL,
    quantity        integer     NOT NULL,
    status          text        NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    cancelled_at    timestamptz NULL,
    CONSTRAINT subscription_add_ons_pkey PRIMARY KEY (customer_id, id),
    CONSTRAINT subscription_add_ons_subscription_fkey FOREIGN KEY (customer_id, subscription_id)
        REFERENCES subscriptions (customer_id, id),
    CONSTRAINT subscription_add_ons_offer_fkey FOREIGN KEY (offer_id) REFERENCES offers (id),
    CONSTRAINT subscription_add_ons_quantity_positive CHECK (quantity >= 1),
    CONSTRAINT subscription_add_ons_status_valid CHECK (status IN ('active', 'cancelled')),
    CONSTRAINT subscription_add_ons_cancelled_at CHECK ((status = 'cancelled') = (cancelled_at IS NOT NULL))
);
CREATE INDEX subscription_add_ons_subscription_idx ON subscription_add_ons (customer_id, subscription_id, id);

CREATE TABLE users (
    customer_id  uuid        NOT NULL,
    id           uuid        NOT NULL,
    display_name text        NOT NULL,
    email        text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_pkey PRIMARY KEY (customer_id, id),
    CONSTRAINT users_customer_fkey FOREIGN KEY (customer_id) REFERENCES customers (id),
    CONSTRAINT users_display_name_length CHECK (char_length(display_name) BETWEEN 1 AND 256),
    CONSTRAINT users_email_length CHECK (char_length(email) BETWEEN 3 AND 320)
);
-- One account per e-mail address within a customer's directory.
CREATE UNIQUE INDEX users_email_key ON users (customer_id, lower(email));

-- A user holds at most one license from a subscription (the primary key), possibly with some of
-- the offer's services switched off for that user.
CREATE TABLE license_assignments (
    customer_id       uuid        NOT NULL,
    subscription_id   uuid        NOT NULL,
    user_id           uuid        NOT NULL,
    disabled_services text[]      NOT NULL DEFAULT '{}',
    assigned_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT license_assignments_pkey PRIMARY KEY (customer_id, subscription_id, user_id),
    CONSTRAINT license_assignments_subscription_fkey FOREIGN KEY (customer_id, subscription_id)
        REFERENCES subscriptions (customer_id, id),
    CONSTRAINT license_assignments_user_fkey FOREIGN KEY (customer_id, user_id) REFERENCES users (customer_id, id)
);
CREATE INDEX license_assignments_user_idx ON license_assignments (customer_id, user_id);

-- One row per performed upgrade: what the partner reads back through /upgrades.
CREATE TABLE upgrades (
    customer_id            uuid        NOT NULL,
    id                     uuid        NOT NULL,
    partner_id             uuid        NOT NULL,
    source_subscription_id uuid        NOT NULL,
    target_subscription_id uuid        NOT NULL,
    source_offer_id        text        NOT NULL,
    target_offer_id        text        NOT NULL,
    upgrade_type           text        NOT NULL,
    quantity               integer     NOT NULL,
    -- The full answer given to the caller (reassignment list and billing), kept as sent.
    result                 jsonb       NOT NULL,
    actor_user_id          text        NOT NULL,
    actor_roles            text[]      NOT NULL,
    request_id             text        NOT NULL,
    performed_at           timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT upgrades_pkey PRIMARY KEY (customer_id, id),
    CONSTRAINT upgrades_source_fkey FOREIGN KEY (customer_id, source_subscription_id)
        REFERENCES subscriptions (customer_id, id),
    CONSTRAINT upgrades_target_fkey FOREIGN KEY (customer_id, target_subscription_id)
        REFERENCES subscriptions (customer_id, id),
    CONSTRAINT upgrades_source_key UNIQUE (customer_id, source_subscription_id),
    CONSTRAINT upgrades_type_valid CHECK (upgrade_type IN ('upgrade_with_license_transfer', 'upgrade_only'))
);
CREATE INDEX upgrades_partner_idx ON upgrades (customer_id, partner_id, performed_at DESC, id DESC);

-- Audit trail of every state change (upgrade, quantity, status, add-on): who, when, before/after.
CREATE TABLE subscription_history (
    customer_id     uuid        NOT NULL,
    id              uuid        NOT NULL,
    subscription_id uuid        NOT NULL,
    partner_id      uuid        NULL,
    change_kind     text        NOT NULL,
    before_state    jsonb       NULL,
    after_state     jsonb       NULL,
    actor_user_id   text        NOT NULL,
    actor_roles     text[]      NOT NULL,
    request_id      text        NOT NULL,
    occurred_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT subscription_history_pkey PRIMARY KEY (customer_id, id),
    CONSTRAINT subscription_history_subscription_fkey FOREIGN KEY (customer_id, subscription_id)
        REFERENCES subscriptions (customer_id, id),
    CONSTRAINT subscription_history_kind_valid CHECK (change_kind IN (
        'created', 'upgrade', 'quantity_change', 'status_change', 'add_on_purchase', 'add_on_cancel'))
);
CREATE INDEX subscription_history_subscription_idx
    ON subscription_history (customer_id, subscription_id, occurred_at, id);

-- Idempotency-Key records. Scoped per partner and customer (every state change is under a
-- customer, so the record lives with the customer's data). A row is inserted 'in_progress' in the
-- request's own transaction, so a concurrent retry blocks on it and then sees the stored answer.
CREATE TABLE idempotency_records (
    customer_id     uuid        NOT NULL,
    partner_id      uuid        NOT NULL,
    idempotency_key text        NOT NULL,
    -- SHA-256 of method, path and body: the same key with another request is refused.
    request_hash    bytea       NOT NULL,
    response_status smallint    NULL,
    response_body   bytea       NULL,
    response_headers jsonb      NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    CONSTRAINT idempotency_records_pkey PRIMARY KEY (customer_id, partner_id, idempotency_key),
    CONSTRAINT idempotency_records_customer_fkey FOREIGN KEY (customer_id) REFERENCES customers (id),
    CONSTRAINT idempotency_records_key_length CHECK (char_length(idempotency_key) BETWEEN 1 AND 255),
    CONSTRAINT idempotency_records_response_complete CHECK ((response_status IS NULL) = (response_body IS NULL))
);
CREATE INDEX idempotency_records_expiry_idx ON idempotency_records (expires_at);
