//! The current instant, injected so that rules and tests can stand at any moment.

use chrono::{DateTime, Utc};

/// A source of the current instant (UTC). The server uses the system clock; tests use a manual one.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
}
