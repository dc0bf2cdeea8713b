-- Migration from legacy (issue 30): a new-commerce subscription of the same offer replaces a
-- legacy one, now or at its term end. The legacy one becomes `migrated` and points at its
-- replacement through `upgraded_to_id` (one link column for both ways a subscription is
-- replaced, so the keys that refuse a second replacement cover both); the replacement names its
-- legacy source in `migrated_from_id` (its `upgraded_from_id` stays for upgrades).
ALTER TABLE subscriptions DROP CONSTRAINT subscriptions_status_valid;
ALTER TABLE subscriptions ADD CONSTRAINT subscriptions_status_valid
    CHECK (status IN ('active', 'suspended', 'cancelled', 'upgraded', 'expired', 'migrated'));
ALTER TABLE subscriptions DROP CONSTRAINT subscriptions_upgraded_link;
ALTER TABLE subscriptions ADD CONSTRAINT subscriptions_upgraded_link
    CHECK ((status IN ('upgraded', 'migrated')) = (upgraded_to_id IS NOT NULL));
ALTER TABLE subscriptions ADD COLUMN migrated_from_id uuid NULL;
ALTER TABLE subscriptions ADD CONSTRAINT subscriptions_migrated_from_fkey
    FOREIGN KEY (customer_id, migrated_from_id) REFERENCES subscriptions (customer_id, id);
ALTER TABLE subscriptions ADD CONSTRAINT subscriptions_migrated_from_key
    UNIQUE (customer_id, migrated_from_id);
ALTER TABLE subscriptions ADD CONSTRAINT subscriptions_migrated_is_new_commerce
    CHECK (migrated_from_id IS NULL OR commerce = 'new');

-- At the term end: a scheduled change of kind `migration`, with the new subscription's plan.
ALTER TABLE scheduled_changes DROP CONSTRAINT scheduled_changes_kind_valid;
ALTER TABLE scheduled_changes ADD CONSTRAINT scheduled_changes_kind_valid
    CHECK (kind IN ('upgrade', 'partial_upgrade', 'downgrade', 'quantity', 'migration'));
ALTER TABLE scheduled_changes ADD CONSTRAINT scheduled_changes_migration_plan
    CHECK (kind <> 'migration' OR term_duration IS NOT NULL);

ALTER TABLE subscription_history DROP CONSTRAINT subscription_history_kind_valid;
ALTER TABLE subscription_history ADD CONSTRAINT subscription_history_kind_valid CHECK (change_kind IN (
    'created', 'upgrade', 'partial_upgrade', 'quantity_change', 'status_change',
    'add_on_purchase', 'add_on_quantity_change', 'add_on_cancel',
    'auto_renew_change', 'renewal', 'expiry',
    'change_scheduled', 'scheduled_change_cancelled', 'scheduled_change_applied',
    'scheduled_change_failed', 'plan_change', 'migration'));
