//! Provenance proofs: a record's proof bundle, checked offline with no node.
//!
//! A [`RecordProof`] holds a signed record, the header of the block that contains it, the Merkle
//! path from the record's txid to that header's Merkle root, the headers of the following blocks
//! up to a chosen tip, and the network id (genesis hash). [`RecordProof::verify`] checks, with
//! nothing but the bundle:
//!
//! 1. the network, if the caller names the one it expects ([`ProofError::WrongNetwork`]);
//! 2. that the transaction is a well-formed record ([`ProofError::NotARecord`],
//!    [`ProofError::MalformedRecord`]);
//! 3. the author's signature over the record's signature message for that network id
//!    ([`ProofError::BadSignature`]) — so the payload, timestamp and author are exactly what the
//!    author signed, for this network;
//! 4. the Merkle path from the record's txid to the block header's Merkle root
//!    ([`ProofError::MerklePathMismatch`]) — so the record is in that block;
//! 5. every header's proof of work against its own target ([`ProofError::InsufficientWork`],
//!    [`ProofError::InvalidHeader`]); a height-0 header must be the network's genesis, which is
//!    not mined ([`ProofError::WrongGenesis`]);
//! 6. that each following header names the previous header's hash as its parent
//!    ([`ProofError::BrokenLink`]) and is exactly one block higher
//!    ([`ProofError::HeightMismatch`]).
//!
//! The result, a [`VerifiedRecord`], says who signed what and when, in which block, and under
//! how many confirmations and how much work.
//!
//! # What a proof does not show
//!
//! Offline, nothing says the tip is on the network's *best* chain: someone could mine a private
//! branch. The proof shows that the work in [`VerifiedRecord::total_work`] was spent on top of the
//! record; compare [`VerifiedRecord::tip_hash`] with a source you trust (your node, a published
//! checkpoint), and with [`RecordProof::verify_for_network`] also check each header's target
//! against the chain spec (not easier than its proof-of-work limit, and the fixed difficulty of a
//! non-retargeting chain). The Merkle path's leaf position is not authenticated (see
//! `ferrochain_core::merkle`), so the record's index in the block is not reported.
//!
//! # Format
//!
//! JSON, specified in `docs/wallet-format.md` ("Record proof bundle"): an envelope
//! `{"format": "ferrochain-record-proof", "version": 1, ...}` around `ferrochain-core`'s JSON
//! views of the record, headers and Merkle proof. The node serves it at
//! `/api/v1/txs/{txid}/proof`. Hashes are over the canonical binary encodings, never over JSON:
//! verification re-encodes the parsed values.

use ferrochain_core::check::check_header;
use ferrochain_core::crypto::SignatureError;
use ferrochain_core::merkle::{MerkleProof, merkle_proof};
use ferrochain_core::tx::TX_VERSION;
use ferrochain_core::{
    Block, BlockError, BlockHash, CompactTarget, Header, Height, MerkleNode, Network, PubkeyHash,
    PublicKey, Transaction, TxKind, Txid, Work,
};
use serde::{Deserialize, Serialize};

/// Value of the `format` member.
pub const PROOF_FORMAT_NAME: &str = "ferrochain-record-proof";

/// The proof format version this module reads and writes.
pub const PROOF_FORMAT_VERSION: u32 = 1;

/// A record's proof bundle (see the [module docs](self)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "ProofJson", try_from = "ProofJson")]
pub struct RecordProof {
    /// The signed record.
    pub record: Transaction,
    /// The header of the block containing it.
    pub block_header: Header,
    /// The Merkle path from the record's txid to `block_header.merkle_root`.
    pub merkle: MerkleProof,
    /// The headers after the block, from its child up to the chosen tip, in order (empty: the
    /// block is the tip).
    pub headers: Vec<Header>,
    /// The network id: the genesis hash the record's signature commits to.
    pub network_id: BlockHash,
}

/// What a verified proof establishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedRecord {
    /// The record's txid.
    pub txid: Txid,
    /// The author's public key.
    pub author: PublicKey,
    /// The author's key hash (format it with `Network::address` for display).
    pub author_address_hash: PubkeyHash,
    /// The signed payload.
    pub payload: Vec<u8>,
    /// The time the author put in the record (ms since the Unix epoch; the author's claim).
    pub timestamp_ms: u64,
    /// The block containing the record.
    pub block_hash: BlockHash,
    /// Its height.
    pub height: Height,
    /// Its time, as its miner stated it (ms since the Unix epoch).
    pub block_time_ms: u64,
    /// The last header of the proof.
    pub tip_hash: BlockHash,
    /// Its height.
    pub tip_height: Height,
    /// Blocks from the record's block to the tip, both included (1: the record is in the tip).
    pub confirmations: u64,
    /// The work of those blocks (the sum of each header's work).
    pub total_work: Work,
}

