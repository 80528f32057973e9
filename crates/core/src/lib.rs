//! # ferrochain-core
//!
//! The pure consensus core of ferrochain: what a valid block and transaction are, with no I/O, no async
//! runtime, no clock and no randomness of its own (time and randomness are parameters).
//!
//! # Layout
//! - [`hash`]: SHA-256 and the hash newtypes [`BlockHash`], [`Txid`], [`MerkleNode`].
//! - [`pow`]: proof-of-work targets, compact `bits`, work and retargeting.
//! - [`merkle`]: Merkle roots and inclusion proofs (RFC 6962 shape, safe against duplicate leaves).

pub mod block;
pub mod crypto;
pub mod encode;
pub mod hash;
pub mod merkle;
pub mod pow;
pub mod spec;
pub mod tx;
pub mod units;
pub mod utxo;

pub use block::{Block, Header, HeaderHasher};
pub use crypto::{PubkeyHash, PublicKey, Signature, SigningKey};
pub use encode::{Decode, DecodeError, Encode};
pub use hash::{BlockHash, MerkleNode, Txid};
pub use pow::{CompactTarget, Target, Work};
pub use spec::{ChainSpec, Network};
pub use tx::{OutPoint, Transaction, TxIn, TxKind, TxOut};
pub use units::{Amount, Height};
pub use utxo::{BlockChanges, UtxoEntry, UtxoView};
