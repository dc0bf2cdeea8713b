-- Partial upgrades (issue 17): part of a source's seats move to a target and the source stays
-- active, so one source may be the source of several upgrades. Only a whole upgrade replaces it:
-- the database still refuses a second whole upgrade of one source (same constraint name, which
-- the service maps to `subscription_already_upgraded`), now as a partial unique index.
ALTER TABLE upgrades ADD COLUMN partial boolean NOT NULL DEFAULT false;
ALTER TABLE upgrades DROP CONSTRAINT upgrades_source_key;
CREATE UNIQUE INDEX upgrades_source_key ON upgrades (customer_id, source_subscription_id) WHERE NOT partial;

ALTER TABLE subscription_history DROP CONSTRAINT subscription_history_kind_valid;
ALTER TABLE subscription_history ADD CONSTRAINT subscription_history_kind_valid CHECK (change_kind IN (
    'created', 'upgrade', 'partial_upgrade', 'quantity_change', 'status_change',
    'add_on_purchase', 'add_on_quantity_change', 'add_on_cancel',
    'auto_renew_change', 'renewal', 'expiry',
    'change_scheduled', 'scheduled_change_cancelled', 'scheduled_change_applied',
    'scheduled_change_failed'));
