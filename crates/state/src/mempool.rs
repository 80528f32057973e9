//! The mempool: valid transactions waiting for a block (DESIGN §4).
//!
//! - A transaction is checked against the UTXO set **plus the outputs of unconfirmed transactions** already in
//!   the pool, so a wallet may spend its unconfirmed change.
//! - An output may be spent by one pool transaction only: a second spender is a conflict and is refused.
//! - Order: fee rate (fee per encoded byte) first, then arrival — so on a zero-fee chain blocks take
//!   transactions first-in first-out. A child is never placed before its unconfirmed parent.
//! - Bounded by total encoded bytes: when full, the lowest-fee-rate transaction (with its descendants) is
//!   evicted, or the newcomer refused if it would be the lowest.

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};

use ferrochain_core::check::{TxError, check_transaction, check_transaction_inputs};
use ferrochain_core::tx::{OutPoint, Transaction};
use ferrochain_core::utxo::{UtxoEntry, UtxoView};
use ferrochain_core::{Amount, Height, Network, Txid};

/// Why the mempool refused a transaction.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MempoolError {
    /// The transaction is invalid.
    #[error("invalid transaction: {0}")]
    Invalid(#[from] TxError),
    /// It is already in the pool.
    #[error("transaction {0} is already waiting in the mempool")]
    AlreadyInPool(Txid),
    /// It is already confirmed.
    #[error("transaction {0} is already in the chain")]
    AlreadyInChain(Txid),
    /// It spends an output another pool transaction spends.
    #[error("input {outpoint:?} is already spent by pending transaction {by}")]
    Conflict {
        /// The contested output.
        outpoint: OutPoint,
        /// The pool transaction spending it.
        by: Txid,
    },
    /// The pool is full of transactions paying at least as much.
    #[error("the mempool is full and this transaction's fee rate is too low to replace any other")]
    Full,
}

/// A transaction in the pool.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MempoolEntry {
    /// The transaction.
    pub tx: Transaction,
    /// Its id.
    pub txid: Txid,
    /// Inputs minus outputs.
    pub fee: Amount,
    /// Encoded size in bytes.
    pub size: usize,
    /// Arrival order.
    pub seq: u64,
}

impl MempoolEntry {
    /// Compares by priority: higher fee rate first, then earlier arrival.
    fn priority_cmp(&self, other: &MempoolEntry) -> Ordering {
        // fee_a / size_a > fee_b / size_b  <=>  fee_a * size_b > fee_b * size_a (no floats).
        let a = u128::from(self.fee.to_units()) * other.size as u128;
        let b = u128::from(other.fee.to_units()) * self.size as u128;
        b.cmp(&a).then(self.seq.cmp(&other.seq))
    }
}

/// The pool of unconfirmed transactions.
#[derive(Clone, Debug)]
pub struct Mempool {
    entries: HashMap<Txid, MempoolEntry>,
    spent_by: HashMap<OutPoint, Txid>,
    bytes: usize,
    max_bytes: usize,
    next_seq: u64,
}

/// A view of the UTXO set with the pool's transactions applied: confirmed outputs not spent by the pool,
/// plus the pool's own outputs.
struct PoolView<'a, V> {
    chain: &'a V,
    pool: &'a Mempool,
}

impl<V: UtxoView> UtxoView for PoolView<'_, V> {
    fn utxo(&self, outpoint: &OutPoint) -> Option<UtxoEntry> {
        if let Some(parent) = self.pool.entries.get(&outpoint.txid) {
            let output = parent.tx.outputs.get(outpoint.vout as usize)?;
            // Unconfirmed outputs are treated as created at the next height; they are never coinbase.
            return Some(UtxoEntry {
                output: *output,
                height: Height(u64::MAX),
                is_coinbase: false,
            });
        }
        self.chain.utxo(outpoint)
    }
    fn contains_txid(&self, txid: &Txid) -> bool {
        self.chain.contains_txid(txid)
    }
}

