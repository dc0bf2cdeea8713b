-- What the eligibility rules read of a customer, kept as one row per customer so that the
-- eligibility listing costs Postgres one index lookup instead of seven (docs/performance.md).
-- A transaction that changes any of the tables the row is made of drops the customer's row when
-- it commits (deferred constraint triggers below), and the next read that finds no row builds
-- and stores it (refill_customer_facts): a stored row is never older than the last commit,
-- and a write pays for a delete, not a rebuild. Upgrades read the stored row too, under their
-- locks, unless their own transaction has changed the customer's tables (customer_facts_mine):
-- then they build it live, through customer_facts_of, and store nothing.
-- Each array is one column of a list, in the order its ORDER BY gives; a license's or a
-- relationship's service codes come comma-joined (codes have no commas).
CREATE TABLE customer_facts (
    customer_id             uuid          NOT NULL,
    market_code             text          NOT NULL,
    -- Partners with a reseller relationship: who may read the row.
    partners                uuid[]        NOT NULL,
    -- Every subscription, every channel and status, by id.
    subscription_ids        uuid[]        NOT NULL,
    subscription_offers     text[]        NOT NULL,
    subscription_statuses   text[]        NOT NULL,
    subscription_quantities integer[]     NOT NULL,
    subscription_channels   text[]        NOT NULL,
    subscription_partners   uuid[]        NOT NULL,
    -- Delegated admin relationships of every partner, by id.
    right_partners          uuid[]        NOT NULL,
    right_statuses          text[]        NOT NULL,
    right_starts            timestamptz[] NOT NULL,
    right_ends              timestamptz[] NOT NULL,
    right_all_services      boolean[]     NOT NULL,
    right_services          text[]        NOT NULL,
    -- The subscription of each active add-on.
    add_on_subscriptions    uuid[]        NOT NULL,
    -- Every license, by subscription then user, with its holder's name and e-mail.
    license_users           uuid[]        NOT NULL,
    license_subscriptions   uuid[]        NOT NULL,
    license_assigned        timestamptz[] NOT NULL,
    license_names           text[]        NOT NULL,
    license_emails          text[]        NOT NULL,
    license_disabled        text[]        NOT NULL,
    -- No foreign key to customers: storing a row would take a key-share lock on the customer's
    -- row, which a writer holds for update while its commit waits for the refill's facts lock
    -- (a deadlock). A customer's deletion drops its row like any other change.
    CONSTRAINT customer_facts_pkey PRIMARY KEY (customer_id)
) WITH (toast_tuple_target = 8160);

-- The facts of the given customers as they are now (as this transaction sees them).
CREATE FUNCTION customer_facts_of(ids uuid[]) RETURNS SETOF customer_facts
LANGUAGE sql STABLE AS $$
SELECT c.id, c.market_code, resellers.partners,
       subs.ids, subs.offers, subs.statuses, subs.quantities, subs.channels, subs.partners,
       rights.partners, rights.statuses, rights.starts, rights.ends, rights.all_services,
       rights.services,
       add_ons.subscriptions,
       lic.users, lic.subscriptions, lic.assigned, lic.names, lic.emails, lic.disabled
FROM customers c
CROSS JOIN LATERAL (
    SELECT coalesce(array_agg(r.partner_id ORDER BY r.partner_id), '{}') AS partners
    FROM reseller_relationships r WHERE r.customer_id = c.id) resellers
CROSS JOIN LATERAL (
    SELECT coalesce(array_agg(s.id ORDER BY s.id), '{}') AS ids,
           coalesce(array_agg(s.offer_id ORDER BY s.id), '{}') AS offers,
           coalesce(array_agg(s.status ORDER BY s.id), '{}') AS statuses,
           coalesce(array_agg(s.quantity ORDER BY s.id), '{}') AS quantities,
           coalesce(array_agg(s.channel ORDER BY s.id), '{}') AS channels,
           coalesce(array_agg(s.partner_id ORDER BY s.id), '{}') AS partners
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
           coalesce(array_agg(u.display_name ORDER BY a.subscription_id, a.user_id), '{}') AS names,
           coalesce(array_agg(u.email ORDER BY a.subscription_id, a.user_id), '{}') AS emails,
           coalesce(array_agg(array_to_string(a.disabled_services, ',')
                              ORDER BY a.subscription_id, a.user_id), '{}') AS disabled
    FROM license_assignments a
    JOIN users u ON u.customer_id = a.customer_id AND u.id = a.user_id
    WHERE a.customer_id = c.id) lic
WHERE c.id = ANY ($1)
$$;

