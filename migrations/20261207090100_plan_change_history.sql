-- New commerce: a plan change (a longer term started now) is a change of its own in the history.
ALTER TABLE subscription_history DROP CONSTRAINT subscription_history_kind_valid;
ALTER TABLE subscription_history ADD CONSTRAINT subscription_history_kind_valid CHECK (change_kind IN (
    'created', 'upgrade', 'partial_upgrade', 'quantity_change', 'status_change',
    'add_on_purchase', 'add_on_quantity_change', 'add_on_cancel',
    'auto_renew_change', 'renewal', 'expiry',
    'change_scheduled', 'scheduled_change_cancelled', 'scheduled_change_applied',
    'scheduled_change_failed', 'plan_change'));
