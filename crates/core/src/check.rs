//! Validity checks of transactions, headers and blocks (`docs/protocol.md` §8–§9).
//!
//! Validity has three levels:
//! - *structural*: the bytes decode ([`crate::encode`]);
//! - *stateless*: checks that need nothing but the item and the network's rules — proof of work, Merkle root,
//!   sizes, signatures ([`check_header`], [`check_transaction`], [`check_block`], which returns a
//!   [`CheckedBlock`], the only way to get one);
//! - *contextual*: checks against the chain being extended — parent, height, expected target, timestamps,
//!   inputs unspent and owned, amounts, maturity, coinbase reward ([`check_header_contextual`],
//!   [`check_transaction_inputs`], [`connect_block`], which returns the block's [`BlockChanges`]).
//!
//! Every failure is a precise error variant naming what failed and where.

use std::collections::{HashMap, HashSet};

use crate::block::{BLOCK_VERSION, Block, Header};
use crate::crypto::{BatchVerifier, PubkeyHash, SignatureError};
use crate::hash::{BlockHash, MerkleNode, Txid};
use crate::merkle::merkle_root;
use crate::pow::{BitsError, CompactTarget, Target};
use crate::spec::{Network, created_outputs};
use crate::tx::{OutPoint, TX_VERSION, Transaction, TxKind};
use crate::units::{Amount, Height};
use crate::utxo::{BlockChanges, UtxoEntry, UtxoView};

/// Why a transaction is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TxError {
    /// Unknown transaction version.
    #[error("transaction version {0} is not supported (expected 1)")]
    UnsupportedVersion(u32),
    /// A coinbase outside the first position of a block (or submitted on its own).
    #[error("a coinbase transaction is only valid as the first transaction of a block")]
    UnexpectedCoinbase,
    /// A transfer without inputs.
    #[error("a transfer must spend at least one output")]
    NoInputs,
    /// The same output is spent twice by one transaction.
    #[error("output {0:?} is spent twice by this transaction")]
    DuplicateInput(OutPoint),
    /// An output of zero coins.
    #[error("output {vout} has amount zero")]
    ZeroOutput {
        /// Which output.
        vout: usize,
    },
    /// The outputs add up to more than can exist.
    #[error("the outputs add up to more than the largest possible amount")]
    OutputsOverflow,
    /// The payload is larger than the chain allows.
    #[error("payload of {len} bytes is larger than the limit of {max} bytes")]
    PayloadTooLarge {
        /// Payload size.
        len: usize,
        /// The chain's limit.
        max: u32,
    },
    /// The transaction is larger than a block may be.
    #[error("transaction of {len} bytes is larger than a block may be ({max} bytes)")]
    TooLarge {
        /// Its size.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A record with outputs.
    #[error("a record transaction may not have outputs")]
    RecordWithOutputs,
    /// A record with nothing in it.
    #[error("a record transaction must carry a payload")]
    EmptyRecord,
    /// A signature does not verify.
    #[error("signature {index} does not verify: {error}")]
    BadSignature {
        /// Which input (0 for a record's author).
        index: usize,
        /// Why.
        error: SignatureError,
    },
    /// An input's output does not exist or is already spent.
    #[error("input {index} spends {outpoint:?}, which does not exist or is already spent")]
    MissingOrSpentInput {
        /// Which input.
        index: usize,
        /// What it spends.
        outpoint: OutPoint,
    },
    /// Two transactions of one block spend the same output.
    #[error(
        "input {index} spends {outpoint:?}, which an earlier transaction of the block already spends"
    )]
    DoubleSpendInBlock {
        /// Which input.
        index: usize,
        /// What it spends.
        outpoint: OutPoint,
    },
    /// An input's key does not hash to the address of the output it spends.
    #[error("input {index}: the key does not belong to the address that owns the output")]
    KeyMismatch {
        /// Which input.
        index: usize,
        /// The output's address.
        expected: PubkeyHash,
        /// The key's hash.
        found: PubkeyHash,
    },
    /// A coinbase output spent before it matured.
    #[error(
        "input {index} spends a block reward from height {created}, spendable from height {spendable_at}"
    )]
    ImmatureCoinbase {
        /// Which input.
        index: usize,
        /// Where the reward was created.
        created: Height,
        /// First height it may be spent at.
        spendable_at: Height,
    },
    /// Outputs worth more than the inputs.
    #[error("outputs ({outputs}) are worth more than the inputs ({inputs})")]
    InsufficientInputs {
        /// Sum of inputs.
        inputs: Amount,
        /// Sum of outputs.
        outputs: Amount,
    },
    /// The same transaction is already in the active chain.
    #[error("transaction {0} is already in the chain")]
    AlreadyInChain(Txid),
}

