//! How Postgres errors become the service's errors: which SQLSTATEs mean "unreachable, retry"
//! and which a lost lock wait, and which named constraint a write violated.

use crate::error::Error;

impl From<sqlx::Error> for Error {
    fn from(error: sqlx::Error) -> Self {
        if is_unavailable(&error) {
            Error::DatabaseUnavailable(error)
        } else if is_lock_conflict(&error) {
            Error::LockTimeout(error)
        } else {
            Error::Internal(Box::new(error))
        }
    }
}

/// Whether the statement gave up waiting for a lock (55P03) or lost a deadlock (40P01).
fn is_lock_conflict(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db)
        if db.code().is_some_and(|code| matches!(code.as_ref(), "55P03" | "40P01")))
}

/// Whether a database error means "Postgres is not reachable now" rather than a bug: pool
/// exhaustion or a closed pool, I/O and TLS failures, and the server refusing or shutting down.
fn is_unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => true,
        sqlx::Error::Tls(_) | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            // Class 08: connection exception; 57P01..57P03: admin/crash shutdown, cannot connect now.
            code.starts_with("08") || matches!(code.as_ref(), "57P01" | "57P02" | "57P03")
        }),
        _ => false,
    }
}

/// The name of the constraint a database error violated, if any, as the migrations name it. On a
/// distributed Postgres (Citus) the error names the shard's copy, with a `_<shard id>` suffix
/// (`users_email_key_102215`), which is taken off; no constraint of ours ends in `_<digits>` (a
/// schema test checks), so nothing else is cut. And an error raised on a worker reaches the
/// coordinator without its constraint field: then the name is read from the message, which
/// quotes it (`... violates unique constraint "users_email_key_102215"`) in Postgres's English
/// messages (`lc_messages` other than English on a worker would hide it).
pub fn violated_constraint(error: &sqlx::Error) -> Option<&str> {
    match error {
        sqlx::Error::Database(e) => e
            .constraint()
            .or_else(|| {
                let integrity = e.code().is_some_and(|code| code.starts_with("23"));
                integrity
                    .then(|| constraint_in_message(e.message()))
                    .flatten()
            })
            .map(without_shard_suffix),
        _ => None,
    }
}

/// The name quoted after the first `constraint "` in an error message.
fn constraint_in_message(message: &str) -> Option<&str> {
    let (_, rest) = message.split_once(" constraint \"")?;
    let (name, _) = rest.split_once('"')?;
    (!name.is_empty()).then_some(name)
}

/// `name` without a trailing `_<digits>`.
fn without_shard_suffix(name: &str) -> &str {
    match name.rsplit_once('_') {
        Some((base, digits))
            if !base.is_empty()
                && !digits.is_empty()
                && digits.bytes().all(|b| b.is_ascii_digit()) =>
        {
            base
        }
        _ => name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Citus names the shard's copy of a constraint `<name>_<shard id>`.
    #[test]
    fn a_shard_suffix_is_taken_off_the_constraint_name() {
        let cases = [
            ("users_email_key_102215", "users_email_key"),
            ("users_email_key", "users_email_key"),
            ("upgrades_source_key_7", "upgrades_source_key"),
            ("scheduled_changes_pkey_102040", "scheduled_changes_pkey"),
            (
                "subscriptions_upgraded_from_key",
                "subscriptions_upgraded_from_key",
            ),
            ("key_", "key_"),
            ("_123", "_123"),
            ("e1_users", "e1_users"),
        ];
        for (raw, expected) in cases {
            assert_eq!(without_shard_suffix(raw), expected, "{raw}");
        }
    }

    /// The messages of Postgres 15 for each kind of constraint, as Citus relays them from a
    /// worker (without the constraint field).
    #[test]
    fn a_constraint_is_found_in_the_message_of_a_worker_error() {
        let cases = [
            (
                r#"duplicate key value violates unique constraint "users_email_key_102215""#,
                Some("users_email_key_102215"),
            ),
            (
                r#"new row for relation "customers_102020" violates check constraint "customers_name_length""#,
                Some("customers_name_length"),
            ),
            (
                r#"insert or update on table "users_102027" violates foreign key constraint "users_customer_fkey_102027""#,
                Some("users_customer_fkey_102027"),
            ),
            (
                r#"update or delete on table "users_102027" violates foreign key constraint "license_assignments_user_fkey_102020" on table "license_assignments_102020""#,
                Some("license_assignments_user_fkey_102020"),
            ),
            (
                r#"conflicting key value violates exclusion constraint "bookings_overlap""#,
                Some("bookings_overlap"),
            ),
            (
                r#"null value in column "name" of relation "customers_102020" violates not-null constraint"#,
                None,
            ),
            (r#"violates unique constraint """#, None),
            ("canceling statement due to lock timeout", None),
        ];
        for (message, expected) in cases {
            assert_eq!(constraint_in_message(message), expected, "{message}");
        }
    }
}
