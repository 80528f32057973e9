//! The unspent-output (UTXO) view the contextual checks read, the changes a block makes to it, and an
//! in-memory UTXO set that applies and undoes them (`docs/protocol.md` §9).
//!
//! Connecting a block yields [`BlockChanges`]: the outputs it spent (with their full entries — this is the
//! undo data) and the outputs it created. The changes are *net*: an output created and spent inside the same
//! block appears in neither list, so applying and then undoing a block is exactly the identity. A store
//! writes one `BlockChanges` in one atomic transaction.

use std::collections::{HashMap, HashSet};

use crate::encode::{Decode, DecodeError, Encode, Reader};
use crate::hash::{BlockHash, Txid};
use crate::tx::{OutPoint, TxOut};
use crate::units::{Amount, Height};

/// An unspent output and where it came from.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, serde::Serialize, serde::Deserialize)]
pub struct UtxoEntry {
    /// The output.
    pub output: TxOut,
    /// Height of the block that created it.
    pub height: Height,
    /// Whether it was created by a coinbase (and so must mature before it is spent).
    pub is_coinbase: bool,
}

impl Encode for UtxoEntry {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.output.encode_to(out);
        out.extend_from_slice(&self.height.0.to_le_bytes());
        out.push(u8::from(self.is_coinbase));
    }
}

impl Decode for UtxoEntry {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let output = TxOut::decode_from(r)?;
        let height = Height(r.u64("utxo height")?);
        let is_coinbase = match r.u8("utxo coinbase flag")? {
            0 => false,
            1 => true,
            tag => {
                return Err(DecodeError::UnknownTag {
                    what: "utxo coinbase flag",
                    tag,
                });
            }
        };
        Ok(UtxoEntry {
            output,
            height,
            is_coinbase,
        })
    }
}

/// What the contextual checks need to know about the chain they extend.
pub trait UtxoView {
    /// The unspent output at `outpoint`, if there is one.
    fn utxo(&self, outpoint: &OutPoint) -> Option<UtxoEntry>;
    /// Whether a transaction with this id is already in the active chain.
    fn contains_txid(&self, txid: &Txid) -> bool;
}

/// The net effect of one block on the UTXO set, which is also its undo data.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct BlockChanges {
    /// The block's height.
    pub height: Height,
    /// The block's hash.
    pub block_hash: BlockHash,
    /// Outputs that existed before the block and that it spends, with their entries (for undo).
    pub spent: Vec<(OutPoint, UtxoEntry)>,
    /// Outputs the block creates that are still unspent after it.
    pub created: Vec<(OutPoint, UtxoEntry)>,
    /// The ids of the block's transactions.
    pub txids: Vec<Txid>,
    /// Total fees the block's transactions pay.
    pub fees: Amount,
}

fn put_entries(out: &mut Vec<u8>, entries: &[(OutPoint, UtxoEntry)]) {
    crate::encode::put_len(out, entries.len());
    for (outpoint, entry) in entries {
        outpoint.encode_to(out);
        entry.encode_to(out);
    }
}

fn read_entries(
    r: &mut Reader<'_>,
    what: &'static str,
) -> Result<Vec<(OutPoint, UtxoEntry)>, DecodeError> {
    let len = r.list_len(what, crate::encode::MAX_LIST_LEN, 36 + 28 + 9)?;
    let mut out = Vec::with_capacity(len);
    for _ in 0..len {
        out.push((OutPoint::decode_from(r)?, UtxoEntry::decode_from(r)?));
    }
    Ok(out)
}

/// The stored form of a block's changes (its undo data).
impl Encode for BlockChanges {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.height.0.to_le_bytes());
        out.extend_from_slice(self.block_hash.as_bytes());
        put_entries(out, &self.spent);
        put_entries(out, &self.created);
        crate::encode::put_len(out, self.txids.len());
        for txid in &self.txids {
            out.extend_from_slice(txid.as_bytes());
        }
        out.extend_from_slice(&self.fees.to_units().to_le_bytes());
    }
}

impl Decode for BlockChanges {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let height = Height(r.u64("changes height")?);
        let block_hash = BlockHash::from_byte_array(r.array("changes block hash")?);
        let spent = read_entries(r, "changes spent")?;
        let created = read_entries(r, "changes created")?;
        let n = r.list_len("changes txids", crate::encode::MAX_LIST_LEN, 32)?;
        let mut txids = Vec::with_capacity(n);
        for _ in 0..n {
            txids.push(Txid::from_byte_array(r.array("changes txid")?));
        }
        let units = r.u64("changes fees")?;
        let fees = Amount::from_units(units).map_err(|_| DecodeError::OutOfRange {
            what: "changes fees",
            value: units,
        })?;
        Ok(BlockChanges {
            height,
            block_hash,
            spent,
            created,
            txids,
            fees,
        })
    }
}

