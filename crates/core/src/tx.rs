//! Transactions: coinbase, transfers (with an optional data payload) and signed records
//! (`docs/protocol.md` §4).
//!
//! A transfer spends earlier outputs ([`OutPoint`]s). Each input carries the Ed25519 public key whose hash the
//! spent output is locked to and a signature over the transaction's *signature message*
//! ([`Transaction::sighash`]): SHA-256 of a domain tag, the network's genesis hash and the transaction encoded
//! without its signatures. It therefore commits to every input, output and payload byte, and a transaction
//! signed for one network is invalid on any other.
//!
//! A record carries no inputs and no outputs: its author's key signs the payload (and the rest of the
//! transaction) — how a supply-chain participant with no coins signs data onto the chain. Its timestamp makes
//! two records of the same content by the same author distinct transactions.

use crate::crypto::{PubkeyHash, PublicKey, Signature, SigningKey};
use crate::encode::{
    Decode, DecodeError, Encode, MAX_BYTES_LEN, MAX_LIST_LEN, Reader, put_bytes, put_len, put_list,
};
use crate::hash::{BlockHash, Txid, sha256_concat};
use crate::units::{Amount, Height};

/// The only transaction version defined so far.
pub const TX_VERSION: u32 = 1;

/// Domain tag of the signature message, so a transaction signature can never be mistaken for a signature
/// over anything else.
pub const SIGHASH_TAG: &[u8] = b"ferrochain/tx-signature/v1";

/// A reference to an output of an earlier transaction.
#[derive(
    Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, serde::Serialize, serde::Deserialize,
)]
pub struct OutPoint {
    /// The transaction that created the output.
    pub txid: Txid,
    /// The output's position in that transaction.
    pub vout: u32,
}

/// An input of a transfer: the output it spends and the key and signature that unlock it.
#[derive(Clone, PartialEq, Eq, Debug, serde::Serialize, serde::Deserialize)]
pub struct TxIn {
    /// The output being spent.
    pub prev_out: OutPoint,
    /// The key whose hash the spent output is locked to.
    pub public_key: PublicKey,
    /// Signature over [`Transaction::sighash`].
    pub signature: Signature,
}

/// An output: an amount locked to the hash of a public key.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, serde::Serialize, serde::Deserialize)]
pub struct TxOut {
    /// How much.
    pub amount: Amount,
    /// To whom: the hash of the public key that may spend it.
    pub address: PubkeyHash,
}

/// What kind of transaction this is, with the fields that only that kind has.
#[derive(Clone, PartialEq, Eq, Debug, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TxKind {
    /// The first transaction of a block: creates the block reward. Commits to the height so every coinbase
    /// has a distinct txid.
    Coinbase {
        /// The block's height.
        height: Height,
    },
    /// Spends earlier outputs.
    Transfer {
        /// The outputs spent, with their unlocking keys and signatures.
        inputs: Vec<TxIn>,
    },
    /// A signed record with no inputs and no outputs.
    Record {
        /// The record's author.
        author: PublicKey,
        /// When the author signed it (ms since the Unix epoch), as the author says.
        timestamp_ms: u64,
        /// The author's signature over [`Transaction::sighash`].
        signature: Signature,
    },
}

/// A transaction.
#[derive(Clone, PartialEq, Eq, Debug, serde::Serialize, serde::Deserialize)]
pub struct Transaction {
    /// Format version ([`TX_VERSION`]).
    pub version: u32,
    /// Kind-specific fields.
    pub kind: TxKind,
    /// New outputs.
    pub outputs: Vec<TxOut>,
    /// Arbitrary data (a record's content, a memo, a miner's message), limited by the chain spec.
    #[serde(with = "hex_bytes")]
    pub payload: Vec<u8>,
}

mod hex_bytes {
    pub fn serialize<S: serde::Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(bytes))
    }
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
        hex::decode(s.as_ref()).map_err(serde::de::Error::custom)
    }
}

const TAG_COINBASE: u8 = 0;
const TAG_TRANSFER: u8 = 1;
const TAG_RECORD: u8 = 2;

/// Encoded size of one input.
pub const INPUT_BYTES: usize = 32 + 4 + 32 + 64;
/// Encoded size of one output.
pub const OUTPUT_BYTES: usize = 8 + 20;

impl Encode for OutPoint {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.txid.as_bytes());
        out.extend_from_slice(&self.vout.to_le_bytes());
    }
}

impl Decode for OutPoint {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(OutPoint {
            txid: Txid::from_byte_array(r.array("outpoint txid")?),
            vout: r.u32("outpoint index")?,
        })
    }
}

impl Encode for TxIn {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.prev_out.encode_to(out);
        out.extend_from_slice(self.public_key.as_bytes());
        out.extend_from_slice(self.signature.as_bytes());
    }
}

impl Decode for TxIn {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(TxIn {
            prev_out: OutPoint::decode_from(r)?,
            public_key: PublicKey::from_bytes(r.array("input public key")?),
            signature: Signature::from_bytes(r.array("input signature")?),
        })
    }
}

