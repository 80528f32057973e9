//! BIP-39 recovery phrases (English word list).
//!
//! A [`Mnemonic`] is the one secret a ferrochain wallet holds: every key is derived from it
//! (see [`crate::slip10`]), so writing the phrase down once backs up every address.
//!
//! * [`Mnemonic::generate`] makes a new 24-word phrase (256 bits of entropy) from the RNG the
//!   caller passes in; this crate never draws randomness on its own.
//! * [`Mnemonic::parse`] reads a phrase a person typed: case and whitespace are normalised, and a
//!   bad phrase gives a [`MnemonicError`] saying what is wrong (word count, which word is not in
//!   the list, or a checksum mismatch). Any standard length (12, 15, 18, 21 or 24 words) is
//!   accepted, so phrases from other BIP-39 wallets can be restored.
//! * [`Mnemonic::to_seed`] is BIP-39's PBKDF2-HMAC-SHA512 (2,048 rounds) seed derivation.
//!
//! The word-list handling, checksum and seed derivation are those of the `bip39` crate; this
//! module adds the normalisation, precise errors, injected randomness and zeroizing wrappers.
//! Secret material (the phrase's word indices, the entropy, seeds) is wiped from memory when
//! dropped.

use std::fmt;

use bip39::Language;
use rand_core::CryptoRng;
use zeroize::{Zeroize, Zeroizing};

use crate::slip10::{self, DerivationError, ExtendedKey};

/// Number of entropy bytes of the phrases [`Mnemonic::generate`] makes (256 bits, 24 words).
pub const GENERATED_ENTROPY_BYTES: usize = 32;

/// Number of words of the phrases [`Mnemonic::generate`] makes.
pub const GENERATED_WORD_COUNT: usize = 24;

/// The BIP-39 passphrase (the optional "25th word") ferrochain wallets use: none.
///
/// The wallet file stores only the phrase, so a restore from the phrase alone must give the same
/// keys; [`Mnemonic::account_key`] therefore always derives with this empty passphrase.
pub const WALLET_BIP39_PASSPHRASE: &str = "";

/// Why a phrase or an entropy value is not a valid BIP-39 English mnemonic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MnemonicError {
    /// The phrase does not have 12, 15, 18, 21 or 24 words.
    #[error("the recovery phrase has {count} words; it must have 12, 15, 18, 21 or 24")]
    WrongWordCount {
        /// Number of words found after normalising whitespace.
        count: usize,
    },
    /// A word is not in the BIP-39 English word list.
    ///
    /// Carries the (lower-cased) word as typed, so a user interface can point at the typo. It is
    /// a fragment of a secret: show it to the user, do not log it.
    #[error(
        "word {position} of the recovery phrase ({word:?}) is not in the BIP-39 English word list"
    )]
    UnknownWord {
        /// 1-based position of the word in the phrase, as a person counts.
        position: usize,
        /// The unknown word, lower-cased.
        word: String,
    },
    /// Every word is valid but the phrase's built-in checksum does not match: a word was mistyped
    /// as another valid word, or words are missing or out of order.
    #[error(
        "the recovery phrase checksum does not match: a word is wrong or words are out of order"
    )]
    BadChecksum,
    /// Entropy passed to [`Mnemonic::from_entropy`] is not 16, 20, 24, 28 or 32 bytes long.
    #[error("mnemonic entropy must be 16, 20, 24, 28 or 32 bytes, got {len}")]
    BadEntropyLength {
        /// The length that was passed.
        len: usize,
    },
}

/// A valid BIP-39 English mnemonic (recovery phrase).
///
/// Wiped from memory on drop. Its `Debug` output shows only the word count; the words are
/// available only through the explicit [`Mnemonic::phrase`] and [`Mnemonic::words`].
#[derive(Clone, PartialEq, Eq)]
pub struct Mnemonic {
    // `bip39::Mnemonic` (with the crate's `zeroize` feature) zeroizes its word indices on drop.
    inner: bip39::Mnemonic,
}

impl Mnemonic {
    /// Generates a new 24-word phrase from 256 bits drawn from `rng`.
    pub fn generate(rng: &mut impl CryptoRng) -> Mnemonic {
        let mut entropy = Zeroizing::new([0u8; GENERATED_ENTROPY_BYTES]);
        rng.fill_bytes(entropy.as_mut_slice());
        let inner = bip39::Mnemonic::from_entropy_in(Language::English, entropy.as_slice())
            .expect("32 bytes is a valid BIP-39 entropy length");
        Mnemonic { inner }
    }