/// Why a header or block is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlockError {
    /// Unknown block version.
    #[error("block version {0} is not supported (expected 1)")]
    UnsupportedVersion(u32),
    /// The compact target is malformed.
    #[error("block target: {0}")]
    BadBits(BitsError),
    /// The target is easier than any block at this height may have ([`crate::ChainSpec::easiest_target_at`]:
    /// the initial target on a fixed-difficulty chain, never easier than the chain's `pow_limit`).
    #[error(
        "block target {target} is easier than any block at height {height} may have (easiest allowed: {easiest})"
    )]
    TargetTooEasy {
        /// The block's height.
        height: Height,
        /// The block's target.
        target: Target,
        /// The easiest target allowed at that height.
        easiest: Target,
    },
    /// The hash does not meet the block's own target.
    #[error("block hash {hash} is above its target: the proof of work is missing")]
    InsufficientWork {
        /// The block's hash.
        hash: BlockHash,
        /// Its target.
        target: Target,
    },
    /// A block without transactions.
    #[error("a block must contain at least its coinbase")]
    NoTransactions,
    /// The first transaction is not a coinbase.
    #[error("the first transaction of a block must be its coinbase")]
    FirstNotCoinbase,
    /// A coinbase after the first position.
    #[error("transaction {index} is a second coinbase")]
    ExtraCoinbase {
        /// Its position.
        index: usize,
    },
    /// The coinbase commits to another height.
    #[error("the coinbase commits to height {coinbase}, the header says {header}")]
    CoinbaseHeightMismatch {
        /// Header height.
        header: Height,
        /// Coinbase height.
        coinbase: Height,
    },
    /// The Merkle root does not match the transactions.
    #[error("the Merkle root in the header does not match the transactions")]
    MerkleRootMismatch {
        /// The header's root.
        header: MerkleNode,
        /// The root of the transactions.
        computed: MerkleNode,
    },
    /// A transaction appears twice.
    #[error("transaction {0} appears twice in the block")]
    DuplicateTxid(Txid),
    /// The block is too large.
    #[error("block of {size} bytes is larger than the limit of {max} bytes")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        max: u32,
    },
    /// A transaction is invalid.
    #[error("transaction {index} ({txid}): {source}")]
    Transaction {
        /// Its position in the block.
        index: usize,
        /// Its id.
        txid: Txid,
        /// Why.
        source: TxError,
    },
    /// The block does not extend the expected parent.
    #[error("block's parent is {found}, expected {expected}")]
    WrongParent {
        /// The parent it should have.
        expected: BlockHash,
        /// The parent it names.
        found: BlockHash,
    },
    /// The height is not parent height + 1.
    #[error("block height is {found}, expected {expected}")]
    WrongHeight {
        /// Expected height.
        expected: Height,
        /// Height in the header.
        found: Height,
    },
    /// The target is not the one the difficulty rules require.
    #[error("block target bits are {found}, the difficulty rules require {expected}")]
    WrongBits {
        /// Required bits.
        expected: CompactTarget,
        /// Bits in the header.
        found: CompactTarget,
    },
    /// The timestamp is not after the median of the last 11 blocks.
    #[error(
        "block time {time_ms} is not after the median time of the previous blocks ({median_time_past})"
    )]
    TimeTooEarly {
        /// Block time.
        time_ms: u64,
        /// Median time past.
        median_time_past: u64,
    },
    /// The timestamp is too far ahead of this node's clock.
    #[error("block time {time_ms} is too far in the future (latest allowed now: {max_allowed})")]
    TimeTooFarInFuture {
        /// Block time.
        time_ms: u64,
        /// Node time plus allowed drift.
        max_allowed: u64,
    },
    /// The coinbase claims more than subsidy plus fees.
    #[error("coinbase claims {claimed}, but subsidy plus fees is only {allowed}")]
    CoinbaseTooLarge {
        /// What the coinbase pays out.
        claimed: Amount,
        /// Subsidy + fees.
        allowed: Amount,
    },
}

