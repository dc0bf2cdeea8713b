-- New commerce: a change scheduled for the renewal may set the next term's plan too (with the
-- seats, or alone); both columns are set together, to a plan sold, or neither.
ALTER TABLE scheduled_changes
    ADD COLUMN term_duration text NULL,
    ADD COLUMN billing_cycle text NULL;
ALTER TABLE scheduled_changes ADD CONSTRAINT scheduled_changes_plan_sold CHECK (
    (term_duration IS NULL AND billing_cycle IS NULL)
    OR (kind = 'quantity' AND (
        (term_duration = 'P1M' AND billing_cycle = 'monthly')
        OR (term_duration = 'P1Y' AND billing_cycle IN ('monthly', 'annual'))
        OR (term_duration = 'P3Y' AND billing_cycle IN ('monthly', 'annual', 'triennial')))));
