//! SLIP-0010 Ed25519 hierarchical key derivation (hardened only).
//!
//! [SLIP-0010] generalises BIP-32 to other curves. For Ed25519 only hardened derivation exists:
//!
//! * master: `I = HMAC-SHA512(key = "ed25519 seed", data = seed)`; secret key `I[..32]`,
//!   chain code `I[32..]`;
//! * child `i` (hardened, `i ≥ 2^31`): `I = HMAC-SHA512(key = chain_code, data = 0x00 || secret
//!   || ser32(i))`, same split.
//!
//! The 32-byte secret is an Ed25519 secret key (RFC 8032 "seed"); its public key is obtained the
//! usual way ([`ExtendedKey::public_key`]).
//!
//! Paths are slices of BIP-32 indices with the hardened bit ([`HARDENED`]) set, or
//! [`DerivationPath`]s parsed from strings such as `m/44'/9000'/0'/0'/5'`. Non-hardened
//! segments are rejected, since Ed25519 has no non-hardened derivation.
//!
//! ferrochain address `i` uses [`account_path`]`(i)` = `m/44'/9000'/0'/0'/i'`; see
//! [`FERROCHAIN_COIN_TYPE`] for why.
//!
//! [SLIP-0010]: https://github.com/satoshilabs/slips/blob/master/slip-0010.md

use std::fmt;
use std::str::FromStr;

use ferrochain_core::SigningKey;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha512;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// The hardened bit of a BIP-32 / SLIP-0010 child index.
pub const HARDENED: u32 = 0x8000_0000;

/// HMAC key of the SLIP-0010 master-key step for Ed25519.
const ED25519_CURVE_KEY: &[u8] = b"ed25519 seed";

/// BIP-44 purpose field, hardened in paths: `44'`.
pub const BIP44_PURPOSE: u32 = 44;

/// ferrochain's coin type in the BIP-44 path (`9000'`).
///
/// SLIP-0044 registers coin types for published chains; ferrochain is not registered, so it
/// uses a fixed number from the unassigned space rather than borrowing another chain's (which
/// would make the same phrase produce the same keys on both chains). The chain's networks
/// (`dev`, test and main networks) share it: addresses are told apart by their bech32m prefix,
/// not by the key, as many chains do with their test networks. Changing it would change every
/// derived key, so it is fixed for wallet format version 1.
pub const FERROCHAIN_COIN_TYPE: u32 = 9000;

/// The first four (hardened) indices of every ferrochain account path:
/// `m/44'/9000'/0'/0'`, i.e. purpose 44, coin type [`FERROCHAIN_COIN_TYPE`], account 0,
/// change 0 (BIP-44's layout with every level hardened, as SLIP-0010 Ed25519 requires).
pub const ACCOUNT_PATH_PREFIX: [u32; 4] = [
    BIP44_PURPOSE | HARDENED,
    FERROCHAIN_COIN_TYPE | HARDENED,
    HARDENED,
    HARDENED,
];

/// Why a path could not be parsed or a key could not be derived.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DerivationError {
    /// The path string does not start with `m`.
    #[error("derivation path must start with \"m\", got {path:?}")]
    MissingMaster {
        /// The path as given.
        path: String,
    },
    /// A path segment between two `/` is empty (e.g. `m//1'` or a trailing `/`).
    #[error("derivation path segment {position} is empty")]
    EmptySegment {
        /// 1-based position of the segment after `m`.
        position: usize,
    },
    /// A path segment is not a decimal number followed by `'`, `h` or `H`.
    #[error("derivation path segment {position} ({segment:?}) is not a number")]
    NotANumber {
        /// 1-based position of the segment after `m`.
        position: usize,
        /// The segment as written.
        segment: String,
    },
    /// A path segment's number is 2^31 or more (the hardened bit is written as `'`, not added).
    #[error(
        "derivation path segment {position} ({segment:?}) is too large; indices must be below 2^31"
    )]
    IndexTooLarge {
        /// 1-based position of the segment after `m`.
        position: usize,
        /// The segment as written.
        segment: String,
    },
    /// A path segment is not hardened; SLIP-0010 Ed25519 supports only hardened derivation.
    #[error(
        "derivation path segment {position} (index {index}) is not hardened; ed25519 supports only hardened derivation (write {index}')"
    )]
    NotHardened {
        /// 1-based position of the segment after `m`.
        position: usize,
        /// The index without the hardened bit.
        index: u32,
    },
    /// A seed must be 16 to 64 bytes (SLIP-0010: 128 to 512 bits).
    #[error("seed must be 16 to 64 bytes, got {len}")]
    BadSeedLength {
        /// The length that was passed.
        len: usize,
    },
}

