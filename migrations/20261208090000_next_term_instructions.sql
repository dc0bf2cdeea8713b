-- New commerce: one next-term instruction sets the offer (an upgrade, or at the renewal a move
-- down a matrix path: kind 'downgrade'), the seats and the plan together.
ALTER TABLE scheduled_changes DROP CONSTRAINT scheduled_changes_kind_valid;
ALTER TABLE scheduled_changes ADD CONSTRAINT scheduled_changes_kind_valid
    CHECK (kind IN ('upgrade', 'partial_upgrade', 'downgrade', 'quantity'));
ALTER TABLE scheduled_changes DROP CONSTRAINT scheduled_changes_target_of_upgrades;
ALTER TABLE scheduled_changes ADD CONSTRAINT scheduled_changes_target_of_upgrades
    CHECK ((kind IN ('upgrade', 'partial_upgrade', 'downgrade')) = (target_offer_id IS NOT NULL));
ALTER TABLE scheduled_changes DROP CONSTRAINT scheduled_changes_plan_sold;
ALTER TABLE scheduled_changes ADD CONSTRAINT scheduled_changes_plan_sold CHECK (
    (term_duration IS NULL AND billing_cycle IS NULL)
    OR (term_duration = 'P1M' AND billing_cycle = 'monthly')
    OR (term_duration = 'P1Y' AND billing_cycle IN ('monthly', 'annual'))
    OR (term_duration = 'P3Y' AND billing_cycle IN ('monthly', 'annual', 'triennial')));