impl BlockError {
    fn tx(index: usize, txid: Txid, source: TxError) -> BlockError {
        BlockError::Transaction {
            index,
            txid,
            source,
        }
    }
}

/// Checks a header on its own: version, target encoding and proof of work against the header's *own* target.
/// This does not know the network: blocks and headers from outside are checked with [`check_header_for`],
/// which also bounds the target by the network's rules.
///
/// # Errors
/// [`BlockError::UnsupportedVersion`], [`BlockError::BadBits`], [`BlockError::InsufficientWork`].
pub fn check_header(header: &Header) -> Result<BlockHash, BlockError> {
    if header.version != BLOCK_VERSION {
        return Err(BlockError::UnsupportedVersion(header.version));
    }
    let target = header.bits.to_target().map_err(BlockError::BadBits)?;
    let hash = header.hash();
    if !target.is_met_by(&hash) {
        return Err(BlockError::InsufficientWork { hash, target });
    }
    Ok(hash)
}

/// Checks a header on its own against the network's rules, cheapest first: version, target encoding, the
/// target no easier than any block at its height may have ([`crate::ChainSpec::easiest_target_at`]: on a
/// fixed-difficulty chain exactly the initial target, and never above `pow_limit`), then its proof of work.
/// This is what every block and header from outside passes before anything else — before its parent is
/// looked up and before any signature is checked — so a block that met only an easy target of its own
/// choosing costs one hash to refuse.
///
/// # Errors
/// [`BlockError::UnsupportedVersion`], [`BlockError::BadBits`], [`BlockError::TargetTooEasy`],
/// [`BlockError::InsufficientWork`].
pub fn check_header_for(header: &Header, network: &Network) -> Result<BlockHash, BlockError> {
    if header.version != BLOCK_VERSION {
        return Err(BlockError::UnsupportedVersion(header.version));
    }
    let target = header.bits.to_target().map_err(BlockError::BadBits)?;
    let easiest = network.spec().easiest_target_at(header.height);
    if target > easiest {
        return Err(BlockError::TargetTooEasy {
            height: header.height,
            target,
            easiest,
        });
    }
    check_header(header)
}

/// Checks a transaction's shape, sizes and amounts — everything stateless except signatures.
fn check_transaction_shape(tx: &Transaction, network: &Network) -> Result<(), TxError> {
    let spec = network.spec();
    if tx.version != TX_VERSION {
        return Err(TxError::UnsupportedVersion(tx.version));
    }
    if tx.payload.len() > spec.max_payload_bytes as usize {
        return Err(TxError::PayloadTooLarge {
            len: tx.payload.len(),
            max: spec.max_payload_bytes,
        });
    }
    let len = tx.encoded_len();
    if len > spec.max_block_bytes as usize {
        return Err(TxError::TooLarge {
            len,
            max: spec.max_block_bytes as usize,
        });
    }
    if let Some(vout) = tx.outputs.iter().position(|o| o.amount == Amount::ZERO) {
        return Err(TxError::ZeroOutput { vout });
    }
    tx.output_total().map_err(|_| TxError::OutputsOverflow)?;
    match &tx.kind {
        TxKind::Coinbase { .. } => {}
        TxKind::Transfer { inputs } => {
            if inputs.is_empty() {
                return Err(TxError::NoInputs);
            }
            let mut seen = HashSet::with_capacity(inputs.len());
            for input in inputs {
                if !seen.insert(input.prev_out) {
                    return Err(TxError::DuplicateInput(input.prev_out));
                }
            }
        }
        TxKind::Record { .. } => {
            if !tx.outputs.is_empty() {
                return Err(TxError::RecordWithOutputs);
            }
            if tx.payload.is_empty() {
                return Err(TxError::EmptyRecord);
            }
        }
    }
    Ok(())
}

/// Checks a loose (not-in-a-block) transaction statelessly, signatures included: what a mempool checks
/// before looking at the UTXO set. A coinbase is refused: it is only valid inside its block.
///
/// # Errors
/// The first [`TxError`] found.
pub fn check_transaction(tx: &Transaction, network: &Network) -> Result<(), TxError> {
    if tx.is_coinbase() {
        return Err(TxError::UnexpectedCoinbase);
    }
    check_transaction_shape(tx, network)?;
    let msg = tx.sighash(&network.genesis_hash());
    for (index, (key, sig)) in tx.signatures().iter().enumerate() {
        key.verify(&msg, sig)
            .map_err(|error| TxError::BadSignature { index, error })?;
    }
    Ok(())
}

