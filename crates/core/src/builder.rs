//! An in-memory chain: builds, mines, checks and connects blocks on top of a [`Network`]'s genesis, with
//! every consensus check applied. It is what tests, benchmarks and tools use to make real chains without a
//! node, and the reference behaviour the state crate's stores must match.
//!
//! Everything stays pure: the caller passes the time (`now_ms`, block timestamps) and the RNG for batch
//! signature verification.

use std::collections::HashMap;

use crate::block::{BLOCK_VERSION, Block, Header, HeaderHasher};
use crate::check::{BlockError, HeaderContext, check_block, connect_block};
use crate::crypto::{PubkeyHash, SigningKey};
use crate::merkle::merkle_root;
use crate::pow::{BitsError, CompactTarget};
use crate::spec::{Network, median_time_past};
use crate::tx::{OutPoint, Transaction, TxOut};
use crate::units::{Amount, Height};
use crate::utxo::{BlockChanges, MemoryUtxoSet, UtxoEntry, UtxoView};

/// Searches nonces from 0 until the block's hash meets its own target; returns whether one was found
/// (`false` only if the target is malformed or, impossibly, all 2^64 nonces fail).
pub fn mine(header: &mut Header) -> bool {
    let Ok(target) = header.bits.to_target() else {
        return false;
    };
    match HeaderHasher::new(header).find_nonce(&target, 0..u64::MAX) {
        Some((nonce, _)) => {
            header.nonce = nonce;
            true
        }
        None => false,
    }
}

/// A chain held in memory, connected block by block through the consensus checks.
#[derive(Clone, Debug)]
pub struct ChainBuilder {
    network: Network,
    blocks: Vec<Block>,
    changes: Vec<BlockChanges>,
    utxos: MemoryUtxoSet,
}

impl ChainBuilder {
    /// A chain holding only the genesis block, whose allocations are unspent.
    pub fn new(network: Network) -> ChainBuilder {
        let genesis_changes = network.genesis_changes();
        let mut utxos = MemoryUtxoSet::new();
        utxos.apply(&genesis_changes);
        ChainBuilder {
            blocks: vec![network.genesis().clone()],
            changes: vec![genesis_changes],
            utxos,
            network,
        }
    }

    /// The network.
    pub fn network(&self) -> &Network {
        &self.network
    }

    /// Every block, genesis first.
    pub fn blocks(&self) -> &[Block] {
        &self.blocks
    }

    /// The changes each block made (index = height).
    pub fn changes(&self) -> &[BlockChanges] {
        &self.changes
    }

    /// The last block.
    pub fn tip(&self) -> &Block {
        // `blocks` always holds at least genesis: `pop` never removes it.
        &self.blocks[self.blocks.len() - 1]
    }

    /// The tip's height.
    pub fn height(&self) -> Height {
        self.tip().header.height
    }

    /// The UTXO set after the tip.
    pub fn utxos(&self) -> &MemoryUtxoSet {
        &self.utxos
    }

    /// The compact target the next block must carry.
    ///
    /// # Errors
    /// [`BitsError`] if the tip's bits are malformed (impossible for connected blocks).
    pub fn next_bits(&self) -> Result<CompactTarget, BitsError> {
        let height = Height(self.height().0 + 1);
        let spec = self.network.spec();
        let window = spec.retarget_window_start(height).map(|start| {
            (
                self.blocks[start.0 as usize].header.time_ms,
                self.tip().header.time_ms,
            )
        });
        spec.expected_bits(height, self.tip().header.bits, window)
    }

    /// The context the next block is checked in, with this node's clock at `now_ms`.
    ///
    /// # Errors
    /// As [`ChainBuilder::next_bits`].
    pub fn next_context(&self, now_ms: u64) -> Result<HeaderContext, BitsError> {
        let times: Vec<u64> = self
            .blocks
            .iter()
            .rev()
            .take(11)
            .map(|b| b.header.time_ms)
            .collect();
        Ok(HeaderContext {
            parent_hash: self.tip().hash(),
            height: Height(self.height().0 + 1),
            expected_bits: self.next_bits()?,
            median_time_past: median_time_past(&times),
            now_ms,
        })
    }

