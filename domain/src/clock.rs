//! The current instant, injected so that rules and tests can stand at any moment.

use chrono::{DateTime, Utc};

/// A source of the current instant (UTC). The server uses the system clock; tests use a manual one.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
}

/// Western Indonesia Time (WIB, Asia/Jakarta): UTC+7 all year, no daylight saving.
pub fn wib() -> chrono::FixedOffset {
    const SEVEN_HOURS: i32 = 7 * 3600;
    match chrono::FixedOffset::east_opt(SEVEN_HOURS) {
        Some(offset) => offset,
        None => unreachable!("seven hours is a valid offset"),
    }
}

/// The calendar day in Jakarta at `instant`: what people in Malang call "today".
pub fn date_in_wib(instant: DateTime<Utc>) -> chrono::NaiveDate {
    instant.with_timezone(&wib()).date_naive()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_day_in_jakarta_starts_at_17_utc() {
        let before = "2026-11-27T16:59:59Z".parse::<DateTime<Utc>>().unwrap();
        let after = "2026-11-27T17:00:00Z".parse::<DateTime<Utc>>().unwrap();
        assert_eq!(date_in_wib(before).to_string(), "2026-11-27");
        assert_eq!(date_in_wib(after).to_string(), "2026-11-28");
    }
}
