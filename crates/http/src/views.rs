//! JSON views of the chain for people and programs: the shapes the REST API answers with, shared with the web
//! UI. Views are built from core and state types; the consensus data itself is never JSON (DESIGN §3).
//!
//! Conventions:
//! - hashes, txids, keys and signatures are lower-case hex strings; addresses are bech32m of this network;
//! - every amount is an [`AmountView`]: `{"units": <integer smallest units>, "display": "<whole units>"}`,
//!   so programs read exact integers and people read "1.5";
//! - times are milliseconds since the Unix epoch (`*_ms`);
//! - proof-of-work figures come as the compact `bits` (8 hex digits), the `leading_zero_bits` a hash needs,
//!   and work as a decimal string (it does not fit a JSON number).

use std::collections::HashMap;

use ferrochain_core::merkle::{MerkleProof, MerkleStep};
use ferrochain_core::{
    Amount, Block, BlockHash, CompactTarget, Header, Network, OutPoint, Transaction, TxKind, TxOut,
    Txid, Work,
};
use ferrochain_state::store::HistoryRow;
use ferrochain_state::{Balance, State, TxStatus};
use serde::Serialize;
use utoipa::ToSchema;

/// An amount in both forms: exact smallest units and whole units for display.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct AmountView {
    /// The amount in smallest units (an integer; 1 unit = 10^decimals smallest units).
    #[schema(example = 150_000_000)]
    pub units: u64,
    /// The amount in whole units with the network's decimals, trailing zeros removed.
    #[schema(example = "1.5")]
    pub display: String,
}

impl AmountView {
    /// The view of `amount` on a network whose unit has `decimals` decimals.
    pub fn new(amount: Amount, decimals: u8) -> AmountView {
        AmountView {
            units: amount.to_units(),
            display: amount.format_units(decimals),
        }
    }
}

/// Difficulty as people read it: the leading zero bits a block hash must start with; 0 for malformed bits.
pub fn leading_zero_bits(bits: CompactTarget) -> u32 {
    bits.to_target().map_or(0, |t| t.leading_zero_bits())
}

/// The work of one block with these bits (zero for malformed bits).
pub fn block_work(bits: CompactTarget) -> Work {
    bits.to_target().map_or(Work::ZERO, |t| t.work())
}

/// The error body every REST route answers a failure with.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// A stable machine-readable code (`invalid_address`, `wrong_network`, `not_found`, `owner_only`, ...).
    #[schema(example = "invalid_address")]
    pub code: String,
    /// What went wrong and, where useful, what to do instead.
    pub message: String,
}

/// The node's status.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Status {
    /// The network's name.
    pub network: String,
    /// The network id (genesis hash).
    pub network_id: String,
    /// The node's software version.
    pub version: String,
    /// Height of the active tip.
    pub height: u64,
    /// Hash of the active tip.
    pub tip: String,
    /// Timestamp of the active tip (ms).
    pub tip_time_ms: u64,
    /// Cumulative work of the active chain (decimal; expected hashes from genesis).
    pub chain_work: String,
    /// Compact target the next block must meet (8 hex digits).
    pub bits: String,
    /// Leading zero bits the next block's hash needs (the difficulty as people read it).
    pub leading_zero_bits: u32,
    /// Transactions waiting in the mempool.
    pub mempool: usize,
    /// Encoded size of the mempool's transactions, in bytes.
    pub mempool_bytes: usize,
    /// Known peers.
    pub peers: usize,
    /// Hashes per second of this node's miner (over the last second or more).
    pub hash_rate: f64,
    /// Hashes this node's miner computed since start.
    pub total_hashes: u64,
    /// Whether continuous mining runs.
    pub mining: bool,
    /// Mining threads.
    pub miner_threads: usize,
    /// When the node started (ms).
    pub started_ms: u64,
}

/// A genesis allocation.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct AllocationView {
    /// Who received it.
    pub address: String,
    /// How much.
    pub amount: AmountView,
}

