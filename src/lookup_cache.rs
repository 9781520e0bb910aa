//! What every call from Ashby and the vendor reads, kept in memory for at most
//! `server.lookup_cache_ms` (1 s by default, never more): which tenant a partner key
//! belongs to (and whether it is disabled), the catalog that applies to a tenant, and
//! whether a vendor API token has been revoked.
//!
//! The bound is the whole invalidation story across replicas: a key or token revoked, a
//! tenant disabled or deleted, or a catalog changed through one replica (or the command
//! line) is seen by every other replica within the bound, because no entry is served
//! older than it. The replica that made the change forgets everything at once (see
//! [`LookupCache::forget_all`]), so its own next answer is already the new one.
//!
//! Unknown keys are never cached (a guessing client must not fill memory); token ids are
//! looked up only for tokens whose signature verified, which only we can mint. The cache
//! is emptied whenever it holds more than [`MAX_ENTRIES`] entries.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use uuid::Uuid;

use crate::domain::catalog::Catalog;
use crate::domain::ids::TenantId;

/// Beyond this many keys (or catalogs), the cache starts over.
pub const MAX_ENTRIES: usize = 10_000;

/// The tenant a partner key authenticates, as the partner API needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyOwner {
    pub tenant_id: TenantId,
    pub disabled: bool,
    pub has_ashby_key: bool,
}

/// The cache's clock: monotonic time, plus however far a test has moved it forward.
/// A test can also stop it, so that only its own moves count.
#[derive(Clone)]
pub struct CacheClock {
    start: Instant,
    advanced_ms: Arc<AtomicI64>,
    /// The elapsed time it was stopped at; negative while it runs.
    stopped_at_ms: Arc<AtomicI64>,
}

impl Default for CacheClock {
    fn default() -> Self {
        Self {
            start: Instant::now(),
            advanced_ms: Arc::default(),
            stopped_at_ms: Arc::new(AtomicI64::new(-1)),
        }
    }
}

impl CacheClock {
    fn now_ms(&self) -> i64 {
        let stopped = self.stopped_at_ms.load(Ordering::Relaxed);
        let elapsed = if stopped >= 0 {
            stopped
        } else {
            i64::try_from(self.start.elapsed().as_millis()).unwrap_or(i64::MAX / 2)
        };
        elapsed.saturating_add(self.advanced_ms.load(Ordering::Relaxed))
    }

    /// Stops the clock where it is: from then on only [`Self::advance`] moves it (tests).
    pub fn stop(&self) {
        let now = i64::try_from(self.start.elapsed().as_millis()).unwrap_or(i64::MAX / 2);
        self.stopped_at_ms.store(now, Ordering::Relaxed);
    }

    /// Moves this clock forward (tests: play the passing of time without waiting).
    pub fn advance(&self, by: Duration) {
        let by = i64::try_from(by.as_millis()).unwrap_or(i64::MAX / 4);
        self.advanced_ms.fetch_add(by, Ordering::Relaxed);
    }
}

/// Entries with the time they were read from the database.
type Entries<K, V> = Mutex<HashMap<K, (i64, V)>>;

/// Shared by every request of one process; cheap to clone.
#[derive(Clone)]
pub struct LookupCache {
    inner: Arc<Inner>,
}

struct Inner {
    ttl_ms: i64,
    clock: CacheClock,
    keys: Entries<String, KeyOwner>,
    catalogs: Entries<TenantId, Arc<Catalog>>,
    /// Vendor token id → revoked.
    tokens: Entries<Uuid, bool>,
}

