-- Bulk upgrade jobs (issue 18). A job belongs to a partner and spans its customers, so, like the
-- webhook tables, its tables are keyed by partner, not by customer (docs/distributed.md, "Beyond one
-- Postgres": they stay on the coordinator). An item names a customer and a subscription as the
-- partner sent them: nothing is checked at submission (an item naming another partner's customer
-- fails when processed, as not found), so items have no foreign keys to customer tables.
CREATE TABLE upgrade_jobs (
    partner_id      uuid        NOT NULL,
    id              uuid        NOT NULL,
    status          text        NOT NULL DEFAULT 'queued',
    dry_run         boolean     NOT NULL,
    at_term_end     boolean     NOT NULL,
    -- The job as accepted: the selection, or how many items were listed.
    definition      jsonb       NOT NULL,
    total_items     integer     NOT NULL,
    idempotency_key text        NULL,
    request_hash    bytea       NULL,
    actor_user_id   text        NOT NULL,
    actor_roles     text[]      NOT NULL,
    request_id      text        NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    started_at      timestamptz NULL,
    finished_at     timestamptz NULL,
    -- Fairness: workers serve the job served least recently first, a batch at a time.
    last_served_at  timestamptz NOT NULL DEFAULT '-infinity',
    CONSTRAINT upgrade_jobs_pkey PRIMARY KEY (partner_id, id),
    CONSTRAINT upgrade_jobs_idempotency_key UNIQUE (partner_id, idempotency_key),
    CONSTRAINT upgrade_jobs_status_valid CHECK (status IN ('queued', 'running', 'completed', 'cancelled')),
    CONSTRAINT upgrade_jobs_finished CHECK ((status IN ('completed', 'cancelled')) = (finished_at IS NOT NULL)),
    CONSTRAINT upgrade_jobs_total_items CHECK (total_items BETWEEN 0 AND 10000)
);
CREATE INDEX upgrade_jobs_active_idx ON upgrade_jobs (last_served_at, created_at)
    WHERE status IN ('queued', 'running');

CREATE TABLE upgrade_job_items (
    partner_id      uuid        NOT NULL,
    job_id          uuid        NOT NULL,
    seq             integer     NOT NULL,
    customer_id     uuid        NOT NULL,
    subscription_id uuid        NOT NULL,
    target_offer_id text        NOT NULL,
    quantity        integer     NULL,
    outcome         text        NOT NULL DEFAULT 'pending',
    -- The single upgrade's answer (succeeded), or its problem (not_eligible, failed).
    result          jsonb       NULL,
    attempts        integer     NOT NULL DEFAULT 0,
    lease           uuid        NULL,
    leased_until    timestamptz NULL,
    finished_at     timestamptz NULL,
    CONSTRAINT upgrade_job_items_pkey PRIMARY KEY (partner_id, job_id, seq),
    CONSTRAINT upgrade_job_items_job_fkey FOREIGN KEY (partner_id, job_id)
        REFERENCES upgrade_jobs (partner_id, id) ON DELETE CASCADE,
    CONSTRAINT upgrade_job_items_outcome_valid
        CHECK (outcome IN ('pending', 'succeeded', 'not_eligible', 'failed', 'skipped')),
    CONSTRAINT upgrade_job_items_finished CHECK ((outcome = 'pending') = (finished_at IS NULL))
);
-- The workers' queue.
CREATE INDEX upgrade_job_items_pending_idx ON upgrade_job_items (job_id, seq) WHERE outcome = 'pending';

-- A job's end is announced as a webhook event that belongs to no customer or subscription.
ALTER TABLE webhook_events ALTER COLUMN customer_id DROP NOT NULL;
ALTER TABLE webhook_events ALTER COLUMN subscription_id DROP NOT NULL;
ALTER TABLE webhook_deliveries ALTER COLUMN subscription_id DROP NOT NULL;