impl Encode for TxOut {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.amount.to_units().to_le_bytes());
        out.extend_from_slice(self.address.as_bytes());
    }
}

impl Decode for TxOut {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let units = r.u64("output amount")?;
        let amount = Amount::from_units(units).map_err(|_| DecodeError::OutOfRange {
            what: "output amount",
            value: units,
        })?;
        Ok(TxOut {
            amount,
            address: PubkeyHash::from_bytes(r.array("output address")?),
        })
    }
}

impl Transaction {
    /// Encodes the transaction, with or without its signatures.
    fn encode_inner(&self, out: &mut Vec<u8>, with_signatures: bool) {
        out.extend_from_slice(&self.version.to_le_bytes());
        match &self.kind {
            TxKind::Coinbase { height } => {
                out.push(TAG_COINBASE);
                out.extend_from_slice(&height.0.to_le_bytes());
            }
            TxKind::Transfer { inputs } => {
                out.push(TAG_TRANSFER);
                put_len(out, inputs.len());
                for input in inputs {
                    input.prev_out.encode_to(out);
                    out.extend_from_slice(input.public_key.as_bytes());
                    if with_signatures {
                        out.extend_from_slice(input.signature.as_bytes());
                    }
                }
            }
            TxKind::Record {
                author,
                timestamp_ms,
                signature,
            } => {
                out.push(TAG_RECORD);
                out.extend_from_slice(author.as_bytes());
                out.extend_from_slice(&timestamp_ms.to_le_bytes());
                if with_signatures {
                    out.extend_from_slice(signature.as_bytes());
                }
            }
        }
        put_list(out, &self.outputs);
        put_bytes(out, &self.payload);
    }

    /// The transaction id: SHA-256 of the full encoding.
    pub fn txid(&self) -> Txid {
        Txid::hash(&self.to_bytes())
    }

    /// The message every signature of this transaction signs: SHA-256 of [`SIGHASH_TAG`], the network's
    /// genesis hash and the encoding without signatures.
    pub fn sighash(&self, genesis: &BlockHash) -> [u8; 32] {
        let mut body = Vec::with_capacity(128);
        self.encode_inner(&mut body, false);
        sha256_concat(&[SIGHASH_TAG, genesis.as_bytes(), &body])
    }

    /// Whether this is a coinbase.
    pub fn is_coinbase(&self) -> bool {
        matches!(self.kind, TxKind::Coinbase { .. })
    }

    /// The inputs (empty unless a transfer).
    pub fn inputs(&self) -> &[TxIn] {
        match &self.kind {
            TxKind::Transfer { inputs } => inputs,
            _ => &[],
        }
    }

    /// The encoded size in bytes.
    pub fn encoded_len(&self) -> usize {
        let kind = match &self.kind {
            TxKind::Coinbase { .. } => 8,
            TxKind::Transfer { inputs } => 4 + inputs.len() * INPUT_BYTES,
            TxKind::Record { .. } => 32 + 8 + 64,
        };
        4 + 1 + kind + 4 + self.outputs.len() * OUTPUT_BYTES + 4 + self.payload.len()
    }

    /// Sum of the outputs.
    ///
    /// # Errors
    /// [`crate::units::AmountError::TooLarge`] if the sum exceeds [`Amount::MAX`].
    pub fn output_total(&self) -> Result<Amount, crate::units::AmountError> {
        Amount::checked_sum(self.outputs.iter().map(|o| o.amount))
    }

    /// Builds a coinbase paying `outputs` at `height`.
    pub fn coinbase(height: Height, outputs: Vec<TxOut>, payload: Vec<u8>) -> Transaction {
        Transaction {
            version: TX_VERSION,
            kind: TxKind::Coinbase { height },
            outputs,
            payload,
        }
    }

    /// Builds and signs a transfer. `spends` gives each outpoint with the key that may spend it.
    pub fn signed_transfer(
        spends: &[(OutPoint, &SigningKey)],
        outputs: Vec<TxOut>,
        payload: Vec<u8>,
        genesis: &BlockHash,
    ) -> Transaction {
        let placeholder = Signature::from_bytes([0; 64]);
        let inputs = spends
            .iter()
            .map(|(prev_out, key)| TxIn {
                prev_out: *prev_out,
                public_key: key.public_key(),
                signature: placeholder,
            })
            .collect();
        let mut tx = Transaction {
            version: TX_VERSION,
            kind: TxKind::Transfer { inputs },
            outputs,
            payload,
        };
        let msg = tx.sighash(genesis);
        if let TxKind::Transfer { inputs } = &mut tx.kind {
            for (input, (_, key)) in inputs.iter_mut().zip(spends) {
                input.signature = key.sign(&msg);
            }
        }
        tx
    }

