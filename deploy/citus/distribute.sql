-- Turns the migrated schema into the distributed one on Citus (or Azure Cosmos DB for
-- PostgreSQL). Run it once on the coordinator, as its owner, after `subscription-upgrades migrate`
-- has created the tables and before traffic arrives:
--
--   psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -f deploy/citus/distribute.sql
--
-- Layout (docs/distributed.md):
--   * the catalog and partners: reference tables, copied to every node (read by every rule,
--     written only by migrations and partner registration);
--   * every customer table: hash-distributed on customer_id and co-located with customers
--     (distributed on id), so each change, which stays within one customer, runs on one node;
--   * webhook and upgrade-job tables: left on the coordinator as local tables. They belong to a
--     partner, not to a customer (an endpoint receives every customer's events; a job spans
--     customers), and the webhook event is written in the same statement as the customer's history
--     entry, which Citus allows between the coordinator's local tables and a distributed table.
--
-- Order matters: Citus refuses a foreign key from a local or reference table to a distributed
-- one, and a foreign key between distributed tables must include the distribution column and
-- point at a table already distributed. No reference or local table refers to a customer table,
-- and every key between customer tables includes customer_id (tests/api/schema.rs checks both),
-- so distributing in this order needs no foreign key dropped and re-created.

CREATE EXTENSION IF NOT EXISTS citus;

-- The catalog and partners, first: customer tables refer to them.
SELECT create_reference_table('markets');
SELECT create_reference_table('services');
SELECT create_reference_table('offer_families');
SELECT create_reference_table('offers');
SELECT create_reference_table('offer_services');
SELECT create_reference_table('offer_prices');
SELECT create_reference_table('add_on_base_offers');
SELECT create_reference_table('upgrade_paths');
SELECT create_reference_table('partners');

-- The customer, then every table that refers to it, each after the tables it refers to.
SELECT create_distributed_table('customers', 'id');
SELECT create_distributed_table('reseller_relationships', 'customer_id', colocate_with => 'customers');
SELECT create_distributed_table('delegated_admin_relationships', 'customer_id', colocate_with => 'customers');
SELECT create_distributed_table('delegated_admin_relationship_services', 'customer_id', colocate_with => 'customers');
SELECT create_distributed_table('users', 'customer_id', colocate_with => 'customers');
SELECT create_distributed_table('subscriptions', 'customer_id', colocate_with => 'customers');
SELECT create_distributed_table('subscription_add_ons', 'customer_id', colocate_with => 'customers');
SELECT create_distributed_table('license_assignments', 'customer_id', colocate_with => 'customers');
SELECT create_distributed_table('upgrades', 'customer_id', colocate_with => 'customers');
SELECT create_distributed_table('subscription_history', 'customer_id', colocate_with => 'customers');
SELECT create_distributed_table('idempotency_records', 'customer_id', colocate_with => 'customers');
SELECT create_distributed_table('scheduled_changes', 'customer_id', colocate_with => 'customers');
SELECT create_distributed_table('customer_facts', 'customer_id', colocate_with => 'customers');

-- A customer's row of customer_facts is dropped, at commit, by triggers on the customer tables
-- above, and stored again by refill_customer_facts on the next read. Every table those functions
-- read or write is co-located with the changed row's shard, which is what Citus asks before it runs triggers on distributed
-- tables; it still calls them unsafe and wants them allowed, and the functions distributed by
-- customer so that each runs on the node holding that customer. (Not verified in CI, which has no
-- cluster: check it on one before relying on it.)
ALTER DATABASE CURRENT SET citus.enable_unsafe_triggers = on;
SET citus.enable_unsafe_triggers = on;
SELECT create_distributed_function('customer_facts_of(uuid[])');
SELECT create_distributed_function('store_customer_facts(uuid[])');
SELECT create_distributed_function('refill_customer_facts(uuid)', 'id', colocate_with => 'customers');
SELECT create_distributed_function('customer_facts_changed()');
-- customer_facts_mine reads a transaction-local setting that the triggers write: it must run on
-- the node whose triggers wrote it, with the statement that reads the stored row.
SELECT create_distributed_function('customer_facts_mine(uuid)', 'id', colocate_with => 'customers');

-- Left on the coordinator, as local tables: webhook_endpoints, webhook_events,
-- webhook_deliveries, webhook_attempts, upgrade_jobs, upgrade_job_items.

-- What is where, to check the result.
SELECT logicalrelid::regclass AS table_name, partmethod, partkey IS NOT NULL AS distributed,
       colocationid
  FROM pg_dist_partition ORDER BY colocationid, logicalrelid::regclass::text;
