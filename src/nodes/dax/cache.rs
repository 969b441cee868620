//! One DAX cache: entries expire `ttl` after they were stored and the
//! least recently used one is evicted when the cache is full — DAX's item
//! and query caches both work this way (TTL per cache, LRU under memory
//! pressure). Sized in entries rather than bytes.
//!
//! Every store gets a sequence number. A read that missed and went to
//! DynamoDB fills the cache only if nothing was stored, removed or lost
//! for its key since the read began (`fill`): a write that raced the read
//! knows better. Removals leave a tombstone (a miss that keeps its
//! sequence number); a flush, an eviction or an expiry raises a floor
//! below which no fill is taken.

use std::num::NonZeroUsize;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use lru::LruCache;

struct Entry<V> {
    /// `None`: a tombstone.
    value: Option<V>,
    stored: Instant,
    seq: u64,
}

struct Inner<V> {
    entries: LruCache<String, Entry<V>>,
    seq: u64,
    /// Fills of reads that began before this were overtaken by a flush,
    /// an eviction or an expiry: refused.
    floor: u64,
}

pub struct Cache<V> {
    inner: Mutex<Inner<V>>,
    ttl: Duration,
    hits: AtomicU64,
    misses: AtomicU64,
    evictions: AtomicU64,
    expirations: AtomicU64,
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
            inner: Mutex::new(Inner {
                entries: LruCache::new(NonZeroUsize::new(capacity.max(1)).expect("at least one")),
                seq: 0,
                floor: 0,
            }),
            ttl,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            evictions: AtomicU64::new(0),
            expirations: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner<V>> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The current store sequence: take it before reading upstream for a
    /// [`Cache::fill`].
    pub fn seq(&self) -> u64 {
        self.lock().seq
    }

    /// A live entry (a hit), or a miss.
    pub fn get(&self, key: &str) -> Option<V> {
        let mut inner = self.lock();
        let found = match inner.entries.get(key) {
            Some(e) if e.stored.elapsed() < self.ttl => e.value.clone(),
            Some(_) => {
                if let Some(e) = inner.entries.pop(key) {
                    inner.floor = inner.floor.max(e.seq);
                    if e.value.is_some() {
                        self.expirations.fetch_add(1, Ordering::Relaxed);
                    }
                }
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
        self.store(key, Some(value), None);
    }

    /// Forget `key`, leaving a tombstone so an older read cannot fill it.
    pub fn remove(&self, key: String) {
        self.store(key, None, None);
    }

    /// Store what a read found upstream, unless something happened to
    /// `key` (or the cache) after `since`.
    pub fn fill(&self, key: String, value: V, since: u64) {
        self.store(key, Some(value), Some(since));
    }

    fn store(&self, key: String, value: Option<V>, since: Option<u64>) {
        let mut inner = self.lock();
        if let Some(since) = since
            && (since < inner.floor || inner.entries.peek(&key).is_some_and(|e| e.seq > since))
        {
            return;
        }
        inner.seq += 1;
        let entry = Entry {
            value,
            stored: Instant::now(),
            seq: inner.seq,
        };
        if let Some((old_key, old)) = inner.entries.push(key.clone(), entry)
            && old_key != key
        {
            inner.floor = inner.floor.max(old.seq);
            if old.value.is_some() {
                self.evictions.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Empty the cache; reads in flight may not fill it (one that took
    /// its sequence just before would have `since == seq`: the sequence
    /// moves on so that it is below the floor).
    pub fn clear(&self) {
        let mut inner = self.lock();
        inner.entries.clear();
        inner.seq += 1;
        inner.floor = inner.seq;
    }

    pub fn stats(&self) -> CacheStats {
        let inner = self.lock();
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            evictions: self.evictions.load(Ordering::Relaxed),
            expirations: self.expirations.load(Ordering::Relaxed),
            entries: inner
                .entries
                .iter()
                .filter(|(_, e)| e.value.is_some())
                .count() as u64,
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
    fn a_fill_does_not_replace_a_later_write_or_removal() {
        let c = Cache::new(10, Duration::from_secs(60));
        let since = c.seq();
        c.put("a".into(), "new");
        c.fill("a".into(), "old", since);
        assert_eq!(c.get("a"), Some("new"));
        let since = c.seq();
        c.remove("a".into());
        c.fill("a".into(), "old", since);
        assert_eq!(c.get("a"), None, "the tombstone stays");
        let since = c.seq();
        c.fill("b".into(), "read", since);
        assert_eq!(c.get("b"), Some("read"));
    }

    #[test]
    fn a_flush_refuses_fills_of_reads_that_began_before_it() {
        let c = Cache::new(10, Duration::from_secs(60));
        let since = c.seq();
        c.put("a".into(), 1);
        c.clear();
        c.fill("a".into(), 0, since);
        assert_eq!(c.get("a"), None);
        let since = c.seq();
        c.fill("a".into(), 2, since);
        assert_eq!(c.get("a"), Some(2));
        // With nothing written between the read's start and the flush.
        let since = c.seq();
        c.clear();
        c.fill("a".into(), 3, since);
        assert_eq!(c.get("a"), None);
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
