//! Webhook endpoints a partner registers, enables, disables and recovers, and (in `delivery`)
//! the worker that delivers the outbox to them: at least once, signed as the Standard Webhooks
//! specification says, retried with backoff for a bounded time, every attempt recorded, and a
//! subscription's events in order.

mod delivery;
pub mod outbox;
pub mod target;

pub use delivery::{WorkerSettings, deliver};

use ipnet::IpNet;
use sqlx::PgPool;
use uuid::Uuid;

use super::{Actor, App};
use crate::db;
use crate::domain::records::WebhookEndpoint;
use crate::domain::webhook::EVENT_TYPES;
use crate::domain::webhook::signature::{self, GENERATED_KEY_BYTES};
use crate::domain::{ErrorCode, PartnerId, WebhookEndpointId};
use crate::error::Error;

/// An endpoint to register.
#[derive(Debug, Clone)]
pub struct Registration {
    pub url: String,
    /// Event types, or `["*"]` for every one.
    pub events: Vec<String>,
    /// A `whsec_` secret chosen by the partner; one is generated when absent.
    pub secret: Option<String>,
}

/// Endpoints one partner may have unless the operator says otherwise.
pub const DEFAULT_ENDPOINTS_PER_PARTNER: u32 = 50;

/// What registration checks beyond the endpoint itself.
#[derive(Debug, Clone)]
pub struct EndpointRules {
    /// Networks endpoints may be in although they are not public.
    pub allowed_networks: Vec<IpNet>,
    /// Endpoints one partner may have.
    pub per_partner: u32,
}

impl Default for EndpointRules {
    fn default() -> Self {
        EndpointRules {
            allowed_networks: Vec::new(),
            per_partner: DEFAULT_ENDPOINTS_PER_PARTNER,
        }
    }
}

/// A registered endpoint and its secret (shown this once).
#[derive(Debug, Clone)]
pub struct Registered {
    pub endpoint: WebhookEndpoint,
    pub secret: String,
}

impl App {
    /// Checks and registers an endpoint. A URL whose host is, or resolves to, an address outside
    /// the public internet is refused unless the rules' networks cover it, and a partner that has
    /// as many endpoints as the rules allow is refused another: its endpoints share its senders.
    pub async fn register_webhook(
        &self,
        actor: &Actor,
        registration: &Registration,
    ) -> Result<Registered, Error> {
        register(
            self.pool(),
            actor.partner_id,
            registration,
            self.webhook_rules(),
        )
        .await
    }

    /// A page of the partner's endpoints, oldest first, after `after`.
    pub async fn webhooks(
        &self,
        actor: &Actor,
        after: Option<Uuid>,
        limit: i64,
    ) -> Result<Vec<WebhookEndpoint>, Error> {
        Ok(db::webhooks::list_endpoints(self.pool(), actor.partner_id, after, limit).await?)
    }

    /// One of the partner's endpoints; another partner's is 404 exactly like a missing one.
    pub async fn webhook(
        &self,
        actor: &Actor,
        id: WebhookEndpointId,
    ) -> Result<WebhookEndpoint, Error> {
        db::webhooks::find_endpoint(self.pool(), actor.partner_id, id)
            .await?
            .ok_or_else(webhook_not_found)
    }

    /// Removes one of the partner's endpoints and its pending deliveries.
    pub async fn delete_webhook(&self, actor: &Actor, id: WebhookEndpointId) -> Result<(), Error> {
        if db::webhooks::delete_endpoint(self.pool(), actor.partner_id, id).await? {
            Ok(())
        } else {
            Err(webhook_not_found())
        }
    }

    /// Enables or disables one of the partner's endpoints; enabling sends what queued meanwhile.
    pub async fn set_webhook_enabled(
        &self,
        actor: &Actor,
        id: WebhookEndpointId,
        enabled: bool,
    ) -> Result<WebhookEndpoint, Error> {
        let (pool, partner_id) = (self.pool(), actor.partner_id);
        let changed = if enabled {
            db::webhooks::enable_endpoint(pool, partner_id, id).await?
        } else {
            db::webhooks::disable_endpoint(pool, partner_id, id).await?
        };
        changed.ok_or_else(webhook_not_found)
    }

