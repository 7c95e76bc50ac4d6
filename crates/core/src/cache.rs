//! Outcomes of read commands, kept while the database is unchanged.
//!
//! A read reply depends only on the database, the caller's account and the
//! parameters (the catalog's not even on the account). The engine's version ([`crate::engine::Engine::version`])
//! changes after every commit, before the committing callers are answered,
//! so an entry made at the current version is exactly what a fresh read
//! would return: a client never reads an answer older than its own write.
//! Commits by another process (the CLI) are noticed within
//! [`crate::engine::Engine::external_delay`].
//!
//! The point is the cost of a read, not its SQL: a cache hit skips the
//! hand-off to a blocking thread and back, which costs more than the query
//! itself (docs/PERFORMANCE.md). Group commit keeps hits likely even under
//! orders: the version moves once per batch, not once per order.
//!
//! An entry also keeps its outcome as rendered by each front rendering
//! that asked for it (usually one), through a [`Slot`], so a hit costs a
//! copy of bytes, not a rendering.
//!
//! Memory is bounded by a weight (one per entry, one per listed item and
//! one per 512 bytes of rendering);
//! over the budget the whole cache is dropped, which is cheap and cannot be
//! steered by a client into evicting one particular entry.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::outcome::Outcome;

/// Total weight kept: about 20 MB of replies at most; room for a page of
/// ten numbers for each of 3,000 busy accounts.
const BUDGET: usize = 40_000;
/// Replies with more items than this are not kept (large pages are rare
/// and would crowd out everyone else's).
const MAX_ITEMS: usize = 200;

struct Entry {
    version: u64,
    outcome: Arc<Outcome>,
    /// `(rendering, bytes)`: the outcome as a front renders it undecorated.
    rendered: Vec<(&'static str, Arc<Vec<u8>>)>,
}

impl Entry {
    fn weight(&self) -> usize {
        1 + self.outcome.items()
            + self
                .rendered
                .iter()
                .map(|(_, b)| b.len() / 512)
                .sum::<usize>()
    }
}

#[derive(Default)]
pub struct ReplyCache {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    entries: HashMap<[u8; 32], Entry>,
    weight: usize,
}

impl ReplyCache {
    /// The outcome stored for `key` at `version`, if any.
    pub fn get(&self, key: &[u8; 32], version: u64) -> Option<Arc<Outcome>> {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let entry = inner.entries.get(key)?;
        (entry.version == version).then(|| entry.outcome.clone())
    }

    /// Keeps `outcome`, computed from the database at `version` (read
    /// before the query ran, so a commit during the query makes it stale at
    /// once).
    pub fn put(&self, key: [u8; 32], version: u64, outcome: Arc<Outcome>) {
        let items = outcome.items();
        if items > MAX_ITEMS {
            return;
        }
        let entry = Entry {
            version,
            outcome,
            rendered: Vec::new(),
        };
        let weight = entry.weight();
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.admit(weight);
        if let Some(old) = inner.entries.insert(key, entry) {
            inner.weight -= old.weight();
        }
        inner.weight += weight;
    }

    /// The reply of `key` at `version` as `rendering` renders it, if kept.
    pub fn rendered(&self, key: &[u8; 32], version: u64, rendering: &str) -> Option<Arc<Vec<u8>>> {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let entry = inner.entries.get(key).filter(|e| e.version == version)?;
        entry
            .rendered
            .iter()
            .find(|(r, _)| *r == rendering)
            .map(|(_, b)| b.clone())
    }

    /// Keeps `bytes`, the reply of `key` at `version` rendered by
    /// `rendering`, if that entry is still there.
    pub fn keep_rendered(
        &self,
        key: &[u8; 32],
        version: u64,
        rendering: &'static str,
        bytes: Arc<Vec<u8>>,
    ) {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let Some(entry) = inner.entries.get_mut(key).filter(|e| e.version == version) else {
            return;
        };
        if entry.rendered.iter().any(|(r, _)| *r == rendering) {
            return;
        }
        let added = bytes.len() / 512;
        entry.rendered.push((rendering, bytes));
        inner.weight += added;
        inner.admit(0);
    }
}

/// Where one read's outcome is kept: a front keeps its rendering there.
#[derive(Clone)]
pub struct Slot {
    cache: Arc<ReplyCache>,
    key: [u8; 32],
    version: u64,
}

impl std::fmt::Debug for Slot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Slot")
            .field("version", &self.version)
            .finish()
    }
}