/// A derivation path: BIP-32 indices, all hardened.
///
/// Parse with [`str::parse`] (`"m/44'/9000'/0'/0'/5'"`; `h` and `H` are accepted in place of
/// `'`), print with `Display` (always `'`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct DerivationPath(Vec<u32>);

impl DerivationPath {
    /// The empty path `m` (the master key).
    pub fn master() -> DerivationPath {
        DerivationPath(Vec::new())
    }

    /// A path from BIP-32 indices, each of which must have the hardened bit set.
    ///
    /// # Errors
    /// [`DerivationError::NotHardened`] for the first index without it.
    pub fn from_indices(indices: &[u32]) -> Result<DerivationPath, DerivationError> {
        check_hardened(indices)?;
        Ok(DerivationPath(indices.to_vec()))
    }

    /// ferrochain's path of address `index`: `m/44'/9000'/0'/0'/index'`.
    ///
    /// # Errors
    /// [`DerivationError::IndexTooLarge`] if `index` ≥ 2^31.
    pub fn ferrochain_account(index: u32) -> Result<DerivationPath, DerivationError> {
        account_path(index).map(|p| DerivationPath(p.to_vec()))
    }

    /// The indices, hardened bit included.
    pub fn as_slice(&self) -> &[u32] {
        &self.0
    }
}

impl fmt::Display for DerivationPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("m")?;
        for index in &self.0 {
            write!(f, "/{}'", index & !HARDENED)?;
        }
        Ok(())
    }
}

impl FromStr for DerivationPath {
    type Err = DerivationError;

    fn from_str(s: &str) -> Result<DerivationPath, DerivationError> {
        let mut parts = s.split('/');
        if parts.next() != Some("m") {
            return Err(DerivationError::MissingMaster { path: s.to_owned() });
        }
        let mut indices = Vec::new();
        for (i, segment) in parts.enumerate() {
            let position = i + 1;
            if segment.is_empty() {
                return Err(DerivationError::EmptySegment { position });
            }
            let (digits, hardened) = match segment
                .strip_suffix('\'')
                .or_else(|| segment.strip_suffix('h'))
                .or_else(|| segment.strip_suffix('H'))
            {
                Some(digits) => (digits, true),
                None => (segment, false),
            };
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(DerivationError::NotANumber {
                    position,
                    segment: segment.to_owned(),
                });
            }
            let index: u32 = match digits.parse() {
                Ok(n) if n < HARDENED => n,
                _ => {
                    return Err(DerivationError::IndexTooLarge {
                        position,
                        segment: segment.to_owned(),
                    });
                }
            };
            if !hardened {
                return Err(DerivationError::NotHardened { position, index });
            }
            indices.push(index | HARDENED);
        }
        Ok(DerivationPath(indices))
    }
}

/// ferrochain's path of address `index`: `m/44'/9000'/0'/0'/index'` as BIP-32 indices.
///
/// # Errors
/// [`DerivationError::IndexTooLarge`] if `index` ≥ 2^31.
pub fn account_path(index: u32) -> Result<[u32; 5], DerivationError> {
    if index >= HARDENED {
        return Err(DerivationError::IndexTooLarge {
            position: ACCOUNT_PATH_PREFIX.len() + 1,
            segment: index.to_string(),
        });
    }
    let [a, b, c, d] = ACCOUNT_PATH_PREFIX;
    Ok([a, b, c, d, index | HARDENED])
}

/// An Ed25519 extended private key: the 32-byte secret key and the 32-byte chain code.
///
/// Both are wiped from memory on drop. `Debug` shows neither.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct ExtendedKey {
    secret: [u8; 32],
    chain_code: [u8; 32],
}