/// The network's rules (its chain spec) and id.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct NetworkView {
    /// The network's name.
    pub name: String,
    /// The network id: the genesis block's hash.
    pub network_id: String,
    /// The address prefix (`dev` gives `dev1…` addresses).
    pub address_prefix: String,
    /// The coin's unit name.
    pub unit: String,
    /// Decimals of the unit: 1 unit = 10^decimals smallest units.
    pub decimals: u8,
    /// Genesis timestamp (ms).
    pub genesis_time_ms: u64,
    /// The message stored in the genesis block.
    pub genesis_message: String,
    /// Pre-funded outputs of the genesis block.
    pub genesis_allocations: Vec<AllocationView>,
    /// Compact target of the first blocks.
    pub initial_bits: String,
    /// Leading zero bits the first blocks need.
    pub initial_leading_zero_bits: u32,
    /// The easiest target retargeting may reach (64 hex digits).
    pub pow_limit: String,
    /// Leading zero bits of the easiest target.
    pub pow_limit_leading_zero_bits: u32,
    /// Block subsidy before any halving.
    pub subsidy: AmountView,
    /// Blocks between halvings of the subsidy (0: never).
    pub halving_interval: u64,
    /// Most coins that will ever exist.
    pub max_supply: AmountView,
    /// The block interval retargeting aims for (ms).
    pub target_block_time_ms: u64,
    /// Blocks between retargets (0: fixed difficulty).
    pub retarget_interval: u64,
    /// Blocks a coinbase output waits before it can be spent.
    pub coinbase_maturity: u64,
    /// Largest encoded block, in bytes.
    pub max_block_bytes: u32,
    /// Largest transaction payload, in bytes.
    pub max_payload_bytes: u32,
    /// How far ahead of a node's clock a block's timestamp may be (ms).
    pub max_future_drift_ms: u64,
}

impl NetworkView {
    /// The view of `network`.
    pub fn new(network: &Network) -> NetworkView {
        let spec = network.spec();
        let d = spec.decimals;
        NetworkView {
            name: spec.name.clone(),
            network_id: network.genesis_hash().to_string(),
            address_prefix: spec.address_prefix.clone(),
            unit: spec.unit.clone(),
            decimals: d,
            genesis_time_ms: spec.genesis_time_ms,
            genesis_message: spec.genesis_message.clone(),
            genesis_allocations: spec
                .genesis_allocations
                .iter()
                .map(|a| AllocationView {
                    address: network.address(&a.address),
                    amount: AmountView::new(a.amount, d),
                })
                .collect(),
            initial_bits: spec.initial_bits.to_string(),
            initial_leading_zero_bits: leading_zero_bits(spec.initial_bits),
            pow_limit: spec.pow_limit.to_string(),
            pow_limit_leading_zero_bits: spec.pow_limit.leading_zero_bits(),
            subsidy: AmountView::new(spec.subsidy, d),
            halving_interval: spec.halving_interval,
            max_supply: AmountView::new(spec.max_supply, d),
            target_block_time_ms: spec.target_block_time_ms,
            retarget_interval: spec.retarget_interval,
            coinbase_maturity: spec.coinbase_maturity,
            max_block_bytes: spec.max_block_bytes,
            max_payload_bytes: spec.max_payload_bytes,
            max_future_drift_ms: spec.max_future_drift_ms,
        }
    }
}

/// A block in a list.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct BlockSummary {
    /// Its height.
    pub height: u64,
    /// Its hash.
    pub hash: String,
    /// Its timestamp (ms).
    pub time_ms: u64,
    /// Number of transactions, coinbase included.
    pub tx_count: usize,
    /// Its compact target.
    pub bits: String,
    /// Leading zero bits its hash needed.
    pub leading_zero_bits: u32,
    /// Encoded size in bytes.
    pub size: usize,
}

