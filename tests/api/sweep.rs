//! Sweeps driven by the OpenAPI document, so that a new operation is covered the day it is
//! added: every operation but the probes, metrics and the document refuses a missing token (401),
//! a token without roles (403) and, under a customer, another partner (404); every operation with
//! a body refuses each kind of bad input with its specific 4xx problem; every date and timestamp
//! field refuses every kind of bad date and accepts the edges of the range; and none of the
//! refused requests writes.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{Api, TestApp, assert_problem, snapshot, spawn_app, token, wait_for_rows};

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
    job: String,
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
        // The job ends before any endpoint exists: its end is announced to nobody.
        let job = admin
            .post(
                "/v1/upgrade-jobs",
                &json!({"items": [{"customerId": customer, "subscriptionId": subscription,
                                   "targetOfferId": "o365-e1"}], "dryRun": true}),
            )
            .await
            .json::<Value>()
            .await
            .unwrap()["id"]
            .as_str()
            .expect("the job is accepted")
            .to_owned();
        wait_for_rows(
            admin.app.database_url(),
            "SELECT count(*) FROM upgrade_jobs WHERE status = 'completed'",
            "the sweep's job never completed",
        )
        .await;
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
            job,
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
            .replace("{jobId}", &self.job)
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
            "scheduled-change" => json!({"quantity": 2, "dryRun": true}),
            "migrations" => {
                json!({"termDuration": "P1Y", "billingCycle": "monthly", "dryRun": true})
            }
            "users" => json!({"displayName": "Sweep", "email": "other@contoso.com"}),
            "upgrade-jobs" => json!({"items": [{"customerId": self.customer,
                "subscriptionId": self.subscription, "targetOfferId": "o365-e1"}], "dryRun": true}),
            "webhooks" => json!({"url": "https://hooks.contoso.example/other",
                                 "events": ["subscription.upgraded"]}),
            _ => panic!("{operation}: add a valid body to the sweep"),
        }
    }
}

impl Ids {
    /// Bodies the operation accepts with its dates at the edges of the accepted range; every
    /// operation with a date field needs them here.
    fn edge_bodies(&self, operation: &str) -> Vec<Value> {
        let path = operation.split_once(' ').unwrap().1;
        let edges = match path.rsplit('/').next().unwrap() {
            "delegated-admin-relationships" => vec![
                json!({"startsAt": "1970-01-01T00:00:00Z", "endsAt": "2999-12-31T23:59:59Z"}),
                json!({"startsAt": "1970-01-01T01:00:00+01:00", "endsAt": "1970-01-01T00:00:01Z"}),
                json!({"startsAt": "2999-12-31T23:59:58Z", "endsAt": "3000-01-01T00:59:59+01:00"}),
            ],
            "subscriptions" => vec![
                json!({"termStart": "1970-01-01", "currentPeriodStart": "1970-01-01",
                       "currentPeriodEnd": "1970-02-01"}),
                json!({"termStart": "2999-12-31"}),
                json!({"termStart": "2999-01-01", "currentPeriodStart": "2999-12-01",
                       "currentPeriodEnd": "2999-12-31"}),
                json!({"termStart": "2999-01-01", "customTermEndDate": "2999-12-31"}),
            ],
            _ => panic!("{operation}: add bodies with its dates at the edges of the range"),
        };
        edges
            .into_iter()
            .map(|edge| {
                let mut body = self.valid_body(operation);
                let fields = body.as_object_mut().unwrap();
                fields.extend(edge.as_object().unwrap().clone());
                body
            })
            .collect()
    }
}

/// An operation of the served document.
struct Operation {
    /// `METHOD /template`.
    name: String,
    has_body: bool,
    /// Whether it pages (takes `limit`).
    pages: bool,
    /// The fields of its body whose schema has format `date` or `date-time`.
    date_fields: Vec<DateField>,
}

/// A body field that holds a date or a timestamp.
struct DateField {
    name: String,
    /// `date` or `date-time`.
    format: String,
    required: bool,
}

impl DateField {
    /// The code every bad value of the field gets.
    fn code(&self) -> &'static str {
        if self.format == "date" {
            "invalid_date"
        } else {
            "invalid_timestamp"
        }
    }
}

