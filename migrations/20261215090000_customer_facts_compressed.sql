-- The stored facts, compressed in the row. A customer's value (migration 20261214090000) is about
-- 4.8 kB, one row per 8 kB page: at 100,000 customers the table was 780 MB, and most eligibility
-- reads copied a page into Postgres's buffers. The binary records repeat their field types and
-- lengths: lz4 makes the value a fifth of that with the load benchmark's synthetic ids, a quarter
-- with random ones (docs/performance.md), several rows per page, decompressed as it is sent.
--
-- A row longer than toast_tuple_target (about 2 kB by default) goes to the toaster. With storage
-- MAIN it compresses the value and keeps it in the row, out of line only when the row still passes
-- a page. The partners array is MAIN too: as EXTENDED, the default, it is the first value the
-- toaster moves out of line to shorten a long row, and every read then fetched it from the TOAST
-- table to check the caller.
--
-- The table is a cache that reads refill, so it is made again rather than altered: Citus cannot
-- change a distributed column's storage. Where the customer tables are already distributed (a
-- Citus deployment migrating), the new table is distributed beside them at once, as
-- deploy/citus/distribute.sql does on a fresh one.
DROP TABLE customer_facts;

CREATE TABLE customer_facts (
    customer_id uuid   NOT NULL,
    market_code text   NOT NULL,
    -- The partners with a reseller relationship with the customer: who may read the row.
    partners    uuid[] NOT NULL,
    -- The facts, laid out as migration 20261214090000 says.
    facts       bytea  NOT NULL,
    -- No foreign key to customers: storing a row would take a key-share lock on the customer's
    -- row, which a writer holds for update while its commit waits for the refill's facts lock
    -- (a deadlock). A customer's deletion drops its row like any other change.
    CONSTRAINT customer_facts_pkey PRIMARY KEY (customer_id)
);
ALTER TABLE customer_facts
    ALTER COLUMN partners SET STORAGE MAIN,
    ALTER COLUMN facts SET STORAGE MAIN;

-- lz4 needs a server built with it (Debian's, the official image's and the managed services'
-- are); elsewhere the default method (pglz) compresses, slower to decompress.
DO $$
BEGIN
    ALTER TABLE customer_facts ALTER COLUMN facts SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'this server has no lz4: customer_facts.facts keeps the default compression';
END
$$;

DO $$
BEGIN
    IF to_regclass('pg_dist_partition') IS NOT NULL THEN
        IF EXISTS (SELECT 1 FROM pg_dist_partition WHERE logicalrelid = 'customers'::regclass) THEN
            PERFORM create_distributed_table('customer_facts', 'customer_id',
                                             colocate_with => 'customers');
        END IF;
    END IF;
END
$$;