impl BlockSummary {
    /// The summary of `block`.
    pub fn new(block: &Block) -> BlockSummary {
        let h = &block.header;
        BlockSummary {
            height: h.height.0,
            hash: block.hash().to_string(),
            time_ms: h.time_ms,
            tx_count: block.transactions.len(),
            bits: h.bits.to_string(),
            leading_zero_bits: leading_zero_bits(h.bits),
            size: block.encoded_len(),
        }
    }
}

/// Where a block stands relative to the active chain.
#[derive(Clone, Copy, Debug)]
pub struct BlockPlace {
    /// Whether the block is in the active chain.
    pub active: bool,
    /// Height of the active tip.
    pub tip_height: u64,
    /// The active block after it, if any.
    pub next: Option<BlockHash>,
    /// Cumulative work up to and including the block, if known.
    pub chain_work: Option<Work>,
}

/// A whole block: header fields, proof-of-work figures, place in the chain and transactions.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct BlockView {
    /// Its hash (SHA-256 of the 96-byte header).
    pub hash: String,
    /// Its height.
    pub height: u64,
    /// Header format version.
    pub version: u32,
    /// The parent's hash (zeros for genesis).
    pub prev_hash: String,
    /// Merkle root of its transaction ids.
    pub merkle_root: String,
    /// Its timestamp (ms).
    pub time_ms: u64,
    /// Compact target (8 hex digits).
    pub bits: String,
    /// The full target its hash had to be at most (64 hex digits).
    pub target: String,
    /// Leading zero bits its hash needed.
    pub leading_zero_bits: u32,
    /// The nonce the miner found.
    pub nonce: u64,
    /// Work of this block (decimal: expected hashes).
    pub work: String,
    /// Cumulative work of its chain up to it (decimal), when known.
    pub chain_work: Option<String>,
    /// Encoded size in bytes.
    pub size: usize,
    /// Number of transactions.
    pub tx_count: usize,
    /// Whether it is in the active chain.
    pub active: bool,
    /// Blocks from it to the active tip, both included (0 if not active).
    pub confirmations: u64,
    /// The next active block's hash, if any.
    pub next: Option<String>,
    /// Its transactions, coinbase first.
    pub transactions: Vec<TxView>,
}

impl BlockView {
    /// The view of `block` at `place`, resolving spent outputs through `lookup`.
    pub fn new(
        block: &Block,
        place: BlockPlace,
        network: &Network,
        lookup: &mut SpentLookup<'_>,
    ) -> BlockView {
        let h: &Header = &block.header;
        let confirmations = if place.active {
            place.tip_height.saturating_sub(h.height.0) + 1
        } else {
            0
        };
        BlockView {
            hash: block.hash().to_string(),
            height: h.height.0,
            version: h.version,
            prev_hash: h.prev_hash.to_string(),
            merkle_root: h.merkle_root.to_string(),
            time_ms: h.time_ms,
            bits: h.bits.to_string(),
            target: h
                .bits
                .to_target()
                .map(|t| t.to_string())
                .unwrap_or_default(),
            leading_zero_bits: leading_zero_bits(h.bits),
            nonce: h.nonce,
            work: block_work(h.bits).to_string(),
            chain_work: place.chain_work.map(|w| w.to_string()),
            size: block.encoded_len(),
            tx_count: block.transactions.len(),
            active: place.active,
            confirmations,
            next: place.next.map(|n| n.to_string()),
            transactions: block
                .transactions
                .iter()
                .map(|tx| TxView::new(tx, network, lookup, None))
                .collect(),
        }
    }
}

/// The kind of a transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TxKindName {
    /// The first transaction of a block, creating its reward.
    Coinbase,
    /// Spends earlier outputs.
    Transfer,
    /// A signed record with no inputs and no outputs.
    Record,
}

impl TxKindName {
    /// The kind of `tx`.
    pub fn of(tx: &Transaction) -> TxKindName {
        match tx.kind {
            TxKind::Coinbase { .. } => TxKindName::Coinbase,
            TxKind::Transfer { .. } => TxKindName::Transfer,
            TxKind::Record { .. } => TxKindName::Record,
        }
    }
}

