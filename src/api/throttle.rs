//! Login attempts per client address (GCRA, `governor`): beside the per-account lockout after
//! failures, this bounds what one address can try across many usernames. A refused attempt is
//! 429 with `Retry-After`, before any password is hashed.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

/// Addresses remembered before the idle ones are swept.
const SWEEP_ABOVE: usize = 10_000;

/// A limiter keyed by client address.
type Limiter<C> =
    RateLimiter<IpAddr, DefaultKeyedStateStore<IpAddr>, C, NoOpMiddleware<<C as Clock>::Instant>>;

pub struct LoginThrottle<C: Clock = DefaultClock> {
    limiter: Option<Limiter<C>>,
    clock: C,
}

impl LoginThrottle {
    /// `per_minute` attempts per address (a burst of as many); 0 = no limit.
    pub fn new(per_minute: u32) -> Self {
        Self::with_clock(per_minute, DefaultClock::default())
    }
}

impl<C: Clock + Clone> LoginThrottle<C> {
    pub fn with_clock(per_minute: u32, clock: C) -> Self {
        let limiter = NonZeroU32::new(per_minute).map(|n| {
            RateLimiter::new(
                Quota::per_minute(n),
                DefaultKeyedStateStore::default(),
                clock.clone(),
            )
        });
        Self { limiter, clock }
    }

    /// `Ok`, or how long this address must wait.
    pub fn check(&self, addr: IpAddr) -> Result<(), Duration> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        let verdict = limiter
            .check_key(&addr)
            .map(|_| ())
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()));
        if limiter.len() > SWEEP_ABOVE {
            limiter.retain_recent();
        }
        verdict
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use governor::clock::FakeRelativeClock;

    #[test]
    fn an_address_gets_its_quota_per_minute_and_others_theirs() {
        let clock = FakeRelativeClock::default();
        let t = LoginThrottle::with_clock(3, clock.clone());
        let (a, b): (IpAddr, IpAddr) = (
            "10.0.0.1".parse().expect("ip"),
            "10.0.0.2".parse().expect("ip"),
        );
        for _ in 0..3 {
            assert_eq!(t.check(a), Ok(()));
        }
        let wait = t.check(a).expect_err("a fourth within the minute");
        assert!(
            wait > Duration::from_secs(19) && wait <= Duration::from_secs(20),
            "{wait:?}"
        );
        assert_eq!(t.check(b), Ok(()), "another address is not held up");
        clock.advance(Duration::from_secs(20));
        assert_eq!(t.check(a), Ok(()), "one attempt back every 20 s");
        assert!(t.check(a).is_err());
        let open = LoginThrottle::with_clock(0, clock);
        assert!((0..100).all(|_| open.check(a).is_ok()), "0 = no limit");
    }
}
