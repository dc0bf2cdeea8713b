-- Terms end (issue 16): a subscription renews at its term end when `auto_renew` is on (the
-- default, as in Partner Center's new-commerce offers) and it is active; otherwise it becomes
-- `expired`, a final status. The renewal worker rolls `term_start`/`term_end` forward in the same
-- transaction that records the renewal, so a term is renewed exactly once whatever the number of
-- instances: the row no longer matches "term ended" once the renewal commits.
ALTER TABLE subscriptions ADD COLUMN auto_renew boolean NOT NULL DEFAULT true;

ALTER TABLE subscriptions DROP CONSTRAINT subscriptions_status_valid;
ALTER TABLE subscriptions ADD CONSTRAINT subscriptions_status_valid
    CHECK (status IN ('active', 'suspended', 'cancelled', 'upgraded', 'expired'));

-- The worker's queue: live subscriptions by the day their term ends.
CREATE INDEX subscriptions_term_end_live_idx ON subscriptions (term_end)
    WHERE status IN ('active', 'suspended');

-- Renewals, expiries and auto-renew changes are in the history like every other change.
ALTER TABLE subscription_history DROP CONSTRAINT subscription_history_kind_valid;
ALTER TABLE subscription_history ADD CONSTRAINT subscription_history_kind_valid CHECK (change_kind IN (
    'created', 'upgrade', 'quantity_change', 'status_change',
    'add_on_purchase', 'add_on_quantity_change', 'add_on_cancel',
    'auto_renew_change', 'renewal', 'expiry'));