    /// Builds the phrase that encodes `entropy` (16, 20, 24, 28 or 32 bytes).
    ///
    /// # Errors
    /// [`MnemonicError::BadEntropyLength`] for any other length.
    pub fn from_entropy(entropy: &[u8]) -> Result<Mnemonic, MnemonicError> {
        if !matches!(entropy.len(), 16 | 20 | 24 | 28 | 32) {
            return Err(MnemonicError::BadEntropyLength { len: entropy.len() });
        }
        bip39::Mnemonic::from_entropy_in(Language::English, entropy)
            .map(|inner| Mnemonic { inner })
            .map_err(|_| MnemonicError::BadEntropyLength { len: entropy.len() })
    }

    /// Parses a phrase typed by a person.
    ///
    /// Normalisation: leading, trailing and repeated whitespace (any Unicode whitespace,
    /// including newlines) is ignored and letters are lower-cased, so `"  Legal WINNER\n..."`
    /// is read as `"legal winner ..."`. Words must be written out in full.
    ///
    /// # Errors
    /// [`MnemonicError::WrongWordCount`], [`MnemonicError::UnknownWord`] (the first unknown
    /// word) or [`MnemonicError::BadChecksum`].
    pub fn parse(phrase: &str) -> Result<Mnemonic, MnemonicError> {
        let lowered = Zeroizing::new(phrase.to_lowercase());
        let words: Vec<&str> = lowered.split_whitespace().collect();
        let count = words.len();
        if !matches!(count, 12 | 15 | 18 | 21 | 24) {
            return Err(MnemonicError::WrongWordCount { count });
        }
        // The English list is ASCII: a non-ASCII word is unknown (this also makes Unicode
        // normalisation a no-op, so word positions below match `words`).
        if let Some((index, word)) = words.iter().enumerate().find(|(_, w)| !w.is_ascii()) {
            return Err(MnemonicError::UnknownWord {
                position: index + 1,
                word: (*word).to_owned(),
            });
        }
        let normalized = Zeroizing::new(words.join(" "));
        match bip39::Mnemonic::parse_in_normalized(Language::English, normalized.as_str()) {
            Ok(inner) => Ok(Mnemonic { inner }),
            Err(bip39::Error::BadWordCount(count)) => Err(MnemonicError::WrongWordCount { count }),
            Err(bip39::Error::UnknownWord(index)) => Err(MnemonicError::UnknownWord {
                position: index + 1,
                word: words
                    .get(index)
                    .map(|w| (*w).to_owned())
                    .unwrap_or_default(),
            }),
            // `BadEntropyBitCount` cannot follow from a valid word count and
            // `AmbiguousLanguages` not from a fixed language; both mean the words do not
            // form a valid phrase, which is what a checksum error tells the user too.
            Err(
                bip39::Error::InvalidChecksum
                | bip39::Error::BadEntropyBitCount(_)
                | bip39::Error::AmbiguousLanguages(_),
            ) => Err(MnemonicError::BadChecksum),
        }
    }

    /// The phrase: words separated by single spaces, lower case.
    ///
    /// This is the secret itself; the returned string is wiped when dropped.
    pub fn phrase(&self) -> Zeroizing<String> {
        let mut out = Zeroizing::new(String::with_capacity(24 * 9));
        for (i, word) in self.inner.words().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            out.push_str(word);
        }
        out
    }

    /// The words of the phrase, in order.
    pub fn words(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.inner.words()
    }

    /// Number of words (12, 15, 18, 21 or 24).
    pub fn word_count(&self) -> usize {
        self.inner.word_count()
    }

    /// The entropy the phrase encodes (16 to 32 bytes), wiped when dropped.
    pub fn entropy(&self) -> Zeroizing<Vec<u8>> {
        let (mut array, len) = self.inner.to_entropy_array();
        let out = Zeroizing::new(array[..len].to_vec());
        array.zeroize();
        out
    }

    /// The 64-byte BIP-39 seed: PBKDF2-HMAC-SHA512 of the phrase, salt `"mnemonic" ||
    /// passphrase`, 2,048 rounds (passphrase NFKD-normalised, as BIP-39 specifies).
    ///
    /// Pass [`WALLET_BIP39_PASSPHRASE`] for ferrochain wallet keys. Takes about a millisecond in
    /// release builds.
    pub fn to_seed(&self, passphrase: &str) -> Zeroizing<[u8; 64]> {
        Zeroizing::new(self.inner.to_seed(passphrase))
    }

    /// The key of ferrochain address `index`: SLIP-0010 Ed25519 derivation along
    /// [`slip10::account_path`]`(index)` from the seed with [`WALLET_BIP39_PASSPHRASE`].
    ///
    /// # Errors
    /// [`DerivationError::IndexTooLarge`] if `index` ≥ 2^31.
    pub fn account_key(&self, index: u32) -> Result<ExtendedKey, DerivationError> {
        let seed = self.to_seed(WALLET_BIP39_PASSPHRASE);
        slip10::derive_account(seed.as_slice(), index)
    }
}

