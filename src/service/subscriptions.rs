//! Buying (or recording a synced) subscription, and reading the partner's subscriptions.

use chrono::NaiveDate;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::{Actor, App, customer_not_found, snapshot};
use crate::db;
use crate::db::subscriptions::NewSubscription;
use crate::domain::billing::Billing;
use crate::domain::commerce::{CANCELLATION_WINDOW, SeatWindow, SeatWindows};
use crate::domain::coterm::{self, AllowedTermEnd, CustomTermEndNotAllowed};
use crate::domain::plan::{self, Commerce, Plan, TermDuration};
use crate::domain::records::{
    ChangeKind, Customer, HistoryEntry, Precondition, ScheduledChange, Subscription,
};
use crate::domain::subscription::{
    self, BillingCycle, Channel, NewSubscriptionError, SubscriptionStatus,
};
use crate::domain::{Catalog, CustomerId, ErrorCode, PartnerId, SubscriptionId};
use crate::error::Error;

/// What the caller asks for.
#[derive(Debug, Clone)]
pub struct SubscriptionRequest {
    pub offer_id: String,
    pub quantity: i64,
    /// New commerce unless the caller says legacy.
    pub commerce: Commerce,
    /// P1Y when absent.
    pub term_duration: Option<TermDuration>,
    pub billing_cycle: BillingCycle,
    pub term_start: Option<NaiveDate>,
    pub current_period: Option<(NaiveDate, NaiveDate)>,
    pub status: SubscriptionStatus,
    pub channel: Channel,
    /// Renew at the term end (the default), or expire then.
    pub auto_renew: bool,
    /// New commerce, co-terming: the first term ends on this allowed date instead.
    pub custom_term_end: Option<NaiveDate>,
}

/// A purchase: the subscription, and for a co-termed one the bill of its shorter first period.
#[derive(Debug, Clone)]
pub struct Purchase {
    pub subscription: Subscription,
    pub first_period: Option<Billing>,
}

impl App {
    /// Creates the subscription. The customer row is locked first so that the family seat cap,
    /// which counts every subscription of the customer, holds under concurrent purchases.
    pub async fn create_subscription(
        &self,
        actor: &Actor,
        customer_id: CustomerId,
        request: SubscriptionRequest,
    ) -> Result<Purchase, Error> {
        let catalog = self.catalog();
        let (now, today) = (super::now(), super::today());
        let plan = plan_of(&request)?;
        let term_start = request.term_start.unwrap_or(today);
        let full_term =
            subscription::billing_dates(plan, term_start, today, request.current_period)?;
        check_custom_end(&request)?;

        self.transaction(async |conn| {
            let customer = db::customers::lock_for_partner(conn, actor.partner_id, customer_id)
                .await?
                .ok_or_else(|| customer_not_found(customer_id))?;
            check_new(conn, catalog, &customer, &request).await?;
            let dates = match request.custom_term_end {
                Some(end) => {
                    let term = plan.term_duration;
                    let anchors = db::subscriptions::coterm_anchors(
                        conn,
                        customer_id,
                        actor.partner_id,
                        term,
                    )
                    .await?;
                    let allowed = coterm::allowed_term_ends(plan, term_start, &anchors);
                    coterm::check_term_end(end, allowed)?;
                    subscription::shortened_first_term(plan, term_start, end, today)
                }
                None => full_term,
            };
            let quantity = i32::try_from(request.quantity)
                .map_err(|_| Error::from(NewSubscriptionError::InvalidQuantity))?;
            let new_commerce = request.commerce == Commerce::New;
            let unit_price = if new_commerce {
                let offer = (customer_id, request.offer_id.as_str());
                db::catalog::price_in_force(conn, offer, plan, today).await?
            } else {
                None
            };
            let windows = SeatWindows(if new_commerce {
                vec![SeatWindow::opened(request.quantity, now)]
            } else {
                Vec::new()
            });
            let new = NewSubscription {
                customer_id,
                offer_id: &request.offer_id,
                channel: request.channel,
                partner_id: (request.channel == Channel::Partner).then_some(actor.partner_id),
                quantity,
                status: request.status,
                billing_cycle: request.billing_cycle,
                term_start: dates.term_start,
                term_end: dates.term_end,
                current_period_start: dates.current_period_start,
                current_period_end: dates.current_period_end,
                upgraded_from_id: None,
                auto_renew: request.auto_renew,
                commerce: request.commerce,
                term_duration: plan.term_duration,
                unit_price,
                cancellation_window_ends_at: new_commerce.then(|| now + CANCELLATION_WINDOW),
                seat_windows: windows,
                migrated_from_id: None,
            };
            let row = db::subscriptions::create(conn, &new).await?.as_of(today);
            actor
                .record_change(
                    conn,
                    (customer_id, row.id),
                    ChangeKind::Created,
                    None,
                    Some(snapshot(&row)),
                )
                .await?;
            let first_period = match (request.custom_term_end, unit_price) {
                (Some(end), Some(price)) => catalog.market(&customer.market_code).map(|market| {
                    let seats = (price, request.quantity);
                    coterm::first_period_bill(&market.currency, seats, plan, (term_start, end))
                }),
                _ => None,
            };
            Ok(Purchase {
                subscription: row,
                first_period,
            })
        })
        .await
    }

