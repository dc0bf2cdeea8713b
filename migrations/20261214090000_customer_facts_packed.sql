-- The stored customer facts as one value: the eligibility GET read twenty array columns of
-- customer_facts, which Postgres sent element by element through each type's send function, and
-- a subquery for the source's row. Now the row keeps, besides who may read it, one bytea: the
-- arrays as Postgres's binary form writes them (array_send), one after another, and the
-- customer's subscriptions as whole records, so that a read sends one stored value and looks
-- nothing else up; the service finds the source (or every active one the partner sold) among the
-- records (db::facts).
--
-- The value, in order (each array one-dimensional or empty, as array_send writes it):
--   int4 1 (the layout's version, which the service checks)
--   subscriptions       subscription_record[]   every subscription, every channel and status, by id
--   right_partners      uuid[]                  delegated admin relationships of every partner, by id
--   right_statuses      text[]
--   right_starts        timestamptz[]
--   right_ends          timestamptz[]
--   right_all_services  boolean[]
--   right_services      text[]                  comma-joined service codes
--   add_on_subscriptions uuid[]                 the subscription of each active add-on
--   license_users       uuid[]                  every license, by subscription then user
--   license_subscriptions uuid[]
--   license_assigned    timestamptz[]
--   license_names       bytea[]                 the holder's name, UTF-8
--   license_emails      bytea[]                 the holder's e-mail, UTF-8
--   license_disabled    text[]                  comma-joined service codes
-- Text sent by array_send is in the client's encoding; names and e-mails, the only free text,
-- are converted to UTF-8 bytes here instead, so that a row stored by any session (a Citus
-- worker's included) reads the same. Every other text is a code of ASCII letters and digits.
--
-- customer_facts_of keeps building the facts live, now as a value of the type below, and
-- customer_facts_packed makes the stored form of it. The stored rows are a cache that reads
-- refill: this migration empties it.

CREATE TYPE customer_facts_built AS (
    customer_id           uuid,
    market_code           text,
    partners              uuid[],
    subscriptions         subscription_record[],
    right_partners        uuid[],
    right_statuses        text[],
    right_starts          timestamptz[],
    right_ends            timestamptz[],
    right_all_services    boolean[],
    right_services        text[],
    add_on_subscriptions  uuid[],
    license_users         uuid[],
    license_subscriptions uuid[],
    license_assigned      timestamptz[],
    license_names         bytea[],
    license_emails        bytea[],
    license_disabled      text[]
);

DROP FUNCTION customer_facts_of(uuid[]);

-- Same arguments and rows as before (each customer once, in id order), with the subscriptions
-- as records.
CREATE FUNCTION customer_facts_of(ids uuid[]) RETURNS SETOF customer_facts_built
LANGUAGE plpgsql STABLE SET citus.allow_nested_distributed_execution = on AS $$
DECLARE
    wanted uuid;
BEGIN
    FOREACH wanted IN ARRAY ARRAY(SELECT DISTINCT id FROM unnest($1) AS id ORDER BY id) LOOP
        RETURN QUERY
        SELECT c.id, c.market_code, resellers.partners,
               subs.records,
               rights.partners, rights.statuses, rights.starts, rights.ends, rights.all_services,
               rights.services,
               add_ons.subscriptions,
               lic.users, lic.subscriptions, lic.assigned, lic.names, lic.emails, lic.disabled
        FROM customers c
        CROSS JOIN LATERAL (
            SELECT coalesce(array_agg(r.partner_id ORDER BY r.partner_id), '{}') AS partners
            FROM reseller_relationships r WHERE r.customer_id = c.id) resellers
        CROSS JOIN LATERAL (
            SELECT coalesce(array_agg(
                       ROW(s.id, s.customer_id, s.offer_id, s.channel, s.partner_id, s.quantity,
                           s.status, s.billing_cycle, s.term_start, s.term_end,
                           s.current_period_start, s.current_period_end, s.upgraded_to_id,
                           s.upgraded_from_id, s.version, s.auto_renew, s.created_at,
                           s.updated_at, s.commerce, s.term_duration, s.unit_price_minor,
                           s.cancellation_window_ends_at, s.seat_windows, s.migrated_from_id
                          )::subscription_record
                       ORDER BY s.id), '{}') AS records
            FROM subscriptions s WHERE s.customer_id = c.id) subs
        CROSS JOIN LATERAL (
            SELECT coalesce(array_agg(d.partner_id ORDER BY d.id), '{}') AS partners,
                   coalesce(array_agg(d.status ORDER BY d.id), '{}') AS statuses,
                   coalesce(array_agg(d.starts_at ORDER BY d.id), '{}') AS starts,
                   coalesce(array_agg(d.ends_at ORDER BY d.id), '{}') AS ends,
                   coalesce(array_agg(d.all_services ORDER BY d.id), '{}') AS all_services,
                   coalesce(array_agg(
                       (SELECT coalesce(string_agg(ds.service_code, ',' ORDER BY ds.service_code), '')
                        FROM delegated_admin_relationship_services ds
                        WHERE ds.customer_id = d.customer_id AND ds.relationship_id = d.id)
                       ORDER BY d.id), '{}') AS services
            FROM delegated_admin_relationships d WHERE d.customer_id = c.id) rights
        CROSS JOIN LATERAL (
            SELECT coalesce(array_agg(ao.subscription_id ORDER BY ao.subscription_id), '{}') AS subscriptions
            FROM subscription_add_ons ao WHERE ao.customer_id = c.id AND ao.status = 'active') add_ons
        CROSS JOIN LATERAL (
            SELECT coalesce(array_agg(a.user_id ORDER BY a.subscription_id, a.user_id), '{}') AS users,
                   coalesce(array_agg(a.subscription_id ORDER BY a.subscription_id, a.user_id), '{}') AS subscriptions,
                   coalesce(array_agg(a.assigned_at ORDER BY a.subscription_id, a.user_id), '{}') AS assigned,
                   coalesce(array_agg(convert_to(u.display_name, 'UTF8')
                                      ORDER BY a.subscription_id, a.user_id), '{}') AS names,
                   coalesce(array_agg(convert_to(u.email, 'UTF8')
                                      ORDER BY a.subscription_id, a.user_id), '{}') AS emails,
                   coalesce(array_agg(array_to_string(a.disabled_services, ',')
                                      ORDER BY a.subscription_id, a.user_id), '{}') AS disabled
            FROM license_assignments a
            JOIN users u ON u.customer_id = a.customer_id AND u.id = a.user_id
            WHERE a.customer_id = c.id) lic
        WHERE c.id = wanted;
    END LOOP;
END
$$;

-- The stored form of built facts (the layout above).
CREATE FUNCTION customer_facts_packed(f customer_facts_built) RETURNS bytea
LANGUAGE sql STABLE AS $$
SELECT int4send(1)
    || array_send(f.subscriptions)
    || array_send(f.right_partners) || array_send(f.right_statuses)
    || array_send(f.right_starts) || array_send(f.right_ends)
    || array_send(f.right_all_services) || array_send(f.right_services)
    || array_send(f.add_on_subscriptions)
    || array_send(f.license_users) || array_send(f.license_subscriptions)
    || array_send(f.license_assigned) || array_send(f.license_names)
    || array_send(f.license_emails) || array_send(f.license_disabled)
$$;

TRUNCATE customer_facts;
ALTER TABLE customer_facts
    DROP COLUMN subscription_ids,
    DROP COLUMN subscription_offers,
    DROP COLUMN subscription_statuses,
    DROP COLUMN subscription_quantities,
    DROP COLUMN subscription_channels,
    DROP COLUMN subscription_partners,
    DROP COLUMN right_partners,
    DROP COLUMN right_statuses,
    DROP COLUMN right_starts,
    DROP COLUMN right_ends,
    DROP COLUMN right_all_services,
    DROP COLUMN right_services,
    DROP COLUMN add_on_subscriptions,
    DROP COLUMN license_users,
    DROP COLUMN license_subscriptions,
    DROP COLUMN license_assigned,
    DROP COLUMN license_names,
    DROP COLUMN license_emails,
    DROP COLUMN license_disabled,
    ADD COLUMN facts bytea NOT NULL;
-- Kept in the row, uncompressed: read whole on every GET. A customer whose facts pass the
-- row's target goes out of line, still uncompressed.
ALTER TABLE customer_facts ALTER COLUMN facts SET STORAGE EXTERNAL;

CREATE OR REPLACE FUNCTION store_customer_facts(ids uuid[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
INSERT INTO customer_facts (customer_id, market_code, partners, facts)
SELECT f.customer_id, f.market_code, f.partners, customer_facts_packed(f)
FROM customer_facts_of(ids) f
ON CONFLICT (customer_id) DO UPDATE SET
    (market_code, partners, facts) = (EXCLUDED.market_code, EXCLUDED.partners, EXCLUDED.facts);
END
$$;
