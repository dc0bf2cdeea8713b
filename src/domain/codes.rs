//! Every stable error code the API can answer, each with its HTTP status: clients branch on these,
//! so the list is closed, and the documented error table (docs/api-conventions.md) and the OpenAPI document are checked
//! against it.

use serde::Serialize;
use utoipa::ToSchema;

macro_rules! error_codes {
    ($($(#[doc = $doc:literal])* $variant:ident = $code:literal, $status:literal;)*) => {
        /// A stable, machine-readable error code (`code` in every problem+json answer).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum ErrorCode {
            $($(#[doc = $doc])* $variant,)*
        }

        impl ErrorCode {
            /// Every code, in the order of the documented error table.
            pub const ALL: &[ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The code as sent.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $code,)*
                }
            }

            /// The HTTP status every answer with this code has.
            pub fn status(self) -> u16 {
                match self {
                    $(ErrorCode::$variant => $status,)*
                }
            }
        }
    };
}

error_codes! {
    /// A malformed request the HTTP stack refused without a more specific code.
    BadRequest = "bad_request", 400;
    /// The body is not valid JSON (the detail names line and column).
    MalformedJson = "malformed_json", 400;
    /// The JSON does not fit the operation: unknown or missing fields, wrong types.
    InvalidBody = "invalid_body", 400;
    /// The body could not be read.
    UnreadableBody = "unreadable_body", 400;
    /// A path parameter is not of its type (e.g. not a UUID).
    InvalidPathParameter = "invalid_path_parameter", 400;
    /// A query parameter is unknown or not of its type.
    InvalidQueryParameter = "invalid_query_parameter", 400;
    /// `limit` is outside 1–200.
    InvalidLimit = "invalid_limit", 400;
    /// The continuation token is not one this service gave.
    InvalidContinuationToken = "invalid_continuation_token", 400;
    /// A date field is not a date (YYYY-MM-DD) in the accepted range.
    InvalidDate = "invalid_date", 400;
    /// A timestamp field is not an RFC 3339 timestamp in the accepted range.
    InvalidTimestamp = "invalid_timestamp", 400;
    /// A quantity outside 1–1,000,000.
    InvalidQuantity = "invalid_quantity", 400;
    /// No such offer in the catalog.
    UnknownOffer = "unknown_offer", 400;
    /// No such market.
    UnknownMarket = "unknown_market", 400;
    /// A billing period that does not fit the term and cycle.
    InvalidBillingPeriod = "invalid_billing_period", 400;
    /// A term duration and billing cycle that are not sold together (the detail lists the plans).
    InvalidPlan = "invalid_plan", 400;
    /// A term-end window that ends before it starts or spans more than 400 days.
    InvalidTermEndWindow = "invalid_term_end_window", 400;
    /// A customer name that is empty, too long or has control characters.
    InvalidCustomerName = "invalid_customer_name", 400;
    /// A user's display name that is empty, too long or has control characters.
    InvalidDisplayName = "invalid_display_name", 400;
    /// Not an e-mail address.
    InvalidEmail = "invalid_email", 400;
    /// A relationship's service list names unknown services, repeats one, or mixes `*` in.
    InvalidServices = "invalid_services", 400;
    /// Disabled services that are not services of the subscription's offer.
    InvalidDisabledServices = "invalid_disabled_services", 400;
    /// A relationship that ends before it starts.
    InvalidRelationshipPeriod = "invalid_relationship_period", 400;
    /// A status a subscription cannot be recorded with.
    InvalidStatus = "invalid_status", 400;
    /// A change that is not exactly one of quantity or status.
    InvalidChange = "invalid_change", 400;
    /// A partial upgrade's `users` lists a user twice.
    DuplicateUser = "duplicate_user", 400;
    /// `If-Match` is not `*` or a list of entity tags.
    InvalidIfMatch = "invalid_if_match", 400;
    /// `Idempotency-Key` is not 1–255 visible ASCII characters.
    InvalidIdempotencyKey = "invalid_idempotency_key", 400;
    /// A webhook URL that is not an http(s) URL with a host.
    InvalidWebhookUrl = "invalid_webhook_url", 400;
    /// A webhook's event list is empty, unknown or repeats a type.
    InvalidWebhookEvents = "invalid_webhook_events", 400;
    /// A webhook secret that is not `whsec_` and the base64 of 24–64 bytes.
    InvalidWebhookSecret = "invalid_webhook_secret", 400;
    /// A webhook URL whose host is, or resolves to, a loopback, private, link-local, unique-local
    /// or metadata address (unless `WEBHOOK_ALLOWED_NETWORKS` allows it).
    WebhookUrlNotAllowed = "webhook_url_not_allowed", 400;
    /// No bearer token.
    TokenMissing = "token_missing", 401;
    /// The bearer token is not a JWT.
    TokenMalformed = "token_malformed", 401;
    /// The token has expired.
    TokenExpired = "token_expired", 401;
    /// The token is not valid yet (`nbf`).
    TokenNotYetValid = "token_not_yet_valid", 401;
    /// The token's signature does not verify.
    TokenSignatureInvalid = "token_signature_invalid", 401;
    /// The token's `aud` is not this service.
    TokenAudienceInvalid = "token_audience_invalid", 401;
    /// The token's `iss` is not the configured issuer.
    TokenIssuerInvalid = "token_issuer_invalid", 401;
    /// The token is signed with an algorithm the key does not allow (`none` included).
    TokenAlgorithmNotAllowed = "token_algorithm_not_allowed", 401;
    /// The token's claims are missing or of the wrong form.
    TokenClaimsInvalid = "token_claims_invalid", 401;
    /// The token names a signing key (`kid`) the identity provider does not publish.
    TokenKeyUnknown = "token_key_unknown", 401;
    /// The caller's roles do not allow the operation.
    RoleNotAllowed = "role_not_allowed", 403;
    /// No such route.
    RouteNotFound = "route_not_found", 404;
    /// No such customer of yours.
    CustomerNotFound = "customer_not_found", 404;
    /// No such subscription of yours.
    SubscriptionNotFound = "subscription_not_found", 404;
    /// No such offer.
    OfferNotFound = "offer_not_found", 404;
    /// No such upgrade of yours.
    UpgradeNotFound = "upgrade_not_found", 404;
    /// No such add-on of the subscription.
    AddOnNotFound = "add_on_not_found", 404;
    /// No such webhook endpoint of yours.
    WebhookNotFound = "webhook_not_found", 404;
    /// No such upgrade job of yours.
    JobNotFound = "job_not_found", 404;
    /// The subscription has no scheduled change.
    ScheduledChangeNotFound = "scheduled_change_not_found", 404;
    /// The route does not take this method (`Allow` lists those it takes).
    MethodNotAllowed = "method_not_allowed", 405;
    /// The subscription is not active.
    SubscriptionNotActive = "subscription_not_active", 409;
    /// The subscription was already upgraded.
    SubscriptionAlreadyUpgraded = "subscription_already_upgraded", 409;
    /// A status change the state machine does not allow.
    InvalidStatusTransition = "invalid_status_transition", 409;
    /// A request with this `Idempotency-Key` is still running.
    IdempotencyKeyInUse = "idempotency_key_in_use", 409;
    /// The subscription already has an active add-on of this offer.
    AddOnAlreadyActive = "add_on_already_active", 409;
    /// The add-on is cancelled.
    AddOnNotActive = "add_on_not_active", 409;
    /// Every seat of the subscription is assigned.
    NoSeatsAvailable = "no_seats_available", 409;
    /// The user already holds a license from the subscription.
    LicenseAlreadyAssigned = "license_already_assigned", 409;
    /// The customer already has a user with this e-mail.
    UserEmailTaken = "user_email_taken", 409;
    /// The subscription already has a scheduled change (undo it first).
    ScheduledChangeExists = "scheduled_change_exists", 409;
    /// Auto-renewal is off: nothing can be scheduled for a term end that does not renew.
    AutoRenewOff = "auto_renew_off", 409;
    /// The job has completed: there is nothing left to cancel.
    JobAlreadyCompleted = "job_already_completed", 409;
    /// `If-Match` does not match the current `ETag`.
    EtagMismatch = "etag_mismatch", 412;
    /// The body is larger than `MAX_BODY_BYTES`.
    PayloadTooLarge = "payload_too_large", 413;
    /// The request target is longer than 8 KiB.
    UriTooLong = "uri_too_long", 414;
    /// The body is not sent as `application/json`.
    UnsupportedMediaType = "unsupported_media_type", 415;
    /// The upgrade fails eligibility conditions, all listed in `failures`.
    UpgradeNotEligible = "upgrade_not_eligible", 422;
    /// Over the offer's or its family's seat cap.
    SeatLimitExceeded = "seat_limit_exceeded", 422;
    /// Fewer seats than licenses assigned.
    QuantityBelowAssignedLicenses = "quantity_below_assigned_licenses", 422;
    /// Fewer seats than an active add-on has.
    QuantityBelowAddOnQuantity = "quantity_below_add_on_quantity", 422;
    /// New commerce: fewer seats than the seats outside their 168-hour windows (schedule it).
    SeatReductionNotAllowed = "seat_reduction_not_allowed", 422;
    /// New commerce: cancelling after the purchase or renewal window (turn autoRenew off).
    CancellationWindowClosed = "cancellation_window_closed", 422;
    /// New commerce: mid-term, a term may only get longer (schedule the plan change).
    PlanChangeNotAllowed = "plan_change_not_allowed", 422;
    /// Only an active legacy subscription moves to new commerce.
    MigrationNotAllowed = "migration_not_allowed", 422;
    /// New commerce: `customTermEndDate` is not one of the dates allowed (listed with the error).
    CustomTermEndNotAllowed = "custom_term_end_not_allowed", 422;
    /// The offer is not an add-on.
    OfferNotAddOn = "offer_not_add_on", 422;
    /// The offer is an add-on, bought on a subscription instead.
    OfferIsAddOn = "offer_is_add_on", 422;
    /// The offer is not sold in the customer's market.
    OfferNotSoldInMarket = "offer_not_sold_in_market", 422;
    /// The catalog does not attach this add-on to the subscription's offer.
    AddOnNotAttachable = "add_on_not_attachable", 422;
    /// More add-on seats than the subscription has.
    AddOnQuantityExceedsBase = "add_on_quantity_exceeds_base", 422;
    /// A job of more than 10,000 items, listed or selected.
    TooManyItems = "too_many_items", 422;
    /// A job's `selection.customerIds` lists more than 1,000 customers.
    TooManyCustomerIds = "too_many_customer_ids", 422;
    /// The `Idempotency-Key` was used for another request.
    IdempotencyKeyReused = "idempotency_key_reused", 422;
    /// The customer has no such user.
    UserNotFound = "user_not_found", 422;
    /// A user named to move in a partial upgrade holds no license of the source.
    UserNotLicensed = "user_not_licensed", 422;
    /// A partial upgrade names more users than the seats it moves.
    TooManyUsers = "too_many_users", 422;
    /// A partial upgrade that would move all of the source's seats, or more.
    PartialQuantityTooLarge = "partial_quantity_too_large", 422;
    /// `targetSubscriptionId` names no subscription of this customer sold by you.
    TargetSubscriptionNotFound = "target_subscription_not_found", 422;
    /// `targetSubscriptionId` names a subscription of another offer than the target.
    TargetSubscriptionMismatch = "target_subscription_mismatch", 422;
    /// The partner already has as many webhook endpoints as it may (`WEBHOOK_ENDPOINTS_PER_PARTNER`).
    WebhookEndpointLimitReached = "webhook_endpoint_limit_reached", 422;
    /// The partner's request quota is spent.
    RateLimited = "rate_limited", 429;
    /// The partner already follows as many job event streams on this instance as it may, or the
    /// instance serves as many as it may.
    TooManyStreams = "too_many_streams", 429;
    /// The partner already has as many jobs queued or running as it may.
    TooManyJobs = "too_many_jobs", 429;
    /// The job would take the partner's pending job items over its limit.
    TooManyPendingItems = "too_many_pending_items", 429;
    /// The request's header section is over 16 KiB or 100 lines.
    HeadersTooLarge = "headers_too_large", 431;
    /// A bug or an unexpected answer; logged with the request id.
    InternalError = "internal_error", 500;
    /// The database cannot be reached now.
    DatabaseUnavailable = "database_unavailable", 503;
    /// Another change of the same customer held its rows too long.
    LockTimeout = "lock_timeout", 503;
    /// The service could not answer in time.
    ServiceUnavailable = "service_unavailable", 503;
    /// `/readyz`: the database does not answer, or the identity provider's signing keys are not
    /// loaded yet.
    NotReady = "not_ready", 503;
    /// The identity provider's signing keys have not been loaded yet, so no token can be checked.
    AuthProviderUnavailable = "auth_provider_unavailable", 503;
}

/// A rule's refusal: its stable code, and (as `Display`) what a person reads.
pub trait Refusal: std::fmt::Display {
    /// The stable code.
    fn code(&self) -> ErrorCode;
}

/// Makes a refusal whose inherent `code()` gives its code a [`Refusal`]. Each rule's module
/// invokes it for its own refusal, so the codes depend on no rule (the arrows point down here).
macro_rules! refusal {
    ($refusal:ty) => {
        impl $crate::domain::codes::Refusal for $refusal {
            fn code(&self) -> $crate::domain::codes::ErrorCode {
                <$refusal>::code(self)
            }
        }
    };
}

pub(crate) use refusal;

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn codes_are_unique_and_their_wire_names_are_their_serde_names() {
        let names: BTreeSet<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(names.len(), ErrorCode::ALL.len());
        for code in ErrorCode::ALL {
            assert_eq!(
                serde_json::to_value(code).unwrap(),
                serde_json::json!(code.as_str())
            );
            assert!((400..600).contains(&code.status()), "{code:?}");
        }
    }

    /// The documented error table (docs/api-conventions.md) lists exactly these codes, each
    /// with its status.
    #[test]
    fn the_documented_error_table_is_this_list() {
        let conventions = include_str!("../../docs/api-conventions.md");
        let table = conventions.split("<!-- error-codes -->").nth(1).expect(
            "docs/api-conventions.md has an error table between <!-- error-codes --> markers",
        );
        let rows: Vec<(String, u16)> = table
            .lines()
            .filter_map(|line| {
                let cells: Vec<&str> = line.split('|').map(str::trim).collect();
                let code = cells.get(1)?.strip_prefix('`')?.strip_suffix('`')?;
                Some((code.to_owned(), cells.get(2)?.parse().ok()?))
            })
            .collect();
        let expected: Vec<(String, u16)> = ErrorCode::ALL
            .iter()
            .map(|c| (c.as_str().to_owned(), c.status()))
            .collect();
        assert_eq!(rows, expected);
    }
}
