//! The OpenAPI document, assembled from the routes themselves so that nothing is routed
//! undocumented.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use super::AppState;
use super::problem::PROBLEM_JSON;

mod examples;
pub mod rules;

use rules::{
    AddOnOfferId, BaseOfferId, DateBounds, EventType, HeaderRules, MarketCode, NextTermQuantity,
    OfferId, Quantity, ServiceCode,
};

/// Document-level information; paths and schemas come from the routers.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Subscription upgrades",
        description = "Upgrade Microsoft CSP customer subscriptions: eligibility with every reason why not, safe upgrades, seats and add-ons, and the accounts that need their licenses reassigned.",
        license(name = "MIT", identifier = "MIT"),
    ),
    modifiers(&BearerAuth),
    components(schemas(MarketCode, ServiceCode, OfferId, BaseOfferId, AddOnOfferId, EventType, Quantity, NextTermQuantity)),
    tags(
        (name = "catalog", description = "Offers, prices and the upgrade matrix"),
        (name = "customers", description = "Customers, delegated admin relationships and users"),
        (name = "subscriptions", description = "Subscriptions, their seats and status, and license assignments"),
        (name = "add-ons", description = "Add-ons bought for a subscription"),
        (name = "upgrades", description = "Upgrade options with every reason why not, performing upgrades, and their history"),
        (name = "webhooks", description = "Endpoints that receive the partner's events, signed, at least once, in order per subscription"),
        (name = "upgrade-jobs", description = "Upgrades in bulk: jobs processed in the background, with live progress, results per item and cancellation"),
        (name = "operations", description = "Health, readiness, metrics and this document"),
    )
)]
pub struct ApiDoc;

/// Declares the `bearer` security scheme the operations refer to.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "A JWT with tid (the partner), roles, and oid or sub (the user): HS256 \
                         with a shared secret, RS256/ES256 with a public key, or signed by an \
                         OpenID Connect provider such as Microsoft Entra ID, whose published keys \
                         (JWKS) verify it.",
                    ))
                    .build(),
            ),
        );
    }
}

/// Adds the answers every operation with a JSON body can give: 413 and 415.
struct BodyProblems;

impl Modify for BodyProblems {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let problem = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    PROBLEM_JSON,
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("Problem")))
                        .build(),
                )
                .build()
        };
        for item in openapi.paths.paths.values_mut() {
            let operations = [&mut item.post, &mut item.put, &mut item.patch];
            for operation in operations.into_iter().flatten() {
                if operation.request_body.is_none() {
                    continue;
                }
                let responses = &mut operation.responses.responses;
                responses.insert(
                    "413".to_owned(),
                    problem("`payload_too_large`: the body is larger than `MAX_BODY_BYTES`").into(),
                );
                responses.insert(
                    "415".to_owned(),
                    problem("`unsupported_media_type`: the body is not sent as `application/json`")
                        .into(),
                );
            }
        }
    }
}

/// The OpenAPI document as served and committed: pretty JSON with a final newline.
pub fn document_json() -> String {
    let mut document = super::api_routes().into_openapi();
    // After the routes are merged in: the modifiers of `ApiDoc` run before there are paths.
    BodyProblems.modify(&mut document);
    HeaderRules.modify(&mut document);
    DateBounds.modify(&mut document);
    examples::Examples.modify(&mut document);
    let mut text = document
        .to_pretty_json()
        .expect("the OpenAPI document serialises");
    text.push('\n');
    text
}

/// This document.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "operations",
    responses((status = 200, description = "OpenAPI 3.1 document", body = Object, content_type = "application/json"))
)]
pub async fn openapi_json(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        state.openapi.as_str().to_owned(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ErrorCode;

    /// Every problem's `code` is documented as the closed list of `ErrorCode`, no more, no less.
    #[test]
    fn the_document_lists_exactly_the_error_codes() {
        let document: serde_json::Value = serde_json::from_str(&document_json()).unwrap();
        let schemas = &document["components"]["schemas"];
        assert_eq!(
            schemas["Problem"]["properties"]["code"]["$ref"],
            "#/components/schemas/ErrorCode"
        );
        let listed: Vec<&str> = schemas["ErrorCode"]["enum"]
            .as_array()
            .expect("ErrorCode is an enum")
            .iter()
            .filter_map(|code| code.as_str())
            .collect();
        let codes: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(listed, codes);
    }
}
