//! User accounts in a customer's directory.

use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::domain::ids::{CustomerId, UserId};

use crate::domain::records::User;

/// Inserts a user; the e-mail is unique per customer, case-insensitively (`users_email_key`).
pub async fn create(
    conn: &mut PgConnection,
    customer_id: CustomerId,
    display_name: &str,
    email: &str,
) -> Result<User, sqlx::Error> {
    sqlx::query_as!(
        User,
        r#"INSERT INTO users (customer_id, id, display_name, email) VALUES ($1, $2, $3, $4)
         RETURNING id AS "id: UserId", customer_id AS "customer_id: CustomerId", display_name, email, created_at"#,
        customer_id.as_uuid(),
        Uuid::now_v7(),
        display_name,
        email
    )
    .fetch_one(conn)
    .await
}

/// Whether the customer has this user.
pub async fn exists(
    conn: &mut PgConnection,
    customer_id: CustomerId,
    user_id: UserId,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM users WHERE customer_id = $1 AND id = $2) AS "exists!""#,
        customer_id.as_uuid(),
        user_id.as_uuid()
    )
    .fetch_one(conn)
    .await
}

/// A page of the customer's users, in id order after `after`.
pub async fn list(
    pool: &PgPool,
    customer_id: CustomerId,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<User>, sqlx::Error> {
    sqlx::query_as!(
        User,
        r#"SELECT id AS "id: UserId", customer_id AS "customer_id: CustomerId", display_name, email, created_at FROM users
         WHERE customer_id = $1 AND ($2::uuid IS NULL OR id > $2)
         ORDER BY id LIMIT $3"#,
        customer_id.as_uuid(),
        after,
        limit
    )
    .fetch_all(pool)
    .await
}