impl ExtendedKey {
    /// The master key of `seed` (16 to 64 bytes; a BIP-39 seed is 64).
    ///
    /// # Errors
    /// [`DerivationError::BadSeedLength`] for other lengths.
    pub fn master(seed: &[u8]) -> Result<ExtendedKey, DerivationError> {
        if !(16..=64).contains(&seed.len()) {
            return Err(DerivationError::BadSeedLength { len: seed.len() });
        }
        Ok(hmac_split(ED25519_CURVE_KEY, &[seed]))
    }

    /// The hardened child `index` (the hardened bit must be set).
    ///
    /// # Errors
    /// [`DerivationError::NotHardened`] (position 1) if `index` < 2^31.
    pub fn derive_child(&self, index: u32) -> Result<ExtendedKey, DerivationError> {
        check_hardened(&[index])?;
        Ok(self.child_unchecked(index))
    }

    fn child_unchecked(&self, index: u32) -> ExtendedKey {
        hmac_split(
            &self.chain_code,
            &[&[0u8], &self.secret, &index.to_be_bytes()],
        )
    }

    /// The 32-byte Ed25519 secret key (RFC 8032's private key "seed").
    pub fn secret(&self) -> &[u8; 32] {
        &self.secret
    }

    /// The 32-byte chain code.
    pub fn chain_code(&self) -> &[u8; 32] {
        &self.chain_code
    }

    /// The Ed25519 signing key, as `ferrochain-core` signs with it.
    pub fn signing_key(&self) -> SigningKey {
        SigningKey::from_secret_bytes(self.secret)
    }

    /// The 32-byte Ed25519 public (verification) key.
    pub fn public_key(&self) -> [u8; 32] {
        self.signing_key().public_key().to_bytes()
    }
}

impl fmt::Debug for ExtendedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExtendedKey")
            .field("public_key", &hex::encode(self.public_key()))
            .finish_non_exhaustive()
    }
}

/// Derives the key at `path` (BIP-32 indices, all hardened) from `seed` (16 to 64 bytes).
///
/// # Errors
/// [`DerivationError::BadSeedLength`], or [`DerivationError::NotHardened`] naming the first
/// index without the hardened bit.
pub fn derive_ed25519(seed: &[u8], path: &[u32]) -> Result<ExtendedKey, DerivationError> {
    check_hardened(path)?;
    let mut key = ExtendedKey::master(seed)?;
    for &index in path {
        key = key.child_unchecked(index);
    }
    Ok(key)
}

/// Derives the key of ferrochain address `index` ([`account_path`]) from a BIP-39 seed.
///
/// # Errors
/// [`DerivationError::IndexTooLarge`] if `index` ≥ 2^31, [`DerivationError::BadSeedLength`].
pub fn derive_account(seed: &[u8], index: u32) -> Result<ExtendedKey, DerivationError> {
    derive_ed25519(seed, &account_path(index)?)
}

fn check_hardened(path: &[u32]) -> Result<(), DerivationError> {
    match path.iter().position(|i| i & HARDENED == 0) {
        Some(p) => Err(DerivationError::NotHardened {
            position: p + 1,
            index: path[p],
        }),
        None => Ok(()),
    }
}

