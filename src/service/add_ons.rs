//! Buying, changing, cancelling and reading a subscription's add-ons (docs/subscriptions.md, "Seats, status
//! and add-ons"), under the same locks and `Idempotency-Key` as the other changes, each change in the
//! history.

use sqlx::PgConnection;
use uuid::Uuid;

use super::idempotency::{Answered, Scope, StoredAnswer};
use super::subscription_steps::{cancel_scheduled_for, seat_billing};
use super::{Actor, App, lock_subscription};
use crate::db;
use crate::domain::add_on::{self, AddOnChange, AddOnError, AddOnStatus, Base};
use crate::domain::billing::Billing;
use crate::domain::records::{AddOn, ChangeKind, Customer, Subscription};
use crate::domain::renewal::ImmediateChange;
use crate::domain::{AddOnId, Catalog, CustomerId, ErrorCode, SubscriptionId};
use crate::error::Error;

/// An add-on after a purchase or change, with what it does to the current period's bill.
#[derive(Debug, Clone)]
pub struct AddOnOutcome {
    pub add_on: AddOn,
    pub billing: Option<Billing>,
}

/// A purchase: `quantity` seats of add-on offer `offer_id` for the subscription.
#[derive(Debug, Clone)]
pub struct PurchaseRequest {
    pub customer_id: CustomerId,
    pub subscription_id: SubscriptionId,
    pub offer_id: String,
    pub quantity: i64,
}

/// A change to one add-on of the subscription.
#[derive(Debug, Clone)]
pub struct ChangeRequest {
    pub customer_id: CustomerId,
    pub subscription_id: SubscriptionId,
    pub add_on_id: AddOnId,
    pub change: AddOnChange,
}

impl App {
    /// Buys an add-on in a keyed write: `answer` makes, in the transaction, the answer to store
    /// under `scope`'s key; a retry with the key gets the stored answer and buys nothing.
    pub async fn buy_add_on(
        &self,
        actor: &Actor,
        request: &PurchaseRequest,
        scope: Option<&Scope>,
        answer: impl FnOnce(&AddOnOutcome) -> Result<StoredAnswer, Error>,
    ) -> Result<Answered, Error> {
        self.keyed(scope, async |conn| {
            answer(&purchase(conn, self.catalog(), actor, request).await?)
        })
        .await
    }

    /// Changes or cancels an add-on in a keyed write, answered as [`buy_add_on`](Self::buy_add_on).
    pub async fn change_add_on(
        &self,
        actor: &Actor,
        request: &ChangeRequest,
        scope: Option<&Scope>,
        answer: impl FnOnce(&AddOnOutcome) -> Result<StoredAnswer, Error>,
    ) -> Result<Answered, Error> {
        self.keyed(scope, async |conn| {
            answer(&change(conn, self.catalog(), actor, request).await?)
        })
        .await
    }

    /// The add-on, if the subscription is one the actor's partner sold to this (visible)
    /// customer.
    pub async fn add_on(
        &self,
        actor: &Actor,
        (customer_id, subscription_id): (CustomerId, SubscriptionId),
        id: AddOnId,
    ) -> Result<AddOn, Error> {
        let pool = self.pool();
        super::subscriptions::find(pool, actor.partner_id, customer_id, subscription_id).await?;
        db::add_ons::find(pool, customer_id, subscription_id, id)
            .await?
            .ok_or_else(|| add_on_not_found(id))
    }

    /// A page of the add-ons of a subscription the actor's partner sold to a visible customer.
    pub async fn add_ons(
        &self,
        actor: &Actor,
        (customer_id, subscription_id): (CustomerId, SubscriptionId),
        after: Option<Uuid>,
        limit: i64,
    ) -> Result<Vec<AddOn>, Error> {
        let pool = self.pool();
        super::subscriptions::find(pool, actor.partner_id, customer_id, subscription_id).await?;
        Ok(db::add_ons::list(pool, customer_id, subscription_id, after, limit).await?)
    }
}