/// An output being spent, as far as this node knows it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct SpentOutputView {
    /// Who it was paid to.
    pub address: String,
    /// How much.
    pub amount: AmountView,
}

/// An input of a transfer.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct InputView {
    /// The transaction whose output it spends.
    pub txid: String,
    /// The output's position in that transaction.
    pub vout: u32,
    /// The public key unlocking it.
    pub public_key: String,
    /// The address of that key.
    pub address: String,
    /// The Ed25519 signature.
    pub signature: String,
    /// The output it spends, when this node knows it.
    pub spends: Option<SpentOutputView>,
}

/// An output.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct OutputView {
    /// Its position.
    pub index: u32,
    /// Who may spend it.
    pub address: String,
    /// How much.
    pub amount: AmountView,
}

/// The signature part of a record.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct RecordView {
    /// The author's public key.
    pub author: String,
    /// The author's address.
    pub author_address: String,
    /// When the author says they signed it (ms).
    pub timestamp_ms: u64,
    /// The author's signature.
    pub signature: String,
}

/// Where a transaction stands.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum TxStatusView {
    /// Waiting in the mempool.
    Pending {
        /// The fee it pays.
        fee: AmountView,
    },
    /// In the active chain.
    Confirmed {
        /// Its block's hash.
        block: String,
        /// Its block's height.
        height: u64,
        /// Its position in the block.
        index: u32,
        /// Blocks from its block to the tip, both included.
        confirmations: u64,
    },
}

impl TxStatusView {
    /// The view of a state status.
    pub fn new(status: &TxStatus, decimals: u8) -> TxStatusView {
        match status {
            TxStatus::Pending { fee } => TxStatusView::Pending {
                fee: AmountView::new(*fee, decimals),
            },
            TxStatus::Confirmed {
                block,
                height,
                index,
                confirmations,
            } => TxStatusView::Confirmed {
                block: block.to_string(),
                height: height.0,
                index: *index,
                confirmations: *confirmations,
            },
        }
    }
}

/// A transaction.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct TxView {
    /// Its id (SHA-256 of its encoding).
    pub txid: String,
    /// Coinbase, transfer or record.
    pub kind: TxKindName,
    /// Format version.
    pub version: u32,
    /// Encoded size in bytes.
    pub size: usize,
    /// A coinbase's block height.
    pub coinbase_height: Option<u64>,
    /// A record's author, timestamp and signature.
    pub record: Option<RecordView>,
    /// Inputs (transfers only).
    pub inputs: Vec<InputView>,
    /// Outputs.
    pub outputs: Vec<OutputView>,
    /// Sum of the inputs, when every spent output is known.
    pub input_total: Option<AmountView>,
    /// Sum of the outputs.
    pub output_total: AmountView,
    /// The fee (inputs minus outputs; 0 for records), when known. Absent for a coinbase.
    pub fee: Option<AmountView>,
    /// The payload as hex.
    pub payload_hex: String,
    /// The payload as text, if it is valid UTF-8.
    pub payload_text: Option<String>,
    /// Where it stands (absent inside a block view).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<TxStatusView>,
}

