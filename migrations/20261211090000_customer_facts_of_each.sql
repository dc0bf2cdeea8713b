-- The customer facts built live (customer_facts_of) one customer at a time, each by equality on
-- its id. With `c.id = ANY ($1)` the query took twice as long for one customer as it does by
-- equality (1.0 ms against 0.5 ms for a customer of ten subscriptions and ten users, pgbench on
-- the load benchmark's data; forcing a custom plan did not help), and the service asks for one
-- customer at a time: an upgrade that finds no stored facts builds them, 44 % of Postgres's time
-- in an upgrade (pg_stat_statements, load benchmark). A bulk load of 10,000 customers takes as
-- long either way (1.0 s, the ids in order). On a Citus cluster each is a query its router
-- sends to one shard.
-- Same arguments, same rows (each id once, as ANY gave): callers are unchanged.
CREATE OR REPLACE FUNCTION customer_facts_of(ids uuid[]) RETURNS SETOF customer_facts
LANGUAGE plpgsql STABLE SET citus.allow_nested_distributed_execution = on AS $$
DECLARE
    wanted uuid;
BEGIN
    FOREACH wanted IN ARRAY ARRAY(SELECT DISTINCT id FROM unnest($1) AS id ORDER BY id) LOOP
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
        WHERE c.id = wanted;
    END LOOP;
END
$$;
