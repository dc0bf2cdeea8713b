-- Job answers show the stored definition. A selection's `customerIds` was stored whole and so
-- echoed in every job answer and progress event (a 3.9 MB selection made a list of 20 jobs 82 MB).
-- New jobs store a bounded summary, the customers as a count (`customerCount`; the job's items
-- name each one); this rewrites the jobs stored before the same way. Immutable functions only, on
-- a table that stays on the coordinator.
UPDATE upgrade_jobs
   SET definition = jsonb_set(definition #- '{selection,customerIds}',
                              '{selection,customerCount}',
                              to_jsonb(jsonb_array_length(definition #> '{selection,customerIds}')))
 WHERE jsonb_typeof(definition #> '{selection,customerIds}') = 'array';
