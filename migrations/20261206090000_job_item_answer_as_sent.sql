-- A job item shows its single request's answer exactly as that request is sent it (keys in the
-- answer's order, nothing normalised): `json` keeps the text it is given, `jsonb` reorders keys.
ALTER TABLE upgrade_job_items ALTER COLUMN result TYPE json USING result::json;
