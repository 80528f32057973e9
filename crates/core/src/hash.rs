//! SHA-256 and the 32-byte hash newtypes: [`BlockHash`], [`Txid`] and [`MerkleNode`].
//!
//! Every hash in ferrochain is SHA-256 over canonical bytes (see `docs/protocol.md` §1). The newtypes keep a
//! block hash from being passed where a transaction id is expected. Each shows and parses as 64 lower-case hex
//! digits in byte order (no byte reversal): the first hex digits are the first bytes, so a hash that meets a
//! proof-of-work target visibly starts with zeros.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};

/// Computes SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// Computes SHA-256 of the concatenation of `parts`, without copying them into one buffer.
pub fn sha256_concat(parts: &[&[u8]]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().into()
}

/// Why a hex string could not be read as a 32-byte hash.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseHashError {
    /// The string does not have exactly 64 characters.
    #[error("a hash is 64 hex digits, got {0} characters")]
    Length(usize),
    /// A character is not a hex digit.
    #[error("a hash is 64 hex digits; found a character that is not a hex digit")]
    NotHex,
}

/// Reads exactly 32 bytes from 64 hex digits (either case).
pub(crate) fn parse_hex32(s: &str) -> Result<[u8; 32], ParseHashError> {
    if s.len() != 64 {
        return Err(ParseHashError::Length(s.chars().count()));
    }
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).map_err(|_| ParseHashError::NotHex)?;
    Ok(out)
}

macro_rules! hash_newtype {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
        pub struct $name([u8; 32]);

        impl $name {
            /// The all-zero value (the genesis block's previous-block hash).
            pub const ZERO: Self = Self([0u8; 32]);

            /// Wraps raw bytes.
            pub const fn from_byte_array(bytes: [u8; 32]) -> Self {
                Self(bytes)
            }

            /// Returns the raw bytes.
            pub const fn to_byte_array(self) -> [u8; 32] {
                self.0
            }

            /// Borrows the raw bytes.
            pub const fn as_bytes(&self) -> &[u8; 32] {
                &self.0
            }

            /// Hashes `data` with SHA-256.
            pub fn hash(data: &[u8]) -> Self {
                Self(sha256(data))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let mut buf = [0u8; 64];
                // Cannot fail: the buffer is exactly twice the input length.
                hex::encode_to_slice(self.0, &mut buf).map_err(|_| fmt::Error)?;
                f.write_str(std::str::from_utf8(&buf).map_err(|_| fmt::Error)?)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self)
            }
        }

        impl FromStr for $name {
            type Err = ParseHashError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                parse_hex32(s).map(Self)
            }
        }
        serde_via_string!($name);

        impl AsRef<[u8]> for $name {
            fn as_ref(&self) -> &[u8] {
                &self.0
            }
        }
    };
}

hash_newtype!(
    /// The hash of a block: SHA-256 of its 96-byte header (`docs/protocol.md` §2).
    BlockHash
);
hash_newtype!(
    /// A transaction id: SHA-256 of the transaction's full canonical encoding, signatures included
    /// (`docs/protocol.md` §4).
    Txid
);
hash_newtype!(
    /// A node of a transaction Merkle tree, the root included (`docs/protocol.md` §3).
    MerkleNode
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_matches_the_published_vector_for_abc() {
        assert_eq!(
            hex::encode(sha256(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(sha256_concat(&[b"a", b"bc"]), sha256(b"abc"));
    }

    #[test]
    fn hex_display_and_parse_round_trip() {
        let h = Txid::hash(b"ferrochain");
        let s = h.to_string();
        assert_eq!(s.len(), 64);
        assert_eq!(s.parse::<Txid>(), Ok(h));
        assert_eq!(s.to_uppercase().parse::<Txid>(), Ok(h));
        let json = serde_json::to_string(&h).expect("serializing a hash cannot fail");
        assert_eq!(json, format!("\"{s}\""));
        assert_eq!(serde_json::from_str::<Txid>(&json).expect("valid json"), h);
    }

    #[test]
    fn bad_hex_is_rejected_precisely() {
        assert_eq!("abc".parse::<BlockHash>(), Err(ParseHashError::Length(3)));
        let s = "g".repeat(64);
        assert_eq!(s.parse::<BlockHash>(), Err(ParseHashError::NotHex));
        // A multi-byte character must not panic on slicing.
        let s = format!("{}é", "0".repeat(62));
        assert!(s.parse::<BlockHash>().is_err());
    }
}
