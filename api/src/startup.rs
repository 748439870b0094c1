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

    /// Serves until `shutdown` completes, then finishes the requests in flight. Alongside run the background tasks:
    /// closing tenders past their deadline and sending closing reminders (on every node; each tender is handled by
    /// exactly one), the outbox worker (where enabled), and on PostgreSQL the listener that brings other nodes' live
    /// events to this node's subscribers.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let services = self.state.services.clone();
        let settings = self.state.settings.clone();
        let mut tasks = Vec::new();
        let tendering = services.tendering.clone();
        tasks.push(every(Duration::from_millis(settings.close_interval_ms.max(10)), move || {
            let tendering = tendering.clone();
            async move {
                match tendering.close_due().await {
                    Ok(closed) if !closed.is_empty() => {
                        tracing::info!(count = closed.len(), "closed tenders past their deadline")
                    }
                    Ok(_) => {}
                    Err(error) => tracing::warn!(%error, "closing due tenders failed; will retry"),
                }
                if let Err(error) = tendering.send_closing_reminders().await {
                    tracing::warn!(%error, "queueing closing reminders failed; will retry");
                }
            }
        }));
        if settings.mail.worker_enabled {
            let mailer = services.mailer.clone();
            tracing::info!(destination = %mailer.destination(), "outbox worker started");
            tasks.push(every(Duration::from_millis(settings.mail.interval_ms.max(10)), move || {
                let mailer = mailer.clone();
                async move {
                    match mailer.send_due().await {
                        Ok(round) if round != infra::mailer::Round::default() => {
                            tracing::info!(
                                sent = round.sent,
                                retrying = round.retrying,
                                failed = round.failed,
                                "outbox round"
                            )
                        }
                        Ok(_) => {}
                        Err(error) => tracing::warn!(%error, "the outbox worker failed; will retry"),
                    }
                }
            }));
        }
        if infra::db::backend_name(&services.db) == "postgres" {
            tasks.push(services.events.listen_postgres(settings.database_url.clone()));
        }
        let limits = crate::connections::ConnectionLimits {
            header_timeout: Duration::from_secs(settings.header_timeout_seconds.max(1)),
            max_connections: settings.max_connections,
        };
        let served = crate::connections::serve(self.listener, router(self.state), limits, shutdown).await;
        for task in tasks {
            task.abort();
        }
        served
    }
}

/// Runs `round` every `interval`, never two at once; a slow round delays the next rather than piling up.
fn every<F, Fut>(interval: Duration, round: F) -> tokio::task::JoinHandle<()>
where
    F: Fn() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            round().await;
        }
    })
}
