//! Orchestration, behind one application object ([`App`], built at start-up): each operation
//! takes its locks (customer, then subscription), loads what the rules need, calls the pure rules
//! in `domain`, and writes through `db`, in a transaction `App` opens (the keyed runner,
//! `idempotency::run_keyed`, or `in_transaction`). Handlers call `App`'s methods (one file of
//! `impl App` per aggregate) and never see a connection; nothing here imports `http` (a keyed
//! write stores the answer `http` made, as it is).

pub mod add_ons;
mod app;
pub mod customers;
pub mod idempotency;
pub mod jobs;
pub mod licenses;
pub mod lifecycle;
pub mod migrations;
pub mod notices;
pub mod pipeline;
mod prices;
pub mod renewals;
pub mod retention;
pub mod scheduled;
mod subscription_steps;
pub mod subscriptions;
pub mod upgrades;
pub mod views;
pub mod webhooks;

use std::future::Future;

pub use app::App;

use chrono::Utc;
use uuid::Uuid;

use crate::db;
use crate::db::history::NewHistoryEntry;
use crate::domain::plan::Commerce;
use crate::domain::records::{ChangeKind, Customer, Subscription};
use crate::domain::subscription::SubscriptionStatus;
use crate::domain::webhook::{ChangeNotice, Event};
use crate::domain::{CustomerId, ErrorCode, PartnerId, SubscriptionId};
use crate::error::Error;

/// Who performs a change, for the history.
#[derive(Debug, Clone)]
pub struct Actor {
    pub partner_id: PartnerId,
    pub user_id: String,
    pub roles: Vec<String>,
    pub request_id: String,
}

impl Actor {
    /// Records a change this actor made to a subscription, with the webhook event announcing it,
    /// in the caller's transaction.
    async fn record_change(
        &self,
        conn: &mut sqlx::PgConnection,
        subscription: (CustomerId, SubscriptionId),
        kind: ChangeKind,
        before: Option<serde_json::Value>,
        after: Option<serde_json::Value>,
    ) -> Result<(), Error> {
        let (customer_id, subscription_id) = subscription;
        let notice = ChangeNotice {
            kind,
            partner_id: self.partner_id,
            customer_id,
            subscription_id,
            request_id: &self.request_id,
            before: before.as_ref(),
            after: after.as_ref(),
        };
        let event = Event::announce(&notice, Uuid::now_v7(), Utc::now());
        let traceparent = crate::telemetry::propagation::current();
        // The states move into the entry: the event holds its own copy.
        let entry = NewHistoryEntry {
            customer_id,
            subscription_id,
            partner_id: self.partner_id,
            change_kind: kind,
            before,
            after,
            actor_user_id: &self.user_id,
            actor_roles: &self.roles,
            request_id: &self.request_id,
            traceparent: traceparent.as_deref(),
        };
        Ok(db::history::record(conn, &entry, &event).await?)
    }
}

/// A subscription as its history entries and events show it; the price and windows only under
/// new commerce (a legacy subscription has neither, and every change records two snapshots).
fn snapshot(row: &Subscription) -> serde_json::Value {
    let mut snapshot = serde_json::json!({
        "offerId": row.offer_id,
        "quantity": row.quantity,
        "status": row.status,
        "currentPeriodStart": row.current_period_start,
        "currentPeriodEnd": row.current_period_end,
        "termEnd": row.term_end,
        "upgradedTo": (row.status != SubscriptionStatus::Migrated).then_some(row.upgraded_to_id).flatten(),
        "upgradedFrom": row.upgraded_from_id,
        "version": row.version,
        "commerce": row.commerce,
        "termDuration": row.term_duration,
        "billingCycle": row.billing_cycle,
    });
    if row.status == SubscriptionStatus::Migrated {
        snapshot["migratedTo"] = serde_json::json!(row.upgraded_to_id);
    }
    if let Some(source) = row.migrated_from_id {
        snapshot["migratedFrom"] = serde_json::json!(source);
    }
    if row.commerce == Commerce::New {
        snapshot["unitPrice"] = serde_json::json!(row.unit_price);
        snapshot["cancellationWindowEndsAt"] = serde_json::json!(row.cancellation_window_ends_at);
        snapshot["refundableQuantity"] = serde_json::json!(row.seat_windows.0);
    }
    snapshot
}

/// When a periodic job makes its first pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirstPass {
    AtStart,
    AfterOneInterval,
}

/// The shape every periodic background job shares: a pass every `interval` until `shutdown`
/// completes (a pass in progress is dropped then; each job's passes are idempotent).
pub async fn every<F: Future<Output = ()>>(
    interval: std::time::Duration,
    first: FirstPass,
    shutdown: impl Future<Output = ()>,
    mut pass: impl FnMut() -> F,
) {
    tokio::pin!(shutdown);
    let mut wait = first == FirstPass::AfterOneInterval;
    loop {
        if wait {
            tokio::select! {
                () = &mut shutdown => return,
                () = tokio::time::sleep(interval) => {},
            }
        }
        wait = true;
        tokio::select! {
            () = &mut shutdown => return,
            () = pass() => {},
        }
    }
}

/// Now, to the microsecond Postgres keeps: a time stored both in a column and in a JSON value
/// (a seat window's end) reads back the same from either.
fn now() -> chrono::DateTime<Utc> {
    use chrono::SubsecRound;
    Utc::now().trunc_subsecs(6)
}

/// The day a subscription's current term and billing period are derived for, and billing
/// computations take effect on (docs/subscriptions.md, "Billing periods and terms").
pub fn today() -> chrono::NaiveDate {
    Utc::now().date_naive()
}

/// The 404 for a customer the partner does not have, or that does not exist: the two are
/// indistinguishable on purpose.
pub fn customer_not_found(customer_id: CustomerId) -> Error {
    Error::new(
        ErrorCode::CustomerNotFound,
        format!("No customer {customer_id} is yours."),
    )
}

/// The 404 for a subscription this partner did not sell, or that does not exist.
pub fn subscription_not_found(subscription_id: SubscriptionId) -> Error {
    Error::new(
        ErrorCode::SubscriptionNotFound,
        format!("No subscription {subscription_id} of this customer is yours."),
    )
}

/// The customer, when the partner has a reseller relationship with it; 404 otherwise.
async fn visible_customer(
    pool: &sqlx::PgPool,
    partner_id: PartnerId,
    customer_id: CustomerId,
) -> Result<Customer, Error> {
    db::customers::find_for_partner(pool, partner_id, customer_id)
        .await?
        .ok_or_else(|| customer_not_found(customer_id))
}

/// Locks the customer row, then the subscription this partner sold it: the order every change
/// takes, so changes of one customer serialise on its row and the family seat cap, the target
/// already owned and the add-on rules are decided on committed data.
pub async fn lock_subscription(
    conn: &mut sqlx::PgConnection,
    actor: &Actor,
    customer_id: CustomerId,
    subscription_id: SubscriptionId,
) -> Result<(Customer, Subscription), Error> {
    let customer = db::customers::lock_for_partner(conn, actor.partner_id, customer_id)
        .await?
        .ok_or_else(|| customer_not_found(customer_id))?;
    let subscription =
        db::subscriptions::lock_for_partner(conn, customer_id, actor.partner_id, subscription_id)
            .await?
            .ok_or_else(|| subscription_not_found(subscription_id))?;
    Ok((customer, subscription.as_of(today())))
}