/// Why a proof or a signed record does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The proof is for another network than the one expected.
    #[error("the proof is for network {found}, not the expected {expected}")]
    WrongNetwork {
        /// The network id expected.
        expected: BlockHash,
        /// The proof's network id.
        found: BlockHash,
    },
    /// The transaction is not a record (a transfer or coinbase).
    #[error("the transaction is not a record")]
    NotARecord,
    /// A record that breaks the record rules.
    #[error("malformed record: {reason}")]
    MalformedRecord {
        /// Which rule.
        reason: &'static str,
    },
    /// The author's signature does not verify for this network.
    #[error("the record's signature does not verify for this network: {0}")]
    BadSignature(SignatureError),
    /// The Merkle path does not lead from the record's txid to the block's Merkle root.
    #[error(
        "the Merkle path does not lead from record {txid} to the block's Merkle root {merkle_root}"
    )]
    MerklePathMismatch {
        /// The record's txid.
        txid: Txid,
        /// The block header's Merkle root.
        merkle_root: MerkleNode,
    },
    /// A header's hash is above its own target.
    #[error(
        "the header at height {height} (hash {hash}) does not meet its target: no proof of work"
    )]
    InsufficientWork {
        /// The header's height.
        height: Height,
        /// Its hash.
        hash: BlockHash,
    },
    /// A header is invalid on its own (unknown version, malformed target).
    #[error("the header at height {height} is invalid: {error}")]
    InvalidHeader {
        /// The header's height.
        height: Height,
        /// Why.
        error: BlockError,
    },
    /// A height-0 header that is not the network's genesis.
    #[error("the header at height 0 is {found}, not the network's genesis {expected}")]
    WrongGenesis {
        /// The network id.
        expected: BlockHash,
        /// The header's hash.
        found: BlockHash,
    },
    /// A header does not name the previous header as its parent.
    #[error(
        "broken chain at height {height}: its parent is {found}, but the previous header is {expected}"
    )]
    BrokenLink {
        /// The height of the header whose parent is wrong.
        height: Height,
        /// The previous header's hash.
        expected: BlockHash,
        /// The parent it names.
        found: BlockHash,
    },
    /// A header's height is not the previous header's plus one.
    #[error("header {index} after the block has height {found}, expected {expected}")]
    HeightMismatch {
        /// Its position in `headers` (0: the block's child).
        index: usize,
        /// The height it should have.
        expected: Height,
        /// The height it has.
        found: Height,
    },
    /// A header's target is easier than the chain's proof-of-work limit
    /// ([`RecordProof::verify_for_network`]).
    #[error("the header at height {height} has target {bits}, easier than the network's limit")]
    TargetAboveLimit {
        /// The header's height.
        height: Height,
        /// Its target.
        bits: CompactTarget,
    },
    /// A header's target is not the fixed difficulty of a non-retargeting chain
    /// ([`RecordProof::verify_for_network`]).
    #[error(
        "the header at height {height} has target {found}, but this network's difficulty is fixed at {expected}"
    )]
    UnexpectedTarget {
        /// The header's height.
        height: Height,
        /// The network's fixed target.
        expected: CompactTarget,
        /// The header's.
        found: CompactTarget,
    },
    /// [`RecordProof::from_block`]: the block does not contain the transaction.
    #[error("transaction {txid} is not in the block")]
    NotInBlock {
        /// The txid looked for.
        txid: Txid,
    },
}

/// Why proof JSON could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofFormatError {
    /// Not JSON of the expected shape (the parser's message).
    #[error("malformed record proof: {0}")]
    Malformed(String),
    /// The `format` member is another string.
    #[error("not a ferrochain record proof (format is {format:?})")]
    NotAProof {
        /// The `format` found.
        format: String,
    },
    /// A `version` this software does not read.
    #[error("unsupported record proof version {0}; this software reads version 1")]
    UnknownVersion(u32),
}

/// Checks a bare signed record offline: that it is a record and that its author's signature
/// verifies over its signature message for the network `network_id` (the genesis hash). Returns
/// the author's key.
///
/// # Errors
/// [`ProofError::NotARecord`], [`ProofError::MalformedRecord`] (unknown version, outputs, empty
/// payload), [`ProofError::BadSignature`].
pub fn verify_record_signature(
    tx: &Transaction,
    network_id: &BlockHash,
) -> Result<PublicKey, ProofError> {
    let TxKind::Record {
        author, signature, ..
    } = &tx.kind
    else {
        return Err(ProofError::NotARecord);
    };
    if tx.version != TX_VERSION {
        return Err(ProofError::MalformedRecord {
            reason: "unknown transaction version",
        });
    }
    if !tx.outputs.is_empty() {
        return Err(ProofError::MalformedRecord {
            reason: "a record may not have outputs",
        });
    }
    if tx.payload.is_empty() {
        return Err(ProofError::MalformedRecord {
            reason: "a record must carry a payload",
        });
    }
    author
        .verify(&tx.sighash(network_id), signature)
        .map_err(ProofError::BadSignature)?;
    Ok(*author)
}

