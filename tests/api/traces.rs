//! OpenTelemetry traces, against a real service process (the tracer provider is global to a
//! process) exporting OTLP/HTTP JSON to a receiver in this test process: the request span joins
//! the caller's trace, database transactions and webhook deliveries are its children, the
//! delivery carries the trace on, spans still queued are sent at shutdown, and with export off
//! nothing is sent while the caller's `traceparent` still reaches the webhook.

mod collector;

use std::process::Stdio;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{ServiceProcess, token};
use collector::{Collector, Exported, Post};

/// A Standard Webhooks secret for the test endpoint.
const SECRET: &str = "whsec_aW50ZWdyYXRpb24tdGVzdHMtd2ViaG9vay1rZXktMDE=";
const SUBSCRIPTION_ROUTE: &str = "/v1/customers/{customerId}/subscriptions/{subscriptionId}";
const SERVER: i64 = 2;
const CLIENT: i64 = 3;

/// A caller's W3C trace context: random trace and parent span ids, sampled.
struct Caller {
    trace_id: String,
    parent_id: String,
}

impl Caller {
    fn new() -> Caller {
        let ids = Uuid::new_v4().simple().to_string();
        Caller {
            trace_id: ids.clone(),
            parent_id: ids[..16].to_owned(),
        }
    }

    fn traceparent(&self) -> String {
        format!("00-{}-{}-01", self.trace_id, self.parent_id)
    }
}

/// The service exporting traces to `collector` (unless `extra` turns that off), allowed to
/// deliver webhooks there.
async fn service(collector: &Collector, extra: &[(&str, &str)]) -> ServiceProcess {
    let endpoint = collector.url("");
    let mut env = vec![
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
        ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        (
            "OTEL_RESOURCE_ATTRIBUTES",
            "deployment.environment.name=tests",
        ),
        ("WEBHOOK_ALLOWED_NETWORKS", "127.0.0.0/8"),
        ("WEBHOOK_POLL_MS", "100"),
    ];
    env.extend_from_slice(extra);
    ServiceProcess::start(&env, Stdio::null()).await
}

/// One partner calling the service process.
struct Partner<'a> {
    service: &'a ServiceProcess,
    id: Uuid,
    bearer: String,
    client: reqwest::Client,
}

impl Partner<'_> {
    fn of(service: &ServiceProcess) -> Partner<'_> {
        let id = Uuid::new_v4();
        Partner {
            service,
            id,
            bearer: token(id, &["global_admin"]),
            client: reqwest::Client::new(),
        }
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        traceparent: Option<&str>,
    ) -> reqwest::Response {
        let url = format!("{}{path}", self.service.base);
        let mut request = self.client.request(method, url).bearer_auth(&self.bearer);
        if let Some(body) = body {
            request = request.json(&body);
        }
        if let Some(traceparent) = traceparent {
            request = request.header("traceparent", traceparent);
        }
        request.send().await.unwrap()
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        let response = self
            .send(reqwest::Method::POST, path, Some(body), None)
            .await;
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        response.json().await.unwrap()
    }

    /// A customer with admin rights and a Business Basic subscription, and a webhook endpoint
    /// for upgrades at `hook`; returns the subscription's path.
    async fn subscription_with_hook(&self, hook: &str) -> String {
        self.post(
            "/v1/webhooks",
            json!({"url": hook, "events": ["subscription.upgraded"], "secret": SECRET}),
        )
        .await;
        let customer = self
            .post("/v1/customers", json!({"name": "Traced", "market": "US"}))
            .await;
        let customer = format!("/v1/customers/{}", customer["id"].as_str().unwrap());
        self.post(
            &format!("{customer}/delegated-admin-relationships"),
            json!({"status": "active", "startsAt": "2020-01-01T00:00:00Z",
                   "endsAt": "2099-01-01T00:00:00Z", "services": ["*"]}),
        )
        .await;
        let subscription = self
            .post(
                &format!("{customer}/subscriptions"),
                json!({"offerId": "m365-business-basic", "quantity": 2, "billingCycle": "monthly"}),
            )
            .await;
        format!(
            "{customer}/subscriptions/{}",
            subscription["id"].as_str().unwrap()
        )
    }

    /// Upgrades the subscription to E1 within the caller's trace; returns the answer's status.
    async fn upgrade(&self, subscription: &str, traceparent: &str) -> StatusCode {
        let response = self
            .send(
                reqwest::Method::POST,
                &format!("{subscription}/upgrades"),
                Some(json!({"targetOfferId": "o365-e1"})),
                Some(traceparent),
            )
            .await;
        assert!(response.status().is_success(), "{}", response.status());
        response.status()
    }
}

/// The `traceparent` a delivery carried, split into trace id and parent id.
fn delivered_context(delivery: &Post) -> (String, String) {
    let value = delivery.headers["traceparent"].to_str().unwrap();
    let fields: Vec<&str> = value.split('-').collect();
    assert_eq!(fields.len(), 4, "{value}");
    assert_eq!(fields[0], "00", "{value}");
    (fields[1].to_owned(), fields[2].to_owned())
}

