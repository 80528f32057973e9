//! Ed25519 keys and signatures, public-key hashes and bech32m addresses (`docs/protocol.md` §6).
//!
//! Signatures are verified under the ZIP-215 rules (the `ed25519-zebra` crate): they accept every signature
//! RFC 8032 produces and make single and batch verification agree exactly, which a consensus rule needs —
//! with other validation rules two nodes could disagree about the same block depending on whether they
//! checked its signatures one by one or in a batch.
//!
//! An address is the bech32m encoding, under the chain's prefix (human-readable part), of the 20-byte
//! [`PubkeyHash`]: the first 20 bytes of SHA-256 of the public key. The checksum catches typos, and the prefix
//! makes an address of another network fail to parse.

use std::fmt;
use std::str::FromStr;

use bech32::primitives::decode::CheckedHrpstring;
use bech32::{Bech32m, Hrp};
use ed25519_zebra as ed;

use crate::hash::sha256;

/// An Ed25519 public key (32 bytes, as it appears in transactions).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PublicKey([u8; 32]);

/// An Ed25519 signature (64 bytes).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Signature([u8; 64]);

/// An Ed25519 signing key. Its bytes are never shown by `Debug` and are zeroized on drop.
#[derive(Clone)]
pub struct SigningKey(ed::SigningKey);

/// The 20-byte hash of a public key that outputs lock coins to.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct PubkeyHash([u8; 20]);

/// Why a signature did not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The 32 bytes are not a valid Ed25519 public key.
    #[error("the public key is not a valid Ed25519 point")]
    MalformedPublicKey,
    /// The signature does not match the key and message.
    #[error("the signature does not match the public key and message")]
    Invalid,
}

/// Why text could not be read as a key, signature or hash.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseKeyError {
    /// Wrong number of hex digits.
    #[error("expected {expected} hex digits, got {got} characters")]
    Length {
        /// Expected number of hex digits.
        expected: usize,
        /// Characters given.
        got: usize,
    },
    /// Not hex.
    #[error("expected hex digits (0-9, a-f)")]
    NotHex,
}

/// Why text is not an address of this network.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    /// The text is not bech32m with a valid checksum (a typo, a missing character, mixed case...).
    #[error("{0:?} is not a valid address (bad checksum or characters): check for typos")]
    Invalid(String),
    /// A valid address, but of another network.
    #[error(
        "{address:?} is an address of another network (prefix {found:?}, this network uses {expected:?})"
    )]
    WrongNetwork {
        /// The address.
        address: String,
        /// Its prefix.
        found: String,
        /// This network's prefix.
        expected: String,
    },
    /// A valid bech32m string that does not hold a 20-byte key hash.
    #[error("{0:?} does not hold a 20-byte key hash")]
    WrongLength(String),
    /// The chain's prefix is not a valid bech32 human-readable part.
    #[error("{0:?} is not a valid address prefix (1-83 ASCII characters, no upper case mixed in)")]
    BadPrefix(String),
}

fn parse_hex<const N: usize>(s: &str) -> Result<[u8; N], ParseKeyError> {
    let s = s.trim();
    if s.len() != 2 * N {
        return Err(ParseKeyError::Length {
            expected: 2 * N,
            got: s.chars().count(),
        });
    }
    let mut out = [0u8; N];
    hex::decode_to_slice(s, &mut out).map_err(|_| ParseKeyError::NotHex)?;
    Ok(out)
}

macro_rules! hex_bytes_type {
    ($name:ident, $n:expr) => {
        impl $name {
            /// Wraps raw bytes.
            pub const fn from_bytes(bytes: [u8; $n]) -> Self {
                Self(bytes)
            }
            /// Returns the raw bytes.
            pub const fn to_bytes(&self) -> [u8; $n] {
                self.0
            }
            /// Borrows the raw bytes.
            pub const fn as_bytes(&self) -> &[u8; $n] {
                &self.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&hex::encode(self.0))
            }
        }
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self)
            }
        }
        impl FromStr for $name {
            type Err = ParseKeyError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                parse_hex::<$n>(s).map(Self)
            }
        }
        serde_via_string!($name);
    };
}

