//! What the service tells its operators, from every layer: log lines (JSON or human-readable,
//! filtered by `RUST_LOG`), Prometheus metrics, and OpenTelemetry traces when configured.

pub mod metrics;
pub mod otel;
pub mod propagation;

use std::io::IsTerminal;

use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::{Layer, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Registry, fmt};

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// One JSON object per line, for log collectors.
    Json,
    /// Human-readable lines, for a terminal.
    Pretty,
}

/// What was installed; [`Telemetry::shutdown`] sends the spans still queued.
#[must_use = "shut it down when the service stops, or queued spans are lost"]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Sends the spans still queued (waiting up to the exporter's timeout) and stops the export.
    pub async fn shutdown(self) {
        let Some(provider) = self.provider else {
            return;
        };
        // The batch processor's thread sends with a blocking client: wait for it off the runtime.
        let flushed = tokio::task::spawn_blocking(move || provider.shutdown()).await;
        if let Ok(Err(error)) = flushed {
            tracing::warn!(%error, "traces still queued at shutdown were not all exported");
        }
    }
}

/// Installs the global subscriber: log lines, and the OpenTelemetry layer when `otel` has an
/// endpoint. The default filter logs this service at `info` and libraries at `warn`; `RUST_LOG`
/// overrides it, and spans it filters out are not exported either.
pub fn init(format: LogFormat, otel: Option<&otel::OtelSettings>) -> Result<Telemetry, String> {
    let provider = match otel {
        Some(settings) => otel::provider(settings)?,
        None => None,
    };
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("warn,subscription_upgrades=info"));
    let registry = tracing_subscriber::registry()
        .with(filter)
        .with(log_lines(format));
    // try_init: a second call (tests starting several apps) keeps the first subscriber.
    let _ = match &provider {
        Some(provider) => registry
            .with(tracing_opentelemetry::layer().with_tracer(otel::tracer(provider)))
            .try_init(),
        None => registry.try_init(),
    };
    Ok(Telemetry { provider })
}

type Filtered = tracing_subscriber::layer::Layered<EnvFilter, Registry>;

/// The log line layer, to stderr.
fn log_lines(format: LogFormat) -> Box<dyn Layer<Filtered> + Send + Sync> {
    let layer = fmt::layer().with_writer(std::io::stderr);
    match format {
        LogFormat::Json => layer
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .boxed(),
        LogFormat::Pretty => layer.with_ansi(std::io::stderr().is_terminal()).boxed(),
    }
}
