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

-- Before: a database of that name on the coordinator and on every worker, each with
-- `CREATE EXTENSION citus`, and the workers registered from the coordinator (`citus_add_node`;
-- managed Citus does all of this). The coordinator may be registered too, or not. The tables may
-- already hold data: distributing copies it to the shards.

-- The customer tables carry the triggers that drop a customer's stored facts (see the functions
-- below), and Citus distributes a table with triggers only when these are allowed. For this
-- session, and for every later session on every node (the shards' triggers run on the workers).
SET citus.enable_unsafe_triggers = on;
DO $$ BEGIN
    EXECUTE format('ALTER DATABASE %I SET citus.enable_unsafe_triggers = on', current_database());
END $$;
-- With the coordinator registered, making a table a reference table would otherwise pull every
-- local table chained to it by a foreign key into Citus's metadata as a local table (customers
-- refers to markets, and every customer table to customers), which then cannot be distributed.
SET citus.enable_local_reference_table_foreign_keys = off;
-- Distributing a table that holds rows copies them, and the triggers that copy fires reach tables
-- chained by foreign keys to a reference table; Citus then refuses the parallel (one connection
-- per shard) form of the next table's creation. One connection per node: slower, once.
SET citus.multi_shard_modify_mode = 'sequential';

-- The catalog and partners, first: customer tables refer to them.
SELECT create_reference_table('markets');
SELECT create_reference_table('services');
SELECT create_reference_table('offer_families');
SELECT create_reference_table('offers');
SELECT create_reference_table('offer_services');
SELECT create_reference_table('offer_prices');
SELECT create_reference_table('offer_plan_prices');
SELECT create_reference_table('price_list_version');
SELECT create_reference_table('add_on_base_offers');
SELECT create_reference_table('upgrade_paths');
SELECT create_reference_table('partners');

-- A customer's row of customer_facts is dropped, at commit, by triggers on the customer tables
-- below, and stored again by refill_customer_facts on the next read. Every table those functions
-- read or write is co-located with the changed row's shard, so each trigger runs on the node
-- holding that customer; the functions exist on every node, and refill_customer_facts is
-- delegated to the customer's node, where its lock is the one the triggers take. First: when the
-- tables already hold rows, distributing them copies each row into a shard, which fires the
-- triggers there, and they need the functions and customer_facts on that node. (customer_facts
-- has no foreign key, so it may come before customers.)
SELECT create_distributed_table('customer_facts', 'customer_id');
SELECT create_distributed_function('customer_facts_lock(uuid)');
SELECT create_distributed_function('customer_facts_of(uuid[])');
SELECT create_distributed_function('customer_facts_packed(customer_facts_built)');
SELECT create_distributed_function('store_customer_facts(uuid[])');
SELECT create_distributed_function('refill_customer_facts(uuid)', 'id', colocate_with => 'customer_facts');
SELECT create_distributed_function('customer_facts_changed()');
-- customer_facts_mine reads a transaction-local setting that the triggers write: it must run on
-- the node whose triggers wrote it, with the statement that reads the stored row.
SELECT create_distributed_function('customer_facts_mine(uuid)', 'id', colocate_with => 'customer_facts');

-- The customer, then every table that refers to it, each after the tables it refers to.
SELECT create_distributed_table('customers', 'id', colocate_with => 'customer_facts');
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
SELECT create_distributed_table('renewal_notices', 'customer_id', colocate_with => 'customers');

-- Left on the coordinator, as local tables: webhook_endpoints, webhook_events,
-- webhook_deliveries, webhook_attempts, upgrade_jobs, upgrade_job_items.

-- What is where, to check the result.
SELECT logicalrelid::regclass AS table_name, partmethod, partkey IS NOT NULL AS distributed,
       colocationid
  FROM pg_dist_partition ORDER BY colocationid, logicalrelid::regclass::text;
