//! How much of the job queue a partner holds: its jobs queued or running, and their items still
//! pending. Counted under a per-partner advisory lock, so two concurrent creations cannot both
//! pass the partner's limits.

use sqlx::PgConnection;

use crate::domain::ids::PartnerId;

/// Takes the partner's job-creation lock until the transaction ends.
pub async fn lock_partner(
    conn: &mut PgConnection,
    partner_id: PartnerId,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "SELECT pg_advisory_xact_lock(hashtextextended('upgrade_jobs:' || $1::uuid::text, 0))",
        partner_id.as_uuid()
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The partner's jobs queued or running, and their pending items.
pub async fn held(
    conn: &mut PgConnection,
    partner_id: PartnerId,
) -> Result<(i64, i64), sqlx::Error> {
    let row = sqlx::query!(
        r#"SELECT (SELECT count(*) FROM upgrade_jobs
                    WHERE partner_id = $1 AND status IN ('queued', 'running')) AS "jobs!",
                  (SELECT count(*) FROM upgrade_job_items i
                     JOIN upgrade_jobs j ON j.partner_id = i.partner_id AND j.id = i.job_id
                    WHERE j.partner_id = $1 AND j.status IN ('queued', 'running')
                      AND i.outcome = 'pending') AS "items!""#,
        partner_id.as_uuid()
    )
    .fetch_one(conn)
    .await?;
    Ok((row.jobs, row.items))
}