    /// Builds and signs a record of `payload` by `author`.
    pub fn signed_record(
        author: &SigningKey,
        payload: Vec<u8>,
        timestamp_ms: u64,
        genesis: &BlockHash,
    ) -> Transaction {
        let mut tx = Transaction {
            version: TX_VERSION,
            kind: TxKind::Record {
                author: author.public_key(),
                timestamp_ms,
                signature: Signature::from_bytes([0; 64]),
            },
            outputs: Vec::new(),
            payload,
        };
        let msg = tx.sighash(genesis);
        if let TxKind::Record { signature, .. } = &mut tx.kind {
            *signature = author.sign(&msg);
        }
        tx
    }

    /// Every (key, signature) pair this transaction carries, in order.
    pub fn signatures(&self) -> Vec<(PublicKey, Signature)> {
        match &self.kind {
            TxKind::Coinbase { .. } => Vec::new(),
            TxKind::Transfer { inputs } => {
                inputs.iter().map(|i| (i.public_key, i.signature)).collect()
            }
            TxKind::Record {
                author, signature, ..
            } => vec![(*author, *signature)],
        }
    }
}

impl Encode for Transaction {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.encode_inner(out, true);
    }
}

impl Decode for Transaction {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let version = r.u32("transaction version")?;
        let kind = match r.u8("transaction kind")? {
            TAG_COINBASE => TxKind::Coinbase {
                height: Height(r.u64("coinbase height")?),
            },
            TAG_TRANSFER => TxKind::Transfer {
                inputs: r.list("transaction inputs", MAX_LIST_LEN, INPUT_BYTES)?,
            },
            TAG_RECORD => TxKind::Record {
                author: PublicKey::from_bytes(r.array("record author")?),
                timestamp_ms: r.u64("record timestamp")?,
                signature: Signature::from_bytes(r.array("record signature")?),
            },
            tag => {
                return Err(DecodeError::UnknownTag {
                    what: "transaction kind",
                    tag,
                });
            }
        };
        let outputs = r.list("transaction outputs", MAX_LIST_LEN, OUTPUT_BYTES)?;
        let payload = r.bytes("transaction payload", MAX_BYTES_LEN)?.to_vec();
        Ok(Transaction {
            version,
            kind,
            outputs,
            payload,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> (Transaction, BlockHash) {
        let genesis = BlockHash::hash(b"genesis");
        let key = SigningKey::from_secret_bytes([3; 32]);
        let out = OutPoint {
            txid: Txid::hash(b"prev"),
            vout: 1,
        };
        let to = SigningKey::from_secret_bytes([4; 32])
            .public_key()
            .pubkey_hash();
        let tx = Transaction::signed_transfer(
            &[(out, &key)],
            vec![TxOut {
                amount: Amount::from_units(5).expect("small"),
                address: to,
            }],
            b"memo".to_vec(),
            &genesis,
        );
        (tx, genesis)
    }

    #[test]
    fn encoding_round_trips_and_has_the_predicted_length() {
        let (tx, genesis) = sample();
        let bytes = tx.to_bytes();
        assert_eq!(bytes.len(), tx.encoded_len());
        assert_eq!(Transaction::from_bytes(&bytes), Ok(tx.clone()));
        let rec = Transaction::signed_record(
            &SigningKey::from_secret_bytes([9; 32]),
            b"lot 7".to_vec(),
            1,
            &genesis,
        );
        assert_eq!(rec.to_bytes().len(), rec.encoded_len());
        assert_eq!(Transaction::from_bytes(&rec.to_bytes()), Ok(rec));
        let json = serde_json::to_string(&tx).expect("serializes");
        assert_eq!(
            serde_json::from_str::<Transaction>(&json).expect("parses"),
            tx
        );
    }

    #[test]
    fn the_signature_message_ignores_signatures_but_binds_the_network() {
        let (tx, genesis) = sample();
        let mut resigned = tx.clone();
        if let TxKind::Transfer { inputs } = &mut resigned.kind {
            inputs[0].signature = Signature::from_bytes([1; 64]);
        }
        assert_eq!(tx.sighash(&genesis), resigned.sighash(&genesis));
        assert_ne!(tx.txid(), resigned.txid());
        assert_ne!(
            tx.sighash(&genesis),
            tx.sighash(&BlockHash::hash(b"other network"))
        );
    }

    #[test]
    fn decoding_rejects_unknown_kinds_and_huge_amounts() {
        let (tx, _) = sample();
        let mut bytes = tx.to_bytes();
        bytes[4] = 7;
        assert_eq!(
            Transaction::from_bytes(&bytes),
            Err(DecodeError::UnknownTag {
                what: "transaction kind",
                tag: 7
            })
        );
        let mut bytes = tx.to_bytes();
        // The first output's amount starts after version, tag, input count, one input and the output count.
        let at = 4 + 1 + 4 + INPUT_BYTES + 4;
        bytes[at..at + 8].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(matches!(
            Transaction::from_bytes(&bytes),
            Err(DecodeError::OutOfRange { .. })
        ));
    }
}
