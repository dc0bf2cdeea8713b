-- Webhooks (issue 8). A partner registers endpoints for event types. Every state change writes,
-- in its own transaction (the same statement as its history entry), one event and one delivery per
-- endpoint that wants it: the outbox. A worker sends pending deliveries oldest first, never a
-- subscription's later event to an endpoint before an earlier one, and records every attempt.

CREATE TABLE webhook_endpoints (
    partner_id uuid        NOT NULL,
    id         uuid        NOT NULL,
    url        text        NOT NULL,
    events     text[]      NOT NULL,
    -- The shared secret of the HMAC-SHA256 signature; never shown again after registration.
    secret     text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT webhook_endpoints_pkey PRIMARY KEY (partner_id, id),
    CONSTRAINT webhook_endpoints_url_length CHECK (char_length(url) BETWEEN 8 AND 2048),
    CONSTRAINT webhook_endpoints_events_present CHECK (cardinality(events) >= 1),
    CONSTRAINT webhook_endpoints_secret_length CHECK (char_length(secret) BETWEEN 16 AND 256)
);

CREATE TABLE webhook_events (
    -- Commit order within a subscription follows this sequence: every change takes the
    -- subscription's row lock first.
    seq             bigint      GENERATED ALWAYS AS IDENTITY,
    id              uuid        NOT NULL,
    partner_id      uuid        NOT NULL,
    customer_id     uuid        NOT NULL,
    subscription_id uuid        NOT NULL,
    event_type      text        NOT NULL,
    payload         jsonb       NOT NULL,
    occurred_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT webhook_events_pkey PRIMARY KEY (seq),
    CONSTRAINT webhook_events_id_key UNIQUE (id)
);

CREATE TABLE webhook_deliveries (
    partner_id      uuid        NOT NULL,
    endpoint_id     uuid        NOT NULL,
    event_seq       bigint      NOT NULL,
    subscription_id uuid        NOT NULL,
    status          text        NOT NULL DEFAULT 'pending',
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz NULL,
    CONSTRAINT webhook_deliveries_pkey PRIMARY KEY (endpoint_id, event_seq),
    CONSTRAINT webhook_deliveries_event_fkey FOREIGN KEY (event_seq) REFERENCES webhook_events (seq),
    CONSTRAINT webhook_deliveries_endpoint_fkey FOREIGN KEY (partner_id, endpoint_id)
        REFERENCES webhook_endpoints (partner_id, id) ON DELETE CASCADE,
    CONSTRAINT webhook_deliveries_status_valid CHECK (status IN ('pending', 'delivered')),
    CONSTRAINT webhook_deliveries_delivered_at CHECK ((status = 'delivered') = (delivered_at IS NOT NULL))
);
-- The worker's queue, and the "nothing earlier pending for this subscription" check.
CREATE INDEX webhook_deliveries_pending_idx ON webhook_deliveries (next_attempt_at, event_seq)
    WHERE status = 'pending';
CREATE INDEX webhook_deliveries_order_idx ON webhook_deliveries (endpoint_id, subscription_id, event_seq)
    WHERE status = 'pending';

CREATE TABLE webhook_attempts (
    endpoint_id   uuid        NOT NULL,
    event_seq     bigint      NOT NULL,
    attempt       integer     NOT NULL,
    attempted_at  timestamptz NOT NULL DEFAULT now(),
    -- The receiver's status code, or NULL when none came (refused, timed out).
    status_code   integer     NULL,
    error         text        NULL,
    duration_ms   integer     NOT NULL,
    CONSTRAINT webhook_attempts_pkey PRIMARY KEY (endpoint_id, event_seq, attempt),
    CONSTRAINT webhook_attempts_delivery_fkey FOREIGN KEY (endpoint_id, event_seq)
        REFERENCES webhook_deliveries (endpoint_id, event_seq) ON DELETE CASCADE
);