hex_bytes_type!(PublicKey, 32);
hex_bytes_type!(Signature, 64);
hex_bytes_type!(PubkeyHash, 20);

impl PublicKey {
    /// The hash that outputs paying this key lock to.
    pub fn pubkey_hash(&self) -> PubkeyHash {
        let digest = sha256(&self.0);
        let mut out = [0u8; 20];
        out.copy_from_slice(&digest[..20]);
        PubkeyHash(out)
    }

    /// Verifies `signature` over `message` (ZIP-215 rules).
    ///
    /// # Errors
    /// [`SignatureError::MalformedPublicKey`] or [`SignatureError::Invalid`].
    pub fn verify(&self, message: &[u8], signature: &Signature) -> Result<(), SignatureError> {
        let key = ed::VerificationKey::try_from(self.0)
            .map_err(|_| SignatureError::MalformedPublicKey)?;
        key.verify(&ed::Signature::from_bytes(&signature.0), message)
            .map_err(|_| SignatureError::Invalid)
    }
}

impl SigningKey {
    /// Builds a key from its 32 secret bytes (an RFC 8032 private key, e.g. derived by SLIP-0010).
    pub fn from_secret_bytes(secret: [u8; 32]) -> SigningKey {
        SigningKey(ed::SigningKey::from(secret))
    }

    /// Generates a fresh key from the caller's cryptographic RNG.
    pub fn generate<R: rand_core::CryptoRng>(rng: &mut R) -> SigningKey {
        SigningKey(ed::SigningKey::new(rng))
    }

    /// The 32 secret bytes. Handle with care: whoever has them can spend.
    pub fn secret_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// The public key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(ed::VerificationKeyBytes::from(&self.0).into())
    }

    /// Signs `message` (deterministic RFC 8032 Ed25519).
    pub fn sign(&self, message: &[u8]) -> Signature {
        Signature(self.0.sign(message).to_bytes())
    }
}

impl Drop for SigningKey {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey(public {})", self.public_key())
    }
}

/// Collects (key, signature, message) triples and verifies them together, about 2-3× faster than one by one.
#[derive(Default)]
pub struct BatchVerifier {
    inner: ed::batch::Verifier,
    items: Vec<(PublicKey, Signature, [u8; 32])>,
}

impl fmt::Debug for BatchVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BatchVerifier({} items)", self.items.len())
    }
}

impl BatchVerifier {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one signature over a 32-byte message digest (transaction signatures sign a digest).
    pub fn queue(&mut self, key: PublicKey, signature: Signature, message: [u8; 32]) {
        self.inner.queue((
            ed::VerificationKeyBytes::from(key.0),
            ed::Signature::from_bytes(&signature.0),
            &message,
        ));
        self.items.push((key, signature, message));
    }

    /// Number of queued signatures.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Verifies every queued signature. The RNG (a parameter: the core has none of its own) makes the
    /// random linear combination an attacker cannot predict.
    ///
    /// # Errors
    /// On failure, the index (in queue order) of the first signature that fails on its own, with why.
    pub fn verify<R: rand_core::CryptoRng>(
        self,
        rng: &mut R,
    ) -> Result<(), (usize, SignatureError)> {
        if self.items.is_empty() {
            return Ok(());
        }
        if self.inner.verify(rng).is_ok() {
            return Ok(());
        }
        // ZIP-215 batch and single verification agree, so some item fails alone: find it.
        for (i, (key, sig, msg)) in self.items.iter().enumerate() {
            key.verify(msg, sig).map_err(|e| (i, e))?;
        }
        // Unreachable under ZIP-215; refuse rather than accept if it ever happened.
        Err((0, SignatureError::Invalid))
    }
}

impl PubkeyHash {
    /// Encodes this hash as an address with the chain's prefix.
    ///
    /// # Errors
    /// [`AddressError::BadPrefix`] if `prefix` is not a valid bech32 human-readable part.
    pub fn to_address(&self, prefix: &str) -> Result<String, AddressError> {
        let hrp = Hrp::parse(prefix).map_err(|_| AddressError::BadPrefix(prefix.to_string()))?;
        bech32::encode_lower::<Bech32m>(hrp, &self.0)
            .map_err(|_| AddressError::BadPrefix(prefix.to_string()))
    }

