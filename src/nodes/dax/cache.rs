//! One DAX cache: entries expire `ttl` after they were stored and the
//! least recently used one is evicted when the cache is full — DAX's item
//! and query caches both work this way (TTL per cache, LRU under memory
//! pressure). Sized in entries rather than bytes.

use std::num::NonZeroUsize;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use lru::LruCache;

struct Entry<V> {
    value: V,
    stored: Instant,
    /// Order of stores: a fill from a read that started before a write
    /// must not replace what the write stored.
    seq: u64,
}

pub struct Cache<V> {
    entries: Mutex<LruCache<String, Entry<V>>>,
    ttl: Duration,
    hits: AtomicU64,
    misses: AtomicU64,
    evictions: AtomicU64,
    expirations: AtomicU64,
    seq: AtomicU64,
}

/// Counters of one cache, as `/__dax/stats` reports them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CacheStats {
    pub hits: u64,
    pub misses: u64,
    /// Entries pushed out by LRU because the cache was full.
    pub evictions: u64,
    /// Entries found past their TTL (counted as misses too).
    pub expirations: u64,
    pub entries: u64,
}

impl CacheStats {
    pub fn hit_ratio(&self) -> Option<f64> {
        let n = self.hits + self.misses;
        (n > 0).then(|| self.hits as f64 / n as f64)
    }
}

impl<V: Clone> Cache<V> {
    pub fn new(capacity: usize, ttl: Duration) -> Self {
        Self {
            entries: Mutex::new(LruCache::new(
                NonZeroUsize::new(capacity.max(1)).expect("at least one"),
            )),
            ttl,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            evictions: AtomicU64::new(0),
            expirations: AtomicU64::new(0),
            seq: AtomicU64::new(0),
        }
    }

    /// The current store sequence: take it before reading upstream for a
    /// [`Cache::fill`].
    pub fn seq(&self) -> u64 {
        self.seq.load(Ordering::SeqCst)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LruCache<String, Entry<V>>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A live entry (a hit), or a miss.
    pub fn get(&self, key: &str) -> Option<V> {
        let mut entries = self.lock();
        let found = match entries.get(key) {
            Some(e) if e.stored.elapsed() < self.ttl => Some(e.value.clone()),
            Some(_) => {
                entries.pop(key);
                self.expirations.fetch_add(1, Ordering::Relaxed);
                None
            }
            None => None,
        };
        let counter = if found.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    /// Store `value` (a write: always wins).
    pub fn put(&self, key: String, value: V) {
        self.store(key, value, None);
    }

    /// Store what a read found upstream, unless something was stored under
    /// `key` after `since` (a write that raced the read knows better).
    pub fn fill(&self, key: String, value: V, since: u64) {
        self.store(key, value, Some(since));
    }

    fn store(&self, key: String, value: V, since: Option<u64>) {
        let mut entries = self.lock();
        if let (Some(since), Some(e)) = (since, entries.peek(&key))
            && e.seq > since
        {
            return;
        }
        let full = entries.len() == entries.cap().get() && !entries.contains(&key);
        let seq = self.seq.fetch_add(1, Ordering::SeqCst) + 1;
        entries.put(
            key,
            Entry {
                value,
                stored: Instant::now(),
                seq,
            },
        );
        if full {
            self.evictions.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn remove(&self, key: &str) {
        self.lock().pop(key);
    }

    pub fn clear(&self) {
        self.lock().clear();
    }

    pub fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            evictions: self.evictions.load(Ordering::Relaxed),
            expirations: self.expirations.load(Ordering::Relaxed),
            entries: self.lock().len() as u64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_after_the_ttl() {
        let c = Cache::new(10, Duration::from_millis(30));
        c.put("a".into(), 1);
        assert_eq!(c.get("a"), Some(1));
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(c.get("a"), None);
        let s = c.stats();
        assert_eq!((s.hits, s.misses, s.expirations), (1, 1, 1));
    }

    #[test]
    fn a_fill_does_not_replace_a_later_write() {
        let c = Cache::new(10, Duration::from_secs(60));
        let since = c.seq();
        c.put("a".into(), "new");
        c.fill("a".into(), "old", since);
        assert_eq!(c.get("a"), Some("new"));
        let since = c.seq();
        c.fill("b".into(), "read", since);
        assert_eq!(c.get("b"), Some("read"));
    }

    #[test]
    fn the_least_recently_used_entry_goes_when_full() {
        let c = Cache::new(2, Duration::from_secs(60));
        c.put("a".into(), 1);
        c.put("b".into(), 2);
        assert_eq!(c.get("a"), Some(1)); // b is now the least recent
        c.put("c".into(), 3);
        assert_eq!(c.get("b"), None);
        assert_eq!(c.get("a"), Some(1));
        assert_eq!(c.get("c"), Some(3));
        assert_eq!(c.stats().evictions, 1);
        // Overwriting a key is not an eviction.
        c.put("c".into(), 4);
        assert_eq!(c.stats().evictions, 1);
    }
}
