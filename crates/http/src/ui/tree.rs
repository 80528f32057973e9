//! The block tree of the network page: every block this node has a header for near the tip — the active chain,
//! side branches that lost (stale, "orphaned" blocks) and blocks found invalid — laid out in lanes.
//!
//! The chain state keeps its block index in memory and offers lookups by hash only, so the list of all known
//! headers is read from the node's database through a second, read-only use of the store (SQLite allows
//! readers beside the node's writer; PostgreSQL is a server). Blocks held in memory while their parent is
//! unknown are not in the index and are not drawn.

use std::collections::HashMap;

use ferrochain_core::BlockHash;
use ferrochain_state::Store;
use ferrochain_state::postgres::PostgresStore;
use ferrochain_state::sqlite::SqliteStore;
use ferrochain_state::store::HeaderRecord;
use serde::Serialize;

use ferrochain_node::Node;

/// Heights below the tip the tree shows.
pub const TREE_WINDOW: u64 = 24;
/// Most side-branch lanes drawn (more branches are counted, not drawn).
pub const MAX_LANES: usize = 12;

/// Every header the node's store knows (blocking: reads the database).
///
/// # Errors
/// The store's error, as text.
pub fn read_index(node: &Node) -> Result<Vec<HeaderRecord>, String> {
    let mut store: Box<dyn Store> = match &node.config().database {
        Some(url) => Box::new(PostgresStore::connect(url).map_err(|e| e.to_string())?),
        None => Box::new(
            SqliteStore::open_path(&node.config().data_dir.join("chain.sqlite"))
                .map_err(|e| e.to_string())?,
        ),
    };
    store.headers().map_err(|e| e.to_string())
}

/// A block placed in the drawing.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Placed {
    /// Its hash.
    pub hash: String,
    /// Its parent's hash.
    pub parent: String,
    /// Its height.
    pub height: u64,
    /// Its lane: 0 for the active chain, 1.. for side branches.
    pub lane: usize,
    /// Whether it is in the active chain.
    pub active: bool,
    /// Whether it was found invalid.
    pub invalid: bool,
    /// Whether its body is stored (a header alone means it was never downloaded).
    pub has_body: bool,
}

/// The tree near the tip.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Tree {
    /// The blocks, lowest first.
    pub blocks: Vec<Placed>,
    /// The lowest height drawn.
    pub min_height: u64,
    /// The highest height drawn.
    pub max_height: u64,
    /// Lanes used (1 when there is no fork).
    pub lanes: usize,
    /// Blocks off the active chain in the window.
    pub stale: usize,
    /// Side-branch blocks not drawn because there were more than [`MAX_LANES`] branches.
    pub hidden: usize,
}

/// Places `records` whose height is within `window` of the active tip: active blocks in lane 0, each side
/// branch in a lane of its own (a block continues its parent's lane when it is the parent's first child off
/// the active chain). `is_active` says whether a hash is in the active chain.
pub fn layout(
    records: &[HeaderRecord],
    tip_height: u64,
    window: u64,
    is_active: impl Fn(&BlockHash) -> bool,
) -> Tree {
    let min_height = tip_height.saturating_sub(window);
    let mut near: Vec<&HeaderRecord> = records
        .iter()
        .filter(|r| r.header.height.0 >= min_height)
        .collect();
    near.sort_by_key(|r| (r.header.height.0, r.seq));
    let mut lane_of: HashMap<BlockHash, usize> = HashMap::new();
    let mut lane_taken: HashMap<BlockHash, bool> = HashMap::new();
    let mut next_lane = 1usize;
    let mut tree = Tree {
        min_height,
        ..Tree::default()
    };
    for r in near {
        let active = is_active(&r.hash);
        let lane = if active {
            0
        } else {
            tree.stale += 1;
            let parent_lane = lane_of.get(&r.header.prev_hash).copied();
            let continues = parent_lane.is_some_and(|l| l > 0)
                && !lane_taken
                    .get(&r.header.prev_hash)
                    .copied()
                    .unwrap_or(false);
            match parent_lane {
                Some(l) if continues => l,
                _ => {
                    let l = next_lane;
                    next_lane += 1;
                    l
                }
            }
        };
        if lane > MAX_LANES {
            tree.hidden += 1;
            continue;
        }
        if lane > 0 {
            lane_taken.insert(r.header.prev_hash, true);
        }
        lane_of.insert(r.hash, lane);
        tree.max_height = tree.max_height.max(r.header.height.0);
        tree.lanes = tree.lanes.max(lane + 1);
        tree.blocks.push(Placed {
            hash: r.hash.to_string(),
            parent: r.header.prev_hash.to_string(),
            height: r.header.height.0,
            lane,
            active,
            invalid: r.invalid,
            has_body: r.has_body,
        });
    }
    tree
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferrochain_core::{Header, Height, MerkleNode, Work};

    fn rec(n: u8, parent: BlockHash, height: u64, seq: u64) -> HeaderRecord {
        HeaderRecord {
            hash: BlockHash::from_byte_array([n; 32]),
            header: Header {
                version: 1,
                height: Height(height),
                prev_hash: parent,
                merkle_root: MerkleNode::ZERO,
                time_ms: 0,
                bits: ferrochain_core::CompactTarget::from_consensus(0x1f00ffff),
                nonce: 0,
            },
            chain_work: Work::ZERO,
            seq,
            has_body: true,
            invalid: false,
        }
    }

    #[test]
    fn forks_get_lanes_of_their_own() {
        let g = rec(1, BlockHash::ZERO, 0, 0);
        let a1 = rec(2, g.hash, 1, 1);
        let a2 = rec(3, a1.hash, 2, 2);
        let b1 = rec(4, g.hash, 1, 3); // stale branch of two blocks
        let b2 = rec(5, b1.hash, 2, 4);
        let c2 = rec(6, a1.hash, 2, 5); // another stale block
        let records = vec![g, a1, a2, b1, b2, c2];
        let active = [g.hash, a1.hash, a2.hash];
        let tree = layout(&records, 2, 10, |h| active.contains(h));
        let lane = |h: BlockHash| {
            tree.blocks
                .iter()
                .find(|p| p.hash == h.to_string())
                .map(|p| p.lane)
        };
        assert_eq!(lane(a2.hash), Some(0));
        assert_eq!(lane(b1.hash), lane(b2.hash));
        assert_ne!(lane(b1.hash), Some(0));
        assert_ne!(lane(c2.hash), lane(b2.hash));
        assert_eq!(tree.stale, 3);
        assert_eq!(tree.lanes, 3);
        let near = layout(&records, 2, 0, |h| active.contains(h));
        assert!(near.blocks.iter().all(|p| p.height == 2));
    }
}
