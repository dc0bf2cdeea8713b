-- What every transaction runs after its BEGIN (`db::begin`). On a Citus cluster a customer's row
-- locks are taken on a worker, which knows nothing of the coordinator connection's settings (its
-- lock_timeout option) unless they are passed on: Citus sends a transaction's SET LOCAL statements
-- to the workers when citus.propagate_set_commands is 'local', each by its own text. So there it
-- sets that, and the lock timeout again as a SET LOCAL (a SET LOCAL sent in one string with the
-- BEGIN would reach the workers with its BEGIN, so they run in here). On one Postgres neither
-- changes anything, and it returns at once: the settings cost a fifth of a small write's database
-- time when they ran in an inline DO block, which is compiled for each transaction
-- (docs/performance.md). A function is compiled once per connection.
CREATE FUNCTION begin_settings() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('citus.version', true) IS NULL THEN
        RETURN;
    END IF;
    SET LOCAL citus.propagate_set_commands = 'local';
    EXECUTE format('SET LOCAL lock_timeout = %L', current_setting('lock_timeout'));
END
$$;
