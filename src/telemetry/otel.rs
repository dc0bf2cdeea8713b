//! OpenTelemetry traces, exported over OTLP/HTTP (docs/operations.md, "Tracing"). Off unless an endpoint is
//! configured: then no exporter exists, no OpenTelemetry layer is installed, and the request path
//! checks one flag ([`enabled`]) and makes only the spans it made before.

use std::sync::atomic::{AtomicBool, Ordering};

use axum::http::HeaderMap;
use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::{
    SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState, TracerProvider,
};
use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use super::propagation::TraceParent;

/// The service name when neither `OTEL_SERVICE_NAME` nor `OTEL_RESOURCE_ATTRIBUTES` names one.
pub const DEFAULT_SERVICE_NAME: &str = "subscription-upgrades";

/// Whether spans are exported; set once, when the OpenTelemetry layer is installed.
static ENABLED: AtomicBool = AtomicBool::new(false);

/// How traces are exported: the standard `OTEL_*` variables (the SDK also reads
/// `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_TRACES_SAMPLER`, `OTEL_TRACES_SAMPLER_ARG`, `OTEL_BSP_*`
/// and `OTEL_EXPORTER_OTLP_HEADERS`/`_TIMEOUT` itself).
#[derive(Debug, Clone, clap::Args)]
pub struct OtelSettings {
    /// Base URL of an OTLP/HTTP receiver (`http://collector:4318`); traces go to its
    /// `/v1/traces`. Unset (and no traces endpoint): no tracing export at all.
    #[arg(
        long = "otel-exporter-otlp-endpoint",
        env = "OTEL_EXPORTER_OTLP_ENDPOINT",
        global = true
    )]
    pub endpoint: Option<String>,
    /// Full URL traces are sent to; wins over the base URL.
    #[arg(
        long = "otel-exporter-otlp-traces-endpoint",
        env = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        global = true
    )]
    pub traces_endpoint: Option<String>,
    /// `http/protobuf` or `http/json` (no gRPC).
    #[arg(
        long = "otel-exporter-otlp-protocol",
        env = "OTEL_EXPORTER_OTLP_PROTOCOL",
        default_value = "http/protobuf",
        global = true
    )]
    pub protocol: OtlpProtocol,
    /// The `service.name` of exported spans (default `subscription-upgrades`).
    #[arg(long = "otel-service-name", env = "OTEL_SERVICE_NAME", global = true)]
    pub service_name: Option<String>,
    /// `true` turns tracing export off whatever else is set.
    #[arg(long = "otel-sdk-disabled", env = "OTEL_SDK_DISABLED", global = true)]
    pub sdk_disabled: bool,
}

/// The OTLP/HTTP encodings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OtlpProtocol {
    /// Protocol buffers (the OTLP default).
    #[value(name = "http/protobuf")]
    HttpProtobuf,
    /// JSON.
    #[value(name = "http/json")]
    HttpJson,
}

impl OtelSettings {
    /// Where traces are sent, or `None` when export is off.
    pub fn traces_url(&self) -> Option<String> {
        let set = |value: &Option<String>| value.clone().filter(|v| !v.trim().is_empty());
        if self.sdk_disabled {
            return None;
        }
        set(&self.traces_endpoint).or_else(|| {
            set(&self.endpoint).map(|base| format!("{}/v1/traces", base.trim_end_matches('/')))
        })
    }
}

/// Whether spans are being exported.
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// The tracer provider exporting to `settings`' endpoint, or `None` when export is off. Its
/// batch processor sends from a thread of its own, with a blocking HTTP client.
pub fn provider(settings: &OtelSettings) -> Result<Option<SdkTracerProvider>, String> {
    let Some(url) = settings.traces_url() else {
        return Ok(None);
    };
    let protocol = match settings.protocol {
        OtlpProtocol::HttpProtobuf => Protocol::HttpBinary,
        OtlpProtocol::HttpJson => Protocol::HttpJson,
    };
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(protocol)
        .with_endpoint(url.clone())
        .build()
        .map_err(|error| format!("cannot export traces to {url}: {error}"))?;
    Ok(Some(
        SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(resource(settings.service_name.as_deref()))
            .build(),
    ))
}

/// What every span is about: the SDK's detected attributes (`OTEL_RESOURCE_ATTRIBUTES`), with
/// `service.name` from `OTEL_SERVICE_NAME`, else from those attributes, else the default.
fn resource(service_name: Option<&str>) -> Resource {
    let detected = Resource::builder().build();
    let named = detected
        .get(&opentelemetry::Key::new("service.name"))
        .is_some_and(|name| !name.as_str().starts_with("unknown_service"));
    match service_name.filter(|name| !name.is_empty()) {
        Some(name) => Resource::builder()
            .with_service_name(name.to_owned())
            .build(),
        None if named => detected,
        None => Resource::builder()
            .with_service_name(DEFAULT_SERVICE_NAME)
            .build(),
    }
}