/// Waits for the process to exit without blocking this test's runtime, which serves the
/// collector the exiting service sends its last spans to.
async fn exited(service: &mut ServiceProcess) -> std::process::ExitStatus {
    let started = Instant::now();
    loop {
        if let Some(status) = service.child.try_wait().unwrap() {
            return status;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "still running");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_request_joins_the_callers_trace_with_its_route_status_and_partner() {
    let collector = Collector::start().await;
    let service = service(&collector, &[]).await;
    let partner = Partner::of(&service);
    let subscription = partner
        .subscription_with_hook(&collector.url("/hook"))
        .await;
    let caller = Caller::new();

    let response = partner
        .send(
            reqwest::Method::GET,
            &subscription,
            None,
            Some(&caller.traceparent()),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let request_id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();

    let span = collector
        .span("server span in the caller's trace", |s| {
            s.trace_id == caller.trace_id && s.kind == SERVER
        })
        .await;
    assert_eq!(
        span.parent_span_id, caller.parent_id,
        "a child of the caller's span"
    );
    assert_eq!(span.name, format!("GET {SUBSCRIPTION_ROUTE}"));
    assert_eq!(span.attribute("http.route"), SUBSCRIPTION_ROUTE);
    assert_eq!(span.attribute("http.request.method"), "GET");
    assert_eq!(span.attribute("http.response.status_code"), "200");
    assert_eq!(span.attribute("partner_id"), partner.id.to_string());
    assert_eq!(span.attribute("request_id"), request_id);
    assert_eq!(span.resource["service.name"], "subscription-upgrades");
    assert_eq!(span.resource["deployment.environment.name"], "tests");
}

#[tokio::test]
async fn an_upgrade_traces_its_transaction_and_its_webhook_delivery_in_the_callers_trace() {
    let collector = Collector::start().await;
    let service = service(&collector, &[]).await;
    let partner = Partner::of(&service);
    let subscription = partner
        .subscription_with_hook(&collector.url("/hook"))
        .await;
    let caller = Caller::new();

    let status = partner.upgrade(&subscription, &caller.traceparent()).await;

    let in_trace = |s: &Exported| s.trace_id == caller.trace_id;
    let request = collector
        .span("upgrade request", |s| in_trace(s) && s.kind == SERVER)
        .await;
    assert_eq!(request.parent_span_id, caller.parent_id);
    assert_eq!(request.name, format!("POST {SUBSCRIPTION_ROUTE}/upgrades"));
    assert_eq!(
        request.attribute("http.response.status_code"),
        status.as_u16().to_string()
    );
    let transaction = collector
        .span("transaction", |s| in_trace(s) && s.name == "transaction")
        .await;
    assert_eq!(
        transaction.parent_span_id, request.span_id,
        "a child of the request"
    );
    assert_eq!(transaction.kind, CLIENT);
    assert_eq!(transaction.attribute("db.system.name"), "postgresql");
    assert_eq!(transaction.attribute("db.outcome"), "commit");

    let deliveries = collector.deliveries(1).await;
    let (trace_id, parent_id) = delivered_context(&deliveries[0]);
    assert_eq!(
        trace_id, caller.trace_id,
        "the delivery carries the caller's trace"
    );
    let delivery = collector
        .span("delivery span", |s| in_trace(s) && s.span_id == parent_id)
        .await;
    assert_eq!(delivery.name, "POST webhook");
    assert_eq!(delivery.kind, CLIENT);
    assert_eq!(
        delivery.parent_span_id, transaction.span_id,
        "caused by the transaction"
    );
    assert_eq!(delivery.attribute("server.address"), "127.0.0.1");
    assert_eq!(delivery.attribute("http.response.status_code"), "200");
    assert_eq!(delivery.attribute("event_type"), "subscription.upgraded");
}

#[tokio::test]
async fn spans_still_queued_are_sent_when_the_service_stops() {
    let collector = Collector::start().await;
    // Batches would wait ten minutes: only the flush at shutdown sends this one.
    let mut service = service(&collector, &[("OTEL_BSP_SCHEDULE_DELAY", "600000")]).await;
    let caller = Caller::new();
    let response = reqwest::Client::new()
        .get(format!("{}/healthz", service.base))
        .header("traceparent", caller.traceparent())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    service.terminate();
    assert!(exited(&mut service).await.success(), "a clean exit");

    let spans = collector.spans();
    let span = spans
        .iter()
        .find(|s| s.trace_id == caller.trace_id)
        .unwrap_or_else(|| panic!("the request's span was sent before exiting: {spans:#?}"));
    assert_eq!(span.name, "GET /healthz");
}

#[tokio::test]
async fn with_export_off_nothing_is_sent_and_the_callers_traceparent_still_reaches_the_webhook() {
    let collector = Collector::start().await;
    let mut service = service(&collector, &[("OTEL_SDK_DISABLED", "true")]).await;
    let partner = Partner::of(&service);
    let subscription = partner
        .subscription_with_hook(&collector.url("/hook"))
        .await;
    let caller = Caller::new();

    for invalid in [
        "garbage",
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
    ] {
        let response = partner
            .send(reqwest::Method::GET, &subscription, None, Some(invalid))
            .await;
        assert_eq!(response.status(), StatusCode::OK, "{invalid} is ignored");
    }
    partner.upgrade(&subscription, &caller.traceparent()).await;

    let deliveries = collector.deliveries(1).await;
    assert_eq!(
        deliveries[0].headers["traceparent"].to_str().unwrap(),
        caller.traceparent(),
        "passed on as it came"
    );
    service.terminate();
    assert!(exited(&mut service).await.success(), "a clean exit");
    assert!(
        collector.posts_to("/v1/traces").is_empty(),
        "nothing exported"
    );
}