/// A block that passed every stateless check. Only [`check_block`] makes one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckedBlock {
    block: Block,
    hash: BlockHash,
    txids: Vec<Txid>,
}

impl CheckedBlock {
    /// The block.
    pub fn block(&self) -> &Block {
        &self.block
    }
    /// The block's hash.
    pub fn hash(&self) -> BlockHash {
        self.hash
    }
    /// The transaction ids, in order.
    pub fn txids(&self) -> &[Txid] {
        &self.txids
    }
    /// The header.
    pub fn header(&self) -> &Header {
        &self.block.header
    }
    /// Gives the block back.
    pub fn into_block(self) -> Block {
        self.block
    }
}

/// Checks a block statelessly, cheapest first: header, target bound and proof of work ([`check_header_for`]),
/// size, coinbase placement and height, Merkle root, no
/// duplicate transactions, sizes, and every signature (verified in one batch, with the caller's RNG).
///
/// # Errors
/// The first [`BlockError`] found.
pub fn check_block<R: rand_core::CryptoRng>(
    block: Block,
    network: &Network,
    rng: &mut R,
) -> Result<CheckedBlock, BlockError> {
    check_block_known(block, network, rng, |_| false)
}

/// [`check_block`], but the signatures of the transactions `verified` recognises are not checked again: a
/// txid is the hash of the whole encoding, signatures included, so a transaction whose id passed
/// [`check_transaction`] (or a block's checks) before is the same signed transaction. Every other check —
/// shapes included — runs for every transaction. The caller answers for what `verified` says.
///
/// # Errors
/// The first [`BlockError`] found.
pub fn check_block_known<R: rand_core::CryptoRng>(
    block: Block,
    network: &Network,
    rng: &mut R,
    verified: impl Fn(&Txid) -> bool,
) -> Result<CheckedBlock, BlockError> {
    let mut batch = Signatures::default();
    let checked = check_all_but_signatures(block, 0, network, &verified, &mut batch)?;
    match batch.verify(rng) {
        Ok(()) => Ok(checked),
        Err((_, error)) => Err(error),
    }
}

/// The stateless checks of several blocks (a batch of a sync), as [`check_block_known`] for each, but with
/// the signatures of all of them verified as **one batch** (cheaper per signature than a batch per block).
/// Every block's other checks — proof of work first — run before any signature is verified. Stops at the
/// first block that fails: returns the checked blocks before it and, if one failed, its position in `blocks`
/// with the error.
pub fn check_blocks_known<R: rand_core::CryptoRng>(
    blocks: Vec<Block>,
    network: &Network,
    rng: &mut R,
    verified: impl Fn(&Txid) -> bool,
) -> (Vec<CheckedBlock>, Option<(usize, BlockError)>) {
    let mut batch = Signatures::default();
    let mut checked = Vec::with_capacity(blocks.len());
    let mut failure = None;
    for (position, block) in blocks.into_iter().enumerate() {
        match check_all_but_signatures(block, position, network, &verified, &mut batch) {
            Ok(c) => checked.push(c),
            Err(e) => {
                failure = Some((position, e));
                break;
            }
        }
    }
    // Signatures are queued in block order, so a bad one fails its block and keeps the blocks before it
    // (every signature before the first bad one is valid).
    if let Err((position, error)) = batch.verify(rng) {
        checked.truncate(position);
        failure = Some((position, error));
    }
    (checked, failure)
}

/// Signatures queued for one batch, each with the block (its position in a batch), transaction and input
/// it belongs to.
#[derive(Default)]
struct Signatures {
    batch: BatchVerifier,
    owners: Vec<(usize, usize, Txid, usize)>,
}

impl Signatures {
    /// Verifies the batch; on failure, the position of the block of the first bad signature and its error.
    fn verify<R: rand_core::CryptoRng>(self, rng: &mut R) -> Result<(), (usize, BlockError)> {
        let owners = self.owners;
        self.batch.verify(rng).map_err(|(i, error)| {
            let (position, index, txid, input) =
                owners.get(i).copied().unwrap_or((0, 0, Txid::ZERO, 0));
            (
                position,
                BlockError::tx(
                    index,
                    txid,
                    TxError::BadSignature {
                        index: input,
                        error,
                    },
                ),
            )
        })
    }
}

