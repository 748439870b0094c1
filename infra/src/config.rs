//! Configuration from environment variables (a `.env` file is loaded by the binary before this runs).

use std::str::FromStr;

use anyhow::{Context, bail};
use base64::Engine;
use rand::RngCore;

/// Whether this is a production deployment: stricter defaults, no developer conveniences.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Development,
    Production,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Human,
    Json,
}

/// Limits on the shape of a GraphQL request, so a hostile query is refused before it costs anything.
#[derive(Debug, Clone, Copy)]
pub struct GraphqlLimits {
    pub max_depth: usize,
    pub max_complexity: usize,
    pub max_recursive_depth: usize,
    pub max_directives_per_field: usize,
    pub max_aliases: usize,
    pub max_fields: usize,
    pub max_page_size: usize,
}

/// Everything the server needs to start.
#[derive(Clone)]
pub struct Settings {
    pub environment: Environment,
    pub database_url: String,
    pub jwt_secret: Vec<u8>,
    /// True when no `JWT_SECRET` was given and one was generated for this process (development only).
    pub jwt_secret_generated: bool,
    pub access_token_ttl_seconds: i64,
    pub refresh_token_ttl_days: i64,
    pub log_format: LogFormat,
    pub max_body_bytes: usize,
    /// A request body not fully received this long after the request began is refused with 408
    /// (`LUMBUNG_BODY_TIMEOUT_SECONDS`): a client trickling a body cannot hold a connection open.
    pub body_timeout_seconds: u64,
    pub graphql: GraphqlLimits,
    /// How often the background task looks for tenders past their deadline.
    pub close_interval_ms: u64,
    /// Prefix of purchase order numbers, e.g. `KMP-MLG` gives `KMP-MLG-2026-000123`.
    pub order_prefix: String,
    pub mail: MailSettings,
    /// Price stability: a period whose coefficient of variation exceeds this percentage is unstable (the trade
    /// ministry counts up to 9 % as stable).
    pub cv_threshold_percent: rust_decimal::Decimal,
    /// A period-over-period change beyond this percentage (either way) is an alert.
    pub change_threshold_percent: rust_decimal::Decimal,
    /// The OCDS ocid prefix registered for this publisher; each tender's ocid is `<prefix>-<tender id>`.
    pub ocid_prefix: String,
    /// Where exported OCDS packages say they were published.
    pub public_url: String,
    /// The shortest bidding period a tender may be published or moved with (`LUMBUNG_MIN_BIDDING_SECONDS`).
    pub min_bidding_period: domain::tender::MinimumBiddingPeriod,
    /// Red flag R003: an open tender whose suppliers had fewer days than this to bid (`LUMBUNG_R003_MIN_DAYS`).
    pub short_submission_days: i64,
    /// Red flag R048: suppliers are compared once they have won this many tenders (`LUMBUNG_R048_MIN_TENDERS`).
    pub heterogeneous_min_tenders: u32,
    /// In production, `/metrics` answers only to `Authorization: Bearer <this>` (`LUMBUNG_METRICS_TOKEN`); unset, it
    /// is not served at all.
    pub metrics_token: Option<String>,
    /// Login attempts a minute from one client address (`LUMBUNG_LOGIN_PER_CLIENT_PER_MINUTE`).
    pub login_per_client_per_minute: u32,
    /// Login attempts a second from everyone together (`LUMBUNG_LOGIN_PER_SECOND`): what the cores can hash.
    pub login_overall_per_second: u32,
    /// Sessions each node keeps in memory (`LUMBUNG_SESSION_CACHE_ENTRIES`).
    pub session_cache_entries: u64,
    /// A WebSocket that has not sent `connection_init` this long after opening is closed with 4408
    /// (`LUMBUNG_WS_INIT_TIMEOUT_SECONDS`).
    pub ws_init_timeout_seconds: u64,
    /// Subscriptions one WebSocket may hold at once (`LUMBUNG_WS_MAX_SUBSCRIPTIONS`); one more is refused.
    pub ws_max_subscriptions: usize,
    /// A request head (and a kept-alive connection's next one) must arrive within this (`LUMBUNG_HEADER_TIMEOUT_SECONDS`).
    pub header_timeout_seconds: u64,
    /// HTTP connections served at once (`LUMBUNG_MAX_CONNECTIONS`); more wait in the listen queue.
    pub max_connections: usize,
}

