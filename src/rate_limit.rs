//! Per-caller request rate limits (`[limits]`): one GCRA token bucket per key, in
//! process. Each replica counts on its own, so N replicas behind a load balancer allow up
//! to N times the configured rate — a guard against one runaway caller, not a quota.

use std::hash::Hash;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DashMapStateStore;
use governor::{Quota, RateLimiter};
use uuid::Uuid;

use crate::settings::LimitsSettings;

/// How often (in checks) idle buckets are dropped, so the map holds only callers seen
/// recently: a bucket that has refilled is indistinguishable from a new one.
const EVICT_EVERY: u64 = 1024;

/// The limiters of both APIs, shared by every worker thread.
pub struct RateLimits {
    /// Partner API, keyed by the authenticated tenant.
    pub partner: Limiter<Uuid>,
    /// Vendor API, keyed by the token (its SHA-256): `/v1` tokens are not tenant-bound,
    /// and the tenant a request names is not authenticated, so it cannot be the key.
    pub vendor: Limiter<[u8; 32]>,
}

impl RateLimits {
    pub fn new(settings: &LimitsSettings) -> Self {
        Self {
            partner: Limiter::new(
                settings.partner_requests_per_second,
                settings.partner_burst,
                DefaultClock::default(),
            ),
            vendor: Limiter::new(
                settings.vendor_requests_per_second,
                settings.vendor_burst,
                DefaultClock::default(),
            ),
        }
    }
}

type Buckets<K, C> = RateLimiter<K, DashMapStateStore<K>, C, NoOpMiddleware<<C as Clock>::Instant>>;

/// A keyed limiter; `None` inside when the rate is 0 (off).
pub struct Limiter<K: Hash + Eq + Clone, C: Clock = DefaultClock> {
    buckets: Option<Buckets<K, C>>,
    clock: C,
    checks: AtomicU64,
}

impl<K: Hash + Eq + Clone, C: Clock + Clone> Limiter<K, C> {
    /// `per_second` requests a second on average, up to `burst` at once; 0 turns it off.
    pub fn new(per_second: u32, burst: u32, clock: C) -> Self {
        let buckets = NonZeroU32::new(per_second).map(|rate| {
            // Validation refuses a zero burst with a non-zero rate; fall back to the rate.
            let burst = NonZeroU32::new(burst).unwrap_or(rate);
            RateLimiter::dashmap_with_clock(
                Quota::per_second(rate).allow_burst(burst),
                clock.clone(),
            )
        });
        Self {
            buckets,
            clock,
            checks: AtomicU64::new(0),
        }
    }

    /// Takes one request from `key`'s bucket.
    ///
    /// # Errors
    /// When the bucket is empty: how long until the next request would be allowed.
    pub fn check(&self, key: &K) -> Result<(), Duration> {
        let Some(buckets) = &self.buckets else {
            return Ok(());
        };
        if self.checks.fetch_add(1, Ordering::Relaxed) % EVICT_EVERY == EVICT_EVERY - 1 {
            self.evict_idle();
        }
        buckets
            .check_key(key)
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    /// Drops the buckets that have refilled completely.
    pub fn evict_idle(&self) {
        if let Some(buckets) = &self.buckets {
            buckets.retain_recent();
            buckets.shrink_to_fit();
        }
    }

    /// Buckets currently held.
    pub fn len(&self) -> usize {
        self.buckets.as_ref().map_or(0, RateLimiter::len)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The vendor limiter's key for a token: its SHA-256, so the map holds no credential.
pub fn token_key(token: &str) -> [u8; 32] {
    use sha2::Digest as _;
    sha2::Sha256::digest(token.as_bytes()).into()
}

/// `Retry-After` in whole seconds, rounded up, at least 1 (0 would invite an instant retry).
pub fn retry_after_seconds(wait: Duration) -> u64 {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    seconds.max(1)
}

#[cfg(test)]
mod tests {
    use governor::clock::FakeRelativeClock;

    use super::*;

    #[test]
    fn a_key_gets_its_burst_then_waits_and_other_keys_are_unaffected() {
        let clock = FakeRelativeClock::default();
        let limiter: Limiter<u32, _> = Limiter::new(2, 3, clock.clone());
        for _ in 0..3 {
            assert_eq!(limiter.check(&1), Ok(()));
        }
        let wait = limiter.check(&1).unwrap_err();
        assert_eq!(wait, Duration::from_millis(500));
        assert_eq!(limiter.check(&2), Ok(()));
        clock.advance(Duration::from_millis(500));
        assert_eq!(limiter.check(&1), Ok(()));
    }

    #[test]
    fn a_zero_rate_is_off() {
        let limiter: Limiter<u32, _> = Limiter::new(0, 0, FakeRelativeClock::default());
        for _ in 0..10_000 {
            assert_eq!(limiter.check(&1), Ok(()));
        }
        assert!(limiter.is_empty());
    }

    #[test]
    fn idle_buckets_are_evicted_so_memory_stays_bounded() {
        let clock = FakeRelativeClock::default();
        let limiter: Limiter<u32, _> = Limiter::new(10, 10, clock.clone());
        for key in 0..500 {
            limiter.check(&key).unwrap();
        }
        assert_eq!(limiter.len(), 500);
        clock.advance(Duration::from_secs(2));
        limiter.check(&1_000).unwrap();
        limiter.evict_idle();
        assert_eq!(limiter.len(), 1, "only the recently used key stays");
    }

    #[test]
    fn eviction_also_runs_by_itself_as_keys_come_and_go() {
        let clock = FakeRelativeClock::default();
        let limiter: Limiter<u64, _> = Limiter::new(100, 1, clock.clone());
        for key in 0..10 * EVICT_EVERY {
            limiter.check(&key).unwrap();
            clock.advance(Duration::from_millis(20));
        }
        assert!(limiter.len() <= EVICT_EVERY as usize, "{}", limiter.len());
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(retry_after_seconds(Duration::ZERO), 1);
        assert_eq!(retry_after_seconds(Duration::from_millis(10)), 1);
        assert_eq!(retry_after_seconds(Duration::from_millis(1_001)), 2);
        assert_eq!(retry_after_seconds(Duration::from_secs(3)), 3);
    }
}
