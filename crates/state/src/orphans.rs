//! Blocks whose parent is unknown, held until the parent arrives: the orphan pool, bounded by count and by
//! bytes, and the per-sender count of bad data that decides whose orphans are dropped first (ADR 0023).
//!
//! An orphan has passed every stateless check ([`ferrochain_core::check::check_block`]: a target the network
//! allows at its height, its proof of work, its signatures), but nothing proves it will ever connect. So the
//! pool is small, and when it is full the block to drop is chosen by its sender's record: the orphans of the
//! sender with the most bad blocks go first, oldest first; among senders with a clean record, the oldest
//! orphan goes. A newcomer competes like the others — a full pool drops it at once if its sender is the worst.

use std::collections::HashMap;

use ferrochain_core::BlockHash;
use ferrochain_core::check::CheckedBlock;

/// Most senders whose bad-data counts are remembered; beyond it the one with the fewest bad blocks is
/// forgotten.
pub const MAX_SOURCES: usize = 4096;

/// Who sent a block: a peer's origin (`http://host:port`) or, for a sender that did not name itself, its
/// client address. Opaque to the state: it only counts the bad blocks of each source
/// ([`crate::State::submit_block_from`]).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Source(String);

impl Source {
    /// A source named by `id`.
    pub fn new(id: impl Into<String>) -> Source {
        Source(id.into())
    }

    /// The source's name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// One held block.
#[derive(Debug)]
struct Held {
    block: CheckedBlock,
    source: Option<Source>,
    /// Encoded size, counted against the byte bound.
    bytes: usize,
    /// Arrival order (lower is older).
    seq: u64,
}

/// The orphan pool and the bad-data counts of senders.
#[derive(Debug, Default)]
pub(crate) struct OrphanPool {
    blocks: HashMap<BlockHash, Held>,
    /// Held blocks by the parent they wait for.
    children: HashMap<BlockHash, Vec<BlockHash>>,
    bytes: usize,
    next_seq: u64,
    bad: HashMap<Source, u32>,
}

impl OrphanPool {
    /// How many blocks are held.
    pub(crate) fn len(&self) -> usize {
        self.blocks.len()
    }

    /// Their encoded size in bytes.
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    /// Whether `hash` is held.
    pub(crate) fn contains(&self, hash: &BlockHash) -> bool {
        self.blocks.contains_key(hash)
    }

    /// Forgets every held block and every sender's record.
    pub(crate) fn clear(&mut self) {
        *self = OrphanPool::default();
    }

    /// How many bad blocks `source` has sent (as far as this pool remembers).
    pub(crate) fn bad_count(&self, source: Option<&Source>) -> u32 {
        source.and_then(|s| self.bad.get(s)).copied().unwrap_or(0)
    }

    /// Counts one bad block against `source`.
    pub(crate) fn note_bad(&mut self, source: Option<&Source>) {
        let Some(source) = source else { return };
        if !self.bad.contains_key(source)
            && self.bad.len() >= MAX_SOURCES
            && let Some(least) = self
                .bad
                .iter()
                .min_by_key(|(s, n)| (**n, (*s).clone()))
                .map(|(s, _)| s.clone())
        {
            self.bad.remove(&least);
        }
        let n = self.bad.entry(source.clone()).or_insert(0);
        *n = n.saturating_add(1);
    }

    /// Holds `block`, then drops blocks (the worst sender's oldest first) until at most `max_count` blocks and
    /// `max_bytes` bytes are held. Returns whether `block` is still held.
    pub(crate) fn insert(
        &mut self,
        block: CheckedBlock,
        source: Option<Source>,
        max_count: usize,
        max_bytes: usize,
    ) -> bool {
        let hash = block.hash();
        if self.blocks.contains_key(&hash) {
            return true;
        }
        let bytes = block.block().encoded_len();
        let parent = block.header().prev_hash;
        let seq = self.next_seq;
        self.next_seq += 1;
        self.blocks.insert(
            hash,
            Held {
                block,
                source,
                bytes,
                seq,
            },
        );
        self.children.entry(parent).or_default().push(hash);
        self.bytes += bytes;
        while self.blocks.len() > max_count || self.bytes > max_bytes {
            let Some(victim) = self.victim() else { break };
            self.remove(&victim);
        }
        self.blocks.contains_key(&hash)
    }

    /// The block to drop first: of the sender with the most bad blocks, the oldest.
    fn victim(&self) -> Option<BlockHash> {
        self.blocks
            .iter()
            .max_by_key(|(_, h)| (self.bad_count(h.source.as_ref()), std::cmp::Reverse(h.seq)))
            .map(|(hash, _)| *hash)
    }

    fn remove(&mut self, hash: &BlockHash) -> Option<Held> {
        let held = self.blocks.remove(hash)?;
        self.bytes -= held.bytes;
        let parent = held.block.header().prev_hash;
        if let Some(siblings) = self.children.get_mut(&parent) {
            siblings.retain(|h| h != hash);
            if siblings.is_empty() {
                self.children.remove(&parent);
            }
        }
        Some(held)
    }

    /// Takes the blocks waiting for `parent` out of the pool, oldest first, with their senders.
    pub(crate) fn take_children(
        &mut self,
        parent: &BlockHash,
    ) -> Vec<(CheckedBlock, Option<Source>)> {
        let hashes = self.children.remove(parent).unwrap_or_default();
        let mut out: Vec<Held> = hashes.iter().filter_map(|h| self.remove(h)).collect();
        out.sort_by_key(|h| h.seq);
        out.into_iter().map(|h| (h.block, h.source)).collect()
    }
}
