-- Webhook delivery that no partner can hold up for another (issue 14). The worker used to send a
-- batch inside one transaction, holding the deliveries' row locks for as long as the slowest
-- receiver took. Now it claims deliveries with a lease in a short transaction, sends with no
-- transaction open, and records the attempt in another short one, guarded by the lease. A
-- delivery that keeps failing for the retry window is given up and its endpoint disabled, and
-- secrets follow the Standard Webhooks specification (whsec_<base64 key>).

-- A claimed delivery: leased_until is when another worker may claim it again (the sender died or
-- hung), lease is the claim's token, so a late sender whose lease expired and was claimed again
-- cannot record its attempt over the new claim.
ALTER TABLE webhook_deliveries
    ADD COLUMN leased_until  timestamptz NULL,
    ADD COLUMN lease         uuid        NULL,
    -- When the delivery's current run of failures began (NULL: not failing); the retry window
    -- is measured from it, and starts again when the partner re-enables the endpoint.
    ADD COLUMN failing_since timestamptz NULL,
    -- When it was given up; the partner can requeue it until retention removes it.
    ADD COLUMN failed_at     timestamptz NULL;

ALTER TABLE webhook_deliveries DROP CONSTRAINT webhook_deliveries_status_valid;
ALTER TABLE webhook_deliveries
    ADD CONSTRAINT webhook_deliveries_status_valid
        CHECK (status IN ('pending', 'delivered', 'failed')),
    ADD CONSTRAINT webhook_deliveries_failed_at CHECK ((status = 'failed') = (failed_at IS NOT NULL)),
    ADD CONSTRAINT webhook_deliveries_lease_complete CHECK ((lease IS NULL) = (leased_until IS NULL)),
    ADD CONSTRAINT webhook_deliveries_lease_pending CHECK (lease IS NULL OR status = 'pending');

-- The claim counts each endpoint's deliveries in flight (few rows at any time).
CREATE INDEX webhook_deliveries_leased_idx ON webhook_deliveries (endpoint_id)
    WHERE lease IS NOT NULL;
-- Requeuing an endpoint's given-up deliveries.
CREATE INDEX webhook_deliveries_failed_idx ON webhook_deliveries (endpoint_id, event_seq)
    WHERE status = 'failed';
-- Retention: finished deliveries, oldest first.
CREATE INDEX webhook_deliveries_finished_idx ON webhook_deliveries ((coalesce(delivered_at, failed_at)))
    WHERE status <> 'pending';
-- Retention removes events no delivery refers to; without this index each removed event would
-- scan the deliveries (the foreign key check) and so would the "no delivery left" test.
CREATE INDEX webhook_deliveries_event_idx ON webhook_deliveries (event_seq);

-- An endpoint is disabled when a delivery to it is given up (with the reason), or by the partner;
-- disabled endpoints still collect their events, sent once the partner enables them again.
ALTER TABLE webhook_endpoints
    ADD COLUMN status          text        NOT NULL DEFAULT 'enabled',
    ADD COLUMN disabled_reason text        NULL,
    ADD COLUMN disabled_at     timestamptz NULL,
    ADD CONSTRAINT webhook_endpoints_status_valid CHECK (status IN ('enabled', 'disabled')),
    ADD CONSTRAINT webhook_endpoints_disabled_complete
        CHECK ((status = 'disabled') = (disabled_at IS NOT NULL AND disabled_reason IS NOT NULL)),
    ADD CONSTRAINT webhook_endpoints_disabled_reason_length
        CHECK (char_length(disabled_reason) <= 1000);

-- Secrets: the signing key used to be the secret's own bytes, any 16 to 256 visible characters.
-- The Standard Webhooks form is whsec_ followed by the base64 of the key, so every existing
-- secret becomes whsec_ + base64(its bytes): receivers keep the same key bytes (a partner whose
-- secret was S now verifies with "whsec_" + base64(S)). Every row is converted, including those
-- that already began with whsec_, because their key was the whole string. encode() breaks base64
-- lines every 76 characters; the line breaks are removed.
ALTER TABLE webhook_endpoints DROP CONSTRAINT webhook_endpoints_secret_length;
UPDATE webhook_endpoints
   SET secret = 'whsec_' || translate(encode(convert_to(secret, 'UTF8'), 'base64'), E'\n', '');
ALTER TABLE webhook_endpoints
    ADD CONSTRAINT webhook_endpoints_secret_whsec
        CHECK (secret ~ '^whsec_[A-Za-z0-9+/]+={0,2}$' AND char_length(secret) <= 350);
