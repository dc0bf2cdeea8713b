//! Assigning licenses from a subscription to the customer's users.

use sqlx::PgConnection;
use uuid::Uuid;

use super::{Actor, App, subscription_not_found};
use crate::db;
use crate::domain::records::{LicenseAssignment, Subscription};
use crate::domain::subscription::SubscriptionStatus;
use crate::domain::{Catalog, CustomerId, ErrorCode, SubscriptionId, UserId, input};
use crate::error::Error;

impl App {
    /// Assigns a license from the subscription to the user. The subscription row is locked so that
    /// two assignments cannot both take the last seat.
    pub async fn assign_license(
        &self,
        actor: &Actor,
        (customer_id, subscription_id): (CustomerId, SubscriptionId),
        user_id: UserId,
        disabled_services: Vec<String>,
    ) -> Result<LicenseAssignment, Error> {
        let (catalog, partner_id) = (self.catalog(), actor.partner_id);
        super::visible_customer(self.pool(), partner_id, customer_id).await?;
        self.transaction(async |conn| {
            let subscription =
                db::subscriptions::lock_for_partner(conn, customer_id, partner_id, subscription_id)
                    .await?
                    .ok_or_else(|| subscription_not_found(subscription_id))?;
            check_assignable(catalog, &subscription, &disabled_services)?;
            check_user_and_seat(conn, &subscription, user_id).await?;
            insert(conn, &subscription, user_id, &disabled_services).await
        })
        .await
    }

    /// A page of the licenses assigned from one of the actor's partner's subscriptions.
    pub async fn licenses(
        &self,
        actor: &Actor,
        (customer_id, subscription_id): (CustomerId, SubscriptionId),
        after: Option<Uuid>,
        limit: i64,
    ) -> Result<Vec<LicenseAssignment>, Error> {
        let pool = self.pool();
        super::subscriptions::find(pool, actor.partner_id, customer_id, subscription_id).await?;
        Ok(db::licenses::list(pool, customer_id, subscription_id, after, limit).await?)
    }
}

/// Licenses come only from an active subscription, and only its offer's services can be
/// switched off.
fn check_assignable(
    catalog: &Catalog,
    subscription: &Subscription,
    disabled_services: &[String],
) -> Result<(), Error> {
    if subscription.status != SubscriptionStatus::Active {
        return Err(Error::new(
            ErrorCode::SubscriptionNotActive,
            format!(
                "Licenses can only be assigned from an active subscription; this one is {}.",
                subscription.status.as_str()
            ),
        ));
    }
    let offer = catalog.offer(&subscription.offer_id).ok_or_else(|| {
        Error::internal(format!(
            "subscription offer {} missing from catalog",
            subscription.offer_id
        ))
    })?;
    let scope = format!("a service of {}", offer.name);
    input::service_list(
        disabled_services,
        |code| offer.services.contains(code),
        &scope,
    )
    .map_err(|detail| Error::new(ErrorCode::InvalidDisabledServices, detail))
}

/// The user belongs to the customer, and a seat is free (the subscription row is locked).
async fn check_user_and_seat(
    conn: &mut PgConnection,
    subscription: &Subscription,
    user_id: UserId,
) -> Result<(), Error> {
    let customer_id = subscription.customer_id;
    if !db::users::exists(conn, customer_id, user_id).await? {
        return Err(Error::new(
            ErrorCode::UserNotFound,
            format!("The customer has no user {user_id}."),
        ));
    }
    let assigned = db::licenses::count(conn, customer_id, subscription.id).await?;
    if assigned >= i64::from(subscription.quantity) {
        return Err(Error::new(
            ErrorCode::NoSeatsAvailable,
            format!(
                "All {} seats of the subscription are assigned; add seats first.",
                subscription.quantity
            ),
        ));
    }
    Ok(())
}

async fn insert(
    conn: &mut PgConnection,
    subscription: &Subscription,
    user_id: UserId,
    disabled_services: &[String],
) -> Result<LicenseAssignment, Error> {
    let (customer_id, subscription_id) = (subscription.customer_id, subscription.id);
    db::licenses::create(
        conn,
        customer_id,
        subscription_id,
        user_id,
        disabled_services,
    )
    .await
    .map_err(|e| match db::violated_constraint(&e) {
        Some("license_assignments_pkey") => Error::new(
            ErrorCode::LicenseAlreadyAssigned,
            format!("User {user_id} already holds a license from this subscription."),
        ),
        _ => e.into(),
    })
}
