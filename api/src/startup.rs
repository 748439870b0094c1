//! Building and running the server: used by `lumbung serve` and by the end-to-end tests alike.

use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};

use anyhow::Context;
use domain::clock::Clock;
use infra::{config::Settings, services::Services};
use tokio::net::TcpListener;

use crate::{
    http::{AppState, router},
    telemetry::metrics_handle,
};

/// A server bound to its address, with its database migrated, ready to run.
pub struct Application {
    listener: TcpListener,
    state: AppState,
}

impl Application {
    /// Connects to and migrates the database, then binds `bind` (port 0 picks a free port).
    pub async fn build(settings: Settings, bind: &str, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        let (db, queries) = infra::db::connect_counted(&settings.database_url)
            .await
            .with_context(|| format!("opening the database {}", infra::config::redact_url(&settings.database_url)))?;
        infra::db::migrate(&db).await.context("migrating the database")?;
        let mut services = Services::new(db, clock, &settings)?;
        services.queries = queries;
        let listener = TcpListener::bind(bind).await.with_context(|| format!("binding {bind}"))?;
        Ok(Self { listener, state: AppState::new(services, settings, metrics_handle()) })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    pub fn services(&self) -> &Services {
        &self.state.services
    }

    /// Serves until `shutdown` completes, then finishes the requests in flight. Alongside, a task closes tenders
    /// whose deadline has passed; it runs on every node, and each tender is closed by exactly one of them.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let tendering = self.state.services.tendering.clone();
        let interval = Duration::from_millis(self.state.settings.close_interval_ms.max(10));
        let closer = tokio::spawn(async move {
            let mut ticks = tokio::time::interval(interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                match tendering.close_due().await {
                    Ok(closed) if !closed.is_empty() => {
                        tracing::info!(count = closed.len(), "closed tenders past their deadline")
                    }
                    Ok(_) => {}
                    Err(error) => tracing::warn!(%error, "closing due tenders failed; will retry"),
                }
            }
        });
        let served = axum::serve(self.listener, router(self.state)).with_graceful_shutdown(shutdown).await;
        closer.abort();
        served
    }
}