impl Mempool {
    /// An empty pool holding at most `max_bytes` of encoded transactions.
    pub fn new(max_bytes: usize) -> Mempool {
        Mempool {
            entries: HashMap::new(),
            spent_by: HashMap::new(),
            bytes: 0,
            max_bytes,
            next_seq: 0,
        }
    }

    /// Number of transactions.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the pool is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Total encoded bytes.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// One transaction.
    pub fn get(&self, txid: &Txid) -> Option<&MempoolEntry> {
        self.entries.get(txid)
    }

    /// Whether a transaction is in the pool.
    pub fn contains(&self, txid: &Txid) -> bool {
        self.entries.contains_key(txid)
    }

    /// The pool transaction spending `outpoint`, if any.
    pub fn spender(&self, outpoint: &OutPoint) -> Option<Txid> {
        self.spent_by.get(outpoint).copied()
    }

    /// The next arrival number (for restoring a persisted pool in order).
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Validates `tx` against `chain` (the UTXO set at `tip_height`) plus the pool, and returns the entry it
    /// would become, without adding it.
    ///
    /// # Errors
    /// [`MempoolError`].
    pub fn check(
        &self,
        tx: &Transaction,
        chain: &impl UtxoView,
        tip_height: Height,
        network: &Network,
    ) -> Result<MempoolEntry, MempoolError> {
        let txid = tx.txid();
        if self.entries.contains_key(&txid) {
            return Err(MempoolError::AlreadyInPool(txid));
        }
        if chain.contains_txid(&txid) {
            return Err(MempoolError::AlreadyInChain(txid));
        }
        check_transaction(tx, network)?;
        for input in tx.inputs() {
            if let Some(by) = self.spent_by.get(&input.prev_out) {
                return Err(MempoolError::Conflict {
                    outpoint: input.prev_out,
                    by: *by,
                });
            }
        }
        let view = PoolView { chain, pool: self };
        let next = Height(tip_height.0.saturating_add(1));
        let fee = check_transaction_inputs(tx, &txid, &view, next, network)?;
        let seq = self.next_seq;
        Ok(MempoolEntry {
            tx: tx.clone(),
            txid,
            fee,
            size: tx.encoded_len(),
            seq,
        })
    }

    /// Adds a checked entry, evicting lower-priority transactions if the pool is full. Returns the txids
    /// evicted.
    ///
    /// # Errors
    /// [`MempoolError::Full`] if the entry itself would be the one to evict.
    pub fn insert(&mut self, entry: MempoolEntry) -> Result<Vec<Txid>, MempoolError> {
        self.insert_evicting(entry)
            .map(|evicted| evicted.iter().map(|e| e.txid).collect())
    }

    /// [`Mempool::insert`], returning the evicted entries themselves (so a caller can put them back with
    /// [`Mempool::restore`]). On error the pool is unchanged.
    ///
    /// # Errors
    /// [`MempoolError::Full`] if the entry itself would be the one to evict.
    pub fn insert_evicting(
        &mut self,
        entry: MempoolEntry,
    ) -> Result<Vec<MempoolEntry>, MempoolError> {
        let mut evicted = Vec::new();
        while self.bytes + entry.size > self.max_bytes {
            let full = match self.lowest() {
                None => true,
                // The newcomer pays less than everything here (or depends on the lowest).
                Some(lowest) => {
                    self.entries[&lowest].priority_cmp(&entry) == Ordering::Less
                        || self.descends_from(&entry, &lowest)
                }
            };
            if full {
                // Undo the evictions of earlier rounds: a refused newcomer changes nothing.
                self.restore(evicted);
                return Err(MempoolError::Full);
            }
            if let Some(lowest) = self.lowest() {
                evicted.extend(self.take_with_descendants(&lowest));
            }
        }
        self.add(entry);
        Ok(evicted)
    }

    /// Puts back entries taken out earlier (by eviction), without any check: they were valid together with
    /// what is still in the pool.
    pub fn restore(&mut self, entries: Vec<MempoolEntry>) {
        for entry in entries {
            self.add(entry);
        }
    }