/// Every stateless check of a block but the signatures, which are queued on `batch` (those of transactions
/// `verified` recognises are skipped). `position` tags them.
fn check_all_but_signatures(
    block: Block,
    position: usize,
    network: &Network,
    verified: &impl Fn(&Txid) -> bool,
    batch: &mut Signatures,
) -> Result<CheckedBlock, BlockError> {
    let hash = check_header_for(&block.header, network)?;
    let spec = network.spec();
    let size = block.encoded_len();
    if size > spec.max_block_bytes as usize {
        return Err(BlockError::TooLarge {
            size,
            max: spec.max_block_bytes,
        });
    }
    let coinbase = block
        .transactions
        .first()
        .ok_or(BlockError::NoTransactions)?;
    match coinbase.kind {
        TxKind::Coinbase { height } if height == block.header.height => {}
        TxKind::Coinbase { height } => {
            return Err(BlockError::CoinbaseHeightMismatch {
                header: block.header.height,
                coinbase: height,
            });
        }
        _ => return Err(BlockError::FirstNotCoinbase),
    }
    if let Some(index) = block
        .transactions
        .iter()
        .skip(1)
        .position(Transaction::is_coinbase)
    {
        return Err(BlockError::ExtraCoinbase { index: index + 1 });
    }
    let txids = block.txids();
    let mut seen = HashSet::with_capacity(txids.len());
    for txid in &txids {
        if !seen.insert(*txid) {
            return Err(BlockError::DuplicateTxid(*txid));
        }
    }
    let computed = merkle_root(&txids);
    if computed != block.header.merkle_root {
        return Err(BlockError::MerkleRootMismatch {
            header: block.header.merkle_root,
            computed,
        });
    }
    let genesis = network.genesis_hash();
    for (index, tx) in block.transactions.iter().enumerate() {
        check_transaction_shape(tx, network).map_err(|e| BlockError::tx(index, txids[index], e))?;
    }
    for (index, tx) in block.transactions.iter().enumerate() {
        let sigs = tx.signatures();
        if sigs.is_empty() || verified(&txids[index]) {
            continue;
        }
        let msg = tx.sighash(&genesis);
        for (input, (key, sig)) in sigs.into_iter().enumerate() {
            batch.batch.queue(key, sig, msg);
            batch.owners.push((position, index, txids[index], input));
        }
    }
    Ok(CheckedBlock { block, hash, txids })
}

/// What a header must agree with in the chain it extends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeaderContext {
    /// The parent's hash.
    pub parent_hash: BlockHash,
    /// The height the new block must have (parent + 1).
    pub height: Height,
    /// The compact target the difficulty rules require ([`crate::ChainSpec::expected_bits`]).
    pub expected_bits: CompactTarget,
    /// Median time of up to 11 previous blocks ([`crate::spec::median_time_past`]).
    pub median_time_past: u64,
    /// This node's clock, ms since the Unix epoch.
    pub now_ms: u64,
}

/// Checks a header against its place in the chain: parent, height, target and timestamps.
///
/// # Errors
/// [`BlockError::WrongParent`], [`BlockError::WrongHeight`], [`BlockError::WrongBits`],
/// [`BlockError::TimeTooEarly`], [`BlockError::TimeTooFarInFuture`].
pub fn check_header_contextual(
    header: &Header,
    ctx: &HeaderContext,
    network: &Network,
) -> Result<(), BlockError> {
    if header.prev_hash != ctx.parent_hash {
        return Err(BlockError::WrongParent {
            expected: ctx.parent_hash,
            found: header.prev_hash,
        });
    }
    if header.height != ctx.height {
        return Err(BlockError::WrongHeight {
            expected: ctx.height,
            found: header.height,
        });
    }
    if header.bits != ctx.expected_bits {
        return Err(BlockError::WrongBits {
            expected: ctx.expected_bits,
            found: header.bits,
        });
    }
    if header.time_ms <= ctx.median_time_past {
        return Err(BlockError::TimeTooEarly {
            time_ms: header.time_ms,
            median_time_past: ctx.median_time_past,
        });
    }
    let max_allowed = ctx
        .now_ms
        .saturating_add(network.spec().max_future_drift_ms);
    if header.time_ms > max_allowed {
        return Err(BlockError::TimeTooFarInFuture {
            time_ms: header.time_ms,
            max_allowed,
        });
    }
    Ok(())
}

