//! Login attempts per client address (GCRA, `governor`): beside the per-account lockout after
//! failures, this bounds what one address can try across many usernames. A refused attempt is
//! 429 with `Retry-After`, before any password is hashed. Only an address's first refusal in a
//! minute is worth an audit record: a flood of refused attempts must not become a flood of audit
//! writes (the rest are counted in `iochub_auth_logins_total{result="limited"}`).

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
    /// One audited refusal per address and minute.
    reported: Option<Limiter<C>>,
    clock: C,
}

/// A refused attempt: how long the address must wait, and whether this refusal is the first of
/// the minute (to be recorded in the audit trail; the others are only counted).
#[derive(Debug, PartialEq, Eq)]
pub struct Refused {
    pub wait: Duration,
    pub first: bool,
}

impl LoginThrottle {
    /// `per_minute` attempts per address (a burst of as many); 0 = no limit.
    pub fn new(per_minute: u32) -> Self {
        Self::with_clock(per_minute, DefaultClock::default())
    }
}

impl<C: Clock + Clone> LoginThrottle<C> {
    pub fn with_clock(per_minute: u32, clock: C) -> Self {
        let keyed = |n| {
            RateLimiter::new(
                Quota::per_minute(n),
                DefaultKeyedStateStore::default(),
                clock.clone(),
            )
        };
        let limiter = NonZeroU32::new(per_minute).map(keyed);
        let reported = limiter.as_ref().map(|_| keyed(NonZeroU32::MIN));
        Self {
            limiter,
            reported,
            clock,
        }
    }

    /// `Ok`, or how long this address must wait and whether to record it.
    pub fn check(&self, addr: IpAddr) -> Result<(), Refused> {
        let (Some(limiter), Some(reported)) = (&self.limiter, &self.reported) else {
            return Ok(());
        };
        let verdict = limiter
            .check_key(&addr)
            .map(|_| ())
            .map_err(|not_until| Refused {
                wait: not_until.wait_time_from(self.clock.now()),
                first: reported.check_key(&addr).is_ok(),
            });
        if limiter.len() > SWEEP_ABOVE {
            limiter.retain_recent();
        }
        if reported.len() > SWEEP_ABOVE {
            reported.retain_recent();
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
        let refused = t.check(a).expect_err("a fourth within the minute");
        assert!(
            refused.wait > Duration::from_secs(19) && refused.wait <= Duration::from_secs(20),
            "{refused:?}"
        );
        assert!(refused.first, "the first refusal is recorded");
        assert!(
            !t.check(a).expect_err("a fifth").first,
            "the next only counted"
        );
        assert_eq!(t.check(b), Ok(()), "another address is not held up");
        clock.advance(Duration::from_secs(20));
        assert_eq!(t.check(a), Ok(()), "one attempt back every 20 s");
        assert!(
            !t.check(a).expect_err("refused again").first,
            "within the minute"
        );
        clock.advance(Duration::from_secs(60));
        (0..3).for_each(|_| assert_eq!(t.check(a), Ok(())));
        assert!(
            t.check(a).expect_err("a new minute").first,
            "recorded again"
        );
        let open = LoginThrottle::with_clock(0, clock);
        assert!((0..100).all(|_| open.check(a).is_ok()), "0 = no limit");
    }
}
