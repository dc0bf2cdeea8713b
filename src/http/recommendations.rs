//! Upgrade recommendations: the first screen a sales agent opens for a customer, with every
//! active subscription you sold it and its upgrades ranked (docs/upgrades.md, "Recommendations").

use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::AppState;
use super::caller::Caller;
use super::extract::{Json, Path};
use super::problem::{AuthProblems, NotYours, Problem};
use crate::domain::billing::Billing;
use crate::domain::catalog::{BaseOfferId, MarketCode};
use crate::domain::eligibility::Failure;
use crate::domain::reassignment::AccountToReassign;
use crate::domain::recommendation::{Blocked, Recommendation};
use crate::domain::{CustomerId, Operation, UpgradeType};
use crate::error::Error;
use crate::service::upgrades::recommendations::{
    CustomerRecommendations, SubscriptionRecommendations,
};
use crate::telemetry;

/// The recommendation routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_upgrade_recommendations))
}

/// Every active subscription you sold the customer, with its upgrades ranked.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpgradeRecommendations {
    customer_id: Uuid,
    /// The customer's market: prices and bills are in its currency.
    #[schema(value_type = MarketCode)]
    market: String,
    /// In subscription id order; suspended, ended and other sellers' subscriptions are left out.
    subscriptions: Vec<SubscriptionUpgrades>,
}

/// One active subscription and its upgrade options, as its own listing evaluates them.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionUpgrades {
    subscription_id: Uuid,
    #[schema(value_type = BaseOfferId)]
    offer_id: String,
    offer_name: Option<String>,
    quantity: i32,
    /// The eligible upgrades, best first, by the ranking rule (docs/upgrades.md, "Recommendations").
    recommendations: Vec<RecommendedUpgrade>,
    /// The upgrades not possible now, in the catalog's order, with every failing condition.
    blocked: Vec<BlockedUpgrade>,
}

/// An eligible upgrade, ranked, with what it brings, costs and does to the users.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RecommendedUpgrade {
    #[schema(value_type = BaseOfferId)]
    target_offer_id: String,
    target_offer_name: Option<String>,
    upgrade_type: UpgradeType,
    /// 1 for the upgrade to offer first.
    #[schema(minimum = 1)]
    rank: usize,
    /// Codes of the target's services the subscription's offer lacks.
    services_gained: Vec<String>,
    /// Target's minus source's monthly price per seat in the market, in minor units; `null` when
    /// either has no price there.
    extra_monthly_cost_per_seat: Option<i64>,
    /// ISO 4217 code of the customer's market.
    currency: String,
    /// What the upgrade would do to the bill now, with the subscription's seats; `null` when an
    /// offer has no price in the market.
    billing_preview: Option<Billing>,
    /// Users whose licenses would move automatically.
    transferred_users: usize,
    /// Accounts that would need their licenses reassigned, with every reason.
    accounts_requiring_reassignment: Vec<AccountToReassign>,
}

/// An upgrade not possible now.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BlockedUpgrade {
    #[schema(value_type = BaseOfferId)]
    target_offer_id: String,
    target_offer_name: Option<String>,
    /// Every failing condition.
    failures: Vec<Failure>,
}

/// Every active subscription you sold the customer, with its upgrades ranked for a sales agent.
///
/// For each subscription, the same options as its upgrade listing: the eligible ones ranked
/// (services gained at no extra cost first, then more services gained per unit of extra monthly
/// cost per seat, unpriced ones last; ties to the lower extra cost, then the target offer id), and
/// the blocked ones with every failing condition.
#[utoipa::path(
    get, path = "/v1/customers/{customerId}/upgrade-recommendations", tag = "upgrades",
    params(("customerId" = Uuid, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The customer's active subscriptions and their ranked upgrades", body = UpgradeRecommendations),
        (status = 400, description = "Malformed id", body = Problem, content_type = "application/problem+json"),
        AuthProblems,
        NotYours,
    )
)]
async fn get_upgrade_recommendations(
    State(state): State<AppState>,
    caller: Caller,
    Path(customer_id): Path<CustomerId>,
) -> Result<Json<UpgradeRecommendations>, Error> {
    caller.require(Operation::ReadCustomers)?;
    // Boxed: the evaluations' future is kilobytes, and each layer above would move it.
    let found = Box::pin(
        state
            .app()
            .recommendations(&caller.into_actor(), customer_id),
    )
    .await?;
    telemetry::metrics::record_eligibility_failures(
        found
            .subscriptions
            .iter()
            .flat_map(|s| &s.options.blocked)
            .flat_map(|blocked| &blocked.failures)
            .map(|failure| failure.code),
    );
    Ok(Json(found.into()))
}

impl From<CustomerRecommendations> for UpgradeRecommendations {
    fn from(found: CustomerRecommendations) -> Self {
        let CustomerRecommendations {
            customer_id,
            market,
            currency,
            subscriptions,
        } = found;
        UpgradeRecommendations {
            customer_id: customer_id.as_uuid(),
            market,
            subscriptions: subscriptions
                .into_iter()
                .map(|s| SubscriptionUpgrades::new(s, &currency))
                .collect(),
        }
    }
}

impl SubscriptionUpgrades {
    fn new(found: SubscriptionRecommendations, currency: &str) -> Self {
        let subscription = found.subscription;
        SubscriptionUpgrades {
            subscription_id: subscription.id.as_uuid(),
            offer_id: subscription.offer_id,
            offer_name: found.offer_name,
            quantity: subscription.quantity,
            recommendations: found
                .options
                .recommended
                .into_iter()
                .map(|r| RecommendedUpgrade::new(r, currency))
                .collect(),
            blocked: found.options.blocked.into_iter().map(Into::into).collect(),
        }
    }
}

impl RecommendedUpgrade {
    fn new(recommendation: Recommendation, currency: &str) -> Self {
        let upgrade = recommendation.upgrade;
        RecommendedUpgrade {
            target_offer_id: upgrade.target_offer_id,
            target_offer_name: recommendation.target_offer_name,
            upgrade_type: upgrade.upgrade_type,
            rank: recommendation.rank,
            services_gained: recommendation.gain.services,
            extra_monthly_cost_per_seat: recommendation.gain.extra_monthly_cost_per_seat,
            currency: currency.to_owned(),
            billing_preview: upgrade.billing,
            transferred_users: upgrade.plan.transfers.len(),
            accounts_requiring_reassignment: upgrade.plan.accounts,
        }
    }
}

impl From<Blocked> for BlockedUpgrade {
    fn from(blocked: Blocked) -> Self {
        BlockedUpgrade {
            target_offer_id: blocked.target_offer_id,
            target_offer_name: blocked.target_offer_name,
            failures: blocked.failures,
        }
    }
}
