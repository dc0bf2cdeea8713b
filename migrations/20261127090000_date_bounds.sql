-- Every date and timestamp a client sets is bounded (issue 14). Before this, the API stored a
-- relationship starting in year 0 or ending in year 12345, or a term starting in year 10000, and
-- from then on every upgrade read of that customer failed: the upgrade's facts are read as JSON,
-- where Postgres writes such values as "0001-01-01T00:00:00+00:00 BC" or with a five-digit
-- year, which no RFC 3339 reader reads back. The API now accepts dates from 1970-01-01 through
-- 2999-12-31 and timestamps from 1970-01-01T00:00:00Z through 2999-12-31T23:59:59Z. A term ends
-- twelve months after it starts, so a term's end (and its last period's end) may reach 3000-12-31.
--
-- First, rows stored before the API checked are clamped into the range. Starts are clamped a
-- little below the latest value and ends a little above the earliest, so a start stays before
-- its end and a period stays within its term (the existing period_valid and term_valid
-- constraints keep holding). Then named constraints keep every row in the range.

UPDATE delegated_admin_relationships
   SET starts_at = least(greatest(starts_at, '1970-01-01 00:00:00+00'), '2999-12-31 23:59:58+00'),
       ends_at   = least(greatest(ends_at, '1970-01-01 00:00:01+00'), '2999-12-31 23:59:59+00')
 WHERE starts_at < '1970-01-01 00:00:00+00' OR ends_at > '2999-12-31 23:59:59+00';

UPDATE subscriptions
   SET term_start           = least(greatest(term_start, '1970-01-01'), '2999-12-31'),
       current_period_start = least(greatest(current_period_start, '1970-01-01'), '2999-12-31'),
       current_period_end   = least(greatest(current_period_end, '1970-01-02'), '3000-12-31'),
       term_end             = least(greatest(term_end, '1970-01-02'), '3000-12-31')
 WHERE term_start < '1970-01-01' OR current_period_start > '2999-12-31' OR term_end > '3000-12-31';

-- With ends_at > starts_at (delegated_admin_relationships_period_valid), both lie in the range.
ALTER TABLE delegated_admin_relationships
    ADD CONSTRAINT delegated_admin_relationships_dates_in_range CHECK (
        starts_at >= '1970-01-01 00:00:00+00' AND ends_at <= '2999-12-31 23:59:59+00');

-- Starts are what a client sends (or today); ends are derived, up to one term later. With the
-- term and period constraints, every date of the row lies between 1970-01-01 and 3000-12-31.
ALTER TABLE subscriptions
    ADD CONSTRAINT subscriptions_dates_in_range CHECK (
        term_start BETWEEN '1970-01-01' AND '2999-12-31'
        AND current_period_start BETWEEN '1970-01-01' AND '2999-12-31'
        AND term_end <= '3000-12-31' AND current_period_end <= '3000-12-31');