impl RecordProof {
    /// The proof of record `txid` in `block`, with the `successors` headers (the block's child
    /// up to the tip) and the network id. The bundle is not verified here.
    ///
    /// # Errors
    /// [`ProofError::NotInBlock`], [`ProofError::NotARecord`].
    pub fn from_block(
        block: &Block,
        txid: &Txid,
        successors: &[Header],
        network_id: BlockHash,
    ) -> Result<RecordProof, ProofError> {
        let txids = block.txids();
        let index = txids
            .iter()
            .position(|t| t == txid)
            .ok_or(ProofError::NotInBlock { txid: *txid })?;
        let record = block
            .transactions
            .get(index)
            .ok_or(ProofError::NotInBlock { txid: *txid })?;
        if !matches!(record.kind, TxKind::Record { .. }) {
            return Err(ProofError::NotARecord);
        }
        let merkle = merkle_proof(&txids, index).ok_or(ProofError::NotInBlock { txid: *txid })?;
        Ok(RecordProof {
            record: record.clone(),
            block_header: block.header,
            merkle,
            headers: successors.to_vec(),
            network_id,
        })
    }

    /// Verifies the bundle offline (the checks of the [module docs](self)). With
    /// `expected_network`, the proof must be for that network id.
    ///
    /// # Errors
    /// The first [`ProofError`] found, in the order of the module docs.
    pub fn verify(
        &self,
        expected_network: Option<&BlockHash>,
    ) -> Result<VerifiedRecord, ProofError> {
        if let Some(expected) = expected_network
            && *expected != self.network_id
        {
            return Err(ProofError::WrongNetwork {
                expected: *expected,
                found: self.network_id,
            });
        }
        let author = verify_record_signature(&self.record, &self.network_id)?;
        let TxKind::Record { timestamp_ms, .. } = self.record.kind else {
            return Err(ProofError::NotARecord);
        };
        let txid = self.record.txid();
        if !self.merkle.verify(&txid, &self.block_header.merkle_root) {
            return Err(ProofError::MerklePathMismatch {
                txid,
                merkle_root: self.block_header.merkle_root,
            });
        }
        let block_hash = self.check_pow(&self.block_header)?;
        let mut total_work = header_work(&self.block_header);
        let mut prev = (block_hash, self.block_header.height);
        for (index, header) in self.headers.iter().enumerate() {
            if header.prev_hash != prev.0 {
                return Err(ProofError::BrokenLink {
                    height: header.height,
                    expected: prev.0,
                    found: header.prev_hash,
                });
            }
            let expected = Height(prev.1.0.saturating_add(1));
            if header.height != expected || prev.1.0 == u64::MAX {
                return Err(ProofError::HeightMismatch {
                    index,
                    expected,
                    found: header.height,
                });
            }
            let hash = self.check_pow(header)?;
            total_work = total_work.saturating_add(header_work(header));
            prev = (hash, header.height);
        }
        Ok(VerifiedRecord {
            txid,
            author,
            author_address_hash: author.pubkey_hash(),
            payload: self.record.payload.clone(),
            timestamp_ms,
            block_hash,
            height: self.block_header.height,
            block_time_ms: self.block_header.time_ms,
            tip_hash: prev.0,
            tip_height: prev.1,
            confirmations: (self.headers.len() as u64).saturating_add(1),
            total_work,
        })
    }

    /// [`RecordProof::verify`] for `network`, plus the chain spec's difficulty rules that need
    /// no other header: each target is no easier than the proof-of-work limit, and on a chain
    /// without retargeting each target is the fixed initial one.
    ///
    /// # Errors
    /// As [`RecordProof::verify`] (with `network`'s genesis hash expected), then
    /// [`ProofError::TargetAboveLimit`], [`ProofError::UnexpectedTarget`].
    pub fn verify_for_network(&self, network: &Network) -> Result<VerifiedRecord, ProofError> {
        let verified = self.verify(Some(&network.genesis_hash()))?;
        let spec = network.spec();
        for header in std::iter::once(&self.block_header).chain(&self.headers) {
            if network.is_genesis(&header.hash()) {
                continue;
            }
            let easier = match header.bits.to_target() {
                Ok(target) => target > spec.pow_limit,
                Err(_) => true,
            };
            if easier {
                return Err(ProofError::TargetAboveLimit {
                    height: header.height,
                    bits: header.bits,
                });
            }
            if spec.retarget_interval == 0 && header.bits != spec.initial_bits {
                return Err(ProofError::UnexpectedTarget {
                    height: header.height,
                    expected: spec.initial_bits,
                    found: header.bits,
                });
            }
        }
        Ok(verified)
    }