impl fmt::Debug for Mnemonic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mnemonic")
            .field("word_count", &self.word_count())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    /// (entropy hex, phrase, seed hex with passphrase "TREZOR") from the Trezor reference
    /// implementation's `vectors.json` (English), the test vectors BIP-39 links to.
    const TREZOR_VECTORS: &[(&str, &str, &str)] = &[
        (
            "00000000000000000000000000000000",
            "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about",
            "c55257c360c07c72029aebc1b53c05ed0362ada38ead3e3e9efa3708e53495531f09a6987599d18264c1e1c92f2cf141630c7a3c4ab7c81b2f001698e7463b04",
        ),
        (
            "7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f",
            "legal winner thank year wave sausage worth useful legal winner thank yellow",
            "2e8905819b8723fe2c1d161860e5ee1830318dbf49a83bd451cfb8440c28bd6fa457fe1296106559a3c80937a1c1069be3a3a5bd381ee6260e8d9739fce1f607",
        ),
        (
            "ffffffffffffffffffffffffffffffff",
            "zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo wrong",
            "ac27495480225222079d7be181583751e86f571027b0497b5b5d11218e0a8a13332572917f0f8e5a589620c6f15b11c61dee327651a14c34e18231052e48c069",
        ),
        (
            "000000000000000000000000000000000000000000000000",
            "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon agent",
            "035895f2f481b1b0f01fcf8c289c794660b289981a78f8106447707fdd9666ca06da5a9a565181599b79f53b844d8a71dd9f439c52a3d7b3e8a79c906ac845fa",
        ),
        (
            "0000000000000000000000000000000000000000000000000000000000000000",
            "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon art",
            "bda85446c68413707090a52022edd26a1c9462295029f2e60cd7c4f2bbd3097170af7a4d73245cafa9c3cca8d561a7c3de6f5d4a10be8ed2a5e608d68f92fcc8",
        ),
        (
            "7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f",
            "legal winner thank year wave sausage worth useful legal winner thank year wave sausage worth useful legal winner thank year wave sausage worth title",
            "bc09fca1804f7e69da93c2f2028eb238c227f2e9dda30cd63699232578480a4021b146ad717fbb7e451ce9eb835f43620bf5c514db0f8add49f5d121449d3e87",
        ),
        (
            "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
            "zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo vote",
            "dd48c104698c30cfe2b6142103248622fb7bb0ff692eebb00089b32d22484e1613912f0a5b694407be899ffd31ed3992c456cdf60f5d4564b8ba3f05a69890ad",
        ),
        (
            "9e885d952ad362caeb4efe34a8e91bd2",
            "ozone drill grab fiber curtain grace pudding thank cruise elder eight picnic",
            "274ddc525802f7c828d8ef7ddbcdc5304e87ac3535913611fbbfa986d0c9e5476c91689f9c8a54fd55bd38606aa6a8595ad213d4c9c9f9aca3fb217069a41028",
        ),
        (
            "6610b25967cdcca9d59875f5cb50b0ea75433311869e930b",
            "gravity machine north sort system female filter attitude volume fold club stay feature office ecology stable narrow fog",
            "628c3827a8823298ee685db84f55caa34b5cc195a778e52d45f59bcf75aba68e4d7590e101dc414bc1bbd5737666fbbef35d1f1903953b66624f910feef245ac",
        ),
        (
            "68a79eaca2324873eacc50cb9c6eca8cc68ea5d936f98787c60c7ebc74e6ce7c",
            "hamster diagram private dutch cause delay private meat slide toddler razor book happy fancy gospel tennis maple dilemma loan word shrug inflict delay length",
            "64c87cde7e12ecf6704ab95bb1408bef047c22db4cc7491c4271d170a1b213d20b385bc1588d9c7b38f1b39d415665b8a9030c9ec653d75e65f847d8fc1fc440",
        ),
        (
            "f585c11aec520db57dd353c69554b21a89b20fb0650966fa0a9d6f74fd989d8f",
            "void come effort suffer camp survey warrior heavy shoot primary clutch crush open amazing screen patrol group space point ten exist slush involve unfold",
            "01f5bced59dec48e362f2c45b5de68b9fd6c92c6634f44d6d40aab69056506f0e35524a518034ddc1192e1dacd32c1ed3eaa3c3b131c88ed8e7e54c49a5d0998",
        ),
    ];

    #[test]
    fn trezor_vectors_entropy_to_phrase_to_seed() {
        let mut lengths = std::collections::BTreeSet::new();
        for (entropy_hex, phrase, seed_hex) in TREZOR_VECTORS {
            let entropy = hex::decode(entropy_hex).unwrap();
            let m = Mnemonic::from_entropy(&entropy).unwrap();
            assert_eq!(m.phrase().as_str(), *phrase, "entropy {entropy_hex}");
            assert_eq!(m.entropy().as_slice(), entropy.as_slice());
            assert_eq!(hex::encode(m.to_seed("TREZOR").as_slice()), *seed_hex);
            // And back: the typed phrase parses to the same mnemonic.
            let parsed = Mnemonic::parse(phrase).unwrap();
            assert_eq!(parsed, m);
            lengths.insert(m.word_count());
        }
        assert!(lengths.contains(&12) && lengths.contains(&18) && lengths.contains(&24));
    }

    #[test]
    fn generate_makes_24_words_deterministic_in_rng() {
        let a = Mnemonic::generate(&mut ChaCha20Rng::seed_from_u64(7));
        let b = Mnemonic::generate(&mut ChaCha20Rng::seed_from_u64(7));
        let c = Mnemonic::generate(&mut ChaCha20Rng::seed_from_u64(8));
        assert_eq!(a.word_count(), GENERATED_WORD_COUNT);
        assert_eq!(a.entropy().len(), GENERATED_ENTROPY_BYTES);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(Mnemonic::parse(&a.phrase()).unwrap(), a);
        let mut thread_rng = rand::rng();
        let d = Mnemonic::generate(&mut thread_rng);
        assert_eq!(d.word_count(), 24);
    }

    #[test]
    fn parse_normalises_case_and_whitespace() {
        let typed =
            "  Legal WINNER\tthank  year\nwave sausage worth useful legal winner thank Yellow \r\n";
        let m = Mnemonic::parse(typed).unwrap();
        assert_eq!(
            m.phrase().as_str(),
            "legal winner thank year wave sausage worth useful legal winner thank yellow"
        );
    }

    #[test]
    fn parse_reports_wrong_word_count() {
        assert_eq!(
            Mnemonic::parse("").unwrap_err(),
            MnemonicError::WrongWordCount { count: 0 }
        );
        assert_eq!(
            Mnemonic::parse("zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo").unwrap_err(),
            MnemonicError::WrongWordCount { count: 11 }
        );
        let thirteen = format!("{} zoo", TREZOR_VECTORS[0].1);
        assert_eq!(
            Mnemonic::parse(&thirteen).unwrap_err(),
            MnemonicError::WrongWordCount { count: 13 }
        );
        let long = ["abandon"; 27].join(" ");
        assert_eq!(
            Mnemonic::parse(&long).unwrap_err(),
            MnemonicError::WrongWordCount { count: 27 }
        );
    }

    #[test]
    fn parse_reports_unknown_word_with_position() {
        let typo = "legal winner thank year wave sausage worht useful legal winner thank yellow";
        assert_eq!(
            Mnemonic::parse(typo).unwrap_err(),
            MnemonicError::UnknownWord {
                position: 7,
                word: "worht".to_owned()
            }
        );
        let err = Mnemonic::parse("Abandn abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about").unwrap_err();
        assert_eq!(
            err,
            MnemonicError::UnknownWord {
                position: 1,
                word: "abandn".to_owned()
            }
        );
        assert_eq!(
            err.to_string(),
            "word 1 of the recovery phrase (\"abandn\") is not in the BIP-39 English word list"
        );
        // Non-ASCII and punctuation are unknown words too, never a panic.
        let odd = "zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoö wrong";
        assert!(matches!(
            Mnemonic::parse(odd).unwrap_err(),
            MnemonicError::UnknownWord { position: 11, .. }
        ));
        let comma = "zoo, zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo wrong";
        assert!(matches!(
            Mnemonic::parse(comma).unwrap_err(),
            MnemonicError::UnknownWord { position: 1, .. }
        ));
    }

    #[test]
    fn parse_reports_bad_checksum() {
        // Valid words, last word changed: checksum fails.
        let bad = "zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo";
        assert_eq!(
            Mnemonic::parse(bad).unwrap_err(),
            MnemonicError::BadChecksum
        );
        // Two words swapped.
        let swapped = "winner legal thank year wave sausage worth useful legal winner thank yellow";
        assert_eq!(
            Mnemonic::parse(swapped).unwrap_err(),
            MnemonicError::BadChecksum
        );
    }

    #[test]
    fn from_entropy_rejects_bad_lengths() {
        for len in [0usize, 1, 15, 17, 31, 33, 64] {
            assert_eq!(
                Mnemonic::from_entropy(&vec![0u8; len]).unwrap_err(),
                MnemonicError::BadEntropyLength { len }
            );
        }
    }

    #[test]
    fn debug_does_not_show_words() {
        let m = Mnemonic::parse(TREZOR_VECTORS[1].1).unwrap();
        let dbg = format!("{m:?}");
        assert!(!dbg.contains("legal"), "{dbg}");
        assert!(dbg.contains("12"), "{dbg}");
    }
}
