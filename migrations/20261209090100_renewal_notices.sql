-- The notices sent before a renewal (subscription.renewal_upcoming) or before a cancellation
-- window closes (subscription.cancellation_window_closing): one row per subscription, kind,
-- moment noticed (the term end, or the window's end) and offset. Its key makes each notice go
-- out exactly once, whatever the number of instances, restarts and crashes: the row and the
-- event are written in one transaction.
CREATE TABLE renewal_notices (
    customer_id     uuid        NOT NULL,
    subscription_id uuid        NOT NULL,
    kind            text        NOT NULL,
    due_at          timestamptz NOT NULL,
    days_before     integer     NOT NULL,
    sent_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT renewal_notices_pkey
        PRIMARY KEY (customer_id, subscription_id, kind, due_at, days_before),
    CONSTRAINT renewal_notices_subscription_fkey FOREIGN KEY (customer_id, subscription_id)
        REFERENCES subscriptions (customer_id, id) ON DELETE CASCADE,
    CONSTRAINT renewal_notices_kind_valid
        CHECK (kind IN ('renewal_upcoming', 'cancellation_window_closing')),
    CONSTRAINT renewal_notices_days_positive CHECK (days_before >= 1)
);
-- The window pass: new-commerce subscriptions whose purchase or renewal window closes soon.
CREATE INDEX subscriptions_window_end_idx ON subscriptions (cancellation_window_ends_at)
    WHERE cancellation_window_ends_at IS NOT NULL AND status IN ('active', 'suspended');
