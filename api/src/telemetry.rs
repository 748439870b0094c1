//! Logs (tracing) and metrics (Prometheus text).

use std::sync::OnceLock;

use infra::config::LogFormat;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::{EnvFilter, fmt, layer::SubscriberExt, util::SubscriberInitExt};

/// Starts logging to stdout; `RUST_LOG` refines the default filter. Safe to call more than once.
pub fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn"));
    let registry = tracing_subscriber::registry().with(filter);
    let _already_set = match format {
        LogFormat::Json => registry.with(fmt::layer().json().flatten_event(true)).try_init(),
        LogFormat::Human => registry.with(fmt::layer()).try_init(),
    };
}

/// The process-wide metrics recorder (one per process, shared by every server in it).
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets(&[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0])
                .unwrap_or_else(|_| PrometheusBuilder::new());
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            // Another recorder may already be installed (tests run several servers per process); then this
            // handle still renders, just without the other recorder's samples.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}
