//! Whole-chain operations: `verify` (re-validate the stored chain from genesis), `export` and `import`
//! (a portable file of blocks — what the seed systems' `/save` wrote, done so that importing re-validates
//! everything).
//!
//! # Export file format (version 1)
//! | bytes | field |
//! |---|---|
//! | 8 | magic `FCBLOCKS` |
//! | 4 | format version, u32 LE (1) |
//! | 32 | network id (genesis hash) |
//! | 8 | number of blocks, u64 LE (genesis included) |
//! | per block: 4 + n | length u32 LE, then the block's canonical encoding (`docs/protocol.md` §2) |

use std::io::{Read, Write};

use ferrochain_core::builder::ChainBuilder;
use ferrochain_core::check::BlockError;
use ferrochain_core::encode::{Decode, Encode, MAX_BLOCK_BYTES};
use ferrochain_core::{Block, BlockHash, Height};

use crate::chain::{BlockOutcome, State, StateError};

/// The export file's magic bytes.
pub const EXPORT_MAGIC: &[u8; 8] = b"FCBLOCKS";
/// The export format version written.
pub const EXPORT_VERSION: u32 = 1;

/// What `verify` checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VerifyReport {
    /// Blocks re-validated (genesis excluded).
    pub blocks: u64,
    /// Transactions in them.
    pub transactions: u64,
    /// The tip reached.
    pub tip: BlockHash,
}

/// Why the stored chain failed verification.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The state could not be read.
    #[error(transparent)]
    State(#[from] StateError),
    /// An active block is missing from the store.
    #[error("block at height {0} of the active chain is missing from the store")]
    Missing(Height),
    /// The first block that fails validation.
    #[error("block {hash} at height {height} is invalid: {error}")]
    Invalid {
        /// Its height.
        height: Height,
        /// Its hash.
        hash: BlockHash,
        /// Why.
        error: Box<BlockError>,
    },
    /// Replaying the blocks gives another UTXO set than the one stored.
    #[error(
        "the stored UTXO set differs from a replay of the stored blocks ({stored} stored, {replayed} replayed outputs)"
    )]
    UtxoMismatch {
        /// Outputs in the stored set.
        stored: usize,
        /// Outputs after the replay.
        replayed: usize,
    },
}

/// Re-validates every block of the stored active chain from genesis with the full consensus rules (clock at
/// `now_ms`), and checks that the stored UTXO set equals the replay's. `progress(done, total)` is called
/// after each block.
///
/// # Errors
/// The first [`VerifyError`] found.
pub fn verify(
    state: &State,
    now_ms: u64,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<VerifyReport, VerifyError> {
    let tip = state.tip();
    let mut replay = ChainBuilder::new(state.network().clone());
    let mut transactions = 0u64;
    let mut rng = rand::rng();
    for h in 1..=tip.height.0 {
        let height = Height(h);
        let block = state
            .block_at(height)?
            .ok_or(VerifyError::Missing(height))?;
        let hash = block.hash();
        transactions += block.transactions.len() as u64;
        replay
            .push(block, now_ms, &mut rng)
            .map_err(|error| VerifyError::Invalid {
                height,
                hash,
                error: Box::new(error),
            })?;
        progress(h, tip.height.0);
    }
    let stored = state.utxo_set();
    if stored != *replay.utxos() {
        return Err(VerifyError::UtxoMismatch {
            stored: stored.len(),
            replayed: replay.utxos().len(),
        });
    }
    Ok(VerifyReport {
        blocks: tip.height.0,
        transactions,
        tip: tip.hash,
    })
}

/// Why an export or import failed.
#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    /// Reading or writing the file failed.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    /// The state failed.
    #[error(transparent)]
    State(#[from] StateError),
    /// The file is not a ferrochain export.
    #[error("not a ferrochain block export (bad magic bytes)")]
    NotAnExport,
    /// The file's format version is unknown.
    #[error("export format version {0} is not supported (this ferrochain reads version 1)")]
    UnknownVersion(u32),
    /// The file holds another network's chain.
    #[error("the export is of network {found}, this node runs {expected}")]
    WrongNetwork {
        /// This node's network id.
        expected: BlockHash,
        /// The file's.
        found: BlockHash,
    },
    /// A block in the file is malformed or invalid.
    #[error("block {index} of the file: {reason}")]
    BadBlock {
        /// Its position in the file (genesis = 0).
        index: u64,
        /// Why.
        reason: String,
    },
}

/// Writes the active chain, genesis first, in the export format. Returns the number of blocks written.
///
/// # Errors
/// [`TransferError::Io`], [`TransferError::State`].
pub fn export(state: &State, out: &mut dyn Write) -> Result<u64, TransferError> {
    let tip = state.tip();
    let count = tip.height.0 + 1;
    out.write_all(EXPORT_MAGIC)?;
    out.write_all(&EXPORT_VERSION.to_le_bytes())?;
    out.write_all(state.network().genesis_hash().as_bytes())?;
    out.write_all(&count.to_le_bytes())?;
    for h in 0..count {
        let block = state
            .block_at(Height(h))?
            .ok_or_else(|| StateError::Inconsistent(format!("active block {h} is not stored")))?;
        let bytes = block.to_bytes();
        out.write_all(&(bytes.len() as u32).to_le_bytes())?;
        out.write_all(&bytes)?;
    }
    out.flush()?;
    Ok(count)
}

/// What an import did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Blocks in the file (genesis included).
    pub blocks: u64,
    /// Blocks that were new to this node.
    pub added: u64,
}