    fn add(&mut self, entry: MempoolEntry) {
        self.next_seq = self.next_seq.max(entry.seq + 1);
        for input in entry.tx.inputs() {
            self.spent_by.insert(input.prev_out, entry.txid);
        }
        self.bytes += entry.size;
        self.entries.insert(entry.txid, entry);
    }

    fn descends_from(&self, entry: &MempoolEntry, ancestor: &Txid) -> bool {
        let mut stack: Vec<Txid> = entry.tx.inputs().iter().map(|i| i.prev_out.txid).collect();
        let mut seen = HashSet::new();
        while let Some(t) = stack.pop() {
            if t == *ancestor {
                return true;
            }
            if seen.insert(t)
                && let Some(e) = self.entries.get(&t)
            {
                stack.extend(e.tx.inputs().iter().map(|i| i.prev_out.txid));
            }
        }
        false
    }

    fn lowest(&self) -> Option<Txid> {
        self.entries
            .values()
            .max_by(|a, b| a.priority_cmp(b))
            .map(|e| e.txid)
    }

    /// Removes one transaction (not its descendants). Returns whether it was there.
    pub fn remove(&mut self, txid: &Txid) -> bool {
        self.take(txid).is_some()
    }

    fn take(&mut self, txid: &Txid) -> Option<MempoolEntry> {
        let entry = self.entries.remove(txid)?;
        for input in entry.tx.inputs() {
            if self.spent_by.get(&input.prev_out) == Some(txid) {
                self.spent_by.remove(&input.prev_out);
            }
        }
        self.bytes -= entry.size;
        Some(entry)
    }

    /// Removes a transaction and every pool transaction that spends its outputs, transitively.
    pub fn remove_with_descendants(&mut self, txid: &Txid) -> Vec<Txid> {
        self.take_with_descendants(txid)
            .iter()
            .map(|e| e.txid)
            .collect()
    }

    fn take_with_descendants(&mut self, txid: &Txid) -> Vec<MempoolEntry> {
        let mut removed = Vec::new();
        let mut stack = vec![*txid];
        while let Some(t) = stack.pop() {
            let Some(entry) = self.entries.get(&t) else {
                continue;
            };
            let children: Vec<Txid> = (0..entry.tx.outputs.len() as u32)
                .filter_map(|vout| self.spent_by.get(&OutPoint { txid: t, vout }).copied())
                .collect();
            removed.extend(self.take(&t));
            stack.extend(children);
        }
        removed
    }

