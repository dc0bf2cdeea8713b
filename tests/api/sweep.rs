//! Sweeps driven by the OpenAPI document, so that a new operation is covered the day it is
//! added: every operation but the probes, metrics and the document refuses a missing token (401),
//! a token without roles (403) and, under a customer, another partner (404); every operation with
//! a body refuses each kind of bad input with its specific 4xx problem; and none of it writes.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{Api, TestApp, assert_problem, snapshot, spawn_app, token};

/// The operations that need no token.
const PUBLIC: [&str; 4] = [
    "GET /healthz",
    "GET /readyz",
    "GET /metrics",
    "GET /openapi.json",
];

/// Ids that exist for the app's default partner, to fill in path templates.
struct Ids {
    customer: String,
    subscription: String,
    add_on: String,
    upgrade: String,
    user: String,
    webhook: String,
}

impl Ids {
    async fn create(admin: &Api<'_>) -> Ids {
        let customer = admin.customer("US").await;
        admin.relationship(&customer, &["*"]).await;
        let subscription = admin
            .subscription(&customer, "m365-business-basic", 5)
            .await;
        let add_on = admin
            .create(
                &format!("/v1/customers/{customer}/subscriptions/{subscription}/add-ons"),
                json!({"offerId": "teams-audio-conferencing", "quantity": 1}),
            )
            .await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let upgraded = admin
            .subscription(&customer, "m365-business-basic", 1)
            .await;
        let upgrade = admin
            .create(
                &format!("/v1/customers/{customer}/subscriptions/{upgraded}/upgrades"),
                json!({"targetOfferId": "o365-e1"}),
            )
            .await["upgradeId"]
            .as_str()
            .unwrap()
            .to_owned();
        let user = admin.user(&customer, "sweep@contoso.com").await;
        let webhook = admin
            .create(
                "/v1/webhooks",
                json!({"url": "https://hooks.contoso.example/csp", "events": ["*"]}),
            )
            .await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        Ids {
            customer,
            subscription,
            add_on,
            upgrade,
            user,
            webhook,
        }
    }

    /// The template with every `{param}` replaced by an id of ours.
    fn fill(&self, template: &str) -> String {
        template
            .replace("{customerId}", &self.customer)
            .replace("{subscriptionId}", &self.subscription)
            .replace("{addOnId}", &self.add_on)
            .replace("{upgradeId}", &self.upgrade)
            .replace("{offerId}", "m365-business-basic")
            .replace("{webhookId}", &self.webhook)
    }

    /// A body the operation accepts; every operation with a body needs one here.
    fn valid_body(&self, operation: &str) -> Value {
        let path = operation.split_once(' ').unwrap().1;
        match path.rsplit('/').next().unwrap() {
            "customers" => json!({"name": "Sweep", "market": "US"}),
            "delegated-admin-relationships" => json!({
                "status": "active", "startsAt": "2020-01-01T00:00:00Z",
                "endsAt": "2099-01-01T00:00:00Z", "services": ["*"]}),
            "subscriptions" => {
                json!({"offerId": "m365-business-basic", "quantity": 1, "billingCycle": "monthly"})
            }
            "{subscriptionId}" | "{addOnId}" => json!({"quantity": 2}),
            "{webhookId}" => json!({"status": "enabled"}),
            "add-ons" => json!({"offerId": "exchange-online-archiving", "quantity": 1}),
            "license-assignments" => json!({"userId": self.user, "disabledServices": []}),
            "upgrades" => json!({"targetOfferId": "m365-business-standard", "dryRun": true}),
            "users" => json!({"displayName": "Sweep", "email": "other@contoso.com"}),
            "webhooks" => json!({"url": "https://hooks.contoso.example/other",
                                 "events": ["subscription.upgraded"]}),
            _ => panic!("{operation}: add a valid body to the sweep"),
        }
    }
}

/// An operation of the served document.
struct Operation {
    /// `METHOD /template`.
    name: String,
    has_body: bool,
    /// Whether it pages (takes `limit`).
    pages: bool,
}