/// Where e-mail goes and how hard the outbox worker tries.
#[derive(Clone)]
pub struct MailSettings {
    /// `smtp://host:25`, `smtp://user:pass@host:587?tls=required` (STARTTLS) or `smtps://host:465` (TLS). Without
    /// it, messages are written as `.eml` files to `outbox_dir`.
    pub smtp_url: Option<String>,
    pub outbox_dir: std::path::PathBuf,
    /// The sender, e.g. `Lumbung <noreply@lumbung.id>`; its domain also names every Message-ID.
    pub from: String,
    /// How often the worker looks for messages due.
    pub interval_ms: u64,
    /// Attempts before a message is marked failed for admins to see.
    pub max_attempts: u32,
    /// Whether this node runs the outbox worker (on SQLite, run it on one node only).
    pub worker_enabled: bool,
}

// The secret never reaches a log line through `{:?}`.
impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("environment", &self.environment)
            .field("database_url", &redact_url(&self.database_url))
            .field("jwt_secret", &"<redacted>")
            .field("log_format", &self.log_format)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("smtp_url", &self.mail.smtp_url.as_deref().map(redact_url))
            .finish_non_exhaustive()
    }
}

pub const DEFAULT_DATABASE_URL: &str = "sqlite://lumbung.db?mode=rwc";