/// Checks a non-coinbase transaction's inputs against a UTXO view, for inclusion in a block at `height`,
/// and returns its fee. Records must not already be in the chain.
///
/// # Errors
/// [`TxError::MissingOrSpentInput`], [`TxError::KeyMismatch`], [`TxError::ImmatureCoinbase`],
/// [`TxError::InsufficientInputs`], [`TxError::AlreadyInChain`].
pub fn check_transaction_inputs(
    tx: &Transaction,
    txid: &Txid,
    view: &impl UtxoView,
    height: Height,
    network: &Network,
) -> Result<Amount, TxError> {
    match &tx.kind {
        TxKind::Coinbase { .. } => Err(TxError::UnexpectedCoinbase),
        TxKind::Record { .. } if view.contains_txid(txid) => Err(TxError::AlreadyInChain(*txid)),
        TxKind::Record { .. } => Ok(Amount::ZERO),
        TxKind::Transfer { .. } => {
            let mut spent = Vec::new();
            input_entries(tx, height, network, |_, op| Ok(view.utxo(op)), &mut spent)
                .map(|(fee, _)| fee)
        }
    }
}

/// Looks up and checks each input; returns the fee and pushes (outpoint, entry) of each input to `spent`.
fn input_entries(
    tx: &Transaction,
    height: Height,
    network: &Network,
    mut lookup: impl FnMut(usize, &OutPoint) -> Result<Option<UtxoEntry>, TxError>,
    spent: &mut Vec<(OutPoint, UtxoEntry)>,
) -> Result<(Amount, usize), TxError> {
    let maturity = network.spec().coinbase_maturity;
    let mut total = Amount::ZERO;
    let first = spent.len();
    for (index, input) in tx.inputs().iter().enumerate() {
        let outpoint = input.prev_out;
        let entry =
            lookup(index, &outpoint)?.ok_or(TxError::MissingOrSpentInput { index, outpoint })?;
        let found = input.public_key.pubkey_hash();
        if found != entry.output.address {
            return Err(TxError::KeyMismatch {
                index,
                expected: entry.output.address,
                found,
            });
        }
        if entry.is_coinbase {
            let spendable_at = Height(entry.height.0.saturating_add(maturity));
            if height < spendable_at {
                return Err(TxError::ImmatureCoinbase {
                    index,
                    created: entry.height,
                    spendable_at,
                });
            }
        }
        // Sums of existing outputs cannot exceed the supply, but check anyway.
        total = total
            .checked_add(entry.output.amount)
            .map_err(|_| TxError::OutputsOverflow)?;
        spent.push((outpoint, entry));
    }
    let outputs = tx.output_total().map_err(|_| TxError::OutputsOverflow)?;
    let fee = total
        .checked_sub(outputs)
        .map_err(|_| TxError::InsufficientInputs {
            inputs: total,
            outputs,
        })?;
    Ok((fee, spent.len() - first))
}

