-- Scheduled changes (issue 16): a partner may schedule an upgrade or a seat change for the term
-- end, applied by the renewal worker with the renewal. At most one per subscription: the primary
-- key says so, backing the check made under the subscription's row lock. Keyed by customer, as
-- every customer table.
CREATE TABLE scheduled_changes (
    customer_id     uuid        NOT NULL,
    subscription_id uuid        NOT NULL,
    id              uuid        NOT NULL,
    kind            text        NOT NULL,
    target_offer_id text        NULL,
    quantity        integer     NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT scheduled_changes_pkey PRIMARY KEY (customer_id, subscription_id),
    CONSTRAINT scheduled_changes_subscription_fkey FOREIGN KEY (customer_id, subscription_id)
        REFERENCES subscriptions (customer_id, id),
    CONSTRAINT scheduled_changes_kind_valid CHECK (kind IN ('upgrade', 'quantity')),
    CONSTRAINT scheduled_changes_target_of_upgrades CHECK ((kind = 'upgrade') = (target_offer_id IS NOT NULL)),
    CONSTRAINT scheduled_changes_quantity_positive CHECK (quantity >= 1)
);

ALTER TABLE subscription_history DROP CONSTRAINT subscription_history_kind_valid;
ALTER TABLE subscription_history ADD CONSTRAINT subscription_history_kind_valid CHECK (change_kind IN (
    'created', 'upgrade', 'quantity_change', 'status_change',
    'add_on_purchase', 'add_on_quantity_change', 'add_on_cancel',
    'auto_renew_change', 'renewal', 'expiry',
    'change_scheduled', 'scheduled_change_cancelled', 'scheduled_change_applied',
    'scheduled_change_failed'));
