//! How fast anyone may try to log in, before a password is hashed: per client address and over all clients. A flood
//! from one address is refused at once; a flood from many is held to what the machine can hash without every other
//! request waiting. Lockouts after failed passwords (`login_throttle`) are per account and client on top of this.

use std::{net::IpAddr, num::NonZeroU32, sync::Arc};

use governor::{
    DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter,
    clock::{Clock, DefaultClock},
};

use crate::ServiceError;

/// Above this many addresses remembered, the ones whose limits have fully recovered are forgotten.
const REMEMBERED_CLIENTS: usize = 10_000;

#[derive(Clone)]
pub struct LoginLimits {
    per_client: Arc<DefaultKeyedRateLimiter<IpAddr>>,
    overall: Arc<DefaultDirectRateLimiter>,
}

impl LoginLimits {
    /// `per_client_per_minute` attempts a minute from one address (all of them at once, then evenly), and
    /// `overall_per_second` from everyone together.
    pub fn new(per_client_per_minute: u32, overall_per_second: u32) -> Self {
        let at_least_one = |n: u32| NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN);
        Self {
            per_client: Arc::new(RateLimiter::keyed(Quota::per_minute(at_least_one(per_client_per_minute)))),
            overall: Arc::new(RateLimiter::direct(Quota::per_second(at_least_one(overall_per_second)))),
        }
    }

    /// Counts one attempt from `client` (unknown: counted overall only), or says how long to wait.
    pub fn check(&self, client: Option<IpAddr>) -> Result<(), ServiceError> {
        let now = DefaultClock::default().now();
        let wait = |not_until: governor::NotUntil<_>| ServiceError::TooManyAttempts {
            retry_after_seconds: i64::try_from(not_until.wait_time_from(now).as_secs()).unwrap_or(i64::MAX).max(1),
        };
        if let Some(client) = client {
            if self.per_client.len() > REMEMBERED_CLIENTS {
                self.per_client.retain_recent();
            }
            self.per_client.check_key(&client).map_err(wait)?;
        }
        self.overall.check().map_err(wait)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_address_is_held_to_its_own_limit_and_everyone_to_the_overall_one() {
        let limits = LoginLimits::new(3, 100);
        let (a, b): (IpAddr, IpAddr) = ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap());
        for _ in 0..3 {
            assert!(limits.check(Some(a)).is_ok());
        }
        assert!(
            matches!(limits.check(Some(a)), Err(ServiceError::TooManyAttempts { retry_after_seconds }) if retry_after_seconds >= 1)
        );
        assert!(limits.check(Some(b)).is_ok(), "another address is not held back by the first");

        let overall = LoginLimits::new(1_000, 2);
        assert!(overall.check(Some(a)).is_ok() && overall.check(Some(b)).is_ok());
        assert!(overall.check(Some("192.0.2.3".parse().unwrap())).is_err(), "the third in the same second waits");
    }
}