-- Stores the facts of the given customers as this transaction sees them (bulk loads call it
-- directly, for a batch of customers at once). PL/pgSQL rather than SQL: it keeps the
-- statement's plan for the session, where a SQL function plans it anew on every call.
CREATE FUNCTION store_customer_facts(ids uuid[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
INSERT INTO customer_facts SELECT * FROM customer_facts_of(ids)
ON CONFLICT (customer_id) DO UPDATE SET
    (market_code, partners, subscription_ids, subscription_offers, subscription_statuses,
     subscription_quantities, subscription_channels, subscription_partners, right_partners,
     right_statuses, right_starts, right_ends, right_all_services, right_services,
     add_on_subscriptions, license_users, license_subscriptions, license_assigned,
     license_names, license_emails, license_disabled) =
    (EXCLUDED.market_code, EXCLUDED.partners, EXCLUDED.subscription_ids,
     EXCLUDED.subscription_offers, EXCLUDED.subscription_statuses,
     EXCLUDED.subscription_quantities, EXCLUDED.subscription_channels,
     EXCLUDED.subscription_partners, EXCLUDED.right_partners, EXCLUDED.right_statuses,
     EXCLUDED.right_starts, EXCLUDED.right_ends, EXCLUDED.right_all_services,
     EXCLUDED.right_services, EXCLUDED.add_on_subscriptions, EXCLUDED.license_users,
     EXCLUDED.license_subscriptions, EXCLUDED.license_assigned, EXCLUDED.license_names,
     EXCLUDED.license_emails, EXCLUDED.license_disabled);
END
$$;

-- Every stored row and every refill of a customer's facts is ordered by this lock, held to
-- the end of the transaction that takes it.
CREATE FUNCTION customer_facts_lock(id uuid) RETURNS void
LANGUAGE sql AS $$
SELECT pg_advisory_xact_lock(hashtextextended('customer_facts:' || id::text, 0))
$$;

-- Builds and stores the customer's facts when it has no stored row (the first read after a
-- write). Under the customer's facts lock, and each statement a new snapshot, so a refill reads
-- what is committed once no writer of that customer is committing: it never stores facts that
-- a commit it did not see has changed (that commit's drop waits for this transaction to end). A
-- refill is a cache fill, committed without waiting for the disk: a crash may lose it, never
-- make it wrong.
CREATE FUNCTION refill_customer_facts(id uuid) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM customer_facts_lock(id);
    IF NOT EXISTS (SELECT 1 FROM customer_facts f WHERE f.customer_id = id) THEN
        -- Only a transaction that has written nothing else commits without waiting for the disk.
        IF pg_current_xact_id_if_assigned() IS NULL THEN
            PERFORM set_config('synchronous_commit', 'off', true);
        END IF;
        PERFORM store_customer_facts(ARRAY[id]);
    END IF;
END
$$;

-- Two triggers per table run this, once per changed row. `note`, when the row changes: notes
-- the customer in a transaction-local setting, so that this transaction's own reads of the
-- stored row (an upgrade's, under its locks) build the facts live instead (customer_facts_mine).
-- `drop`, at commit: drops each changed customer's row once per transaction (the customers
-- already dropped are noted in another setting).
CREATE FUNCTION customer_facts_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    changed uuid;
    setting text := CASE TG_ARGV[0] WHEN 'note' THEN 'subscription_upgrades.facts_changed'
                                    ELSE 'subscription_upgrades.facts_dropped' END;
    done text := coalesce(current_setting(setting, true), '');
BEGIN
    -- Each branch names only fields its table has (PL/pgSQL resolves them when it runs one).
    IF TG_TABLE_NAME = 'customers' THEN
        changed := CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END;
    ELSIF TG_OP = 'DELETE' THEN
        changed := OLD.customer_id;
    ELSE
        changed := NEW.customer_id;
    END IF;
    IF position(changed::text IN done) = 0 THEN
        IF TG_ARGV[0] = 'drop' THEN
            -- Waits for a refill in flight and deletes what it stored. The lock is taken only
            -- at commit and by refills, which take no row locks, so it cannot deadlock with the
            -- row locks of the change itself.
            PERFORM customer_facts_lock(changed);
            DELETE FROM customer_facts WHERE customer_id = changed;
        END IF;
        PERFORM set_config(setting, done || changed::text || ',', true);
    END IF;
    RETURN NULL;
END
$$;

-- Whether this transaction has changed the customer's facts (its stored row, if any, is then
-- older than what the transaction sees).
CREATE FUNCTION customer_facts_mine(id uuid) RETURNS boolean
LANGUAGE sql STABLE AS $$
SELECT position(id::text IN coalesce(current_setting('subscription_upgrades.facts_changed', true), '')) > 0
$$;

-- Bulk loads (`seed-demo --scale`) set subscription_upgrades.bulk_load and store each batch's
-- customers at once; the condition is checked when a row changes, so no event is even queued.
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['customers', 'reseller_relationships', 'subscriptions',
                             'delegated_admin_relationships', 'delegated_admin_relationship_services',
                             'subscription_add_ons', 'license_assignments', 'users'] LOOP
        EXECUTE format(
            'CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE ON %I FOR EACH ROW
             WHEN (current_setting(''subscription_upgrades.bulk_load'', true) IS DISTINCT FROM ''on'')
             EXECUTE FUNCTION customer_facts_changed(''note'')',
            t || '_facts_noted', t);
        EXECUTE format(
            'CREATE CONSTRAINT TRIGGER %I AFTER INSERT OR UPDATE OR DELETE ON %I
             DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
             WHEN (current_setting(''subscription_upgrades.bulk_load'', true) IS DISTINCT FROM ''on'')
             EXECUTE FUNCTION customer_facts_changed(''drop'')',
            t || '_facts_changed', t);
    END LOOP;
END
$$;

SELECT store_customer_facts(coalesce(array_agg(id), '{}')) FROM customers;
