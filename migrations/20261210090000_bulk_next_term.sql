-- Bulk next-term instructions (issue 30). A change scheduled for the renewal may take its seats
-- from the licenses assigned at the renewal (`quantity: "assigned"`, at least 1): `quantity` then
-- holds the count when it was scheduled, and the renewal replaces it with the count of that day.
-- A partial upgrade names the seats that move, so it never right-sizes.
ALTER TABLE scheduled_changes ADD COLUMN quantity_assigned boolean NOT NULL DEFAULT false;
ALTER TABLE scheduled_changes ADD CONSTRAINT scheduled_changes_assigned_kinds
    CHECK (NOT quantity_assigned OR kind <> 'partial_upgrade');

-- A term-end job's item carries the whole next-term instruction: the offer (none for a seat or
-- plan change alone), the seats or `assigned`, and the next term's plan.
ALTER TABLE upgrade_job_items ALTER COLUMN target_offer_id DROP NOT NULL;
ALTER TABLE upgrade_job_items
    ADD COLUMN quantity_assigned boolean NOT NULL DEFAULT false,
    ADD COLUMN term_duration text NULL,
    ADD COLUMN billing_cycle text NULL;

-- An item is an upgrade (with the next-term instruction, for a term-end job) or a legacy
-- subscription's move to new commerce.
ALTER TABLE upgrade_job_items ADD COLUMN kind text NOT NULL DEFAULT 'upgrade';
ALTER TABLE upgrade_job_items ADD CONSTRAINT upgrade_job_items_kind_valid
    CHECK (kind IN ('upgrade', 'migration'));
