//! Every use case, wired to one database and one clock.

use std::sync::Arc;

use chrono::Duration;
use domain::clock::Clock;
use sea_orm::DatabaseConnection;

use crate::{
    audit::AuditLog,
    catalogue::CatalogueService,
    config::Settings,
    identity::IdentityService,
    mailer::Mailer,
    notification::{EventBus, NotificationPreferences},
    ordering::OrderingService,
    pooling::PoolingService,
    tendering::TenderingService,
    tokens::AccessTokens,
};

#[derive(Clone)]
pub struct Services {
    pub db: DatabaseConnection,
    pub clock: Arc<dyn Clock>,
    pub identity: IdentityService,
    pub catalogue: CatalogueService,
    pub audit: AuditLog,
    pub pooling: PoolingService,
    pub tendering: TenderingService,
    pub ordering: OrderingService,
    pub events: EventBus,
    pub mailer: Mailer,
    pub preferences: NotificationPreferences,
    /// Statements run so far through `db` (see [`crate::db::QueryCounter`]).
    pub queries: crate::db::QueryCounter,
}

impl Services {
    pub fn new(db: DatabaseConnection, clock: Arc<dyn Clock>, settings: &Settings) -> anyhow::Result<Self> {
        let access_tokens =
            Arc::new(AccessTokens::new(&settings.jwt_secret, Duration::seconds(settings.access_token_ttl_seconds))?);
        let events = EventBus::default();
        Ok(Self {
            identity: IdentityService::new(
                db.clone(),
                clock.clone(),
                access_tokens,
                Duration::days(settings.refresh_token_ttl_days),
            ),
            catalogue: CatalogueService::new(db.clone(), clock.clone()),
            audit: AuditLog::new(db.clone()),
            pooling: PoolingService::new(db.clone(), clock.clone()),
            tendering: TenderingService::new(db.clone(), clock.clone(), settings.order_prefix.clone(), events.clone()),
            ordering: OrderingService::new(db.clone(), clock.clone(), settings.order_prefix.clone(), events.clone()),
            mailer: Mailer::new(db.clone(), clock.clone(), &settings.mail)?,
            preferences: NotificationPreferences::new(db.clone(), clock.clone()),
            events,
            queries: crate::db::QueryCounter::default(),
            db,
            clock,
        })
    }
}
