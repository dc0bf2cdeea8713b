-- The stored customer facts' functions, made to run on a Citus cluster as they do on one Postgres
-- (README, "Beyond one Postgres"; the cluster stage of CI runs them there):
--   * customer_facts_of was a SQL function with a parameter over distributed tables, which Citus
--     cannot plan ("parameterized queries for SQL functions"). As PL/pgSQL it runs its query as
--     a statement of its own, planned (and routed to the customer's node) like any other. (`$1`, not
--     `ids`: the query has a column of that name.) An upgrade that has changed the customer reads
--     it inside a statement that Citus routes to the customer's shard, so there it runs nested in
--     a query on a shard, which Citus refuses unless allowed: allowed for this function only,
--     which reads one customer's rows, co-located with the shard it runs beside, in the same
--     transaction (one Postgres has no such setting: a placeholder, ignored).
--   * customer_facts_changed told the customers table from the others by its name, but on a
--     cluster the trigger fires on a shard (`customers_102008`): every other branch then read a
--     customer_id that customers has not. The shard's name is the table's with `_<shard id>`.
-- Same arguments, same results: callers and triggers are unchanged.
CREATE OR REPLACE FUNCTION customer_facts_of(ids uuid[]) RETURNS SETOF customer_facts
LANGUAGE plpgsql STABLE SET citus.allow_nested_distributed_execution = on AS $$
BEGIN
    RETURN QUERY
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
    WHERE c.id = ANY ($1);
END
$$;

CREATE OR REPLACE FUNCTION customer_facts_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    changed uuid;
    setting text := CASE TG_ARGV[0] WHEN 'note' THEN 'subscription_upgrades.facts_changed'
                                    ELSE 'subscription_upgrades.facts_dropped' END;
    done text := coalesce(current_setting(setting, true), '');
BEGIN
    -- Each branch names only fields its table has (PL/pgSQL resolves them when it runs one). On
    -- Citus the trigger fires on the shard, named after the table with its shard id.
    IF TG_TABLE_NAME ~ '^customers(_[0-9]+)?$' THEN
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
