//! # ferrochain-core
//!
//! The pure consensus core of ferrochain: what a valid block and transaction are, with no I/O, no async
//! runtime, no clock and no randomness of its own (time and randomness are parameters).
//!
//! # Layout
//! - [`hash`]: SHA-256 and the hash newtypes [`BlockHash`], [`Txid`], [`MerkleNode`].
//! - [`pow`]: proof-of-work targets, compact `bits`, work and retargeting.
//! - [`merkle`]: Merkle roots and inclusion proofs (RFC 6962 shape, safe against duplicate leaves).
//! - [`units`]: [`Amount`] (checked, capped at 2^53 − 1) and [`Height`].
//! - [`encode`]: the canonical binary encoding and its structural checks ([`Encode`], [`Decode`]).
//! - [`crypto`]: Ed25519 keys and signatures (ZIP-215 rules, batch verification), key hashes, bech32m addresses.
//! - [`tx`]: transactions — coinbase, transfer, record — their ids and signature message.
//! - [`block`]: headers (nonce last), blocks, and the midstate [`HeaderHasher`] miners use.
//! - [`spec`]: the chain spec (TOML, presets `dev` and `lab`), genesis, subsidy and difficulty schedule;
//!   [`Network`] = a checked spec plus its genesis block.
//! - [`utxo`]: the [`UtxoView`] the contextual checks read, [`BlockChanges`] (apply/undo data) and an
//!   in-memory UTXO set.
//! - [`builder`]: an in-memory chain that mines and connects blocks through every check (tests, tools).
//! - [`check`]: the stateless and contextual checks, ending in [`check::connect_block`].
//!
//! # Validity levels
//! *Structural* (decoding), *stateless* ([`check::check_block`] → [`CheckedBlock`]) and *contextual*
//! ([`check::connect_block`] → [`BlockChanges`]). The full rules, with the function enforcing each, are in
//! `docs/protocol.md`.

/// Implements serde for a type through its `Display` / `FromStr` text form (hashes, keys, targets, work).
macro_rules! serde_via_string {
    ($name:ident) => {
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

pub mod block;
pub mod builder;
pub mod check;
pub mod crypto;
pub mod encode;
pub mod hash;
pub mod merkle;
pub mod pow;
pub mod spec;
#[cfg(feature = "test-utils")]
pub mod testing;
pub mod tx;
pub mod units;
pub mod utxo;

pub use block::{Block, Header, HeaderHasher};
pub use check::{BlockError, CheckedBlock, HeaderContext, TxError};
pub use crypto::{PubkeyHash, PublicKey, Signature, SigningKey};
pub use encode::{Decode, DecodeError, Encode};
pub use hash::{BlockHash, MerkleNode, Txid};
pub use pow::{CompactTarget, Target, Work};
pub use spec::{ChainSpec, Network};
pub use tx::{OutPoint, Transaction, TxIn, TxKind, TxOut};
pub use units::{Amount, Height};
pub use utxo::{BlockChanges, UtxoEntry, UtxoView};
