-- The W3C trace context of the request that caused an event (docs/operations.md, "Tracing"). Deliveries are
-- sent later by a background worker, so the context is stored with the event and each delivery
-- sends it as `traceparent`: the receiver's work joins the caller's trace. NULL when the change
-- had no trace context (OpenTelemetry off and no `traceparent` sent; job items, renewals and job
-- ends). Always written as version 00, which the check pins, so the worker can send it as is.
ALTER TABLE webhook_events ADD COLUMN traceparent text NULL,
    ADD CONSTRAINT webhook_events_traceparent_format
        CHECK (traceparent ~ '^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$');
