//! # ferrochain-core
//!
//! The pure consensus core of ferrochain: what a valid block and transaction are, with no I/O, no async
//! runtime, no clock and no randomness of its own (time and randomness are parameters).
//!
//! # Layout
//! - [`hash`]: SHA-256 and the hash newtypes [`BlockHash`], [`Txid`], [`MerkleNode`].
//! - [`pow`]: proof-of-work targets, compact `bits`, work and retargeting.
//! - [`merkle`]: Merkle roots and inclusion proofs (RFC 6962 shape, safe against duplicate leaves).

pub mod hash;
pub mod merkle;
pub mod pow;

pub use hash::{BlockHash, MerkleNode, Txid};