impl LookupCache {
    /// `ttl`: how long an entry may be served; zero turns caching off.
    pub fn new(ttl: Duration) -> Self {
        Self {
            inner: Arc::new(Inner {
                ttl_ms: i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX),
                clock: CacheClock::default(),
                keys: Mutex::default(),
                catalogs: Mutex::default(),
                tokens: Mutex::default(),
            }),
        }
    }

    pub fn clock(&self) -> &CacheClock {
        &self.inner.clock
    }

    /// The owner of the key with this hash, if read within the bound.
    pub fn key_owner(&self, key_hash: &str) -> Option<KeyOwner> {
        self.get(&self.inner.keys, key_hash)
    }

    pub fn remember_key_owner(&self, key_hash: &str, owner: KeyOwner) {
        self.put(&self.inner.keys, key_hash.to_owned(), owner);
    }

    /// The catalog that applies to the tenant, if read within the bound.
    pub fn catalog(&self, tenant: TenantId) -> Option<Arc<Catalog>> {
        self.get(&self.inner.catalogs, &tenant)
    }

    pub fn remember_catalog(&self, tenant: TenantId, catalog: Arc<Catalog>) {
        self.put(&self.inner.catalogs, tenant, catalog);
    }

    /// Whether the vendor token with this id is revoked, if read within the bound.
    pub fn token_revoked(&self, id: Uuid) -> Option<bool> {
        self.get(&self.inner.tokens, &id)
    }

    pub fn remember_token_revoked(&self, id: Uuid, revoked: bool) {
        self.put(&self.inner.tokens, id, revoked);
    }

    /// Forgets everything: called after this process changed a tenant, its keys or its
    /// catalog, so that its own next answer reflects the change.
    pub fn forget_all(&self) {
        lock(&self.inner.keys).clear();
        lock(&self.inner.catalogs).clear();
        lock(&self.inner.tokens).clear();
    }

    fn get<K, Q, V>(&self, entries: &Entries<K, V>, key: &Q) -> Option<V>
    where
        K: std::borrow::Borrow<Q> + std::hash::Hash + Eq,
        Q: std::hash::Hash + Eq + ?Sized,
        V: Clone,
    {
        if self.inner.ttl_ms == 0 {
            return None;
        }
        let now = self.inner.clock.now_ms();
        let entries = lock(entries);
        let (read_at, value) = entries.get(key)?;
        (now - read_at < self.inner.ttl_ms).then(|| value.clone())
    }

    fn put<K: std::hash::Hash + Eq, V>(&self, entries: &Entries<K, V>, key: K, value: V) {
        if self.inner.ttl_ms == 0 {
            return;
        }
        let now = self.inner.clock.now_ms();
        let mut entries = lock(entries);
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(key, (now, value));
    }
}

/// A poisoned lock only means a panic elsewhere while holding it; the map is still sound.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner() -> KeyOwner {
        KeyOwner {
            tenant_id: TenantId(uuid::Uuid::nil()),
            disabled: false,
            has_ashby_key: true,
        }
    }

    #[test]
    fn an_entry_is_served_only_within_the_bound() {
        let cache = LookupCache::new(Duration::from_millis(1000));
        cache.clock().stop();
        cache.remember_key_owner("h", owner());
        assert_eq!(cache.key_owner("h"), Some(owner()));
        cache.clock().advance(Duration::from_millis(999));
        assert_eq!(cache.key_owner("h"), Some(owner()));
        cache.clock().advance(Duration::from_millis(1));
        assert_eq!(cache.key_owner("h"), None);
    }

    #[test]
    fn a_zero_bound_caches_nothing_and_forgetting_empties_it() {
        let off = LookupCache::new(Duration::ZERO);
        off.remember_key_owner("h", owner());
        assert_eq!(off.key_owner("h"), None);
        let cache = LookupCache::new(Duration::from_secs(1));
        cache.remember_key_owner("h", owner());
        cache.forget_all();
        assert_eq!(cache.key_owner("h"), None);
    }

    #[test]
    fn the_cache_starts_over_when_full() {
        let cache = LookupCache::new(Duration::from_secs(1));
        for n in 0..MAX_ENTRIES {
            cache.remember_key_owner(&n.to_string(), owner());
        }
        cache.remember_key_owner("last", owner());
        assert_eq!(cache.key_owner("0"), None);
        assert_eq!(cache.key_owner("last"), Some(owner()));
    }
}
