//! Idempotency-Key records: the stored answer of a state-changing request, per partner and key.

use sqlx::PgConnection;

use crate::domain::ids::{CustomerId, PartnerId};

/// A stored answer.
#[derive(Debug, Clone)]
pub struct IdempotencyRow {
    pub request_hash: Vec<u8>,
    pub response_status: Option<i16>,
    pub response_body: Option<Vec<u8>>,
    pub response_headers: Option<serde_json::Value>,
}

/// Takes the transaction-scoped advisory lock for one key; `false` when another transaction
/// (a concurrent retry) holds it.
pub async fn try_lock(conn: &mut PgConnection, lock_key: i64) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT pg_try_advisory_xact_lock($1) AS "locked!""#,
        lock_key
    )
    .fetch_one(conn)
    .await
}

/// The unexpired record for the key.
pub async fn find(
    conn: &mut PgConnection,
    customer_id: CustomerId,
    partner_id: PartnerId,
    key: &str,
) -> Result<Option<IdempotencyRow>, sqlx::Error> {
    sqlx::query_as!(
        IdempotencyRow,
        "SELECT request_hash, response_status, response_body, response_headers
         FROM idempotency_records
         WHERE customer_id = $1 AND partner_id = $2 AND idempotency_key = $3 AND expires_at > now()",
        customer_id.as_uuid(),
        partner_id.as_uuid(),
        key
    )
    .fetch_optional(conn)
    .await
}

/// What to store.
#[derive(Debug, Clone)]
pub struct NewIdempotencyRecord<'a> {
    pub customer_id: CustomerId,
    pub partner_id: PartnerId,
    pub key: &'a str,
    pub request_hash: &'a [u8],
    pub status: i16,
    pub body: &'a [u8],
    pub headers: &'a serde_json::Value,
    pub ttl_secs: i64,
}

/// Stores the answer, replacing an expired record of the same key. The times come from the
/// inserted row, never from a function called in `ON CONFLICT ... DO UPDATE`: a distributed
/// Postgres (Citus) refuses volatile functions there (docs/distributed.md).
pub async fn save(
    conn: &mut PgConnection,
    new: &NewIdempotencyRecord<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO idempotency_records
             (customer_id, partner_id, idempotency_key, request_hash, response_status,
              response_body, response_headers, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, now(), now() + $8::bigint * interval '1 second')
         ON CONFLICT ON CONSTRAINT idempotency_records_pkey DO UPDATE
         SET request_hash = EXCLUDED.request_hash, response_status = EXCLUDED.response_status,
             response_body = EXCLUDED.response_body, response_headers = EXCLUDED.response_headers,
             created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at
         WHERE idempotency_records.expires_at <= EXCLUDED.created_at",
        new.customer_id.as_uuid(),
        new.partner_id.as_uuid(),
        new.key,
        new.request_hash,
        new.status,
        new.body,
        new.headers,
        new.ttl_secs
    )
    .execute(conn)
    .await?;
    Ok(())
}