impl TxView {
    /// The view of `tx`, resolving spent outputs through `lookup`.
    pub fn new(
        tx: &Transaction,
        network: &Network,
        lookup: &mut SpentLookup<'_>,
        status: Option<&TxStatus>,
    ) -> TxView {
        let d = network.spec().decimals;
        let inputs: Vec<InputView> = tx
            .inputs()
            .iter()
            .map(|i| InputView {
                txid: i.prev_out.txid.to_string(),
                vout: i.prev_out.vout,
                public_key: i.public_key.to_string(),
                address: network.address(&i.public_key.pubkey_hash()),
                signature: i.signature.to_string(),
                spends: lookup.output(&i.prev_out).map(|o| SpentOutputView {
                    address: network.address(&o.address),
                    amount: AmountView::new(o.amount, d),
                }),
            })
            .collect();
        let output_total = tx.output_total().unwrap_or(Amount::MAX);
        let input_total = match &tx.kind {
            TxKind::Transfer { inputs: ins } => ins
                .iter()
                .map(|i| lookup.output(&i.prev_out).map(|o| o.amount))
                .collect::<Option<Vec<Amount>>>()
                .and_then(|v| Amount::checked_sum(v).ok()),
            _ => None,
        };
        let fee = match (&tx.kind, status) {
            (TxKind::Coinbase { .. }, _) => None,
            (_, Some(TxStatus::Pending { fee })) => Some(*fee),
            (TxKind::Record { .. }, _) => Some(Amount::ZERO),
            (TxKind::Transfer { .. }, _) => {
                input_total.and_then(|i| i.checked_sub(output_total).ok())
            }
        };
        let record = match &tx.kind {
            TxKind::Record {
                author,
                timestamp_ms,
                signature,
            } => Some(RecordView {
                author: author.to_string(),
                author_address: network.address(&author.pubkey_hash()),
                timestamp_ms: *timestamp_ms,
                signature: signature.to_string(),
            }),
            _ => None,
        };
        TxView {
            txid: tx.txid().to_string(),
            kind: TxKindName::of(tx),
            version: tx.version,
            size: tx.encoded_len(),
            coinbase_height: match tx.kind {
                TxKind::Coinbase { height } => Some(height.0),
                _ => None,
            },
            record,
            inputs,
            outputs: tx
                .outputs
                .iter()
                .enumerate()
                .map(|(i, o)| OutputView {
                    index: i as u32,
                    address: network.address(&o.address),
                    amount: AmountView::new(o.amount, d),
                })
                .collect(),
            input_total: input_total.map(|a| AmountView::new(a, d)),
            output_total: AmountView::new(output_total, d),
            fee: fee.map(|a| AmountView::new(a, d)),
            payload_hex: hex::encode(&tx.payload),
            payload_text: String::from_utf8(tx.payload.clone()).ok(),
            status: status.map(|s| TxStatusView::new(s, d)),
        }
    }
}

/// Finds the outputs that inputs spend (in the active chain or the mempool), caching each transaction looked
/// up and giving up after a budget of look-ups, so a view of a huge block stays cheap.
pub struct SpentLookup<'a> {
    state: &'a State,
    cache: HashMap<Txid, Option<Vec<TxOut>>>,
    budget: usize,
}

impl std::fmt::Debug for SpentLookup<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpentLookup")
            .field("cached", &self.cache.len())
            .field("budget", &self.budget)
            .finish()
    }
}

impl<'a> SpentLookup<'a> {
    /// Look-ups of distinct transactions allowed per view.
    pub const DEFAULT_BUDGET: usize = 512;

    /// A lookup over `state`.
    pub fn new(state: &'a State) -> SpentLookup<'a> {
        SpentLookup {
            state,
            cache: HashMap::new(),
            budget: SpentLookup::DEFAULT_BUDGET,
        }
    }

    /// The output `op` refers to, if known.
    pub fn output(&mut self, op: &OutPoint) -> Option<TxOut> {
        if !self.cache.contains_key(&op.txid) {
            if self.budget == 0 {
                return None;
            }
            self.budget -= 1;
            let outputs = self
                .state
                .transaction(&op.txid)
                .ok()
                .flatten()
                .map(|info| info.tx.outputs);
            self.cache.insert(op.txid, outputs);
        }
        self.cache
            .get(&op.txid)
            .and_then(|o| o.as_ref())
            .and_then(|outs| outs.get(op.vout as usize).copied())
    }
}

/// A transaction's Merkle inclusion proof, with the steps to draw it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct MerkleProofView {
    /// The transaction.
    pub txid: String,
    /// Its block.
    pub block: String,
    /// The block's height.
    pub height: u64,
    /// The block header's Merkle root.
    pub merkle_root: String,
    /// The leaf hash of the txid (the first step's input).
    pub leaf_hash: String,
    /// The proof: `{leaf_index, leaf_count, path}` (core JSON; verify with `MerkleProof::verify`).
    #[schema(value_type = Object)]
    pub proof: MerkleProof,
    /// Each combination from the leaf to the root: `{sibling, sibling_side, result}`.
    #[schema(value_type = Vec<Object>)]
    pub steps: Vec<MerkleStep>,
    /// Whether the proof leads to the header's Merkle root (checked by this node).
    pub verified: bool,
}

