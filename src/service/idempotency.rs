//! `Idempotency-Key` for state-changing requests. The answer is stored in the same transaction as
//! the change, so a stored answer exists exactly when the change happened. A transaction-scoped
//! advisory lock on the key turns a retry that arrives while the first request is still running
//! into an immediate 409 instead of a second attempt.

use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool};
use tracing::Instrument;

use crate::db;
use crate::db::idempotency::NewIdempotencyRecord;
use crate::domain::{CustomerId, ErrorCode, PartnerId};
use crate::error::Error;

/// How long a stored answer is replayed: a day, then the key may be used afresh.
pub const KEY_TTL_SECS: i64 = 24 * 60 * 60;

/// Longest key accepted.
pub const MAX_KEY_LEN: usize = 255;

/// A validated `Idempotency-Key`: 1 to 255 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// Validates a header value.
    pub fn parse(raw: &str) -> Result<Self, Error> {
        let valid =
            (1..=MAX_KEY_LEN).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_graphic());
        if valid {
            Ok(IdempotencyKey(raw.to_owned()))
        } else {
            Err(Error::new(
                ErrorCode::InvalidIdempotencyKey,
                format!("Idempotency-Key must be 1 to {MAX_KEY_LEN} visible ASCII characters."),
            ))
        }
    }

    /// The key as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One request under a key: who sent it, where, and a digest of what it asked.
#[derive(Debug, Clone)]
pub struct Scope {
    pub customer_id: CustomerId,
    pub partner_id: PartnerId,
    pub key: IdempotencyKey,
    pub request_hash: [u8; 32],
}

impl Scope {
    /// Scopes `key` to the partner and customer; `request` identifies the request (method, path
    /// and canonical body), so that reusing the key for another request is refused.
    pub fn new(
        customer_id: CustomerId,
        partner_id: PartnerId,
        key: IdempotencyKey,
        request: &[u8],
    ) -> Self {
        Scope {
            customer_id,
            partner_id,
            key,
            request_hash: Sha256::digest(request).into(),
        }
    }

    fn lock_key(&self) -> i64 {
        let mut digest = Sha256::new();
        digest.update(self.customer_id.as_uuid().as_bytes());
        digest.update(self.partner_id.as_uuid().as_bytes());
        digest.update(self.key.as_str().as_bytes());
        let bytes: [u8; 32] = digest.finalize().into();
        let mut first = [0u8; 8];
        first.copy_from_slice(&bytes[..8]);
        i64::from_be_bytes(first)
    }
}

/// An answer as given to the client, replayable byte for byte (as Stripe stores it): the HTTP
/// layer makes it, this module only keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAnswer {
    pub status: u16,
    pub body: Vec<u8>,
    pub location: Option<String>,
    pub etag: Option<String>,
}

impl StoredAnswer {
    /// An answer with a status and a JSON body, no headers.
    pub fn new(status: u16, body: Vec<u8>) -> Self {
        StoredAnswer {
            status,
            body,
            location: None,
            etag: None,
        }
    }

    /// The same answer with a `Location`.
    pub fn with_location(self, location: String) -> Self {
        StoredAnswer {
            location: Some(location),
            ..self
        }
    }

    /// The same answer with an `ETag`.
    pub fn with_etag(self, etag: String) -> Self {
        StoredAnswer {
            etag: Some(etag),
            ..self
        }
    }
}

/// Claims the key for this transaction. `Some` is the stored answer of an earlier request with
/// the same key and body; 409 while another request holds the key; 422 when the key was used for
/// another request.
pub async fn claim(conn: &mut PgConnection, scope: &Scope) -> Result<Option<StoredAnswer>, Error> {
    if !db::idempotency::try_lock(conn, scope.lock_key()).await? {
        return Err(Error::new(
            ErrorCode::IdempotencyKeyInUse,
            "A request with this Idempotency-Key is still being processed; retry when it has finished.",
        ));
    }
    let Some(row) = db::idempotency::find(
        conn,
        scope.customer_id,
        scope.partner_id,
        scope.key.as_str(),
    )
    .await?
    else {
        return Ok(None);
    };
    if row.request_hash != scope.request_hash {
        return Err(Error::new(
            ErrorCode::IdempotencyKeyReused,
            "This Idempotency-Key was used for a different request; use a new key.",
        ));
    }
    let (Some(status), Some(body)) = (row.response_status, row.response_body) else {
        return Ok(None);
    };
    let header = |name: &str| {
        row.response_headers
            .as_ref()
            .and_then(|h| h.get(name))
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    Ok(Some(StoredAnswer {
        status: u16::try_from(status).map_err(Error::internal)?,
        body,
        location: header("location"),
        etag: header("etag"),
    }))
}

/// Stores the answer under the key, in the transaction that made the change (replacing an
/// expired record of the key; the retention job deletes the others).
pub async fn store(
    conn: &mut PgConnection,
    scope: &Scope,
    answer: &StoredAnswer,
) -> Result<(), Error> {
    let headers = serde_json::json!({ "location": answer.location, "etag": answer.etag });
    db::idempotency::save(
        conn,
        &NewIdempotencyRecord {
            customer_id: scope.customer_id,
            partner_id: scope.partner_id,
            key: scope.key.as_str(),
            request_hash: &scope.request_hash,
            status: i16::try_from(answer.status).map_err(Error::internal)?,
            body: &answer.body,
            headers: &headers,
            ttl_secs: KEY_TTL_SECS,
        },
    )
    .await?;
    Ok(())
}

/// How a keyed write was answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answered {
    /// The change ran now; this is its answer (stored under the key, if any).
    Fresh(StoredAnswer),
    /// An earlier request with the same key and body ran it; this is the answer it got.
    Replayed(StoredAnswer),
}