/// The date and timestamp fields of an operation's JSON body.
fn date_fields(document: &Value, operation: &Value) -> Vec<DateField> {
    let mut schema = &operation["requestBody"]["content"]["application/json"]["schema"];
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.rsplit('/').next().unwrap();
        schema = &document["components"]["schemas"][name];
    }
    let required = schema["required"].as_array().cloned().unwrap_or_default();
    let properties = schema["properties"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    properties
        .into_iter()
        .filter_map(|(name, property)| {
            let format = property["format"].as_str()?;
            matches!(format, "date" | "date-time").then(|| DateField {
                required: required.contains(&json!(name)),
                name,
                format: format.to_owned(),
            })
        })
        .collect()
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
                date_fields: date_fields(&document, operation),
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

        if operation.contains("{customerId}") || operation.contains("{jobId}") {
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
fn bad_bodies(valid: &Value, date_fields: &[DateField]) -> Vec<BadBody> {
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
            // Over every route's limit, the job route's 4 MiB included.
            bytes: format!("{{\"name\": \"{}\"}}", "x".repeat(5 << 20)).into_bytes(),
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
        // A date field takes any JSON value and names what it got (date_fields_… below).
        let wrong_type_code = date_fields
            .iter()
            .find(|date| date.name == *field)
            .map_or("invalid_body", DateField::code);
        with(
            "wrong type",
            json!({"nested": true}),
            Some(wrong_type_code),
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
        date_fields,
        ..
    } in operations(&app).await
    {
        if !has_body {
            continue;
        }
        for bad in bad_bodies(&ids.valid_body(&operation), &date_fields) {
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

/// Values no date or timestamp field accepts, with a text the problem's detail must contain:
/// out of the range (before 1970, after 2999, signed or five-digit years), not a day of the
/// calendar, the other kind of value, not a date at all, and JSON that is not a string.
fn bad_dates(field: &DateField) -> Vec<(Value, &'static str)> {
    let strings = [
        "0000-01-01",
        "+10000-01-01",
        "-5000-01-01",
        "1969-12-31",
        "3000-01-01",
        "2026-02-30",
        "2026-13-01",
        "0000-01-01T00:00:00Z",
        "+12345-01-01T00:00:00Z",
        "-4714-01-01T00:00:00Z",
        "1969-12-31T23:59:59Z",
        "3000-01-01T00:00:00Z",
        "2999-12-31T23:59:59.5Z",
        "2026-02-30T00:00:00Z",
        "2026-01-01T25:00:00Z",
        "2026-01-01T00:00:00",
        "",
        "   ",
        "yesterday",
        "2026/01/01",
        "01/02/2026",
        "20260101",
        "2026-01-01\u{0}",
        "\u{202e}2026-01-01",
    ];
    let mut values: Vec<(Value, &str)> = strings.into_iter().map(|s| (json!(s), "")).collect();
    values.extend([
        (json!(20260101), "got a number"),
        (json!(-1), "got a number"),
        (json!(1.5), "got a number"),
        (json!(true), "got a boolean"),
        (json!([]), "got an array"),
        (json!({}), "got an object"),
    ]);
    if field.required {
        values.push((Value::Null, "got null"));
    }
    values.push(if field.format == "date" {
        (
            json!("2026-01-01T00:00:00Z"),
            "expected a date (YYYY-MM-DD), got a timestamp",
        )
    } else {
        (
            json!("2026-01-01"),
            "expected a timestamp (RFC 3339, e.g. 2026-01-01T00:00:00Z), got a date",
        )
    });
    values
}

#[tokio::test]
async fn every_date_field_refuses_every_bad_date_naming_the_field_and_accepts_the_edges() {
    let app = spawn_app().await;
    let ids = Ids::create(&app.admin()).await;
    let admin_token = token(app.partner, &["global_admin"]);
    let operations: Vec<Operation> = operations(&app)
        .await
        .into_iter()
        .filter(|operation| !operation.date_fields.is_empty())
        .collect();
    let fields: usize = operations.iter().map(|o| o.date_fields.len()).sum();
    assert!(
        fields >= 5,
        "the relationship and subscription dates are found"
    );
    let before = snapshot(&app).await;

    for operation in &operations {
        for field in &operation.date_fields {
            for (value, text) in bad_dates(field) {
                let mut body = ids.valid_body(&operation.name);
                body[&field.name] = value.clone();
                let sent = request(&app, &operation.name, &ids, Some(&admin_token)).json(&body);
                let response = sent.send().await.unwrap();
                let status = response.status();
                let problem: Value = response.json().await.unwrap_or_default();
                let context = format!(
                    "{}, {} = {value}: {status} {problem}",
                    operation.name, field.name
                );
                assert_eq!(status, StatusCode::BAD_REQUEST, "{context}");
                assert_eq!(problem["code"], field.code(), "{context}");
                let detail = problem["detail"].as_str().unwrap_or_default();
                assert!(
                    detail.starts_with(&format!("{}: expected ", field.name)),
                    "{context}"
                );
                assert!(
                    detail.contains(text) && detail.contains("through 2999-12-31"),
                    "{context}"
                );
            }
        }
    }
    assert_eq!(snapshot(&app).await, before, "refused dates wrote nothing");

    for operation in &operations {
        let edges = ids.edge_bodies(&operation.name);
        for field in &operation.date_fields {
            let given = edges.iter().any(|body| body.get(&field.name).is_some());
            assert!(
                given,
                "{}: {} at an edge of the range",
                operation.name, field.name
            );
        }
        for body in edges {
            let sent = request(&app, &operation.name, &ids, Some(&admin_token)).json(&body);
            let response = sent.send().await.unwrap();
            let status = response.status();
            let text = response.text().await.unwrap();
            assert_eq!(
                status,
                StatusCode::CREATED,
                "{}, {body}: {text}",
                operation.name
            );
        }
    }
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