    /// A block template on the tip: a coinbase paying subsidy plus the transactions' fees to `reward_to`,
    /// then `transactions`, with the Merkle root and expected bits set — not yet mined (nonce 0).
    /// Fees of transactions whose inputs are unknown count as zero (the block will then fail to connect).
    pub fn template(
        &self,
        transactions: Vec<Transaction>,
        reward_to: PubkeyHash,
        time_ms: u64,
    ) -> Block {
        let height = Height(self.height().0 + 1);
        let mut fees = 0u64;
        let mut created: HashMap<OutPoint, TxOut> = HashMap::new();
        for tx in &transactions {
            let inputs: u64 = tx
                .inputs()
                .iter()
                .filter_map(|i| {
                    created
                        .get(&i.prev_out)
                        .copied()
                        .or_else(|| self.utxos.utxo(&i.prev_out).map(|e| e.output))
                })
                .map(|o| o.amount.to_units())
                .sum();
            let outputs = tx.output_total().map(Amount::to_units).unwrap_or(u64::MAX);
            fees = fees.saturating_add(inputs.saturating_sub(outputs));
            let txid = tx.txid();
            for (vout, out) in tx.outputs.iter().enumerate() {
                created.insert(
                    OutPoint {
                        txid,
                        vout: vout as u32,
                    },
                    *out,
                );
            }
        }
        let reward = self
            .network
            .spec()
            .subsidy_at(height)
            .checked_add(Amount::from_units(fees).unwrap_or(Amount::MAX))
            .unwrap_or(Amount::MAX);
        let coinbase_outputs = if reward == Amount::ZERO {
            Vec::new()
        } else {
            vec![TxOut {
                amount: reward,
                address: reward_to,
            }]
        };
        let mut all = vec![Transaction::coinbase(height, coinbase_outputs, Vec::new())];
        all.extend(transactions);
        let txids: Vec<_> = all.iter().map(Transaction::txid).collect();
        let header = Header {
            version: BLOCK_VERSION,
            height,
            prev_hash: self.tip().hash(),
            merkle_root: merkle_root(&txids),
            time_ms,
            bits: self.next_bits().unwrap_or(self.tip().header.bits),
            nonce: 0,
        };
        Block {
            header,
            transactions: all,
        }
    }

    /// Checks `block` (stateless and contextual, with this node's clock at `now_ms`) and connects it.
    ///
    /// # Errors
    /// The [`BlockError`] that rejected it; the chain is then unchanged.
    pub fn push<R: rand_core::CryptoRng>(
        &mut self,
        block: Block,
        now_ms: u64,
        rng: &mut R,
    ) -> Result<&BlockChanges, BlockError> {
        let ctx = self.next_context(now_ms).map_err(BlockError::BadBits)?;
        let checked = check_block(block, &self.network, rng)?;
        let changes = connect_block(&checked, &ctx, &self.network, &self.utxos)?;
        self.utxos.apply(&changes);
        self.blocks.push(checked.into_block());
        self.changes.push(changes);
        Ok(&self.changes[self.changes.len() - 1])
    }

    /// Builds, mines and connects a block of `transactions` at `time_ms` (also used as the clock).
    ///
    /// # Errors
    /// As [`ChainBuilder::push`].
    pub fn mine_block<R: rand_core::CryptoRng>(
        &mut self,
        transactions: Vec<Transaction>,
        reward_to: PubkeyHash,
        time_ms: u64,
        rng: &mut R,
    ) -> Result<&BlockChanges, BlockError> {
        let mut block = self.template(transactions, reward_to, time_ms);
        mine(&mut block.header);
        self.push(block, time_ms, rng)
    }

    /// Disconnects the tip (never genesis), undoing its changes; returns the block.
    pub fn pop(&mut self) -> Option<Block> {
        if self.blocks.len() <= 1 {
            return None;
        }
        let changes = self.changes.pop()?;
        self.utxos.undo(&changes);
        self.blocks.pop()
    }

    /// Builds and signs a transfer of `amount` plus `fee` from `from`'s spendable outputs (matured, oldest
    /// outpoint first, skipping those in `exclude`) to `to`, with change back to `from`. Adds the outpoints
    /// it spends to `exclude`, so several transfers for one block never conflict. `None` if funds are short.
    pub fn transfer(
        &self,
        from: &SigningKey,
        to: PubkeyHash,
        amount: Amount,
        fee: Amount,
        payload: Vec<u8>,
        exclude: &mut Vec<OutPoint>,
    ) -> Option<Transaction> {
        let owner = from.public_key().pubkey_hash();
        let next = self.height().0 + 1;
        let maturity = self.network.spec().coinbase_maturity;
        let need = amount.checked_add(fee).ok()?;
        let mut picked = Vec::new();
        let mut total = Amount::ZERO;
        for (op, entry) in self.spendable(&owner) {
            if total >= need {
                break;
            }
            if exclude.contains(&op) || (entry.is_coinbase && entry.height.0 + maturity > next) {
                continue;
            }
            picked.push(op);
            total = total.checked_add(entry.output.amount).ok()?;
        }
        if total < need {
            return None;
        }
        exclude.extend(&picked);
        let mut outputs = vec![TxOut {
            amount,
            address: to,
        }];
        let change = total.checked_sub(need).ok()?;
        if change > Amount::ZERO {
            outputs.push(TxOut {
                amount: change,
                address: owner,
            });
        }
        let spends: Vec<_> = picked.iter().map(|op| (*op, from)).collect();
        Some(Transaction::signed_transfer(
            &spends,
            outputs,
            payload,
            &self.network.genesis_hash(),
        ))
    }

    /// The unspent outputs of `owner`, ordered by outpoint.
    pub fn spendable(&self, owner: &PubkeyHash) -> Vec<(OutPoint, UtxoEntry)> {
        let mut out: Vec<_> = self
            .utxos
            .iter()
            .filter(|(_, e)| e.output.address == *owner)
            .map(|(o, e)| (*o, *e))
            .collect();
        out.sort_by_key(|(o, _)| *o);
        out
    }
}
