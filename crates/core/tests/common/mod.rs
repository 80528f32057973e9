//! Shared helpers for the integration tests of `ferrochain-core`: an in-memory builder of **really valid**
//! chains on an easy custom network.
//!
//! Every block the builder makes goes through the library's own checks — [`check::check_block`] (proof of
//! work, Merkle root, signatures, ...) and then [`check::connect_block`] with a proper [`HeaderContext`]
//! (parent hash, height, [`ChainSpec::expected_bits`], [`spec::median_time_past`], a clock far ahead) — before
//! its [`BlockChanges`] are applied to the builder's [`MemoryUtxoSet`]. A block the library refuses makes
//! [`TestChain::connect`] return the error, so tests can also feed it hand-made invalid blocks.
//!
//! # API
//!
//! - [`easy_spec`] / [`easy_network`]: `ChainSpec::dev()` made trivial to mine (targets of one leading zero
//!   bit, so about two hashes per block), with genesis allocations to the given keys.
//! - [`mine`]: searches nonces with the midstate [`HeaderHasher`] until [`check::check_header`] passes.
//! - [`TestChain::new`]`(seed, n_keys)`: a chain at genesis on [`easy_network`], holding `n_keys` signing keys
//!   (derived from `seed`), each pre-funded by a genesis allocation of [`ALLOCATION_UNITS`].
//!   [`TestChain::with_spec`] does the same with a customised spec (maturity, retargeting, ...).
//! - Inspection: [`TestChain::network`], [`TestChain::keys`], [`TestChain::height`], [`TestChain::tip_hash`],
//!   [`TestChain::blocks`] (genesis first), [`TestChain::changes`] (one [`BlockChanges`] per block, genesis
//!   first, index = height), [`TestChain::utxos`] (the set at the tip), [`TestChain::after_genesis`] (the set
//!   with only genesis applied), [`TestChain::stats`] (what the random blocks exercised).
//! - Building: [`TestChain::next_context`] (the [`HeaderContext`] of the next block),
//!   [`TestChain::next_time`], [`TestChain::block_with`] (a mined block with the given non-coinbase
//!   transactions and a coinbase paying a given amount), [`TestChain::random_block`] (random valid transfers
//!   and records — spending genesis, coinbase, change and same-block outputs — and the fees they pay).
//! - Connecting: [`TestChain::connect`] (check + connect + apply; returns the changes),
//!   [`TestChain::extend_random`] (random blocks in a row).
//!
//! Everything is deterministic for a given seed.

#![allow(dead_code)] // Each test binary uses a different part of this module.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;

use ferrochain_core::check::{self, HeaderContext};
use ferrochain_core::spec::{self, Allocation};
use ferrochain_core::utxo::MemoryUtxoSet;
use ferrochain_core::{
    Amount, Block, BlockChanges, BlockError, BlockHash, ChainSpec, Header, HeaderHasher, Height,
    Network, OutPoint, PubkeyHash, SigningKey, Target, Transaction, TxOut, UtxoEntry, UtxoView,
};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha20Rng;

/// What each genesis allocation of [`TestChain::new`] holds, in smallest units.
pub const ALLOCATION_UNITS: u64 = 1_000_000_000;

/// A clock far ahead of every block the builder makes, so no block is "too far in the future".
pub const NOW_MS: u64 = u64::MAX / 2;

/// `ChainSpec::dev()` with targets of one leading zero bit (`initial_bits` and `pow_limit`) and a genesis
/// allocation of `units` to each key.
pub fn easy_spec(keys: &[SigningKey], units: u64) -> ChainSpec {
    let mut spec = ChainSpec::dev();
    spec.name = "test-easy".into();
    spec.initial_bits = Target::from_leading_zero_bits(1).to_compact();
    spec.pow_limit = Target::from_leading_zero_bits(1);
    spec.genesis_allocations = keys
        .iter()
        .map(|k| Allocation {
            address: k.public_key().pubkey_hash(),
            amount: Amount::from_units(units).unwrap(),
        })
        .collect();
    spec
}

/// The checked network of [`easy_spec`].
pub fn easy_network(keys: &[SigningKey], units: u64) -> Network {
    Network::new(easy_spec(keys, units)).unwrap()
}

