-- Add-ons (SPEC section 7). A subscription holds at most one active add-on of each offer: a second
-- purchase changes the first one's quantity instead. The constraint backs the check made under the
-- base subscription's row lock.
CREATE UNIQUE INDEX subscription_add_ons_one_active_per_offer
    ON subscription_add_ons (customer_id, subscription_id, offer_id) WHERE status = 'active';

-- A bought add-on's quantity can change; the history says so.
ALTER TABLE subscription_history DROP CONSTRAINT subscription_history_kind_valid;
ALTER TABLE subscription_history ADD CONSTRAINT subscription_history_kind_valid CHECK (change_kind IN (
    'created', 'upgrade', 'quantity_change', 'status_change',
    'add_on_purchase', 'add_on_quantity_change', 'add_on_cancel'));
