//! Slowing down password guessing without revealing which e-mail addresses have accounts.

use chrono::{DateTime, Duration, Utc};

/// How failed logins for one e-mail address are throttled. The same rule applies whether or not an account exists.
#[derive(Debug, Clone, Copy)]
pub struct LoginThrottle {
    /// Failures allowed before the first lock.
    pub free_failures: u32,
    /// Lock after the first failure beyond the free ones; it doubles with every further failure.
    pub first_lock: Duration,
    pub longest_lock: Duration,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        Self { free_failures: 5, first_lock: Duration::seconds(30), longest_lock: Duration::minutes(15) }
    }
}

impl LoginThrottle {
    /// Until when logins are refused after `failures` consecutive failures, the latest at `now`.
    pub fn locked_until(&self, failures: u32, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if failures < self.free_failures {
            return None;
        }
        let doublings = (failures - self.free_failures).min(20);
        let lock = self.first_lock * 2_i32.saturating_pow(doublings);
        Some(now + lock.min(self.longest_lock))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_start_after_the_free_failures_double_and_are_capped() {
        let throttle = LoginThrottle::default();
        let now = DateTime::<Utc>::UNIX_EPOCH;
        assert_eq!(throttle.locked_until(4, now), None);
        assert_eq!(throttle.locked_until(5, now), Some(now + Duration::seconds(30)));
        assert_eq!(throttle.locked_until(6, now), Some(now + Duration::seconds(60)));
        assert_eq!(throttle.locked_until(7, now), Some(now + Duration::seconds(120)));
        assert_eq!(throttle.locked_until(60, now), Some(now + Duration::minutes(15)));
        assert_eq!(throttle.locked_until(u32::MAX, now), Some(now + Duration::minutes(15)));
    }
}
