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

-- A partial upgrade may be scheduled for the term end: the seats moved (`quantity`), the users
-- named to move and the subscription to grow, when given (same customer, so the key includes it).
ALTER TABLE scheduled_changes ADD COLUMN users uuid[] NULL;
ALTER TABLE scheduled_changes ADD COLUMN target_subscription_id uuid NULL;
ALTER TABLE scheduled_changes ADD CONSTRAINT scheduled_changes_target_subscription_fkey
    FOREIGN KEY (customer_id, target_subscription_id) REFERENCES subscriptions (customer_id, id);
ALTER TABLE scheduled_changes DROP CONSTRAINT scheduled_changes_kind_valid;
ALTER TABLE scheduled_changes ADD CONSTRAINT scheduled_changes_kind_valid
    CHECK (kind IN ('upgrade', 'partial_upgrade', 'quantity'));
ALTER TABLE scheduled_changes DROP CONSTRAINT scheduled_changes_target_of_upgrades;
ALTER TABLE scheduled_changes ADD CONSTRAINT scheduled_changes_target_of_upgrades
    CHECK ((kind IN ('upgrade', 'partial_upgrade')) = (target_offer_id IS NOT NULL));
ALTER TABLE scheduled_changes ADD CONSTRAINT scheduled_changes_partial_fields
    CHECK (kind = 'partial_upgrade' OR (users IS NULL AND target_subscription_id IS NULL));