impl Settings {
    /// Reads the process environment.
    pub fn from_env() -> anyhow::Result<Self> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup`, so tests can pass their own variables.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let value = |name: &str| lookup(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let environment = match value("LUMBUNG_ENV").as_deref() {
            None | Some("development") => Environment::Development,
            Some("production") => Environment::Production,
            Some(other) => {
                bail!("LUMBUNG_ENV must be `development` or `production`, not {other:?}")
            }
        };
        let (jwt_secret, jwt_secret_generated) = match value("JWT_SECRET") {
            Some(secret) if secret.len() >= 32 => (secret.into_bytes(), false),
            Some(_) => bail!("JWT_SECRET must be at least 32 characters"),
            None if environment == Environment::Production => {
                bail!("JWT_SECRET is required when LUMBUNG_ENV=production")
            }
            None => {
                let mut secret = vec![0_u8; 32];
                rand::rng().fill_bytes(&mut secret);
                (base64::engine::general_purpose::STANDARD.encode(secret).into_bytes(), true)
            }
        };
        let log_format = match value("LUMBUNG_LOG_FORMAT").as_deref() {
            None if environment == Environment::Production => LogFormat::Json,
            None | Some("human") => LogFormat::Human,
            Some("json") => LogFormat::Json,
            Some(other) => bail!("LUMBUNG_LOG_FORMAT must be `human` or `json`, not {other:?}"),
        };
        Ok(Self {
            environment,
            database_url: value("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned()),
            jwt_secret,
            jwt_secret_generated,
            access_token_ttl_seconds: number(&value, "LUMBUNG_ACCESS_TOKEN_TTL_SECONDS", 900)?,
            refresh_token_ttl_days: number(&value, "LUMBUNG_REFRESH_TOKEN_TTL_DAYS", 30)?,
            log_format,
            max_body_bytes: number(&value, "LUMBUNG_MAX_BODY_BYTES", 1024 * 1024)?,
            body_timeout_seconds: number(&value, "LUMBUNG_BODY_TIMEOUT_SECONDS", 10)?,
            close_interval_ms: number(&value, "LUMBUNG_CLOSE_INTERVAL_MS", 1000)?,
            order_prefix: value("LUMBUNG_ORDER_PREFIX").unwrap_or_else(|| "KMP-MLG".to_owned()),
            cv_threshold_percent: number(&value, "LUMBUNG_CV_THRESHOLD_PERCENT", rust_decimal::Decimal::from(9))?,
            change_threshold_percent: number(
                &value,
                "LUMBUNG_PRICE_CHANGE_THRESHOLD_PERCENT",
                rust_decimal::Decimal::from(10),
            )?,
            ocid_prefix: value("LUMBUNG_OCID_PREFIX").unwrap_or_else(|| "ocds-lmbng1".to_owned()),
            public_url: value("LUMBUNG_PUBLIC_URL").unwrap_or_else(|| "http://127.0.0.1:8080".to_owned()),
            min_bidding_period: domain::tender::MinimumBiddingPeriod(chrono::Duration::seconds(number(
                &value,
                "LUMBUNG_MIN_BIDDING_SECONDS",
                domain::tender::MinimumBiddingPeriod::DEFAULT_SECONDS,
            )?)),
            short_submission_days: number(&value, "LUMBUNG_R003_MIN_DAYS", 7)?,
            heterogeneous_min_tenders: number(&value, "LUMBUNG_R048_MIN_TENDERS", 20)?,
            login_per_client_per_minute: number(&value, "LUMBUNG_LOGIN_PER_CLIENT_PER_MINUTE", 30)?,
            login_overall_per_second: number(&value, "LUMBUNG_LOGIN_PER_SECOND", 40)?,
            session_cache_entries: number(&value, "LUMBUNG_SESSION_CACHE_ENTRIES", 100_000)?,
            ws_init_timeout_seconds: number(&value, "LUMBUNG_WS_INIT_TIMEOUT_SECONDS", 10)?,
            ws_max_subscriptions: number(&value, "LUMBUNG_WS_MAX_SUBSCRIPTIONS", 100)?,
            header_timeout_seconds: number(&value, "LUMBUNG_HEADER_TIMEOUT_SECONDS", 10)?,
            max_connections: number(&value, "LUMBUNG_MAX_CONNECTIONS", 10_000)?,
            metrics_token: match value("LUMBUNG_METRICS_TOKEN") {
                Some(token) if token.len() < 32 => bail!("LUMBUNG_METRICS_TOKEN must be at least 32 characters"),
                token => token,
            },
            mail: MailSettings {
                smtp_url: value("SMTP_URL"),
                outbox_dir: value("LUMBUNG_OUTBOX_DIR").unwrap_or_else(|| "outbox".to_owned()).into(),
                from: value("LUMBUNG_MAIL_FROM").unwrap_or_else(|| "Lumbung <noreply@lumbung.local>".to_owned()),
                interval_ms: number(&value, "LUMBUNG_MAIL_INTERVAL_MS", 1000)?,
                max_attempts: number(&value, "LUMBUNG_MAIL_MAX_ATTEMPTS", 8)?,
                worker_enabled: number(&value, "LUMBUNG_MAIL_WORKER", true)?,
            },
            graphql: GraphqlLimits {
                max_depth: number(&value, "LUMBUNG_GRAPHQL_MAX_DEPTH", 12)?,
                max_complexity: number(&value, "LUMBUNG_GRAPHQL_MAX_COMPLEXITY", 5_000)?,
                max_recursive_depth: number(&value, "LUMBUNG_GRAPHQL_MAX_RECURSIVE_DEPTH", 32)?,
                max_directives_per_field: number(&value, "LUMBUNG_GRAPHQL_MAX_DIRECTIVES", 5)?,
                max_aliases: number(&value, "LUMBUNG_GRAPHQL_MAX_ALIASES", 30)?,
                max_fields: number(&value, "LUMBUNG_GRAPHQL_MAX_FIELDS", 300)?,
                max_page_size: number(&value, "LUMBUNG_GRAPHQL_MAX_PAGE_SIZE", 100)?,
            },
        })
    }

    pub fn is_production(&self) -> bool {
        self.environment == Environment::Production
    }
}

fn number<T: FromStr>(value: &impl Fn(&str) -> Option<String>, name: &str, default: T) -> anyhow::Result<T>
where
    T::Err: std::error::Error + Send + Sync + 'static,
{
    match value(name) {
        None => Ok(default),
        Some(text) => text.parse().with_context(|| format!("{name} must be a number, not {text:?}")),
    }
}

/// The URL without its password, for logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(pairs: &[(&str, &str)]) -> anyhow::Result<Settings> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Settings::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn production_refuses_to_start_without_a_secret() {
        let error = settings(&[("LUMBUNG_ENV", "production")]).err().unwrap();
        assert!(error.to_string().contains("JWT_SECRET is required"));
    }

    #[test]
    fn development_generates_a_secret_and_says_so() {
        let settings = settings(&[]).unwrap();
        assert!(settings.jwt_secret_generated);
        assert!(settings.jwt_secret.len() >= 32);
        assert_eq!(settings.database_url, DEFAULT_DATABASE_URL);
    }

    #[test]
    fn the_minimum_bidding_period_is_three_days_unless_set() {
        assert_eq!(settings(&[]).unwrap().min_bidding_period.0, chrono::Duration::seconds(259_200));
        let shorter = settings(&[("LUMBUNG_MIN_BIDDING_SECONDS", "60")]).unwrap();
        assert_eq!(shorter.min_bidding_period.0, chrono::Duration::seconds(60));
    }

    #[test]
    fn short_secrets_and_bad_numbers_are_refused() {
        assert!(settings(&[("JWT_SECRET", "short")]).is_err());
        assert!(settings(&[("LUMBUNG_MAX_BODY_BYTES", "lots")]).is_err());
    }

    #[test]
    fn debug_output_hides_secrets() {
        let settings = settings(&[
            ("JWT_SECRET", "a-very-long-secret-that-must-not-leak-0123456789"),
            ("DATABASE_URL", "postgres://lumbung:hunter2@db.internal/lumbung"),
            ("SMTP_URL", "smtp://mailer:smtp-secret@mail.internal:587?tls=required"),
        ])
        .unwrap();
        let shown = format!("{settings:?}");
        assert!(!shown.contains("must-not-leak"));
        assert!(!shown.contains("hunter2"));
        assert!(!shown.contains("smtp-secret"));
    }
}