/// The tracer the OpenTelemetry layer records with; marks export as on.
pub fn tracer(provider: &SdkTracerProvider) -> SdkTracer {
    ENABLED.store(true, Ordering::Relaxed);
    provider.tracer("subscription-upgrades")
}

/// Makes `span` (not yet entered) a child of the caller's trace when the request carries a
/// valid `traceparent` (and its `tracestate`); anything invalid is ignored.
pub fn continue_trace(span: &Span, headers: &HeaderMap) {
    let context = TraceContextPropagator::new().extract(&Headers(headers));
    if context.span().span_context().is_valid() {
        let _ = span.set_parent(context);
    }
}

/// Header lookup for the propagator.
struct Headers<'a>(&'a HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key)?.to_str().ok()
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|name| name.as_str()).collect()
    }
}

/// Makes `span` (not yet entered) a child of a stored context; with export off, does nothing.
pub fn set_parent(span: &Span, parent: TraceParent) {
    if !enabled() {
        return;
    }
    let context = SpanContext::new(
        TraceId::from(parent.trace_id),
        SpanId::from(parent.parent_id),
        TraceFlags::new(parent.flags),
        true,
        TraceState::default(),
    );
    let _ = span.set_parent(opentelemetry::Context::new().with_remote_span_context(context));
}

/// `span`'s own context as a `traceparent`; `None` with export off.
pub fn traceparent_of(span: &Span) -> Option<TraceParent> {
    if !enabled() {
        return None;
    }
    let context = span.context();
    let span_context = context.span().span_context().clone();
    span_context.is_valid().then(|| TraceParent {
        trace_id: u128::from_be_bytes(span_context.trace_id().to_bytes()),
        parent_id: u64::from_be_bytes(span_context.span_id().to_bytes()),
        flags: span_context.trace_flags().to_u8(),
    })
}

/// The current span's context; `None` with export off or outside any span.
pub fn current_traceparent() -> Option<TraceParent> {
    traceparent_of(&Span::current())
}

/// The span around a database transaction: a child of the current span with export on, and no
/// span at all otherwise (nor outside a span: background workers' transactions start no trace).
pub fn transaction_span() -> Span {
    let current = Span::current();
    if !enabled() || current.is_none() {
        return Span::none();
    }
    tracing::info_span!(
        "transaction",
        otel.name = "transaction",
        otel.kind = "client",
        db.system.name = "postgresql",
        db.outcome = tracing::field::Empty,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(endpoint: Option<&str>, traces: Option<&str>, disabled: bool) -> OtelSettings {
        OtelSettings {
            endpoint: endpoint.map(str::to_owned),
            traces_endpoint: traces.map(str::to_owned),
            protocol: OtlpProtocol::HttpProtobuf,
            service_name: None,
            sdk_disabled: disabled,
        }
    }

    #[test]
    fn the_protocol_is_protobuf_by_default_json_on_request_and_never_grpc() {
        use clap::Parser;
        let parse = |args: &[&str]| {
            crate::config::Cli::try_parse_from(
                std::iter::once("subscription-upgrades").chain(args.iter().copied()),
            )
            .map(|cli| cli.settings.otel.protocol)
        };
        assert_eq!(parse(&[]).unwrap(), OtlpProtocol::HttpProtobuf);
        let json = parse(&["--otel-exporter-otlp-protocol", "http/json"]);
        assert_eq!(json.unwrap(), OtlpProtocol::HttpJson);
        assert!(parse(&["--otel-exporter-otlp-protocol", "grpc"]).is_err());
    }

    #[test]
    fn the_traces_url_comes_from_the_traces_endpoint_else_the_base_url_and_is_off_otherwise() {
        for (endpoint, traces, disabled, url) in [
            (None, None, false, None),
            (Some(""), Some(" "), false, None),
            (
                Some("http://c:4318"),
                None,
                false,
                Some("http://c:4318/v1/traces"),
            ),
            (
                Some("http://c:4318/"),
                None,
                false,
                Some("http://c:4318/v1/traces"),
            ),
            (
                Some("http://c:4318"),
                Some("http://t/x"),
                false,
                Some("http://t/x"),
            ),
            (None, Some("http://t/x"), false, Some("http://t/x")),
            (Some("http://c:4318"), Some("http://t/x"), true, None),
        ] {
            let settings = settings(endpoint, traces, disabled);
            assert_eq!(settings.traces_url().as_deref(), url, "{settings:?}");
        }
    }
}