    /// The term ends a new-commerce purchase of `plan` for the customer, starting today, may ask
    /// for (`customTermEndDate`), with their reasons.
    pub async fn custom_term_end_dates(
        &self,
        actor: &Actor,
        customer_id: CustomerId,
        plan: Plan,
    ) -> Result<Vec<AllowedTermEnd>, Error> {
        let pool = self.pool();
        super::visible_customer(pool, actor.partner_id, customer_id).await?;
        let mut conn = pool.acquire().await?;
        let anchors = db::subscriptions::coterm_anchors(
            &mut conn,
            customer_id,
            actor.partner_id,
            plan.term_duration,
        )
        .await?;
        Ok(coterm::allowed_term_ends(plan, super::today(), &anchors))
    }

    /// The subscription, if the actor's partner sold it to this (visible) customer, with the change
    /// scheduled for its term end, if any.
    pub async fn subscription(
        &self,
        actor: &Actor,
        customer_id: CustomerId,
        id: SubscriptionId,
    ) -> Result<(Subscription, Option<ScheduledChange>), Error> {
        let pool = self.pool();
        let subscription = find(pool, actor.partner_id, customer_id, id).await?;
        let scheduled = db::scheduled::find(pool, customer_id, id).await?;
        Ok((subscription, scheduled))
    }

    /// A page of the subscriptions the actor's partner sold to a visible customer.
    pub async fn subscriptions(
        &self,
        actor: &Actor,
        customer_id: CustomerId,
        after: Option<Uuid>,
        limit: i64,
    ) -> Result<Vec<Subscription>, Error> {
        let (pool, partner_id) = (self.pool(), actor.partner_id);
        super::visible_customer(pool, partner_id, customer_id).await?;
        let today = super::today();
        let rows = db::subscriptions::list_for_partner(pool, customer_id, partner_id, after, limit)
            .await?;
        Ok(rows.into_iter().map(|row| row.as_of(today)).collect())
    }

    /// A page of the changes recorded for a subscription the actor's partner sold to a visible
    /// customer.
    pub async fn subscription_history(
        &self,
        actor: &Actor,
        customer_id: CustomerId,
        id: SubscriptionId,
        after: Option<Uuid>,
        limit: i64,
    ) -> Result<Vec<HistoryEntry>, Error> {
        let pool = self.pool();
        find(pool, actor.partner_id, customer_id, id).await?;
        Ok(db::history::list(pool, customer_id, id, after, limit).await?)
    }
}

/// The plan asked for: new commerce sells the plans of [`plan::PLANS`]; a legacy subscription is a
/// one-year term billed monthly or annually.
/// A custom term end is for a new-commerce purchase that does not also name its period.
fn check_custom_end(request: &SubscriptionRequest) -> Result<(), Error> {
    let Some(date) = request.custom_term_end else {
        return Ok(());
    };
    if request.commerce == Commerce::Legacy {
        return Err(CustomTermEndNotAllowed {
            date,
            allowed: Vec::new(),
        }
        .into());
    }
    if request.current_period.is_some() {
        return Err(Error::new(
            ErrorCode::InvalidBody,
            "customTermEndDate sets the first term's periods: send it without \
             currentPeriodStart and currentPeriodEnd.",
        ));
    }
    Ok(())
}

fn plan_of(request: &SubscriptionRequest) -> Result<Plan, Error> {
    let term = request.term_duration.unwrap_or(TermDuration::P1Y);
    match request.commerce {
        Commerce::New => Ok(plan::check_plan(term, request.billing_cycle)?),
        Commerce::Legacy => {
            let plan = Plan::new(term, request.billing_cycle);
            if term == TermDuration::P1Y && request.billing_cycle != BillingCycle::Triennial {
                Ok(plan)
            } else {
                Err(Error::new(
                    ErrorCode::InvalidPlan,
                    format!(
                        "{plan} is not a legacy plan: a legacy subscription is a P1Y term billed \
                         monthly or annual."
                    ),
                ))
            }
        }
    }
}

/// The offer is sold in the customer's market, and the quantity fits its caps given the seats the
/// customer (whose row is locked) already holds in its family.
async fn check_new(
    conn: &mut PgConnection,
    catalog: &Catalog,
    customer: &Customer,
    request: &SubscriptionRequest,
) -> Result<(), Error> {
    let family = catalog
        .offer(&request.offer_id)
        .and_then(|o| o.family_id.as_deref());
    let held = match family {
        Some(family) => db::subscriptions::family_seats(conn, customer.id, family).await?,
        None => 0,
    };
    Ok(subscription::check_new(
        catalog,
        &customer.market_code,
        &request.offer_id,
        request.quantity,
        held,
    )?)
}

/// The subscription, if this partner sold it to this (visible) customer.
pub async fn find(
    pool: &PgPool,
    partner_id: PartnerId,
    customer_id: CustomerId,
    id: SubscriptionId,
) -> Result<Subscription, Error> {
    super::visible_customer(pool, partner_id, customer_id).await?;
    db::subscriptions::find_for_partner(pool, customer_id, partner_id, id)
        .await?
        .map(|row| row.as_of(super::today()))
        .ok_or_else(|| super::subscription_not_found(id))
}

/// 412 `etag_mismatch` unless the subscription satisfies the caller's `If-Match`.
pub fn check_precondition(
    precondition: Option<&Precondition>,
    row: &Subscription,
) -> Result<(), Error> {
    match precondition {
        Some(precondition) if !precondition.holds(row) => Err(Error::Refused {
            code: ErrorCode::EtagMismatch,
            detail: format!(
                "The subscription has changed since you read it; its ETag is now {}.",
                row.entity_tag()
            )
            .into(),
        }),
        _ => Ok(()),
    }
}
