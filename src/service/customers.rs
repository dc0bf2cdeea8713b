//! Customers, their delegated admin relationships and their users.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{Actor, App, visible_customer};
use crate::db;
use crate::db::relationships::NewRelationship;
use crate::domain::records::{Customer, DelegatedAdminRelationship, RelationshipStatus, User};
use crate::domain::{Catalog, CustomerId, ErrorCode, input};
use crate::error::Error;

impl App {
    /// Onboards a customer for the actor's partner.
    pub async fn create_customer(
        &self,
        actor: &Actor,
        name: &str,
        market: &str,
    ) -> Result<Customer, Error> {
        let (pool, catalog, partner_id) = (self.pool(), self.catalog(), actor.partner_id);
        let name = input::name("name", name, input::CUSTOMER_NAME_MAX)
            .map_err(|e| Error::new(ErrorCode::InvalidCustomerName, e.to_string()))?;
        if catalog.market(market).is_none() {
            let known: Vec<_> = catalog.markets().iter().map(|m| m.code.as_str()).collect();
            return Err(Error::new(
                ErrorCode::UnknownMarket,
                format!("market {market:?} is not one of {}", known.join(", ")),
            ));
        }
        let mut tx = db::begin(pool).await?;
        let customer = db::customers::create(&mut tx, partner_id, &name, market).await?;
        tx.commit().await?;
        Ok(customer)
    }

    /// The customer, when the actor's partner has a reseller relationship with it; 404 otherwise.
    pub async fn customer(
        &self,
        actor: &Actor,
        customer_id: CustomerId,
    ) -> Result<Customer, Error> {
        visible_customer(self.pool(), actor.partner_id, customer_id).await
    }
}

/// What the caller asks a relationship to grant.
#[derive(Debug, Clone)]
pub struct RelationshipRequest {
    pub status: RelationshipStatus,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub services: Vec<String>,
}

impl App {
    /// Records a delegated admin relationship between the actor's partner and the customer.
    pub async fn create_relationship(
        &self,
        actor: &Actor,
        customer_id: CustomerId,
        request: RelationshipRequest,
    ) -> Result<DelegatedAdminRelationship, Error> {
        let (pool, catalog, partner_id) = (self.pool(), self.catalog(), actor.partner_id);
        visible_customer(pool, partner_id, customer_id).await?;
        if request.ends_at <= request.starts_at {
            return Err(Error::new(
                ErrorCode::InvalidRelationshipPeriod,
                "endsAt must be after startsAt",
            ));
        }
        let all_services = request.services == ["*"];
        if !all_services {
            check_services(catalog, &request.services)?;
        }
        let services = if all_services {
            Vec::new()
        } else {
            request.services
        };
        let new = NewRelationship {
            status: request.status,
            starts_at: request.starts_at,
            ends_at: request.ends_at,
            all_services,
            services: &services,
        };
        let mut tx = db::begin(pool).await?;
        let row = db::relationships::create(&mut tx, customer_id, partner_id, &new).await?;
        tx.commit().await?;
        Ok(row)
    }
}

fn check_services(catalog: &Catalog, services: &[String]) -> Result<(), Error> {
    let invalid = |detail: String| Error::new(ErrorCode::InvalidServices, detail);
    if services.is_empty() {
        return Err(invalid(
            "services must list at least one service code, or be [\"*\"] for all".into(),
        ));
    }
    if services.iter().any(|code| code == "*") {
        return Err(invalid(
            "\"*\" (all services) must be the only entry".into(),
        ));
    }
    let known = catalog.service_codes();
    input::service_list(
        services,
        |code| known.contains(code),
        "a service code of the catalog",
    )
    .map_err(invalid)
}

impl App {
    /// Adds a user to the customer's directory.
    pub async fn create_user(
        &self,
        actor: &Actor,
        customer_id: CustomerId,
        display_name: &str,
        email: &str,
    ) -> Result<User, Error> {
        let display_name = input::name("displayName", display_name, input::DISPLAY_NAME_MAX)
            .map_err(|e| Error::new(ErrorCode::InvalidDisplayName, e.to_string()))?;
        let email =
            input::email(email).map_err(|e| Error::new(ErrorCode::InvalidEmail, e.to_string()))?;
        let pool = self.pool();
        visible_customer(pool, actor.partner_id, customer_id).await?;
        let mut tx = db::begin(pool).await?;
        let user = match db::users::create(&mut tx, customer_id, &display_name, &email).await {
            Err(e) if db::violated_constraint(&e) == Some("users_email_key") => {
                return Err(Error::new(
                    ErrorCode::UserEmailTaken,
                    format!("The customer already has a user with e-mail {email}."),
                ));
            }
            other => other?,
        };
        tx.commit().await?;
        Ok(user)
    }

    /// A page of the actor's partner's customers, in id order after `after`.
    pub async fn customers(
        &self,
        actor: &Actor,
        after: Option<Uuid>,
        limit: i64,
    ) -> Result<Vec<Customer>, Error> {
        let partner_id = actor.partner_id;
        Ok(db::customers::list_for_partner(self.pool(), partner_id, after, limit).await?)
    }

    /// A page of the partner's delegated admin relationships with a visible customer.
    pub async fn relationships(
        &self,
        actor: &Actor,
        customer_id: CustomerId,
        after: Option<Uuid>,
        limit: i64,
    ) -> Result<Vec<DelegatedAdminRelationship>, Error> {
        let (pool, partner_id) = (self.pool(), actor.partner_id);
        visible_customer(pool, partner_id, customer_id).await?;
        Ok(db::relationships::list(pool, customer_id, partner_id, after, limit).await?)
    }

    /// A page of a visible customer's users.
    pub async fn users(
        &self,
        actor: &Actor,
        customer_id: CustomerId,
        after: Option<Uuid>,
        limit: i64,
    ) -> Result<Vec<User>, Error> {
        visible_customer(self.pool(), actor.partner_id, customer_id).await?;
        Ok(db::users::list(self.pool(), customer_id, after, limit).await?)
    }
}