/// Mines `header`: tries nonces from 0 with [`HeaderHasher`] until the hash meets the header's target, and
/// returns the header with that nonce after confirming that [`check::check_header`] accepts it.
///
/// # Panics
/// If the header's bits are not a valid target or the version is unsupported.
pub fn mine(mut header: Header) -> Header {
    let target = header.bits.to_target().unwrap();
    let hasher = HeaderHasher::new(&header);
    let nonce = (0..u64::MAX)
        .find(|&n| target.is_met_by(&hasher.hash_with_nonce(n)))
        .unwrap();
    header.nonce = nonce;
    let hash = check::check_header(&header).unwrap();
    assert_eq!(
        hash,
        hasher.hash_with_nonce(nonce),
        "midstate and header hash agree"
    );
    header
}

/// Counters of what [`TestChain::random_block`] produced, so tests can check the chains exercise what they
/// should.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Transfers made.
    pub transfers: usize,
    /// Records made.
    pub records: usize,
    /// Inputs spending an output created earlier in the same block.
    pub same_block_spends: usize,
    /// Inputs spending a coinbase output.
    pub coinbase_spends: usize,
    /// Inputs spending a change output (paid back to the key that signed the transfer creating it).
    pub change_spends: usize,
    /// Transfers with more than one input.
    pub multi_input_transfers: usize,
    /// Transfers with more than one output.
    pub multi_output_transfers: usize,
}

/// A spendable coin the builder knows about.
#[derive(Clone, Copy, Debug)]
struct Coin {
    outpoint: OutPoint,
    entry: UtxoEntry,
    /// Index into `keys` of the owner.
    owner: usize,
    same_block: bool,
    change: bool,
}

/// A valid chain built in memory. See the module docs.
pub struct TestChain {
    network: Network,
    keys: Vec<SigningKey>,
    owners: HashMap<PubkeyHash, usize>,
    blocks: Vec<Block>,
    changes: Vec<BlockChanges>,
    utxos: MemoryUtxoSet,
    after_genesis: MemoryUtxoSet,
    /// Outpoints that are change outputs (paid back to a transfer's signer).
    change_outputs: std::collections::HashSet<OutPoint>,
    rng: ChaCha20Rng,
    stats: Stats,
}

impl TestChain {
    /// A chain at genesis on [`easy_network`] with `n_keys` pre-funded keys derived from `seed`.
    pub fn new(seed: u64, n_keys: usize) -> TestChain {
        TestChain::with_spec(seed, n_keys, |_| {})
    }

    /// Like [`TestChain::new`], letting `customize` change the [`easy_spec`] first (the result must still
    /// be a valid spec).
    pub fn with_spec(
        seed: u64,
        n_keys: usize,
        customize: impl FnOnce(&mut ChainSpec),
    ) -> TestChain {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let keys: Vec<SigningKey> = (0..n_keys)
            .map(|_| SigningKey::from_secret_bytes(rng.random()))
            .collect();
        let mut spec = easy_spec(&keys, ALLOCATION_UNITS);
        customize(&mut spec);
        let network = Network::new(spec).unwrap();
        let owners = keys
            .iter()
            .enumerate()
            .map(|(i, k)| (k.public_key().pubkey_hash(), i))
            .collect();
        let genesis_changes = network.genesis_changes();
        let mut utxos = MemoryUtxoSet::new();
        utxos.apply(&genesis_changes);
        TestChain {
            blocks: vec![network.genesis().clone()],
            changes: vec![genesis_changes],
            after_genesis: utxos.clone(),
            utxos,
            network,
            keys,
            owners,
            change_outputs: Default::default(),
            rng,
            stats: Stats::default(),
        }
    }

    /// The network.
    pub fn network(&self) -> &Network {
        &self.network
    }

    /// The keys the builder holds (all pre-funded at genesis).
    pub fn keys(&self) -> &[SigningKey] {
        &self.keys
    }

    /// The tip's height.
    pub fn height(&self) -> Height {
        self.tip().header.height
    }

    /// The tip block.
    pub fn tip(&self) -> &Block {
        self.blocks.last().unwrap()
    }

    /// The tip's hash.
    pub fn tip_hash(&self) -> BlockHash {
        self.tip().hash()
    }

    /// Every block, genesis first (index = height).
    pub fn blocks(&self) -> &[Block] {
        &self.blocks
    }

    /// The changes of every block, genesis first (index = height).
    pub fn changes(&self) -> &[BlockChanges] {
        &self.changes
    }

    /// The UTXO set at the tip.
    pub fn utxos(&self) -> &MemoryUtxoSet {
        &self.utxos
    }

    /// The UTXO set with only the genesis block applied.
    pub fn after_genesis(&self) -> &MemoryUtxoSet {
        &self.after_genesis
    }