/// An address's balance.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct BalanceView {
    /// Sum of its unspent outputs in the active chain.
    pub confirmed: AmountView,
    /// The balance once the mempool confirms (confirmed + pending received − pending spent).
    pub pending: AmountView,
}

impl BalanceView {
    /// The view of `balance`.
    pub fn new(balance: &Balance, decimals: u8) -> BalanceView {
        BalanceView {
            confirmed: AmountView::new(balance.confirmed, decimals),
            pending: AmountView::new(balance.pending, decimals),
        }
    }
}

/// An address.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct AddressView {
    /// The address.
    pub address: String,
    /// The hex key hash it encodes.
    pub pubkey_hash: String,
    /// Its balance.
    pub balance: BalanceView,
    /// Its unspent outputs in the active chain.
    pub utxo_count: usize,
}

/// An unspent output.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct UtxoView {
    /// The transaction that created it.
    pub txid: String,
    /// Its position there.
    pub vout: u32,
    /// How much.
    pub amount: AmountView,
    /// Height of the block that created it.
    pub height: u64,
    /// Whether a coinbase created it.
    pub coinbase: bool,
    /// Blocks from its block to the tip, both included.
    pub confirmations: u64,
}

/// An address's unspent outputs.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct UtxoList {
    /// The address.
    pub address: String,
    /// Their sum.
    pub total: AmountView,
    /// The outputs.
    pub utxos: Vec<UtxoView>,
}

/// One transaction in an address's history.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct HistoryItem {
    /// The transaction.
    pub txid: String,
    /// Its kind.
    pub kind: Option<TxKindName>,
    /// Its block's height.
    pub height: u64,
    /// Its block's hash.
    pub block: Option<String>,
    /// Its block's timestamp (ms).
    pub time_ms: Option<u64>,
    /// Its position in the block.
    pub index: u32,
    /// What it paid to the address.
    pub received: AmountView,
    /// What it spent of the address's outputs (as far as known).
    pub sent: AmountView,
}

impl HistoryItem {
    /// The view of a history row for the address with key hash `address`.
    pub fn new(
        row: &HistoryRow,
        address: &ferrochain_core::PubkeyHash,
        state: &State,
        decimals: u8,
        lookup: &mut SpentLookup<'_>,
    ) -> HistoryItem {
        let block = state.hash_at(row.height);
        let time_ms = block
            .and_then(|h| state.header(&h))
            .map(|r| r.header.time_ms);
        let tx = state
            .transaction(&row.txid)
            .ok()
            .flatten()
            .map(|info| info.tx);
        let received = tx.as_ref().map_or(Amount::ZERO, |tx| {
            Amount::checked_sum(
                tx.outputs
                    .iter()
                    .filter(|o| o.address == *address)
                    .map(|o| o.amount),
            )
            .unwrap_or(Amount::MAX)
        });
        let sent = tx.as_ref().map_or(Amount::ZERO, |tx| {
            Amount::checked_sum(
                tx.inputs()
                    .iter()
                    .filter_map(|i| lookup.output(&i.prev_out))
                    .filter(|o| o.address == *address)
                    .map(|o| o.amount),
            )
            .unwrap_or(Amount::MAX)
        });
        HistoryItem {
            txid: row.txid.to_string(),
            kind: tx.as_ref().map(TxKindName::of),
            height: row.height.0,
            block: block.map(|h| h.to_string()),
            time_ms,
            index: row.index,
            received: AmountView::new(received, decimals),
            sent: AmountView::new(sent, decimals),
        }
    }
}

