-- The facts statements send the partner's sources (one subscription, or every active one) as an
-- array of this type, which the service decodes field by field in the binary format (their JSON
-- text cost three times as much to parse). Its fields are the subscription columns the service
-- reads, in the order of `db::facts::SourceRecord`. A named type rather than an anonymous
-- ROW(...): a Citus coordinator cannot read an anonymous record back from a worker; Citus creates
-- this type on every node.
CREATE TYPE subscription_record AS (
    id                          uuid,
    customer_id                 uuid,
    offer_id                    text,
    channel                     text,
    partner_id                  uuid,
    quantity                    integer,
    status                      text,
    billing_cycle               text,
    term_start                  date,
    term_end                    date,
    current_period_start        date,
    current_period_end          date,
    upgraded_to_id              uuid,
    upgraded_from_id            uuid,
    version                     bigint,
    auto_renew                  boolean,
    created_at                  timestamptz,
    updated_at                  timestamptz,
    commerce                    text,
    term_duration               text,
    unit_price_minor            bigint,
    cancellation_window_ends_at timestamptz,
    seat_windows                jsonb,
    migrated_from_id            uuid
);