    /// What the random blocks exercised so far.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// A time for the next block: 1 to 20 seconds after the tip.
    pub fn next_time(&mut self) -> u64 {
        self.tip().header.time_ms + self.rng.random_range(1_000..=20_000)
    }

    /// The header context the next block must satisfy.
    pub fn next_context(&self) -> HeaderContext {
        let tip = self.tip().header;
        let height = Height(tip.height.0 + 1);
        let spec = self.network.spec();
        let window = spec
            .retarget_window_start(height)
            .map(|start| (self.blocks[start.0 as usize].header.time_ms, tip.time_ms));
        let times: Vec<u64> = self.blocks.iter().map(|b| b.header.time_ms).collect();
        HeaderContext {
            parent_hash: tip.hash(),
            height,
            expected_bits: spec.expected_bits(height, tip.bits, window).unwrap(),
            median_time_past: spec::median_time_past(&times),
            now_ms: NOW_MS,
        }
    }

    /// A mined block on the tip holding a coinbase that pays `coinbase_units` (no output if 0) to key 0,
    /// followed by `txs`.
    pub fn block_with(&mut self, txs: Vec<Transaction>, coinbase_units: u64) -> Block {
        let to = self.keys[0].public_key().pubkey_hash();
        self.block_paying(txs, coinbase_units, to, b"test miner".to_vec())
    }

    fn block_paying(
        &mut self,
        txs: Vec<Transaction>,
        coinbase_units: u64,
        to: PubkeyHash,
        payload: Vec<u8>,
    ) -> Block {
        let ctx = self.next_context();
        let outputs = if coinbase_units == 0 {
            Vec::new()
        } else {
            vec![TxOut {
                amount: Amount::from_units(coinbase_units).unwrap(),
                address: to,
            }]
        };
        let mut transactions = vec![Transaction::coinbase(ctx.height, outputs, payload)];
        transactions.extend(txs);
        let mut block = Block {
            header: Header {
                version: ferrochain_core::block::BLOCK_VERSION,
                height: ctx.height,
                prev_hash: ctx.parent_hash,
                merkle_root: ferrochain_core::MerkleNode::ZERO,
                time_ms: self.next_time(),
                bits: ctx.expected_bits,
                nonce: 0,
            },
            transactions,
        };
        block.header.merkle_root = block.compute_merkle_root();
        block.header = mine(block.header);
        block
    }

    /// The coins the keys can spend in a block at `height`, in a deterministic order.
    fn spendable(&self, height: Height) -> Vec<Coin> {
        let maturity = self.network.spec().coinbase_maturity;
        let mut coins: Vec<Coin> = self
            .utxos
            .iter()
            .filter(|(_, e)| !e.is_coinbase || e.height.0 + maturity <= height.0)
            .filter_map(|(op, e)| {
                self.owners.get(&e.output.address).map(|&owner| Coin {
                    outpoint: *op,
                    entry: *e,
                    owner,
                    same_block: false,
                    change: self.change_outputs.contains(op),
                })
            })
            .collect();
        coins.sort_by_key(|c| c.outpoint);
        coins
    }

