//! The signature cache: a bounded set of ids of transactions whose stateless checks (shape and every
//! signature) passed here before (issue 14, ADR 0023).
//!
//! A txid is the hash of the whole encoding, signatures included, so a transaction with a known txid is the
//! very transaction that was checked: a block carrying transactions the mempool already took, a peer
//! relaying a transaction again, or a reorg loading a stored block back, verify only what is new. Coinbases
//! are never entered (they are checked in their block only). Bounded by count; the oldest entries leave first.

use std::collections::{HashSet, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use ferrochain_core::Txid;

/// Ids kept by default: about 5 MB, more than a full default mempool's transactions.
pub const DEFAULT_CAPACITY: usize = 100_000;

/// A bounded, shared set of verified txids.
#[derive(Debug)]
pub struct VerifiedTxids {
    inner: Mutex<Ring>,
    hits: AtomicU64,
}

#[derive(Debug)]
struct Ring {
    set: HashSet<Txid>,
    order: VecDeque<Txid>,
    capacity: usize,
}

impl VerifiedTxids {
    /// An empty cache of at most `capacity` ids.
    pub fn new(capacity: usize) -> VerifiedTxids {
        VerifiedTxids {
            inner: Mutex::new(Ring {
                set: HashSet::new(),
                order: VecDeque::new(),
                capacity,
            }),
            hits: AtomicU64::new(0),
        }
    }

    fn ring(&self) -> std::sync::MutexGuard<'_, Ring> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether `txid` passed its stateless checks here; a yes counts as a hit.
    pub fn contains(&self, txid: &Txid) -> bool {
        let known = self.ring().set.contains(txid);
        if known {
            self.hits.fetch_add(1, Ordering::Relaxed);
        }
        known
    }

    /// Notes transactions whose stateless checks passed.
    pub fn insert_all(&self, txids: impl IntoIterator<Item = Txid>) {
        let mut ring = self.ring();
        for txid in txids {
            if ring.capacity == 0 || !ring.set.insert(txid) {
                continue;
            }
            ring.order.push_back(txid);
            while ring.order.len() > ring.capacity {
                if let Some(old) = ring.order.pop_front() {
                    ring.set.remove(&old);
                }
            }
        }
    }

    /// How many checks the cache saved so far.
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    /// Ids held.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.ring().set.len()
    }

    /// Whether it holds none.
    #[cfg(test)]
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(i: u32) -> Txid {
        Txid::hash(&i.to_le_bytes())
    }

    #[test]
    fn the_oldest_ids_leave_first_and_hits_are_counted() {
        let cache = VerifiedTxids::new(3);
        cache.insert_all((0..3).map(id));
        cache.insert_all([id(1)]); // already there: no reordering, no growth
        assert_eq!(cache.len(), 3);
        cache.insert_all([id(3)]);
        assert_eq!(cache.len(), 3);
        assert!(!cache.contains(&id(0)), "the oldest left");
        assert!(cache.contains(&id(1)) && cache.contains(&id(3)));
        assert_eq!(cache.hits(), 2);
        let none = VerifiedTxids::new(0);
        none.insert_all([id(1)]);
        assert!(none.is_empty());
    }
}