/// Every operation of the served document.
async fn operations(app: &TestApp) -> Vec<Operation> {
    let document: Value = app.get("/openapi.json").await.json().await.unwrap();
    let mut operations = Vec::new();
    for (template, methods) in document["paths"].as_object().unwrap() {
        for (method, operation) in methods.as_object().unwrap() {
            let parameters = operation["parameters"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            operations.push(Operation {
                name: format!("{} {template}", method.to_uppercase()),
                has_body: operation.get("requestBody").is_some(),
                pages: parameters.iter().any(|p| p["name"] == "limit"),
            });
        }
    }
    assert!(operations.len() > 20, "the document lists the operations");
    operations
}

fn request(
    app: &TestApp,
    operation: &str,
    ids: &Ids,
    bearer: Option<&str>,
) -> reqwest::RequestBuilder {
    let (method, template) = operation.split_once(' ').unwrap();
    let method = Method::from_bytes(method.as_bytes()).unwrap();
    let request = app
        .client
        .request(method, format!("{}{}", app.address, ids.fill(template)));
    match bearer {
        Some(token) => request.bearer_auth(token),
        None => request,
    }
}

#[tokio::test]
async fn every_operation_but_the_probes_has_a_401_a_role_and_a_tenancy_case() {
    let app = spawn_app().await;
    let ids = Ids::create(&app.admin()).await;
    let no_roles = token(app.partner, &[]);
    let another_partner = token(Uuid::new_v4(), &["global_admin"]);
    let before = snapshot(&app).await;

    let mut checked = 0;
    for Operation {
        name: operation,
        has_body,
        ..
    } in operations(&app).await
    {
        if PUBLIC.contains(&operation.as_str()) {
            let response = request(&app, &operation, &ids, None).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::OK, "{operation}");
            continue;
        }
        let with_body = |request: reqwest::RequestBuilder| {
            if has_body {
                request.json(&ids.valid_body(&operation))
            } else {
                request
            }
        };
        let anonymous = with_body(request(&app, &operation, &ids, None));
        assert_problem(
            anonymous.send().await.unwrap(),
            StatusCode::UNAUTHORIZED,
            "token_missing",
        )
        .await;

        let roleless = with_body(request(&app, &operation, &ids, Some(&no_roles)));
        assert_problem(
            roleless.send().await.unwrap(),
            StatusCode::FORBIDDEN,
            "role_not_allowed",
        )
        .await;

        if operation.contains("{customerId}") {
            let stranger = with_body(request(&app, &operation, &ids, Some(&another_partner)));
            let response = stranger.send().await.unwrap();
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{operation}");
        }
        checked += 1;
    }

    assert!(checked > 20);
    assert_eq!(
        snapshot(&app).await,
        before,
        "refused requests wrote nothing"
    );
}

/// A body that is bad in one way, and the answer it must get.
struct BadBody {
    what: String,
    content_type: Option<&'static str>,
    bytes: Vec<u8>,
    status: StatusCode,
    /// The problem's code, or `None` when any specific 4xx code will do (a rule of the field).
    code: Option<&'static str>,
    /// A text the problem's `detail` must contain.
    detail: Option<String>,
}

fn json_body(
    what: String,
    body: &Value,
    code: Option<&'static str>,
    detail: Option<String>,
) -> BadBody {
    BadBody {
        what,
        content_type: Some("application/json"),
        bytes: serde_json::to_vec(body).unwrap(),
        status: StatusCode::BAD_REQUEST,
        code,
        detail,
    }
}

/// Every kind of bad body derived from a valid one.
fn bad_bodies(valid: &Value) -> Vec<BadBody> {
    let valid_bytes = serde_json::to_vec(valid).unwrap();
    let mut bodies = vec![
        BadBody {
            what: "no content type".into(),
            content_type: None,
            bytes: valid_bytes.clone(),
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            code: Some("unsupported_media_type"),
            detail: None,
        },
        BadBody {
            what: "text/plain".into(),
            content_type: Some("text/plain"),
            bytes: valid_bytes,
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            code: Some("unsupported_media_type"),
            detail: None,
        },
        BadBody {
            what: "truncated JSON".into(),
            content_type: Some("application/json"),
            bytes: b"{\n  ,}".to_vec(),
            status: StatusCode::BAD_REQUEST,
            code: Some("malformed_json"),
            detail: Some("line 2 column".into()),
        },
        BadBody {
            what: "a lone surrogate".into(),
            content_type: Some("application/json"),
            bytes: br#"{"name": "\ud800"}"#.to_vec(),
            status: StatusCode::BAD_REQUEST,
            code: None,
            detail: None,
        },
        BadBody {
            what: "an array".into(),
            content_type: Some("application/json"),
            bytes: b"[]".to_vec(),
            status: StatusCode::BAD_REQUEST,
            code: Some("invalid_body"),
            detail: None,
        },
        BadBody {
            what: "over the size limit".into(),
            content_type: Some("application/json"),
            bytes: format!("{{\"name\": \"{}\"}}", "x".repeat(70_000)).into_bytes(),
            status: StatusCode::PAYLOAD_TOO_LARGE,
            code: Some("payload_too_large"),
            detail: None,
        },
    ];
    let mut unknown = valid.clone();
    unknown["bogusField"] = json!(1);
    bodies.push(json_body(
        "an unknown field".into(),
        &unknown,
        Some("invalid_body"),
        Some("bogusField".into()),
    ));
    for (field, value) in valid.as_object().unwrap() {
        let mut with = |what: &str, replacement: Value, code, detail| {
            let mut body = valid.clone();
            body[field] = replacement;
            bodies.push(json_body(format!("{field}: {what}"), &body, code, detail));
        };
        with(
            "wrong type",
            json!({"nested": true}),
            Some("invalid_body"),
            Some(field.clone()),
        );
        match value {
            Value::Number(_) => {
                for n in [
                    "18446744073709551616",
                    "1e300",
                    "-9223372036854775809",
                    "2.5",
                    "0",
                ] {
                    let replacement = serde_json::from_str(n).unwrap();
                    with(&format!("number {n}"), replacement, None, None);
                }
            }
            Value::String(_) => {
                for s in [
                    "",
                    "   ",
                    "nul\u{0}",
                    "bell\u{7}",
                    "rtl\u{202e}override",
                    &"x".repeat(10_000),
                ] {
                    with(&format!("string {s:.12?}"), json!(s), None, None);
                }
            }
            _ => {}
        }
    }
    bodies
}

