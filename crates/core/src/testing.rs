//! Chain builders shared by the workspace's tests and benchmarks (feature `test-utils`): an easy chain spec,
//! a chain of blocks with payments, sealing a changed block, headers without bodies and side-branch blocks.
//!
//! Pure like the rest of the crate: the caller passes times and the RNG. Writing a spec file is I/O, but
//! only through `std::fs`, for tests. Not for production use.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use crate::block::{Block, Header, HeaderHasher};
use crate::builder::{ChainBuilder, mine};
use crate::crypto::{PubkeyHash, SigningKey};
use crate::hash::{BlockHash, MerkleNode};
use crate::merkle::merkle_root;
use crate::pow::Target;
use crate::spec::{ChainSpec, Network};
use crate::tx::{Transaction, TxOut};
use crate::units::{Amount, Height};

/// The key [`build_chain`] rewards and pays from.
pub fn chain_key() -> SigningKey {
    SigningKey::from_secret_bytes([42; 32])
}

/// Whom [`build_chain`] pays.
pub fn someone() -> PubkeyHash {
    PubkeyHash::from_bytes([9; 20])
}

/// A chain spec like `dev` (same address prefix, zero maturity) named `easy`, whose proof of work needs 4
/// leading zero bits: about 16 hashes a block.
pub fn easy_spec() -> ChainSpec {
    ChainSpec {
        name: "easy".into(),
        genesis_message: "ferrochain test chain: proof of work for free".into(),
        initial_bits: Target::from_leading_zero_bits(4).to_compact(),
        pow_limit: Target::from_leading_zero_bits(4),
        ..ChainSpec::dev()
    }
}

/// Writes `spec` into `dir` as `<name>.toml` and returns the file's path (for `--network`).
pub fn write_spec(dir: &Path, spec: &ChainSpec) -> PathBuf {
    let path = dir.join(format!("{}.toml", spec.name));
    std::fs::write(&path, spec.to_toml().unwrap()).unwrap();
    path
}

/// Builds `blocks` blocks on `network`'s genesis, one second apart and the last at `end_ms - 1000`, each
/// after the first with up to `txs_per_block` payments of 1000 units from [`chain_key`] (which the first
/// block rewards; change goes back to it) to [`someone`]. Returns the blocks after genesis.
pub fn build_chain<R: rand_core::CryptoRng>(
    network: &Network,
    blocks: usize,
    txs_per_block: usize,
    end_ms: u64,
    rng: &mut R,
) -> Vec<Block> {
    let key = chain_key();
    let owner = key.public_key().pubkey_hash();
    let mut chain = ChainBuilder::new(network.clone());
    let start = end_ms - (blocks as u64 + 1) * 1000;
    for i in 0..blocks {
        let mut exclude = Vec::new();
        let txs = if i == 0 {
            Vec::new()
        } else {
            (0..txs_per_block)
                .filter_map(|_| {
                    chain.transfer(
                        &key,
                        someone(),
                        Amount::from_units(1000).unwrap(),
                        Amount::ZERO,
                        Vec::new(),
                        &mut exclude,
                    )
                })
                .collect()
        };
        let time = start + (i as u64 + 1) * 1000;
        chain
            .mine_block(txs, owner, time, rng)
            .expect("a valid block");
    }
    chain.blocks()[1..].to_vec()
}

/// Recomputes a block's Merkle root and mines its header again.
pub fn seal(mut block: Block) -> Block {
    let txids: Vec<_> = block.transactions.iter().map(Transaction::txid).collect();
    block.header.merkle_root = merkle_root(&txids);
    assert!(mine(&mut block.header));
    block
}

/// `n` headers with proof of work after `parent` (whose hash is `hash`), with timestamps `time_ms`,
/// `time_ms + 1`, … and a zero Merkle root (no bodies exist for them).
pub fn headers_after(parent: &Header, hash: BlockHash, n: usize, time_ms: u64) -> Vec<Header> {
    let mut out: Vec<Header> = Vec::with_capacity(n);
    let mut prev = (hash, *parent);
    for i in 0..n {
        let mut h = Header {
            version: 1,
            height: Height(prev.1.height.0 + 1),
            prev_hash: prev.0,
            merkle_root: MerkleNode::ZERO,
            time_ms: time_ms + i as u64,
            bits: parent.bits,
            nonce: 0,
        };
        assert!(mine(&mut h));
        prev = (h.hash(), h);
        out.push(h);
    }
    out
}

/// A block on `parent` (not necessarily the tip: a side branch) with only a coinbase of `network`'s subsidy
/// to `to`, tagged `tag`, one second after its parent.
pub fn side_block(network: &Network, to: PubkeyHash, parent: &Block, tag: &[u8]) -> Block {
    let height = parent.header.height.next().unwrap();
    let coinbase = Transaction::coinbase(
        height,
        vec![TxOut {
            amount: network.spec().subsidy_at(height),
            address: to,
        }],
        tag.to_vec(),
    );
    let mut header = Header {
        version: 1,
        height,
        prev_hash: parent.hash(),
        merkle_root: merkle_root(&[coinbase.txid()]),
        time_ms: parent.header.time_ms + 1000,
        bits: parent.header.bits,
        nonce: 0,
    };
    let target = header.bits.to_target().unwrap();
    header.nonce = HeaderHasher::new(&header)
        .find_nonce(&target, 0..u64::MAX >> 11)
        .unwrap()
        .0;
    Block {
        header,
        transactions: vec![coinbase],
    }
}
