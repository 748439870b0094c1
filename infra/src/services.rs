//! Every use case, wired to one database and one clock.

use std::sync::Arc;

use chrono::Duration;
use domain::clock::Clock;
use sea_orm::DatabaseConnection;

use crate::{
    audit::AuditLog,
    catalogue::CatalogueService,
    config::Settings,
    identity::{IdentityParts, IdentityService},
    mailer::Mailer,
    notification::{EventBus, NotificationPreferences},
    open_data::OpenData,
    ordering::OrderingService,
    pooling::PoolingService,
    prices::{PriceService, Thresholds},
    red_flags::RedFlagService,
    sessions::SessionCache,
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
    pub prices: PriceService,
    pub red_flags: RedFlagService,
    pub open_data: OpenData,
    /// Statements run so far through `db` (see [`crate::db::QueryCounter`]).
    pub queries: crate::db::QueryCounter,
}

impl Services {
    pub fn new(db: DatabaseConnection, clock: Arc<dyn Clock>, settings: &Settings) -> anyhow::Result<Self> {
        let access_tokens =
            Arc::new(AccessTokens::new(&settings.jwt_secret, Duration::seconds(settings.access_token_ttl_seconds))?);
        // One process on SQLite hears every event; on PostgreSQL, only once this node's listener is connected.
        let hears_everything = db.get_database_backend() != sea_orm::DatabaseBackend::Postgres;
        let sessions = SessionCache::new(settings.session_cache_entries, hears_everything);
        let events = EventBus::new(sessions.clone());
        let ordering = OrderingService::new(db.clone(), clock.clone(), settings.order_prefix.clone(), events.clone());
        Ok(Self {
            identity: IdentityService::new(
                db.clone(),
                clock.clone(),
                IdentityParts {
                    access_tokens,
                    refresh_token_lifetime: Duration::days(settings.refresh_token_ttl_days),
                    limits: crate::login_limits::LoginLimits::new(
                        settings.login_per_client_per_minute,
                        settings.login_overall_per_second,
                    ),
                    events: events.clone(),
                    sessions,
                },
            ),
            catalogue: CatalogueService::new(db.clone(), clock.clone()),
            audit: AuditLog::new(db.clone(), clock.clone()),
            pooling: PoolingService::new(db.clone(), clock.clone()),
            tendering: TenderingService::new(
                db.clone(),
                clock.clone(),
                settings.order_prefix.clone(),
                events.clone(),
                settings.min_bidding_period,
            ),
            ordering: ordering.clone(),
            red_flags: RedFlagService::new(
                db.clone(),
                clock.clone(),
                ordering,
                crate::red_flags::RedFlagSettings {
                    short_submission_period: chrono::Duration::days(settings.short_submission_days),
                    heterogeneous_min_tenders: settings.heterogeneous_min_tenders,
                },
            ),
            open_data: OpenData::new(
                db.clone(),
                clock.clone(),
                settings.ocid_prefix.clone(),
                settings.public_url.clone(),
            ),
            mailer: Mailer::new(db.clone(), clock.clone(), &settings.mail)?,
            preferences: NotificationPreferences::new(db.clone(), clock.clone()),
            prices: PriceService::new(
                db.clone(),
                clock.clone(),
                events.clone(),
                Thresholds {
                    cv_percent: settings.cv_threshold_percent,
                    change_percent: settings.change_threshold_percent,
                },
            ),
            events,
            queries: crate::db::QueryCounter::default(),
            db,
            clock,
        })
    }
}