/// Checks a stateless-checked block against the chain it extends and returns the changes it makes:
/// header context, then every transaction in order (inputs exist and are unspent — also within the block —
/// keys match, coinbases matured, inputs cover outputs, records new), then the coinbase against subsidy plus
/// fees.
///
/// # Errors
/// The first [`BlockError`] found.
pub fn connect_block(
    block: &CheckedBlock,
    ctx: &HeaderContext,
    network: &Network,
    view: &impl UtxoView,
) -> Result<BlockChanges, BlockError> {
    check_header_contextual(block.header(), ctx, network)?;
    let height = block.header().height;
    let txs = &block.block.transactions;
    // Outputs created earlier in this block and not yet spent.
    let mut created: HashMap<OutPoint, UtxoEntry> = HashMap::new();
    let mut created_order: Vec<OutPoint> = Vec::new();
    let mut spent_in_block: HashSet<OutPoint> = HashSet::new();
    let mut spent: Vec<(OutPoint, UtxoEntry)> = Vec::new();
    let mut fees = Amount::ZERO;
    for (index, tx) in txs.iter().enumerate() {
        let txid = block.txids[index];
        let err = |e| BlockError::tx(index, txid, e);
        match &tx.kind {
            TxKind::Coinbase { .. } => {}
            TxKind::Record { .. } => {
                if view.contains_txid(&txid) {
                    return Err(err(TxError::AlreadyInChain(txid)));
                }
            }
            TxKind::Transfer { .. } => {
                let mut from_chain = Vec::new();
                let (fee, _) = input_entries(
                    tx,
                    height,
                    network,
                    |i, op| {
                        if !spent_in_block.insert(*op) {
                            return Err(TxError::DoubleSpendInBlock {
                                index: i,
                                outpoint: *op,
                            });
                        }
                        if let Some(entry) = created.remove(op) {
                            return Ok(Some(entry));
                        }
                        let entry = view.utxo(op);
                        if let Some(e) = entry {
                            from_chain.push((*op, e));
                        }
                        Ok(entry)
                    },
                    &mut Vec::new(),
                )
                .map_err(err)?;
                spent.extend(from_chain);
                fees = fees
                    .checked_add(fee)
                    .map_err(|_| err(TxError::OutputsOverflow))?;
            }
        }
        for (outpoint, entry) in created_outputs(tx, txid, height, tx.is_coinbase()) {
            created_order.push(outpoint);
            created.insert(outpoint, entry);
        }
    }
    let subsidy = network.spec().subsidy_at(height);
    let allowed = subsidy.checked_add(fees).unwrap_or(Amount::MAX);
    let claimed = txs[0]
        .output_total()
        .map_err(|_| BlockError::tx(0, block.txids[0], TxError::OutputsOverflow))?;
    if claimed > allowed {
        return Err(BlockError::CoinbaseTooLarge { claimed, allowed });
    }
    let created = created_order
        .into_iter()
        .filter_map(|op| created.remove(&op).map(|e| (op, e)))
        .collect();
    Ok(BlockChanges {
        height,
        block_hash: block.hash,
        spent,
        created,
        txids: block.txids.clone(),
        fees,
    })
}

/// A view over another view with blocks' changes applied or undone on top, without modifying the base: lets a
/// caller check a reorg — disconnect some blocks, connect others — in memory before committing anything.
#[derive(Debug)]
pub struct OverlayView<'a, V> {
    base: &'a V,
    added: HashMap<OutPoint, UtxoEntry>,
    removed: HashSet<OutPoint>,
    txids_added: HashSet<Txid>,
    txids_removed: HashSet<Txid>,
}

impl<'a, V: UtxoView> OverlayView<'a, V> {
    /// An overlay with no changes yet.
    pub fn new(base: &'a V) -> Self {
        OverlayView {
            base,
            added: HashMap::new(),
            removed: HashSet::new(),
            txids_added: HashSet::new(),
            txids_removed: HashSet::new(),
        }
    }

    /// Applies a block's changes on top (connect).
    pub fn apply(&mut self, changes: &BlockChanges) {
        self.change(&changes.spent, &changes.created);
        for t in &changes.txids {
            if !self.txids_removed.remove(t) {
                self.txids_added.insert(*t);
            }
        }
    }

    /// Reverts a block's changes on top (disconnect): its created outputs go, its spent outputs return.
    pub fn undo(&mut self, changes: &BlockChanges) {
        self.change(&changes.created, &changes.spent);
        for t in &changes.txids {
            if !self.txids_added.remove(t) {
                self.txids_removed.insert(*t);
            }
        }
    }

    fn change(&mut self, gone: &[(OutPoint, UtxoEntry)], new: &[(OutPoint, UtxoEntry)]) {
        for (op, _) in gone {
            self.added.remove(op);
            self.removed.insert(*op);
        }
        for (op, e) in new {
            self.removed.remove(op);
            self.added.insert(*op, *e);
        }
    }
}

impl<V: UtxoView> UtxoView for OverlayView<'_, V> {
    fn utxo(&self, outpoint: &OutPoint) -> Option<UtxoEntry> {
        if let Some(e) = self.added.get(outpoint) {
            return Some(*e);
        }
        if self.removed.contains(outpoint) {
            return None;
        }
        self.base.utxo(outpoint)
    }
    fn contains_txid(&self, txid: &Txid) -> bool {
        self.txids_added.contains(txid)
            || (!self.txids_removed.contains(txid) && self.base.contains_txid(txid))
    }
}