    /// Reads an address of the network whose prefix is `prefix`.
    ///
    /// # Errors
    /// [`AddressError::Invalid`] (typo, bad checksum, bech32 instead of bech32m),
    /// [`AddressError::WrongNetwork`], [`AddressError::WrongLength`].
    pub fn from_address(address: &str, prefix: &str) -> Result<PubkeyHash, AddressError> {
        let text = address.trim();
        let checked = CheckedHrpstring::new::<Bech32m>(text)
            .map_err(|_| AddressError::Invalid(text.to_string()))?;
        let found = checked.hrp().to_lowercase();
        if found != prefix.to_lowercase() {
            return Err(AddressError::WrongNetwork {
                address: text.to_string(),
                found,
                expected: prefix.to_string(),
            });
        }
        let bytes: Vec<u8> = checked.byte_iter().collect();
        let arr: [u8; 20] = bytes
            .try_into()
            .map_err(|_| AddressError::WrongLength(text.to_string()))?;
        Ok(PubkeyHash(arr))
    }
}

/// Checks that a chain's address prefix is usable.
///
/// # Errors
/// [`AddressError::BadPrefix`].
pub fn check_prefix(prefix: &str) -> Result<(), AddressError> {
    PubkeyHash::default().to_address(prefix).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_round_trip_and_catch_typos_and_networks() {
        let key = SigningKey::from_secret_bytes([7; 32]);
        let hash = key.public_key().pubkey_hash();
        let addr = hash.to_address("fc").expect("valid prefix");
        assert!(addr.starts_with("fc1"));
        assert_eq!(PubkeyHash::from_address(&addr, "fc"), Ok(hash));
        assert_eq!(
            PubkeyHash::from_address(&addr.to_uppercase(), "fc"),
            Ok(hash)
        );
        // One changed character is caught by the checksum.
        let mut typo: Vec<char> = addr.chars().collect();
        let i = typo.len() - 3;
        typo[i] = if typo[i] == 'q' { 'p' } else { 'q' };
        let typo: String = typo.into_iter().collect();
        assert!(matches!(
            PubkeyHash::from_address(&typo, "fc"),
            Err(AddressError::Invalid(_))
        ));
        // Another network's address is refused with a clear reason.
        let other = hash.to_address("tfc").expect("valid prefix");
        assert!(matches!(
            PubkeyHash::from_address(&other, "fc"),
            Err(AddressError::WrongNetwork { ref found, .. }) if found == "tfc"
        ));
        // A bech32 (not bech32m) string of the same data is refused.
        let legacy =
            bech32::encode::<bech32::Bech32>(Hrp::parse("fc").expect("valid"), hash.as_bytes())
                .expect("encodes");
        assert!(PubkeyHash::from_address(&legacy, "fc").is_err());
        assert!(PubkeyHash::from_address("", "fc").is_err());
        assert!(check_prefix("").is_err());
    }

    #[test]
    fn signatures_verify_and_fail() {
        let key = SigningKey::from_secret_bytes([1; 32]);
        let sig = key.sign(b"hello");
        assert_eq!(key.public_key().verify(b"hello", &sig), Ok(()));
        assert_eq!(
            key.public_key().verify(b"hellO", &sig),
            Err(SignatureError::Invalid)
        );
        let mut bad = sig.to_bytes();
        bad[5] ^= 1;
        assert!(
            key.public_key()
                .verify(b"hello", &Signature::from_bytes(bad))
                .is_err()
        );
        assert!(format!("{key:?}").contains("public"));
    }

    #[test]
    fn batch_reports_the_failing_item() {
        let mut rng = rand::rng();
        let mut batch = BatchVerifier::new();
        for i in 0..10u8 {
            let key = SigningKey::from_secret_bytes([i; 32]);
            let msg = [i; 32];
            let sig = if i == 6 {
                key.sign(&[0; 32])
            } else {
                key.sign(&msg)
            };
            batch.queue(key.public_key(), sig, msg);
        }
        assert_eq!(batch.verify(&mut rng), Err((6, SignatureError::Invalid)));
    }
}
