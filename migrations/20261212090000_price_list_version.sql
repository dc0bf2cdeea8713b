-- The price list's version. Storing a price list (`load-prices`) adds one to it in the same
-- transaction, so a service that keeps the list in memory (the renewals page prices each row's
-- next term with it) learns, from one value read in the same snapshot as its rows, whether its
-- copy is the list those rows were read with, and reads the list again when it is not. A
-- migration that changes offer_plan_prices must add one too. One row; on a Citus cluster a
-- reference table, like the list itself.
CREATE TABLE price_list_version (
    only_row boolean PRIMARY KEY DEFAULT true CONSTRAINT price_list_version_one_row CHECK (only_row),
    version bigint NOT NULL
);
INSERT INTO price_list_version (version) VALUES (1);