/// Buys the add-on in the caller's transaction, after locking the customer then the base
/// subscription.
async fn purchase(
    conn: &mut PgConnection,
    catalog: &Catalog,
    actor: &Actor,
    request: &PurchaseRequest,
) -> Result<AddOnOutcome, Error> {
    let (customer_id, subscription_id) = (request.customer_id, request.subscription_id);
    let (customer, base) = lock_subscription(conn, actor, customer_id, subscription_id).await?;
    let active: Vec<String> = db::add_ons::active(conn, customer_id, subscription_id)
        .await?
        .into_iter()
        .map(|a| a.offer_id)
        .collect();
    let offer = add_on::check_purchase(
        catalog,
        &base_of(&customer, &base)?,
        &request.offer_id,
        request.quantity,
        &active,
    )?;
    let billing = seat_billing(
        catalog,
        &customer,
        &base,
        offer.monthly_price_in(&customer.market_code),
        0,
        request.quantity,
    )?;
    let quantity = i32::try_from(request.quantity).map_err(Error::internal)?;
    let row = db::add_ons::create(conn, customer_id, subscription_id, &offer.id, quantity)
        .await
        .map_err(|e| match db::violated_constraint(&e) {
            Some("subscription_add_ons_one_active_per_offer") => {
                Error::from(AddOnError::AlreadyActive(offer.name.clone()))
            }
            _ => e.into(),
        })?;
    let outcome = AddOnOutcome {
        add_on: row,
        billing,
    };
    record(conn, actor, ChangeKind::AddOnPurchase, None, &outcome).await?;
    cancel_scheduled_for(conn, actor, &base, ImmediateChange::AddOnPurchase).await?;
    Ok(outcome)
}

/// Changes the add-on's quantity or cancels it in the caller's transaction, after locking the
/// customer then the base subscription. Asking for what already holds changes nothing.
async fn change(
    conn: &mut PgConnection,
    catalog: &Catalog,
    actor: &Actor,
    request: &ChangeRequest,
) -> Result<AddOnOutcome, Error> {
    let (customer_id, subscription_id) = (request.customer_id, request.subscription_id);
    let (customer, base) = lock_subscription(conn, actor, customer_id, subscription_id).await?;
    let before = db::add_ons::lock(conn, customer_id, subscription_id, request.add_on_id)
        .await?
        .ok_or_else(|| add_on_not_found(request.add_on_id))?;
    let status = before.status;
    add_on::check_change(&base_of(&customer, &base)?, status, request.change)?;
    let (quantity, new_status) = match request.change {
        AddOnChange::Quantity(quantity) => (quantity, status),
        AddOnChange::Status(to) => (i64::from(before.quantity), to),
    };
    let new_quantity = if new_status == AddOnStatus::Cancelled {
        0
    } else {
        quantity
    };
    let old_quantity = if status == AddOnStatus::Cancelled {
        0
    } else {
        i64::from(before.quantity)
    };
    let mut outcome = AddOnOutcome {
        add_on: before.clone(),
        billing: None,
    };
    if new_quantity != old_quantity || new_status != status {
        let unit_price = catalog
            .offer(&before.offer_id)
            .and_then(|o| o.monthly_price_in(&customer.market_code));
        outcome.billing = seat_billing(
            catalog,
            &customer,
            &base,
            unit_price,
            old_quantity,
            new_quantity,
        )?;
        let quantity = i32::try_from(quantity).map_err(Error::internal)?;
        outcome.add_on =
            db::add_ons::update(conn, customer_id, before.id, quantity, new_status.as_str())
                .await?;
        let kind = match request.change {
            AddOnChange::Quantity(_) => ChangeKind::AddOnQuantityChange,
            AddOnChange::Status(_) => ChangeKind::AddOnCancel,
        };
        record(conn, actor, kind, Some(&before), &outcome).await?;
    }
    Ok(outcome)
}

fn base_of<'a>(customer: &'a Customer, base: &'a Subscription) -> Result<Base<'a>, Error> {
    Ok(Base {
        offer_id: &base.offer_id,
        status: base.status,
        quantity: i64::from(base.quantity),
        market: &customer.market_code,
    })
}

async fn record(
    conn: &mut PgConnection,
    actor: &Actor,
    kind: ChangeKind,
    before: Option<&AddOn>,
    outcome: &AddOnOutcome,
) -> Result<(), Error> {
    let snapshot = |row: &AddOn| {
        serde_json::json!({
            "addOnId": row.id, "offerId": row.offer_id, "quantity": row.quantity, "status": row.status
        })
    };
    let mut after = snapshot(&outcome.add_on);
    after["billing"] = serde_json::to_value(&outcome.billing).map_err(Error::internal)?;
    let add_on = &outcome.add_on;
    actor
        .record_change(
            conn,
            (add_on.customer_id, add_on.subscription_id),
            kind,
            before.map(snapshot),
            Some(after),
        )
        .await
}

fn add_on_not_found(id: AddOnId) -> Error {
    Error::new(
        ErrorCode::AddOnNotFound,
        format!("The subscription has no add-on {id}."),
    )
}