/// `HMAC-SHA512(key, data[0] || data[1] || ...)` split into (secret, chain code).
fn hmac_split(key: &[u8], data: &[&[u8]]) -> ExtendedKey {
    let mut mac =
        <Hmac<Sha512> as KeyInit>::new_from_slice(key).expect("HMAC accepts keys of any length");
    for part in data {
        mac.update(part);
    }
    let mut i = mac.finalize().into_bytes();
    let mut out = ExtendedKey {
        secret: [0; 32],
        chain_code: [0; 32],
    };
    out.secret.copy_from_slice(&i[..32]);
    out.chain_code.copy_from_slice(&i[32..]);
    i.as_mut_slice().zeroize();
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const H: u32 = HARDENED;

    /// (path, chain code, private key, public key with SLIP-0010's `00` prefix).
    type Row = (&'static [u32], &'static str, &'static str, &'static str);

    /// SLIP-0010 "Test vector 1 for ed25519".
    const VECTOR_1_SEED: &str = "000102030405060708090a0b0c0d0e0f";
    const VECTOR_1: &[Row] = &[
        (
            &[],
            "90046a93de5380a72b5e45010748567d5ea02bbf6522f979e05c0d8d8ca9fffb",
            "2b4be7f19ee27bbf30c667b642d5f4aa69fd169872f8fc3059c08ebae2eb19e7",
            "00a4b2856bfec510abab89753fac1ac0e1112364e7d250545963f135f2a33188ed",
        ),
        (
            &[H],
            "8b59aa11380b624e81507a27fedda59fea6d0b779a778918a2fd3590e16e9c69",
            "68e0fe46dfb67e368c75379acec591dad19df3cde26e63b93a8e704f1dade7a3",
            "008c8a13df77a28f3445213a0f432fde644acaa215fc72dcdf300d5efaa85d350c",
        ),
        (
            &[H, 1 | H],
            "a320425f77d1b5c2505a6b1b27382b37368ee640e3557c315416801243552f14",
            "b1d0bad404bf35da785a64ca1ac54b2617211d2777696fbffaf208f746ae84f2",
            "001932a5270f335bed617d5b935c80aedb1a35bd9fc1e31acafd5372c30f5c1187",
        ),
        (
            &[H, 1 | H, 2 | H],
            "2e69929e00b5ab250f49c3fb1c12f252de4fed2c1db88387094a0f8c4c9ccd6c",
            "92a5b23c0b8a99e37d07df3fb9966917f5d06e02ddbd909c7e184371463e9fc9",
            "00ae98736566d30ed0e9d2f4486a64bc95740d89c7db33f52121f8ea8f76ff0fc1",
        ),
        (
            &[H, 1 | H, 2 | H, 2 | H],
            "8f6d87f93d750e0efccda017d662a1b31a266e4a6f5993b15f5c1f07f74dd5cc",
            "30d1dc7e5fc04c31219ab25a27ae00b50f6fd66622f6e9c913253d6511d1e662",
            "008abae2d66361c879b900d204ad2cc4984fa2aa344dd7ddc46007329ac76c429c",
        ),
        (
            &[H, 1 | H, 2 | H, 2 | H, 1_000_000_000 | H],
            "68789923a0cac2cd5a29172a475fe9e0fb14cd6adb5ad98a3fa70333e7afa230",
            "8f94d394a8e8fd6b1bc2f3f49f5c47e385281d5c17e65324b0f62483e37e8793",
            "003c24da049451555d51a7014a37337aa4e12d41e485abccfa46b47dfb2af54b7a",
        ),
    ];

    /// SLIP-0010 "Test vector 2 for ed25519".
    const VECTOR_2_SEED: &str = "fffcf9f6f3f0edeae7e4e1dedbd8d5d2cfccc9c6c3c0bdbab7b4b1aeaba8a5a29f9c999693908d8a8784817e7b7875726f6c696663605d5a5754514e4b484542";
    const VECTOR_2: &[Row] = &[
        (
            &[],
            "ef70a74db9c3a5af931b5fe73ed8e1a53464133654fd55e7a66f8570b8e33c3b",
            "171cb88b1b3c1db25add599712e36245d75bc65a1a5c9e18d76f9f2b1eab4012",
            "008fe9693f8fa62a4305a140b9764c5ee01e455963744fe18204b4fb948249308a",
        ),
        (
            &[H],
            "0b78a3226f915c082bf118f83618a618ab6dec793752624cbeb622acb562862d",
            "1559eb2bbec5790b0c65d8693e4d0875b1747f4970ae8b650486ed7470845635",
            "0086fab68dcb57aa196c77c5f264f215a112c22a912c10d123b0d03c3c28ef1037",
        ),
        (
            &[H, 2_147_483_647 | H],
            "138f0b2551bcafeca6ff2aa88ba8ed0ed8de070841f0c4ef0165df8181eaad7f",
            "ea4f5bfe8694d8bb74b7b59404632fd5968b774ed545e810de9c32a4fb4192f4",
            "005ba3b9ac6e90e83effcd25ac4e58a1365a9e35a3d3ae5eb07b9e4d90bcf7506d",
        ),
        (
            &[H, 2_147_483_647 | H, 1 | H],
            "73bd9fff1cfbde33a1b846c27085f711c0fe2d66fd32e139d3ebc28e5a4a6b90",
            "3757c7577170179c7868353ada796c839135b3d30554bbb74a4b1e4a5a58505c",
            "002e66aa57069c86cc18249aecf5cb5a9cebbfd6fadeab056254763874a9352b45",
        ),
        (
            &[H, 2_147_483_647 | H, 1 | H, 2_147_483_646 | H],
            "0902fe8a29f9140480a00ef244bd183e8a13288e4412d8389d140aac1794825a",
            "5837736c89570de861ebc173b1086da4f505d4adb387c6a1b1342d5e4ac9ec72",
            "00e33c0f7d81d843c572275f287498e8d408654fdf0d1e065b84e2e6f157aab09b",
        ),
        (
            &[H, 2_147_483_647 | H, 1 | H, 2_147_483_646 | H, 2 | H],
            "5d70af781f3a37b829f0d060924d5e960bdc02e85423494afc0b1a41bbe196d4",
            "551d333177df541ad876a60ea71f00447931c0a9da16f227c11ea080d7391b8d",
            "0047150c75db263559a70d5778bf36abbab30fb061ad69f69ece61a72b0cfa4fc0",
        ),
    ];

    fn check_vector(seed_hex: &str, rows: &[Row]) {
        let seed = hex::decode(seed_hex).unwrap();
        for (path, chain_code, private, public) in rows {
            let key = derive_ed25519(&seed, path).unwrap();
            assert_eq!(hex::encode(key.chain_code()), *chain_code, "path {path:x?}");
            assert_eq!(hex::encode(key.secret()), *private, "path {path:x?}");
            let public = public.strip_prefix("00").unwrap();
            assert_eq!(hex::encode(key.public_key()), public, "path {path:x?}");
            // Same key when walking the path step by step, and via a parsed path string.
            let mut step = ExtendedKey::master(&seed).unwrap();
            for &i in path.iter() {
                step = step.derive_child(i).unwrap();
            }
            assert_eq!(step, key);
            let text = DerivationPath::from_indices(path).unwrap().to_string();
            let parsed: DerivationPath = text.parse().unwrap();
            assert_eq!(parsed.as_slice(), *path);
        }
    }

    #[test]
    fn slip10_ed25519_test_vector_1() {
        check_vector(VECTOR_1_SEED, VECTOR_1);
    }

    #[test]
    fn slip10_ed25519_test_vector_2() {
        check_vector(VECTOR_2_SEED, VECTOR_2);
    }

    #[test]
    fn account_path_is_m_44h_9000h_0h_0h_ih() {
        let path = DerivationPath::ferrochain_account(5).unwrap();
        assert_eq!(path.to_string(), "m/44'/9000'/0'/0'/5'");
        assert_eq!(
            "m/44'/9000'/0'/0'/5'".parse::<DerivationPath>().unwrap(),
            path
        );
        assert_eq!(account_path(5).unwrap(), [44 | H, 9000 | H, H, H, 5 | H]);
        assert!(matches!(
            account_path(H),
            Err(DerivationError::IndexTooLarge { position: 5, .. })
        ));
        let seed = hex::decode(VECTOR_2_SEED).unwrap();
        assert_eq!(
            derive_account(&seed, 5).unwrap(),
            derive_ed25519(&seed, path.as_slice()).unwrap()
        );
        assert_ne!(
            derive_account(&seed, 5).unwrap(),
            derive_account(&seed, 6).unwrap()
        );
    }

    #[test]
    fn path_parser_accepts_h_and_rejects_bad_segments() {
        assert_eq!(
            "m".parse::<DerivationPath>().unwrap(),
            DerivationPath::master()
        );
        assert_eq!(
            "m/1h/2H/3'".parse::<DerivationPath>().unwrap().as_slice(),
            &[1 | H, 2 | H, 3 | H]
        );
        let err = |s: &str| s.parse::<DerivationPath>().unwrap_err();
        assert_eq!(
            err("m/44'/9000'/0'/0'/5"),
            DerivationError::NotHardened {
                position: 5,
                index: 5
            }
        );
        assert_eq!(
            err("44'/0'"),
            DerivationError::MissingMaster {
                path: "44'/0'".into()
            }
        );
        assert_eq!(err(""), DerivationError::MissingMaster { path: "".into() });
        assert_eq!(
            err("M/1'"),
            DerivationError::MissingMaster {
                path: "M/1'".into()
            }
        );
        assert_eq!(err("m/"), DerivationError::EmptySegment { position: 1 });
        assert_eq!(
            err("m/1'//2'"),
            DerivationError::EmptySegment { position: 2 }
        );
        assert_eq!(
            err("m/x'"),
            DerivationError::NotANumber {
                position: 1,
                segment: "x'".into()
            }
        );
        assert_eq!(
            err("m/'"),
            DerivationError::NotANumber {
                position: 1,
                segment: "'".into()
            }
        );
        assert_eq!(
            err("m/+1'"),
            DerivationError::NotANumber {
                position: 1,
                segment: "+1'".into()
            }
        );
        assert_eq!(
            err("m/1''"),
            DerivationError::NotANumber {
                position: 1,
                segment: "1''".into()
            }
        );
        assert_eq!(
            err("m/ 1'"),
            DerivationError::NotANumber {
                position: 1,
                segment: " 1'".into()
            }
        );
        assert_eq!(
            err("m/2147483648'"),
            DerivationError::IndexTooLarge {
                position: 1,
                segment: "2147483648'".into()
            }
        );
        assert_eq!(
            err("m/99999999999999999999999'"),
            DerivationError::IndexTooLarge {
                position: 1,
                segment: "99999999999999999999999'".into()
            }
        );
        assert_eq!(
            "m/2147483647'"
                .parse::<DerivationPath>()
                .unwrap()
                .as_slice(),
            &[u32::MAX]
        );
    }

    #[test]
    fn non_hardened_indices_and_bad_seeds_are_rejected() {
        let seed = hex::decode(VECTOR_1_SEED).unwrap();
        assert_eq!(
            derive_ed25519(&seed, &[H, 1]).unwrap_err(),
            DerivationError::NotHardened {
                position: 2,
                index: 1
            }
        );
        assert_eq!(
            DerivationPath::from_indices(&[0]).unwrap_err(),
            DerivationError::NotHardened {
                position: 1,
                index: 0
            }
        );
        let master = ExtendedKey::master(&seed).unwrap();
        assert!(matches!(
            master.derive_child(7),
            Err(DerivationError::NotHardened { index: 7, .. })
        ));
        for len in [0usize, 15, 65, 100] {
            assert_eq!(
                derive_ed25519(&vec![1u8; len], &[]).unwrap_err(),
                DerivationError::BadSeedLength { len }
            );
        }
    }

    #[test]
    fn signing_key_is_core_key_and_matches_ed25519_zebra() {
        let seed = hex::decode(VECTOR_1_SEED).unwrap();
        for (path, _, _, _) in VECTOR_1 {
            let key = derive_ed25519(&seed, path).unwrap();
            let core_key = key.signing_key();
            let zebra = ed25519_zebra::SigningKey::from(*key.secret());
            let zebra_public: [u8; 32] = zebra.verification_key().into();
            assert_eq!(core_key.public_key().to_bytes(), zebra_public);
            assert_eq!(key.public_key(), zebra_public);
            let msg = b"cross-check";
            assert_eq!(
                core_key.sign(msg).to_bytes(),
                zebra.sign(msg).to_bytes(),
                "same deterministic signature"
            );
        }
    }

    #[test]
    fn debug_hides_secret() {
        let seed = hex::decode(VECTOR_1_SEED).unwrap();
        let key = derive_ed25519(&seed, &[]).unwrap();
        let dbg = format!("{key:?}");
        assert!(!dbg.contains(VECTOR_1[0].2), "{dbg}");
        assert!(!dbg.contains(VECTOR_1[0].1), "{dbg}");
    }
}