impl Slot {
    /// A slot for `key` at `version` (the service makes them; fronts'
    /// tests may too).
    pub fn new(cache: Arc<ReplyCache>, key: [u8; 32], version: u64) -> Self {
        Slot {
            cache,
            key,
            version,
        }
    }

    /// The outcome as `rendering` rendered it, if kept.
    pub fn rendered(&self, rendering: &str) -> Option<Arc<Vec<u8>>> {
        self.cache.rendered(&self.key, self.version, rendering)
    }

    /// Keeps the outcome as `rendering` renders it (undecorated: the same
    /// bytes for every request with this key).
    pub fn keep(&self, rendering: &'static str, bytes: Arc<Vec<u8>>) {
        self.cache
            .keep_rendered(&self.key, self.version, rendering, bytes)
    }
}

impl Inner {
    /// Makes room for `weight` more, dropping everything if it would not
    /// fit (or if the cache is already over its budget).
    fn admit(&mut self, weight: usize) {
        if self.weight + weight > BUDGET {
            self.entries.clear();
            self.weight = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(n: usize) -> Arc<Outcome> {
        let country = crate::domain::Country {
            id: "US".into(),
            name: "United States".into(),
            has_states: true,
            is_fax: false,
            is_sms: false,
        };
        Arc::new(Outcome::Countries(vec![country; n]))
    }

    #[test]
    fn hits_only_at_the_version_it_was_made() {
        let c = ReplyCache::default();
        c.put([1; 32], 7, reply(1));
        assert!(c.get(&[1; 32], 7).is_some());
        assert!(c.get(&[1; 32], 8).is_none());
        assert!(c.get(&[2; 32], 7).is_none());
    }

    #[test]
    fn stays_within_its_budget() {
        let c = ReplyCache::default();
        c.put([0; 32], 1, reply(MAX_ITEMS + 1));
        assert!(
            c.get(&[0; 32], 1).is_none(),
            "oversized replies are not kept"
        );
        for i in 0..BUDGET {
            let mut key = [0; 32];
            key[..8].copy_from_slice(&(i as u64).to_le_bytes());
            c.put(key, 1, reply(3));
            assert!(c.inner.lock().unwrap().weight <= BUDGET);
        }
        // Replacing an entry does not count it twice.
        let c = ReplyCache::default();
        for _ in 0..10 {
            c.put([9; 32], 1, reply(3));
        }
        assert_eq!(c.inner.lock().unwrap().weight, 4);
    }

    #[test]
    fn keeps_one_rendering_per_codec_and_version() {
        let c = ReplyCache::default();
        c.put([1; 32], 7, reply(1));
        assert!(c.rendered(&[1; 32], 7, "xml").is_none());
        c.keep_rendered(&[1; 32], 7, "xml", Arc::new(vec![b'x'; 1024]));
        c.keep_rendered(&[1; 32], 7, "list_all", Arc::new(b"{}".to_vec()));
        assert_eq!(c.rendered(&[1; 32], 7, "xml").unwrap().len(), 1024);
        assert_eq!(&**c.rendered(&[1; 32], 7, "list_all").unwrap(), b"{}");
        assert!(c.rendered(&[1; 32], 8, "xml").is_none());
        // A rendering made at an older version is not kept.
        c.keep_rendered(&[1; 32], 6, "json", Arc::new(b"[]".to_vec()));
        assert!(c.rendered(&[1; 32], 7, "json").is_none());
        assert_eq!(c.inner.lock().unwrap().weight, 2 + 2);
    }
}
