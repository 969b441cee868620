//! Striped locks by cache key: writes to one item are serialised inside
//! the node, from forwarding to DynamoDB until the item cache is updated,
//! so the cache ends with what DynamoDB ends with.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use tokio::sync::{Mutex, MutexGuard};

pub struct KeyLocks {
    stripes: Vec<Mutex<()>>,
}

impl KeyLocks {
    pub fn new(stripes: usize) -> Self {
        Self {
            stripes: (0..stripes.max(1)).map(|_| Mutex::new(())).collect(),
        }
    }

    fn stripe(&self, key: &str) -> usize {
        let mut h = DefaultHasher::new();
        key.hash(&mut h);
        (h.finish() % self.stripes.len() as u64) as usize
    }

    /// Hold the stripes of every key, taken in one order (no deadlock
    /// between writes touching several items).
    pub async fn lock(&self, keys: &[String]) -> Vec<MutexGuard<'_, ()>> {
        let mut idx: Vec<usize> = keys.iter().map(|k| self.stripe(k)).collect();
        idx.sort_unstable();
        idx.dedup();
        let mut guards = Vec::with_capacity(idx.len());
        for i in idx {
            guards.push(self.stripes[i].lock().await);
        }
        guards
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_writer_per_key_at_a_time() {
        let locks = std::sync::Arc::new(KeyLocks::new(8));
        let held = locks.lock(&["a".into(), "b".into()]).await;
        let l2 = locks.clone();
        let waiter = tokio::spawn(async move {
            let _g = l2.lock(&["b".into()]).await;
        });
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        assert!(!waiter.is_finished(), "b is held");
        drop(held);
        waiter.await.unwrap();
    }
}
