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

/// The languages Lumbung speaks to people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Language {
    /// Bahasa Indonesia, first.
    #[default]
    Indonesian,
    English,
}

/// How long until `deadline` as people say it: "2 hari 3 jam lagi" / "2 days 3 hours left" (the two largest units),
/// "kurang dari 1 menit lagi" in the last minute, and "sudah lewat" / "passed" after it.
pub fn time_left(now: DateTime<Utc>, deadline: DateTime<Utc>, language: Language) -> String {
    let seconds = (deadline - now).num_seconds();
    let english = language == Language::English;
    if seconds <= 0 {
        return if english { "passed".into() } else { "sudah lewat".into() };
    }
    if seconds < 60 {
        return if english { "less than a minute left".into() } else { "kurang dari 1 menit lagi".into() };
    }
    let (days, hours, minutes) = (seconds / 86_400, seconds % 86_400 / 3600, seconds % 3600 / 60);
    let unit = |count: i64, indonesian: &str, singular: &str, plural: &str| {
        if english {
            format!("{count} {}", if count == 1 { singular } else { plural })
        } else {
            format!("{count} {indonesian}")
        }
    };
    let parts: Vec<String> = [
        (days, unit(days, "hari", "day", "days")),
        (hours, unit(hours, "jam", "hour", "hours")),
        (minutes, unit(minutes, "menit", "minute", "minutes")),
    ]
    .into_iter()
    .skip_while(|(count, _)| *count == 0)
    .take(2)
    .filter(|(count, _)| *count > 0)
    .map(|(_, text)| text)
    .collect();
    let joined = parts.join(" ");
    if english { format!("{joined} left") } else { format!("{joined} lagi") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_left_reads_as_people_say_it() {
        let now = "2026-11-27T02:00:00Z".parse::<DateTime<Utc>>().unwrap();
        let later = |seconds: i64| now + chrono::Duration::seconds(seconds);
        assert_eq!(time_left(now, later(2 * 86_400 + 3 * 3600 + 59), Language::Indonesian), "2 hari 3 jam lagi");
        assert_eq!(time_left(now, later(2 * 86_400 + 3 * 3600), Language::English), "2 days 3 hours left");
        assert_eq!(time_left(now, later(86_400 + 120), Language::English), "1 day left");
        assert_eq!(time_left(now, later(3600 + 60), Language::Indonesian), "1 jam 1 menit lagi");
        assert_eq!(time_left(now, later(30), Language::Indonesian), "kurang dari 1 menit lagi");
        assert_eq!(time_left(now, later(-5), Language::English), "passed");
    }

    #[test]
    fn the_day_in_jakarta_starts_at_17_utc() {
        let before = "2026-11-27T16:59:59Z".parse::<DateTime<Utc>>().unwrap();
        let after = "2026-11-27T17:00:00Z".parse::<DateTime<Utc>>().unwrap();
        assert_eq!(date_in_wib(before).to_string(), "2026-11-27");
        assert_eq!(date_in_wib(after).to_string(), "2026-11-28");
    }
}