    /// Proof of work of one header; the genesis (height 0) is recognised by its hash instead.
    fn check_pow(&self, header: &Header) -> Result<BlockHash, ProofError> {
        if header.height == Height::GENESIS {
            let hash = header.hash();
            if hash != self.network_id {
                return Err(ProofError::WrongGenesis {
                    expected: self.network_id,
                    found: hash,
                });
            }
            return Ok(hash);
        }
        check_header(header).map_err(|error| match error {
            BlockError::InsufficientWork { hash, .. } => ProofError::InsufficientWork {
                height: header.height,
                hash,
            },
            error => ProofError::InvalidHeader {
                height: header.height,
                error,
            },
        })
    }

    /// The bundle as pretty-printed JSON (UTF-8, trailing newline).
    pub fn to_json_bytes(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec_pretty(&ProofJson::from(self.clone()))
            .unwrap_or_else(|_| b"{}".to_vec());
        out.push(b'\n');
        out
    }

    /// Reads a bundle. Checks the envelope and shape only; call [`RecordProof::verify`].
    ///
    /// # Errors
    /// [`ProofFormatError::Malformed`], [`ProofFormatError::NotAProof`],
    /// [`ProofFormatError::UnknownVersion`].
    pub fn from_json_bytes(bytes: &[u8]) -> Result<RecordProof, ProofFormatError> {
        let malformed = |e: serde_json::Error| ProofFormatError::Malformed(e.to_string());
        let probe: serde_json::Value = serde_json::from_slice(bytes).map_err(malformed)?;
        let object = probe.as_object().ok_or_else(|| {
            ProofFormatError::Malformed("the document is not a JSON object".into())
        })?;
        match object.get("format") {
            Some(serde_json::Value::String(f)) if f == PROOF_FORMAT_NAME => {}
            Some(serde_json::Value::String(f)) => {
                return Err(ProofFormatError::NotAProof { format: f.clone() });
            }
            Some(_) => {
                return Err(ProofFormatError::Malformed(
                    "`format` is not a string".into(),
                ));
            }
            None => return Err(ProofFormatError::Malformed("missing field `format`".into())),
        }
        match object.get("version").map(serde_json::Value::as_u64) {
            Some(Some(v)) if v == u64::from(PROOF_FORMAT_VERSION) => {}
            Some(Some(v)) => {
                return Err(ProofFormatError::UnknownVersion(
                    u32::try_from(v).unwrap_or(u32::MAX),
                ));
            }
            Some(None) => {
                return Err(ProofFormatError::Malformed(
                    "`version` is not an unsigned integer".into(),
                ));
            }
            None => {
                return Err(ProofFormatError::Malformed(
                    "missing field `version`".into(),
                ));
            }
        }
        let json: ProofJson = serde_json::from_value(probe).map_err(malformed)?;
        RecordProof::try_from(json).map_err(ProofFormatError::Malformed)
    }
}

fn header_work(header: &Header) -> Work {
    header
        .bits
        .to_target()
        .map(|t| t.work())
        .unwrap_or(Work::ZERO)
}

/// The JSON document (envelope plus bundle).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProofJson {
    format: String,
    version: u32,
    network_id: BlockHash,
    record: Transaction,
    block_header: Header,
    merkle: MerkleProof,
    headers: Vec<Header>,
}

impl From<RecordProof> for ProofJson {
    fn from(p: RecordProof) -> ProofJson {
        ProofJson {
            format: PROOF_FORMAT_NAME.to_owned(),
            version: PROOF_FORMAT_VERSION,
            network_id: p.network_id,
            record: p.record,
            block_header: p.block_header,
            merkle: p.merkle,
            headers: p.headers,
        }
    }
}

impl TryFrom<ProofJson> for RecordProof {
    type Error = String;

    fn try_from(j: ProofJson) -> Result<RecordProof, String> {
        if j.format != PROOF_FORMAT_NAME {
            return Err(format!(
                "not a ferrochain record proof (format is {:?})",
                j.format
            ));
        }
        if j.version != PROOF_FORMAT_VERSION {
            return Err(format!(
                "unsupported record proof version {}; this software reads version 1",
                j.version
            ));
        }
        Ok(RecordProof {
            record: j.record,
            block_header: j.block_header,
            merkle: j.merkle,
            headers: j.headers,
            network_id: j.network_id,
        })
    }
}

#[cfg(test)]
mod tests;