    /// Requeues the endpoint's given-up deliveries; answers how many.
    pub async fn recover_webhook(
        &self,
        actor: &Actor,
        id: WebhookEndpointId,
    ) -> Result<i64, Error> {
        db::webhooks::requeue_failed(self.pool(), actor.partner_id, id)
            .await?
            .ok_or_else(webhook_not_found)
    }
}

async fn register(
    pool: &PgPool,
    partner_id: PartnerId,
    registration: &Registration,
    rules: &EndpointRules,
) -> Result<Registered, Error> {
    let url = target::parse_url(&registration.url).ok_or_else(|| {
        Error::new(
            ErrorCode::InvalidWebhookUrl,
            "url must be an http:// or https:// URL with a host, at most 2048 characters.",
        )
    })?;
    let events = event_types(&registration.events)?;
    let secret = match &registration.secret {
        Some(secret) => {
            signature::check_new_secret(secret).map_err(|invalid| {
                Error::new(ErrorCode::InvalidWebhookSecret, format!("{invalid}."))
            })?;
            secret.clone()
        }
        None => generated_secret()?,
    };
    target::check_at_registration(&url, &rules.allowed_networks)
        .await
        .map_err(|blocked| Error::new(ErrorCode::WebhookUrlNotAllowed, format!("{blocked}.")))?;
    let new = db::webhooks::NewEndpoint {
        url: url.as_str(),
        events: &events,
        secret: &secret,
    };
    let endpoint = db::webhooks::create_endpoint(
        pool,
        partner_id,
        new,
        i64::from(rules.per_partner),
    )
    .await?
    .ok_or_else(|| {
        Error::new(
            ErrorCode::WebhookEndpointLimitReached,
            format!(
                "You have {} webhook endpoints, as many as a partner may; remove one first.",
                rules.per_partner
            ),
        )
    })?;
    Ok(Registered { endpoint, secret })
}

fn generated_secret() -> Result<String, Error> {
    let mut key = [0u8; GENERATED_KEY_BYTES];
    getrandom::fill(&mut key).map_err(|error| Error::internal(error.to_string()))?;
    Ok(signature::secret_from_key(&key))
}

fn webhook_not_found() -> Error {
    Error::new(
        ErrorCode::WebhookNotFound,
        "No such webhook endpoint of yours.",
    )
}

/// The event types asked for: `["*"]` is every one; each must be known and listed once.
fn event_types(asked: &[String]) -> Result<Vec<String>, Error> {
    if asked == ["*"] {
        return Ok(EVENT_TYPES.iter().map(|t| (*t).to_owned()).collect());
    }
    if asked.is_empty() {
        return Err(Error::new(
            ErrorCode::InvalidWebhookEvents,
            "events must list at least one event type, or be [\"*\"].",
        ));
    }
    for (i, event) in asked.iter().enumerate() {
        if !EVENT_TYPES.contains(&event.as_str()) || asked[..i].contains(event) {
            return Err(Error::new(
                ErrorCode::InvalidWebhookEvents,
                format!(
                    "{event:?} is not an event type or is listed twice; the types are {}.",
                    EVENT_TYPES.join(", ")
                ),
            ));
        }
    }
    Ok(asked.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_lists_are_checked_and_star_means_every_type() {
        let owned = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            event_types(&owned(&["*"])).unwrap().len(),
            EVENT_TYPES.len()
        );
        assert_eq!(
            event_types(&owned(&["subscription.upgraded"])).unwrap(),
            ["subscription.upgraded"]
        );
        for bad in [
            &[][..],
            &["subscription.deleted"][..],
            &["subscription.upgraded", "subscription.upgraded"][..],
            &["*", "subscription.upgraded"][..],
        ] {
            assert!(event_types(&owned(bad)).is_err(), "{bad:?}");
        }
    }
}