    /// Every transaction in block order: by priority, each after its unconfirmed parents.
    pub fn ordered(&self) -> Vec<&MempoolEntry> {
        /// Max-heap item: the best priority pops first.
        struct Ready<'a>(&'a MempoolEntry);
        impl PartialEq for Ready<'_> {
            fn eq(&self, other: &Self) -> bool {
                self.0.txid == other.0.txid
            }
        }
        impl Eq for Ready<'_> {}
        impl PartialOrd for Ready<'_> {
            fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
                Some(self.cmp(other))
            }
        }
        impl Ord for Ready<'_> {
            fn cmp(&self, other: &Self) -> Ordering {
                other.0.priority_cmp(self.0)
            }
        }
        // Number of distinct unconfirmed parents each entry waits for, and each entry's pool children.
        let mut waiting: HashMap<Txid, usize> = HashMap::with_capacity(self.entries.len());
        let mut children: HashMap<Txid, Vec<Txid>> = HashMap::new();
        let mut heap = std::collections::BinaryHeap::with_capacity(self.entries.len());
        for e in self.entries.values() {
            let parents: HashSet<Txid> =
                e.tx.inputs()
                    .iter()
                    .map(|i| i.prev_out.txid)
                    .filter(|p| self.entries.contains_key(p))
                    .collect();
            for p in &parents {
                children.entry(*p).or_default().push(e.txid);
            }
            if parents.is_empty() {
                heap.push(Ready(e));
            } else {
                waiting.insert(e.txid, parents.len());
            }
        }
        let mut out = Vec::with_capacity(self.entries.len());
        while let Some(Ready(e)) = heap.pop() {
            out.push(e);
            for child in children.get(&e.txid).into_iter().flatten() {
                if let Some(n) = waiting.get_mut(child) {
                    *n -= 1;
                    if *n == 0 {
                        waiting.remove(child);
                        heap.push(Ready(&self.entries[child]));
                    }
                }
            }
        }
        out
    }

    /// The first `max` transactions in block order, for a block template.
    pub fn template(&self, max: usize) -> Vec<Transaction> {
        self.ordered()
            .into_iter()
            .take(max)
            .map(|e| e.tx.clone())
            .collect()
    }

    /// The pending effect on an address: (received by it, spent from it), for "pending balance".
    pub fn pending_for(
        &self,
        address: &ferrochain_core::PubkeyHash,
        chain: &impl UtxoView,
    ) -> (Amount, Amount) {
        let mut received = 0u64;
        let mut spent = 0u64;
        for e in self.entries.values() {
            for o in &e.tx.outputs {
                if o.address == *address {
                    received += o.amount.to_units();
                }
            }
            for i in e.tx.inputs() {
                let prev = self
                    .entries
                    .get(&i.prev_out.txid)
                    .and_then(|p| p.tx.outputs.get(i.prev_out.vout as usize).copied())
                    .or_else(|| chain.utxo(&i.prev_out).map(|u| u.output));
                if let Some(o) = prev
                    && o.address == *address
                {
                    spent += o.amount.to_units();
                }
            }
        }
        let a = |v: u64| Amount::from_units(v).unwrap_or(Amount::MAX);
        (a(received), a(spent))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use ferrochain_core::builder::ChainBuilder;
    use ferrochain_core::spec::Allocation;
    use ferrochain_core::{ChainSpec, SigningKey, Target, TxOut};

    fn key(b: u8) -> SigningKey {
        SigningKey::from_secret_bytes([b; 32])
    }

    fn chain() -> ChainBuilder {
        let mut spec = ChainSpec::dev();
        spec.initial_bits = Target::from_leading_zero_bits(8).to_compact();
        for b in 1..=6u8 {
            let address = key(b).public_key().pubkey_hash();
            spec.genesis_allocations.push(Allocation {
                address,
                amount: Amount::from_units(1_000_000).unwrap(),
            });
        }
        ChainBuilder::new(Network::new(spec).unwrap())
    }

    /// A transfer from key `from` paying `fee`.
    fn pay(chain: &ChainBuilder, from: u8, fee: u64) -> Transaction {
        let to = key(9).public_key().pubkey_hash();
        let amount = Amount::from_units(1000).unwrap();
        chain
            .transfer(
                &key(from),
                to,
                amount,
                Amount::from_units(fee).unwrap(),
                Vec::new(),
                &mut Vec::new(),
            )
            .unwrap()
    }

    fn add(
        pool: &mut Mempool,
        chain: &ChainBuilder,
        tx: &Transaction,
    ) -> Result<Vec<Txid>, MempoolError> {
        let entry = pool.check(tx, chain.utxos(), chain.height(), chain.network())?;
        pool.insert(entry)
    }

    #[test]
    fn a_full_pool_evicts_the_lowest_fee_rate_with_its_descendants() {
        let chain = chain();
        let low = pay(&chain, 1, 10);
        let size = low.encoded_len();
        // Room for exactly three transactions of this size.
        let mut pool = Mempool::new(3 * size);
        add(&mut pool, &chain, &low).unwrap();
        // A child of `low`, spending its change.
        let change = OutPoint {
            txid: low.txid(),
            vout: 1,
        };
        let child = Transaction::signed_transfer(
            &[(change, &key(1))],
            vec![TxOut {
                amount: Amount::from_units(5000).unwrap(),
                address: key(9).public_key().pubkey_hash(),
            }],
            Vec::new(),
            &chain.network().genesis_hash(),
        );
        add(&mut pool, &chain, &child).unwrap();
        add(&mut pool, &chain, &pay(&chain, 2, 500)).unwrap();
        assert_eq!(pool.len(), 3);
        // A richer newcomer evicts `low` and, with it, the child that spends its output.
        let rich = pay(&chain, 3, 900);
        let evicted = add(&mut pool, &chain, &rich).unwrap();
        assert!(
            evicted.contains(&low.txid()) && evicted.contains(&child.txid()),
            "{evicted:?}"
        );
        assert!(pool.contains(&rich.txid()) && !pool.contains(&child.txid()));
        assert!(pool.bytes() <= 3 * size);
        add(&mut pool, &chain, &pay(&chain, 5, 600)).unwrap();
        assert_eq!(pool.len(), 3);
        // A newcomer paying less than everything there is refused, and nothing is evicted.
        let poor = pay(&chain, 4, 1);
        assert_eq!(add(&mut pool, &chain, &poor), Err(MempoolError::Full));
        assert_eq!(pool.len(), 3);
    }

    #[test]
    fn a_refused_newcomer_leaves_the_pool_unchanged_even_after_a_partial_eviction() {
        let chain = chain();
        let low = pay(&chain, 1, 10);
        let size = low.encoded_len();
        let mut pool = Mempool::new(3 * size);
        for tx in [&low, &pay(&chain, 2, 500), &pay(&chain, 3, 900)] {
            add(&mut pool, &chain, tx).unwrap();
        }
        // Over twice the size of the others, at a fee rate above `low`'s but below the next one's: evicting
        // `low` is not enough room, and the next candidate outranks it.
        let to = key(9).public_key().pubkey_hash();
        let big = chain
            .transfer(
                &key(4),
                to,
                Amount::from_units(1000).unwrap(),
                Amount::from_units(600).unwrap(),
                vec![7; size + 40],
                &mut Vec::new(),
            )
            .unwrap();
        assert!(big.encoded_len() > 2 * size);
        let (txids, bytes) = (
            pool.ordered().iter().map(|e| e.txid).collect::<Vec<_>>(),
            pool.bytes(),
        );
        assert_eq!(add(&mut pool, &chain, &big), Err(MempoolError::Full));
        assert_eq!(
            pool.ordered().iter().map(|e| e.txid).collect::<Vec<_>>(),
            txids
        );
        assert_eq!(pool.bytes(), bytes);
        assert!(
            pool.spender(&low.inputs()[0].prev_out).is_some(),
            "the evicted candidate was put back"
        );
    }

    #[test]
    fn parents_come_before_richer_children_and_ties_go_by_arrival() {
        let chain = chain();
        let mut pool = Mempool::new(1 << 20);
        let parent = pay(&chain, 1, 0);
        add(&mut pool, &chain, &parent).unwrap();
        let child = Transaction::signed_transfer(
            &[(
                OutPoint {
                    txid: parent.txid(),
                    vout: 1,
                },
                &key(1),
            )],
            vec![TxOut {
                amount: Amount::from_units(1000).unwrap(),
                address: key(9).public_key().pubkey_hash(),
            }],
            Vec::new(),
            &chain.network().genesis_hash(),
        );
        add(&mut pool, &chain, &child).unwrap();
        let (a, b) = (pay(&chain, 2, 0), pay(&chain, 3, 0));
        add(&mut pool, &chain, &a).unwrap();
        add(&mut pool, &chain, &b).unwrap();
        let order: Vec<Txid> = pool.ordered().iter().map(|e| e.txid).collect();
        // The child pays a huge fee but cannot precede its parent; zero-fee transactions go first-in first-out.
        let pos = |t: &Transaction| order.iter().position(|x| *x == t.txid()).unwrap();
        assert!(pos(&parent) < pos(&child));
        assert_eq!(
            order[0],
            parent.txid(),
            "first arrived, and no one pays more without depending on it"
        );
        assert!(pos(&a) < pos(&b));
        // Removing the parent takes the child with it.
        let removed = pool.remove_with_descendants(&parent.txid());
        assert_eq!(removed.len(), 2);
        assert!(
            pool.spender(&OutPoint {
                txid: parent.txid(),
                vout: 1
            })
            .is_none()
        );
    }
}
