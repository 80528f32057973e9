//! ferrochain wallet library: recovery phrases, key derivation, the encrypted wallet file, coin
//! selection, transaction building and signing, record provenance proofs and the node keystore.
//!
//! A wallet is one BIP-39 recovery phrase ([`Mnemonic`]). Every address key is derived from it
//! with SLIP-0010 Ed25519 along `m/44'/9000'/0'/0'/i'` ([`slip10`]), so writing the phrase
//! down once backs up every address. The wallet file ([`KeyFile`]) stores the phrase encrypted
//! under a password (PBKDF2-HMAC-SHA256 or Argon2id, then AES-256-GCM) together with the public
//! account list; an unlocked [`Wallet`] holds the phrase, the network and the accounts' keys and
//! addresses. Its formats are specified in `docs/wallet-format.md`.
//!
//! Keys, addresses and transactions are `ferrochain-core`'s: [`ExtendedKey::signing_key`] is a
//! `ferrochain_core::SigningKey`, addresses are `Network::address` of the key hash, and every
//! built transaction passes `ferrochain_core::check::check_transaction`.
//!
//! This crate is pure library code: bytes in, bytes out. It does no file or network I/O, has no
//! async runtime, reads no clock and draws no randomness of its own: functions that need
//! randomness take `rng: &mut impl rand_core::CryptoRng`, and times are parameters. Secrets held
//! here (phrase, entropy, seeds, extended keys, derived encryption keys, decrypted plaintexts)
//! are wiped from memory when dropped, and so are the `ferrochain_core::SigningKey`s of a [`Wallet`] or
//! [`Keystore`].
//!
//! ```
//! use ferrochain_wallet::{Account, KdfParams, KdfPolicy, KeyFile, Mnemonic};
//!
//! let mut rng = rand::rng();
//! let mnemonic = Mnemonic::generate(&mut rng);
//! let key0 = mnemonic.account_key(0)?;
//! let accounts = vec![Account::new(0, key0.public_key(), "address computed by the caller")];
//! // Real wallets use KdfParams::pbkdf2_default() or KdfParams::argon2id_default().
//! let kdf = KdfParams::insecure_fast_for_tests();
//! let file = KeyFile::encrypt(&mnemonic, "password", kdf, "dev", accounts, 0, &mut rng)?;
//! let bytes = file.to_json_bytes();
//!
//! let reopened = KeyFile::from_json_bytes_with(&bytes, KdfPolicy::AllowWeakForTests)?;
//! assert_eq!(reopened.accounts()[0].public_key, key0.public_key());
//! assert_eq!(reopened.decrypt("password")?, mnemonic);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Layout
//!
//! * [`mnemonic`]: [`Mnemonic`] — generate (24 words, from the caller's RNG), parse a typed
//!   phrase with precise [`MnemonicError`]s, entropy, BIP-39 seed, and the key of address `i`.
//! * [`slip10`]: SLIP-0010 Ed25519 derivation (hardened only): [`derive_ed25519`],
//!   [`ExtendedKey`], [`DerivationPath`] (parses `m/44'/9000'/0'/0'/5'`), ferrochain's
//!   [`account_path`] and its constants; errors in [`DerivationError`].
//! * [`keyfile`]: the wallet file, format version 1: [`KeyFile`] (encrypt, decrypt, change
//!   password, JSON in and out), [`KdfParams`], [`KdfPolicy`], [`Account`]; errors in
//!   [`KeyFileError`].
//! * [`wallet`]: [`Wallet`] — create, restore, unlock a [`KeyFile`] for a network, lock it back;
//!   accounts ([`WalletAccount`]) with keys and addresses; errors in [`WalletError`].
//! * [`coin_select`]: [`select_coins`] — oldest first, fixed fee or fee rate, change or dust,
//!   unconfirmed and immature outputs, input cap ([`Candidate`], [`FeePolicy`],
//!   [`SelectionOptions`], [`Selection`]); exact errors in [`SelectError`]. The strategy is
//!   `docs/adr/0010-coin-selection.md`.
//! * [`build`]: [`build_transfer`] (select, sign, check) from a [`TransferRequest`] with any
//!   [`KeySource`] (a wallet, a keystore, keys); [`build_record`]; errors in [`BuildError`].
//! * [`proof`]: [`RecordProof`] — a record with its Merkle path and headers, verified offline
//!   into a [`VerifiedRecord`]; [`verify_record_signature`]; errors in [`ProofError`] and
//!   [`ProofFormatError`].
//! * [`claim`]: [`Claim`] — a record payload that carries a claimed author's name (a name with no
//!   key, vouched for only by the signer).
//! * [`legacy`]: [`LegacyRsaRecord`] — the RSA-signed records of the seed's supply-chain fork, kept in a
//!   record payload and verifiable from the chain alone.
//! * [`keystore`]: the node's [`Keystore`] of node-held keys (dev plaintext or encrypted with the
//!   node's wallet password); errors in [`KeystoreError`].
//!
//! # Performance
//!
//! Opening or creating a wallet file or an encrypted keystore runs a deliberately slow password
//! KDF (0.1 to 0.3 s for the default PBKDF2 or Argon2id settings in release builds, seconds in
//! debug builds). Callers on an async runtime must run [`KeyFile::encrypt`], [`KeyFile::decrypt`],
//! [`KeyFile::change_password`], [`Wallet::unlock`], [`Wallet::lock`],
//! [`Keystore::new_encrypted`] and [`Keystore::from_json_bytes`] on a blocking thread
//! (`spawn_blocking`). Building a transfer verifies its signatures once (tens of microseconds
//! per input); everything else is fast.

pub mod build;
pub mod claim;
pub mod coin_select;
pub mod keyfile;
pub mod keystore;
pub mod legacy;
pub mod mnemonic;
pub mod proof;
mod sealing;
pub mod slip10;
#[cfg(any(test, feature = "test-utils"))]
pub mod testing;
pub mod wallet;

pub use build::{
    BuildError, BuiltTransfer, KeySource, TransferRequest, build_record, build_transfer,
    build_transfer_detailed,
};
pub use claim::{Claim, ClaimError};
pub use coin_select::{
    Candidate, FeePolicy, Maturity, SelectError, Selection, SelectionOptions, TxShape, select_coins,
};
pub use keyfile::{Account, KdfParams, KdfPolicy, KeyFile, KeyFileError};
pub use keystore::{Keystore, KeystoreError, Protection};
pub use legacy::{ForkWalletError, LegacyError, LegacyRsaKey, LegacyRsaRecord, RsaKeyInfo};
pub use mnemonic::{Mnemonic, MnemonicError};
pub use proof::{
    ProofError, ProofFormatError, RecordProof, VerifiedRecord, verify_record_signature,
};
pub use slip10::{
    DerivationError, DerivationPath, ExtendedKey, account_path, derive_account, derive_ed25519,
};
pub use wallet::{Wallet, WalletAccount, WalletError};