/// The one way to write: in one transaction, claims the key (a stored answer is replayed and
/// nothing runs), runs `change` (which takes its locks, customer then subscription, and returns
/// the answer to give), stores the answer under the key and commits. A refusal rolls back
/// before it is answered.
pub(in crate::service) async fn run_keyed(
    pool: &PgPool,
    scope: Option<&Scope>,
    change: impl AsyncFnOnce(&mut PgConnection) -> Result<StoredAnswer, Error>,
) -> Result<Answered, Error> {
    in_transaction(pool, async |conn| {
        if let Some(scope) = scope
            && let Some(stored) = claim(conn, scope).await?
        {
            return Ok(Answered::Replayed(stored));
        }
        let answer = change(conn).await?;
        if let Some(scope) = scope {
            store(conn, scope, &answer).await?;
        }
        Ok(Answered::Fresh(answer))
    })
    .await
}

/// Runs `change` in a transaction: commits what it wrote when it succeeds, and otherwise rolls
/// back before returning. Dropping a transaction would also roll it back, but only once its
/// connection is next used, after the answer is sent: its row locks and the key's advisory lock
/// would outlive the request, and a retry arriving at once would find the key still in use.
/// With trace export on, the transaction is a span of the request that runs it.
pub(in crate::service) async fn in_transaction<T>(
    pool: &PgPool,
    change: impl AsyncFnOnce(&mut PgConnection) -> Result<T, Error>,
) -> Result<T, Error> {
    let span = crate::telemetry::otel::transaction_span();
    let result = transaction(pool, change).instrument(span.clone()).await;
    let outcome = if result.is_ok() { "commit" } else { "rollback" };
    span.record("db.outcome", outcome);
    result
}

async fn transaction<T>(
    pool: &PgPool,
    change: impl AsyncFnOnce(&mut PgConnection) -> Result<T, Error>,
) -> Result<T, Error> {
    let mut tx = crate::db::begin(pool).await?;
    match change(&mut tx).await {
        Ok(value) => {
            tx.commit().await?;
            Ok(value)
        }
        Err(error) => {
            if let Err(rollback) = tx.rollback().await {
                tracing::warn!(error = %rollback, "rolling back a refused change failed");
            }
            Err(error)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn keys_are_one_to_255_visible_ascii_characters() {
        for (raw, ok) in [
            ("a", true),
            ("4f9c-retry_1", true),
            (&"k".repeat(255), true),
            ("", false),
            (&"k".repeat(256), false),
            ("has space", false),
            ("tab\there", false),
            ("clé", false),
        ] {
            assert_eq!(IdempotencyKey::parse(raw).is_ok(), ok, "{raw:?}");
        }
    }

    #[test]
    fn the_request_digest_tells_requests_apart_and_the_lock_key_is_per_partner() {
        let key = IdempotencyKey::parse("k").unwrap();
        let (customer, partner) = (
            CustomerId(Uuid::from_u128(1)),
            PartnerId(Uuid::from_u128(2)),
        );
        let a = Scope::new(customer, partner, key.clone(), b"POST /x {}");
        let b = Scope::new(customer, partner, key.clone(), b"POST /x {\"q\":1}");
        assert_ne!(a.request_hash, b.request_hash);
        assert_eq!(a.lock_key(), b.lock_key());
        let other_partner = Scope::new(customer, PartnerId(Uuid::from_u128(3)), key, b"POST /x {}");
        assert_ne!(a.lock_key(), other_partner.lock_key());
    }
}