/// A page of an address's history, newest first.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct HistoryPage {
    /// The address.
    pub address: String,
    /// Rows skipped.
    pub offset: u64,
    /// Most rows asked for.
    pub limit: u64,
    /// The rows.
    pub items: Vec<HistoryItem>,
}

/// A mempool entry.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct MempoolEntryView {
    /// The transaction.
    pub txid: String,
    /// Its kind.
    pub kind: TxKindName,
    /// Its fee.
    pub fee: AmountView,
    /// Encoded size in bytes.
    pub size: usize,
    /// Fee per byte, in smallest units.
    pub fee_rate: f64,
}

/// The mempool in block order (fee rate, then arrival; parents before children).
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct MempoolView {
    /// Number of transactions.
    pub count: usize,
    /// Their encoded size, in bytes.
    pub bytes: usize,
    /// The transactions.
    pub entries: Vec<MempoolEntryView>,
}

/// A node-held wallet address.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct WalletView {
    /// The address (the key never leaves the node).
    pub address: String,
    /// Its balance.
    pub balance: BalanceView,
}

/// The miner.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct MinerView {
    /// Search threads.
    pub threads: usize,
    /// Hashes per second over the last second or more.
    pub hash_rate: f64,
    /// Hashes since start.
    pub total_hashes: u64,
    /// Whether continuous mining runs.
    pub running: bool,
    /// Seconds between blocks of continuous mining (0: back to back), when running.
    pub interval_secs: Option<u64>,
    /// Where block rewards go unless a request says otherwise.
    pub default_address: String,
}

impl MinerView {
    /// The node's miner now.
    pub fn of(node: &ferrochain_node::Node) -> MinerView {
        let interval = node.miner().continuous();
        MinerView {
            threads: node.miner().threads(),
            hash_rate: node.miner().hash_rate(),
            total_hashes: node.miner().total_hashes(),
            running: interval.is_some(),
            interval_secs: interval,
            default_address: node.network().address(&node.miner_address()),
        }
    }
}

/// A page of active blocks.
#[derive(Debug, Serialize, ToSchema)]
pub struct BlockList {
    /// Height of the active tip.
    pub tip_height: u64,
    /// The blocks.
    pub blocks: Vec<BlockSummary>,
}

/// A legacy RSA record's envelope (the seed fork's, ADR 0018), checked again where it is shown: by the seed views
/// and the web UI's transaction page.
#[derive(Debug, Clone, Serialize)]
pub struct LegacyRsaCheck {
    /// The signed text.
    pub data: String,
    /// The author's RSA public key, PEM.
    #[serde(skip)]
    pub sender_pem: String,
    /// Whether the RSA signature verifies.
    pub verified: bool,
    /// Why it does not.
    pub error: Option<String>,
    /// The key's size, in bits, when it verifies.
    pub bits: Option<usize>,
    /// The key's fingerprint (hex), when it verifies.
    pub fingerprint: Option<String>,
}

impl LegacyRsaCheck {
    /// The check of the envelope a record's payload carries, if it carries one.
    pub fn of(payload: &[u8]) -> Option<LegacyRsaCheck> {
        let record = ferrochain_wallet::LegacyRsaRecord::from_payload(payload)?;
        let checked = record.verify();
        Some(LegacyRsaCheck {
            verified: checked.is_ok(),
            error: checked.as_ref().err().map(ToString::to_string),
            bits: checked.as_ref().ok().map(|k| k.bits),
            fingerprint: checked.ok().map(|k| k.fingerprint),
            data: record.data,
            sender_pem: record.sender_pem,
        })
    }
}