#[tokio::test]
async fn every_kind_of_bad_body_gets_its_specific_4xx_and_writes_nothing() {
    let app = spawn_app().await;
    let ids = Ids::create(&app.admin()).await;
    let admin_token = token(app.partner, &["global_admin"]);
    let before = snapshot(&app).await;

    for Operation {
        name: operation,
        has_body,
        ..
    } in operations(&app).await
    {
        if !has_body {
            continue;
        }
        for bad in bad_bodies(&ids.valid_body(&operation)) {
            let mut sent = request(&app, &operation, &ids, Some(&admin_token)).body(bad.bytes);
            if let Some(content_type) = bad.content_type {
                sent = sent.header("content-type", content_type);
            }
            let response = sent.send().await.unwrap();
            let status = response.status();
            let body: Value = response.json().await.unwrap_or_default();
            let context = format!("{operation}, {}: {status} {body}", bad.what);
            let expected_status =
                if bad.code.is_none() && status == StatusCode::UNPROCESSABLE_ENTITY {
                    // A rule of the field's value (an unknown offer, a quantity above the cap).
                    StatusCode::UNPROCESSABLE_ENTITY
                } else {
                    bad.status
                };
            assert_eq!(status, expected_status, "{context}");
            let code = body["code"].as_str().unwrap_or_default();
            match bad.code {
                Some(expected) => assert_eq!(code, expected, "{context}"),
                None => assert!(!code.is_empty() && code != "bad_request", "{context}"),
            }
            if let Some(text) = &bad.detail {
                assert!(
                    body["detail"].as_str().unwrap().contains(text.as_str()),
                    "{context}"
                );
            }
        }
    }

    assert_eq!(snapshot(&app).await, before, "refused bodies wrote nothing");
}

#[tokio::test]
async fn every_id_in_a_path_and_every_paging_parameter_is_checked() {
    let app = spawn_app().await;
    let ids = Ids::create(&app.admin()).await;
    let admin = app.admin();

    for operation in operations(&app).await {
        let (method, template) = operation.name.split_once(' ').unwrap();
        if method != "GET" {
            continue;
        }
        for param in [
            "{customerId}",
            "{subscriptionId}",
            "{addOnId}",
            "{webhookId}",
            "{upgradeId}",
        ] {
            if template.contains(param) {
                let path = ids.fill(&template.replace(param, "not-a-uuid"));
                let response = admin.get(&path).await;
                assert_problem(response, StatusCode::BAD_REQUEST, "invalid_path_parameter").await;
            }
        }
        if !operation.pages {
            continue;
        }
        let path = ids.fill(template);
        assert_eq!(
            admin.get(&format!("{path}?limit=1")).await.status(),
            StatusCode::OK,
            "{path}"
        );
        for query in [
            "limit=0",
            "limit=-1",
            "limit=99999999999999999999",
            "limit=ten",
            "continuationToken=not-a-token",
            "continuationToken=",
            "unknownParameter=1",
        ] {
            let response = admin.get(&format!("{path}?{query}")).await;
            assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{path}?{query}");
        }
    }
}

#[tokio::test]
async fn odd_but_printable_unicode_in_names_is_stored_and_returned_verbatim() {
    let app = spawn_app().await;
    let admin = app.admin();
    let names = [
        "Ünïcödé GmbH & Co. KG",
        "株式会社テスト",
        "شركة الاختبار",
        "Emoji Ltd 🚀👩‍💻",
        "Zalgo Z\u{0351}\u{0352}a\u{0353}",
        "𝔐𝔞𝔱𝔥 𝔉𝔯𝔞𝔨𝔱𝔲𝔯 Inc",
    ];

    for (i, name) in names.iter().enumerate() {
        let customer = admin
            .create("/v1/customers", json!({"name": name, "market": "US"}))
            .await;
        let id = customer["id"].as_str().unwrap();
        let read: Value = admin
            .get(&format!("/v1/customers/{id}"))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(read["name"], *name);
        let user = admin
            .create(
                &format!("/v1/customers/{id}/users"),
                json!({"displayName": name, "email": format!("u{i}@contoso.example")}),
            )
            .await;
        assert_eq!(user["displayName"], *name);
    }
}