/// Blocks per store transaction of [`import`].
pub const IMPORT_BATCH: usize = 500;
/// Most encoded bytes of blocks per store transaction of [`import`].
pub const IMPORT_BATCH_BYTES: usize = 32 << 20;

/// Reads block `index` of an export (its length, then its bytes into `buf`) and decodes it.
fn read_block(input: &mut dyn Read, buf: &mut Vec<u8>, index: u64) -> Result<Block, TransferError> {
    let bad = |reason: String| TransferError::BadBlock { index, reason };
    let mut word = [0u8; 4];
    input
        .read_exact(&mut word)
        .map_err(|e| bad(format!("file ends early: {e}")))?;
    let len = u32::from_le_bytes(word) as usize;
    if len > MAX_BLOCK_BYTES {
        return Err(bad(format!("length {len} is larger than any block may be")));
    }
    buf.resize(len, 0);
    input
        .read_exact(buf)
        .map_err(|e| bad(format!("file ends early: {e}")))?;
    Block::from_bytes(buf).map_err(|e| bad(e.to_string()))
}

/// Submits one batch of an import whose first block is block `first` of the file; returns how many were new.
fn submit_import_batch(
    state: &State,
    blocks: Vec<Block>,
    first: u64,
) -> Result<u64, TransferError> {
    let outcome = state.submit_blocks(blocks, None);
    let mut added = 0;
    for (i, (_, o)) in outcome.outcomes.iter().enumerate() {
        match o {
            BlockOutcome::AlreadyKnown => {}
            BlockOutcome::Orphan { .. } => {
                return Err(TransferError::BadBlock {
                    index: first + i as u64,
                    reason: "its parent is not in the file before it".into(),
                });
            }
            _ => added += 1,
        }
    }
    match outcome.error {
        // The failing block comes right after the accepted ones.
        Some((_, e)) => Err(TransferError::BadBlock {
            index: first + outcome.outcomes.len() as u64,
            reason: e.to_string(),
        }),
        None => Ok(added),
    }
}

/// Reads an export and submits every block to the state, with full validation. Blocks already known are
/// skipped. Blocks are submitted in batches ([`IMPORT_BATCH`] blocks, at most [`IMPORT_BATCH_BYTES`]), each
/// committed in one store transaction ([`State::submit_blocks`]); `progress(done, total)` is called after
/// each batch.
///
/// # Errors
/// [`TransferError`]: a foreign or malformed file, or the first invalid block (the batches before it stay,
/// and the blocks of its own batch before it).
pub fn import(
    state: &State,
    input: &mut dyn Read,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<ImportReport, TransferError> {
    let mut magic = [0u8; 8];
    input
        .read_exact(&mut magic)
        .map_err(|_| TransferError::NotAnExport)?;
    if &magic != EXPORT_MAGIC {
        return Err(TransferError::NotAnExport);
    }
    let mut word = [0u8; 4];
    input.read_exact(&mut word)?;
    let version = u32::from_le_bytes(word);
    if version != EXPORT_VERSION {
        return Err(TransferError::UnknownVersion(version));
    }
    let mut id = [0u8; 32];
    input.read_exact(&mut id)?;
    let found = BlockHash::from_byte_array(id);
    let expected = state.network().genesis_hash();
    if found != expected {
        return Err(TransferError::WrongNetwork { expected, found });
    }
    let mut count = [0u8; 8];
    input.read_exact(&mut count)?;
    let count = u64::from_le_bytes(count);
    let mut report = ImportReport {
        blocks: count,
        added: 0,
    };
    let mut buf = Vec::new();
    let mut batch: Vec<Block> = Vec::new();
    let mut batch_bytes = 0usize;
    for index in 0..count {
        let block = match read_block(input, &mut buf, index) {
            Ok(block) => block,
            Err(e) => {
                // The blocks read before the bad one still go in (an earlier bad block wins).
                let first = index - batch.len() as u64;
                if !batch.is_empty() {
                    submit_import_batch(state, std::mem::take(&mut batch), first)?;
                }
                return Err(e);
            }
        };
        if index == 0 {
            if block.hash() != expected {
                return Err(TransferError::BadBlock {
                    index,
                    reason: "the first block is not this network's genesis".into(),
                });
            }
            progress(1, count);
            continue;
        }
        batch_bytes += buf.len();
        batch.push(block);
        if batch.len() >= IMPORT_BATCH || batch_bytes >= IMPORT_BATCH_BYTES || index + 1 == count {
            let first = index + 1 - batch.len() as u64;
            report.added += submit_import_batch(state, std::mem::take(&mut batch), first)?;
            batch_bytes = 0;
            progress(index + 1, count);
        }
    }
    Ok(report)
}