    /// A random valid block on the tip with up to `max_txs` non-coinbase transactions (transfers between the
    /// keys, with change and fees, some spending outputs created earlier in the block; and records), and a
    /// coinbase claiming the subsidy plus the fees (or sometimes less). Returns the block and its total fees.
    pub fn random_block(&mut self, max_txs: usize) -> (Block, Amount) {
        let height = self.next_context().height;
        let genesis = self.network.genesis_hash();
        let mut pool = self.spendable(height);
        let n_txs = self.rng.random_range(0..=max_txs);
        let mut txs = Vec::with_capacity(n_txs);
        let mut fees = 0u64;
        for _ in 0..n_txs {
            if pool.is_empty() || self.rng.random_bool(0.15) {
                let author = self.rng.random_range(0..self.keys.len());
                let len = self.rng.random_range(1..=40);
                let payload: Vec<u8> = (0..len).map(|_| self.rng.random()).collect();
                let ts = self.rng.random();
                txs.push(Transaction::signed_record(
                    &self.keys[author],
                    payload,
                    ts,
                    &genesis,
                ));
                self.stats.records += 1;
                continue;
            }
            // Inputs: prefer the newest coin (often created in this block) half of the time.
            let n_in = self.rng.random_range(1..=pool.len().min(3));
            let mut inputs = Vec::with_capacity(n_in);
            for i in 0..n_in {
                let at = if i == 0 && self.rng.random_bool(0.5) {
                    pool.len() - 1
                } else {
                    self.rng.random_range(0..pool.len())
                };
                inputs.push(pool.swap_remove(at));
            }
            let total: u64 = inputs
                .iter()
                .map(|c| c.entry.output.amount.to_units())
                .sum();
            let fee = if self.rng.random_bool(0.3) {
                0
            } else {
                self.rng.random_range(0..=total / 20)
            };
            let to_pay = total - fee;
            let n_out = self.rng.random_range(1..=3u64).min(to_pay) as usize;
            // Split `to_pay` into `n_out` positive parts; the first is change to the first input's owner.
            let mut cuts: Vec<u64> = (1..n_out)
                .map(|_| self.rng.random_range(1..to_pay))
                .collect();
            cuts.sort_unstable();
            cuts.dedup();
            let mut bounds = vec![0];
            bounds.extend(cuts);
            bounds.push(to_pay);
            let change_owner = inputs[0].owner;
            let mut outputs = Vec::new();
            let mut owners = Vec::new();
            for (j, w) in bounds.windows(2).enumerate() {
                let owner = if j == 0 {
                    change_owner
                } else {
                    self.rng.random_range(0..self.keys.len())
                };
                owners.push(owner);
                outputs.push(TxOut {
                    amount: Amount::from_units(w[1] - w[0]).unwrap(),
                    address: self.keys[owner].public_key().pubkey_hash(),
                });
            }
            let len = self.rng.random_range(0..=16);
            let payload: Vec<u8> = (0..len).map(|_| self.rng.random()).collect();
            let spends: Vec<(OutPoint, &SigningKey)> = inputs
                .iter()
                .map(|c| (c.outpoint, &self.keys[c.owner]))
                .collect();
            let tx = Transaction::signed_transfer(&spends, outputs, payload, &genesis);
            let txid = tx.txid();
            self.stats.transfers += 1;
            self.stats.same_block_spends += inputs.iter().filter(|c| c.same_block).count();
            self.stats.coinbase_spends += inputs.iter().filter(|c| c.entry.is_coinbase).count();
            self.stats.change_spends += inputs.iter().filter(|c| c.change).count();
            self.stats.multi_input_transfers += usize::from(inputs.len() > 1);
            self.stats.multi_output_transfers += usize::from(tx.outputs.len() > 1);
            for (vout, (output, owner)) in tx.outputs.iter().zip(owners).enumerate() {
                let outpoint = OutPoint {
                    txid,
                    vout: vout as u32,
                };
                let change = vout == 0;
                if change {
                    self.change_outputs.insert(outpoint);
                }
                pool.push(Coin {
                    outpoint,
                    entry: UtxoEntry {
                        output: *output,
                        height,
                        is_coinbase: false,
                    },
                    owner,
                    same_block: true,
                    change,
                });
            }
            fees += fee;
            txs.push(tx);
        }
        let allowed = self.network.spec().subsidy_at(height).to_units() + fees;
        let claim = if self.rng.random_bool(0.8) {
            allowed
        } else {
            self.rng.random_range(0..=allowed)
        };
        let to = self.rng.random_range(0..self.keys.len());
        let to = self.keys[to].public_key().pubkey_hash();
        let payload = format!("block {}", height.0).into_bytes();
        let block = self.block_paying(txs, claim, to, payload);
        (block, Amount::from_units(fees).unwrap())
    }

    /// Checks `block` statelessly and against the tip, applies its changes to the UTXO set and makes it the
    /// tip. Returns the changes, or the library's error (the chain is then unchanged).
    pub fn connect(&mut self, block: Block) -> Result<BlockChanges, BlockError> {
        let ctx = self.next_context();
        let checked = check::check_block(block, &self.network, &mut self.rng)?;
        let changes = check::connect_block(&checked, &ctx, &self.network, &self.utxos)?;
        self.utxos.apply(&changes);
        self.blocks.push(checked.into_block());
        self.changes.push(changes.clone());
        Ok(changes)
    }

    /// Builds and connects `n` random blocks of up to `max_txs` transactions each.
    ///
    /// # Panics
    /// If the library refuses one of them (it should not: they are valid).
    pub fn extend_random(&mut self, n: usize, max_txs: usize) {
        for _ in 0..n {
            let (block, _) = self.random_block(max_txs);
            self.connect(block).unwrap();
        }
    }

    /// Whether the tip's UTXO view knows `outpoint` (a convenience for tests).
    pub fn has_utxo(&self, outpoint: &OutPoint) -> bool {
        self.utxos.utxo(outpoint).is_some()
    }
}