/// An in-memory UTXO set with the active chain's txids — for tests, tools and the reference behaviour
/// that the stores must match — indexed by address too (a wallet's coins without a scan).
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct MemoryUtxoSet {
    utxos: HashMap<OutPoint, UtxoEntry>,
    txids: HashSet<Txid>,
    by_address: HashMap<crate::crypto::PubkeyHash, HashSet<OutPoint>>,
}

impl MemoryUtxoSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// A set holding `utxos`, for a chain whose transactions are `txids` (e.g. loaded from a store).
    pub fn from_parts(
        utxos: impl IntoIterator<Item = (OutPoint, UtxoEntry)>,
        txids: impl IntoIterator<Item = Txid>,
    ) -> Self {
        let mut set = MemoryUtxoSet {
            txids: txids.into_iter().collect(),
            ..MemoryUtxoSet::default()
        };
        for (outpoint, entry) in utxos {
            set.insert(outpoint, entry);
        }
        set
    }

    fn insert(&mut self, outpoint: OutPoint, entry: UtxoEntry) {
        if let Some(old) = self.utxos.insert(outpoint, entry) {
            self.unindex(&outpoint, &old);
        }
        self.by_address
            .entry(entry.output.address)
            .or_default()
            .insert(outpoint);
    }

    fn remove(&mut self, outpoint: &OutPoint) {
        if let Some(old) = self.utxos.remove(outpoint) {
            self.unindex(outpoint, &old);
        }
    }

    fn unindex(&mut self, outpoint: &OutPoint, entry: &UtxoEntry) {
        if let Some(set) = self.by_address.get_mut(&entry.output.address) {
            set.remove(outpoint);
            if set.is_empty() {
                self.by_address.remove(&entry.output.address);
            }
        }
    }

    /// The unspent outputs paying `address`, ordered by outpoint.
    pub fn outputs_of(&self, address: &crate::crypto::PubkeyHash) -> Vec<(OutPoint, UtxoEntry)> {
        let mut out: Vec<(OutPoint, UtxoEntry)> = self
            .by_address
            .get(address)
            .into_iter()
            .flatten()
            .filter_map(|o| self.utxos.get(o).map(|e| (*o, *e)))
            .collect();
        out.sort_by_key(|(o, _)| *o);
        out
    }

    /// Number of transactions of the chain.
    pub fn txid_count(&self) -> usize {
        self.txids.len()
    }

    /// Applies a block's changes.
    pub fn apply(&mut self, changes: &BlockChanges) {
        for (outpoint, _) in &changes.spent {
            self.remove(outpoint);
        }
        for (outpoint, entry) in &changes.created {
            self.insert(*outpoint, *entry);
        }
        self.txids.extend(changes.txids.iter().copied());
    }

    /// Reverts a block's changes (the block must be the last one applied).
    pub fn undo(&mut self, changes: &BlockChanges) {
        for (outpoint, _) in &changes.created {
            self.remove(outpoint);
        }
        for (outpoint, entry) in &changes.spent {
            self.insert(*outpoint, *entry);
        }
        for txid in &changes.txids {
            self.txids.remove(txid);
        }
    }

    /// Number of unspent outputs.
    pub fn len(&self) -> usize {
        self.utxos.len()
    }

    /// Whether there are no unspent outputs.
    pub fn is_empty(&self) -> bool {
        self.utxos.is_empty()
    }

    /// Every unspent output.
    pub fn iter(&self) -> impl Iterator<Item = (&OutPoint, &UtxoEntry)> {
        self.utxos.iter()
    }

    /// The confirmed balance of an address (sum of its unspent outputs).
    pub fn balance(&self, address: &crate::crypto::PubkeyHash) -> Amount {
        let total: u64 = self
            .by_address
            .get(address)
            .into_iter()
            .flatten()
            .filter_map(|o| self.utxos.get(o))
            .map(|e| e.output.amount.to_units())
            .sum();
        Amount::from_units(total).unwrap_or(Amount::MAX)
    }
}

impl UtxoView for MemoryUtxoSet {
    fn utxo(&self, outpoint: &OutPoint) -> Option<UtxoEntry> {
        self.utxos.get(outpoint).copied()
    }
    fn contains_txid(&self, txid: &Txid) -> bool {
        self.txids.contains(txid)
    }
}
