//! The wallet file, format version 1: a JSON document holding the encrypted recovery phrase and
//! the wallet's public account list.
//!
//! ```json
//! {
//!   "format": "ferrochain-wallet",
//!   "version": 1,
//!   "network": "dev",
//!   "kdf": { "name": "pbkdf2-sha256", "iterations": 600000, "salt": "<16 bytes hex>" },
//!   "cipher": { "name": "aes-256-gcm", "nonce": "<12 bytes hex>" },
//!   "ciphertext": "<hex>",
//!   "accounts": [ { "index": 0, "public_key": "<32 bytes hex>", "address": "...", "label": null } ],
//!   "created_ms": 1700000000000
//! }
//! ```
//!
//! * The **secret** is the BIP-39 entropy of the wallet's [`Mnemonic`] (so the phrase can be shown
//!   again and every key re-derived), encrypted with AES-256-GCM under a 32-byte key derived from
//!   the password by PBKDF2-HMAC-SHA256 (at least 600,000 iterations) or Argon2id.
//! * The AEAD's **associated data** binds the header (format, version, network, KDF name,
//!   parameters and salt, cipher name, `created_ms`): editing any of them makes decryption fail
//!   with [`KeyFileError::WrongPassword`].
//! * The **accounts** (index, public key, address, label) are public: readable without the
//!   password, and not bound by the AEAD so labels can be edited and addresses added without
//!   it. [`KeyFile::decrypt`] re-derives each account's public key from the phrase and fails
//!   with [`KeyFileError::AccountMismatch`] if one was altered. Addresses are supplied by the
//!   caller and are not checked here: recompute them from the public keys.
//!
//! The full specification, with the reasons for each choice, is `docs/wallet-format.md`.
//!
//! This module reads and writes bytes only; storing them is the caller's business. The KDF
//! settings ([`KdfParams`], [`PBKDF2_NAME`], [`ARGON2ID_NAME`], the `*_MIN_*` and `*_MAX_*`
//! limits, [`SALT_LEN`], [`NONCE_LEN`]), the KDFs and AES-256-GCM are the crate's private
//! sealing layer, shared with the node keystore ([`crate::keystore`]); those items are
//! re-exported here.
//!
//! # Performance
//!
//! [`KeyFile::encrypt`], [`KeyFile::decrypt`] and [`KeyFile::change_password`] run the key
//! derivation, which is deliberately slow: measured on the project's 2-core machine in release
//! builds, about 0.1 s of one core for PBKDF2 at 600,000 iterations and 0.15 s plus 64 MiB of
//! memory for [`KdfParams::argon2id_default`] (slower CPUs without SHA instructions take up to
//! several times longer; debug builds take 5 s and 2.5 s). Callers on an async runtime must run
//! them on a blocking thread (e.g. `tokio::task::spawn_blocking`), never directly on the
//! runtime.
//! Parsing ([`KeyFile::from_json_bytes`]) and serialising are cheap.

use std::collections::BTreeSet;

use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::mnemonic::{Mnemonic, WALLET_BIP39_PASSPHRASE};
use crate::sealing::{self, KdfError, KdfJsonError, TAG_LEN, lp};
// The KDF settings and their limits are defined in the shared sealing layer (also used by the
// keystore) and are part of this module's API.
pub use crate::sealing::{
    ARGON2_MAX_M_COST_KIB, ARGON2_MAX_P_COST, ARGON2_MAX_T_COST, ARGON2_MIN_KIB_PASSES,
    ARGON2_MIN_M_COST_KIB, ARGON2ID_NAME, KdfParams, NONCE_LEN, PBKDF2_MAX_ITERATIONS,
    PBKDF2_MIN_ITERATIONS, PBKDF2_NAME, SALT_LEN,
};
use crate::slip10::{self, HARDENED};

/// Value of the `format` field.
pub const FORMAT_NAME: &str = "ferrochain-wallet";

/// The file format version this module reads and writes.
pub const FORMAT_VERSION: u32 = 1;

/// Name of the only cipher of version 1.
pub const CIPHER_NAME: &str = "aes-256-gcm";

/// First plaintext byte: the rest is BIP-39 entropy (English word list).
const SECRET_KIND_BIP39_ENTROPY: u8 = 0x01;

/// Largest ciphertext (plaintext + tag) accepted when parsing, in bytes.
const MAX_CIPHERTEXT_LEN: usize = 1024;

/// Errors of creating, parsing and opening wallet files.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyFileError {
    /// The bytes are not JSON of the expected shape (truncated, edited, wrong types, missing or
    /// unknown fields). Carries the JSON parser's message.
    #[error("malformed wallet file: {0}")]
    Malformed(String),
    /// The JSON's `format` field is not `"ferrochain-wallet"`.
    #[error("not a ferrochain wallet file (format is {format:?})")]
    NotAWalletFile {
        /// The `format` value found.
        format: String,
    },
    /// The file's `version` is not one this software reads.
    #[error("unsupported wallet file version {0}; this software reads version 1")]
    UnknownVersion(u32),
    /// The `kdf.name` is neither `pbkdf2-sha256` nor `argon2id`.
    #[error("unknown key-derivation function {0:?}")]
    UnknownKdf(String),
    /// The `cipher.name` is not `aes-256-gcm`.
    #[error("unknown cipher {0:?}")]
    UnknownCipher(String),
    /// A field has the right JSON type but an invalid value (bad hex, wrong length, index out of
    /// range).
    #[error("invalid {field}: {reason}")]
    InvalidField {
        /// Name of the field (JSON path, e.g. `kdf.salt`).
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The KDF parameters are invalid (e.g. zero iterations, Argon2 memory below 8 KiB per lane).
    #[error("invalid key-derivation parameters ({params}): {reason}")]
    InvalidKdfParams {
        /// The parameters.
        params: KdfParams,
        /// What is wrong with them.
        reason: String,
    },
    /// The file's KDF settings are weaker than the minimum; refused unless the caller allowed
    /// weak settings with [`KdfPolicy::AllowWeakForTests`].
    #[error(
        "the wallet file's key derivation ({0}) is weaker than the accepted minimum (pbkdf2-sha256: 600000 iterations; argon2id: 7168 KiB and 35840 KiB-passes)"
    )]
    WeakKdf(KdfParams),
    /// The KDF settings exceed the maximum this software will spend (see the `*_MAX_*`
    /// constants); refused so a hostile file cannot hang or exhaust the machine.
    #[error("the key derivation ({0}) is more expensive than the accepted maximum")]
    KdfTooExpensive(KdfParams),
    /// Decryption failed: the password is wrong, or the ciphertext or a header field bound by
    /// the associated data was changed.
    #[error("wrong password, or the file was modified")]
    WrongPassword,
    /// The password is empty; wallet files must be protected by a password.
    #[error("the password is empty")]
    EmptyPassword,
    /// Decryption succeeded but the plaintext is not a secret this version knows (a file written
    /// by other software with the right key).
    #[error("the decrypted secret is not valid: {reason}")]
    InvalidSecret {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An account's stored public key is not the one derived from the recovery phrase at its
    /// index (the public part of the file was edited, or belongs to another wallet).
    #[error(
        "account {index}: the stored public key does not match the key derived from the recovery phrase"
    )]
    AccountMismatch {
        /// The account's index.
        index: u32,
    },
    /// Two accounts have the same index.
    #[error("account index {index} appears more than once")]
    DuplicateAccount {
        /// The repeated index.
        index: u32,
    },
    /// No account has this index.
    #[error("no account with index {index}")]
    NoSuchAccount {
        /// The index asked for.
        index: u32,
    },
}

/// Whether [`KeyFile::from_json_bytes_with`] accepts KDF settings below the minimum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KdfPolicy {
    /// Refuse files whose KDF settings are weak ([`KdfParams::is_weak`]). The default, and what
    /// [`KeyFile::from_json_bytes`] uses.
    #[default]
    RequireStrong,
    /// Accept weak settings, e.g. files written by tests with
    /// [`KdfParams::insecure_fast_for_tests`]. Never for real wallets.
    AllowWeakForTests,
}

/// One address of the wallet, stored in clear in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Address index `i` of the derivation path `m/44'/9000'/0'/0'/i'` (below 2^31).
    pub index: u32,
    /// Ed25519 public key of that path.
    pub public_key: [u8; 32],
    /// The address string, as computed by the caller from the public key.
    pub address: String,
    /// Optional user label.
    pub label: Option<String>,
}

impl Account {
    /// An account without a label.
    pub fn new(index: u32, public_key: [u8; 32], address: impl Into<String>) -> Account {
        Account {
            index,
            public_key,
            address: address.into(),
            label: None,
        }
    }
}

/// A parsed or newly created wallet file (format version 1).
///
/// The public parts ([`KeyFile::network`], [`KeyFile::accounts`], …) are readable without the
/// password; the recovery phrase needs [`KeyFile::decrypt`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFile {
    network: String,
    kdf: KdfParams,
    salt: [u8; SALT_LEN],
    nonce: [u8; NONCE_LEN],
    ciphertext: Vec<u8>,
    accounts: Vec<Account>,
    created_ms: u64,
}

impl KeyFile {
    /// Encrypts `mnemonic` under `password` into a new wallet file for `network`.
    ///
    /// `rng` supplies the 16-byte salt and 12-byte nonce. `accounts` are checked against the
    /// mnemonic (each public key must be the one derived at its index). `created_ms` is stored
    /// as given (milliseconds since the Unix epoch, by convention).
    ///
    /// Weak `kdf` settings are not refused here, so tests can use
    /// [`KdfParams::insecure_fast_for_tests`]; such a file is then refused by
    /// [`KeyFile::from_json_bytes`]. Use [`KdfParams::pbkdf2_default`] or
    /// [`KdfParams::argon2id_default`] for real wallets.
    ///
    /// # Errors
    /// [`KeyFileError::EmptyPassword`], [`KeyFileError::InvalidKdfParams`],
    /// [`KeyFileError::KdfTooExpensive`], [`KeyFileError::InvalidField`] (account index ≥ 2^31),
    /// [`KeyFileError::DuplicateAccount`], [`KeyFileError::AccountMismatch`].
    ///
    /// # Performance
    /// Runs the KDF once: slow by design (see the [module docs](self)); on an async runtime
    /// call it from `spawn_blocking`.
    pub fn encrypt(
        mnemonic: &Mnemonic,
        password: &str,
        kdf: KdfParams,
        network: &str,
        accounts: Vec<Account>,
        created_ms: u64,
        rng: &mut impl CryptoRng,
    ) -> Result<KeyFile, KeyFileError> {
        check_accounts(&accounts)?;
        verify_accounts(mnemonic, &accounts)?;
        Self::seal(
            mnemonic,
            password,
            kdf,
            network.to_owned(),
            accounts,
            created_ms,
            rng,
        )
    }

    fn seal(
        mnemonic: &Mnemonic,
        password: &str,
        kdf: KdfParams,
        network: String,
        accounts: Vec<Account>,
        created_ms: u64,
        rng: &mut impl CryptoRng,
    ) -> Result<KeyFile, KeyFileError> {
        if password.is_empty() {
            return Err(KeyFileError::EmptyPassword);
        }
        sealing::check_usable(&kdf)?;
        let mut salt = [0u8; SALT_LEN];
        rng.fill_bytes(&mut salt);
        let mut nonce = [0u8; NONCE_LEN];
        rng.fill_bytes(&mut nonce);

        let entropy = mnemonic.entropy();
        let mut plaintext = Zeroizing::new(Vec::with_capacity(1 + entropy.len()));
        plaintext.push(SECRET_KIND_BIP39_ENTROPY);
        plaintext.extend_from_slice(&entropy);

        let key = sealing::derive_key(password, &kdf, &salt)?;
        let aad = associated_data(&network, &kdf, &salt, created_ms);
        let ciphertext =
            sealing::seal(&key, &nonce, &plaintext, &aad).ok_or(KeyFileError::InvalidSecret {
                reason: "aes-gcm refused to encrypt it",
            })?;
        Ok(KeyFile {
            network,
            kdf,
            salt,
            nonce,
            ciphertext,
            accounts,
            created_ms,
        })
    }

    /// Decrypts the recovery phrase and checks every account's public key against it.
    ///
    /// # Errors
    /// [`KeyFileError::WrongPassword`] if the password is wrong or a bound field or the
    /// ciphertext was edited; [`KeyFileError::AccountMismatch`] if an account's public key was
    /// edited; [`KeyFileError::InvalidSecret`]; [`KeyFileError::InvalidKdfParams`] or
    /// [`KeyFileError::KdfTooExpensive`] for settings a caller built by hand.
    ///
    /// # Performance
    /// Runs the KDF once: slow by design (see the [module docs](self)); on an async runtime
    /// call it from `spawn_blocking`.
    pub fn decrypt(&self, password: &str) -> Result<Mnemonic, KeyFileError> {
        let mnemonic = self.decrypt_unverified(password)?;
        verify_accounts(&mnemonic, &self.accounts)?;
        Ok(mnemonic)
    }

    /// Decrypts the recovery phrase without checking the accounts' public keys, for recovery
    /// tools that must show the phrase of a file whose public part was damaged. Prefer
    /// [`KeyFile::decrypt`].
    ///
    /// # Errors
    /// As [`KeyFile::decrypt`], except [`KeyFileError::AccountMismatch`].
    ///
    /// # Performance
    /// Runs the KDF once (see the [module docs](self)).
    pub fn decrypt_unverified(&self, password: &str) -> Result<Mnemonic, KeyFileError> {
        sealing::check_usable(&self.kdf)?;
        let key = sealing::derive_key(password, &self.kdf, &self.salt)?;
        let aad = associated_data(&self.network, &self.kdf, &self.salt, self.created_ms);
        let plaintext = sealing::open(&key, &self.nonce, &self.ciphertext, &aad)
            .ok_or(KeyFileError::WrongPassword)?;
        match plaintext.split_first() {
            Some((&SECRET_KIND_BIP39_ENTROPY, entropy)) => {
                Mnemonic::from_entropy(entropy).map_err(|_| KeyFileError::InvalidSecret {
                    reason: "bip-39 entropy must be 16, 20, 24, 28 or 32 bytes",
                })
            }
            Some(_) => Err(KeyFileError::InvalidSecret {
                reason: "unknown secret kind",
            }),
            None => Err(KeyFileError::InvalidSecret {
                reason: "the plaintext is empty",
            }),
        }
    }

    /// A copy of this file encrypted under `new_password` with `kdf` and a fresh salt and nonce;
    /// network, accounts and `created_ms` are kept.
    ///
    /// # Errors
    /// As [`KeyFile::decrypt`] for `old_password`, and [`KeyFileError::EmptyPassword`] etc. as
    /// [`KeyFile::encrypt`] for the new settings.
    ///
    /// # Performance
    /// Runs the old and the new KDF (see the [module docs](self)).
    pub fn change_password(
        &self,
        old_password: &str,
        new_password: &str,
        kdf: KdfParams,
        rng: &mut impl CryptoRng,
    ) -> Result<KeyFile, KeyFileError> {
        let mnemonic = self.decrypt(old_password)?;
        Self::seal(
            &mnemonic,
            new_password,
            kdf,
            self.network.clone(),
            self.accounts.clone(),
            self.created_ms,
            rng,
        )
    }

    /// Parses a wallet file, refusing weak KDF settings ([`KdfPolicy::RequireStrong`]).
    ///
    /// Checks the structure only; the password is needed for [`KeyFile::decrypt`].
    ///
    /// # Errors
    /// [`KeyFileError::Malformed`] (not JSON, truncated, wrong types, missing or unknown
    /// fields), [`KeyFileError::NotAWalletFile`], [`KeyFileError::UnknownVersion`],
    /// [`KeyFileError::UnknownKdf`], [`KeyFileError::UnknownCipher`],
    /// [`KeyFileError::InvalidField`], [`KeyFileError::InvalidKdfParams`],
    /// [`KeyFileError::WeakKdf`], [`KeyFileError::KdfTooExpensive`],
    /// [`KeyFileError::DuplicateAccount`].
    pub fn from_json_bytes(bytes: &[u8]) -> Result<KeyFile, KeyFileError> {
        Self::from_json_bytes_with(bytes, KdfPolicy::RequireStrong)
    }

    /// Parses a wallet file under an explicit [`KdfPolicy`]. Only tests should pass
    /// [`KdfPolicy::AllowWeakForTests`].
    ///
    /// # Errors
    /// As [`KeyFile::from_json_bytes`]; [`KeyFileError::WeakKdf`] only under
    /// [`KdfPolicy::RequireStrong`].
    pub fn from_json_bytes_with(bytes: &[u8], policy: KdfPolicy) -> Result<KeyFile, KeyFileError> {
        // Stage 1: format and version, before insisting on version 1's fields.
        let probe: serde_json::Value = serde_json::from_slice(bytes).map_err(malformed)?;
        let object = probe
            .as_object()
            .ok_or_else(|| KeyFileError::Malformed("the document is not a JSON object".into()))?;
        match object.get("format") {
            Some(serde_json::Value::String(f)) if f == FORMAT_NAME => {}
            Some(serde_json::Value::String(f)) => {
                return Err(KeyFileError::NotAWalletFile { format: f.clone() });
            }
            Some(_) => return Err(KeyFileError::Malformed("`format` is not a string".into())),
            None => return Err(KeyFileError::Malformed("missing field `format`".into())),
        }
        let version = match object.get("version") {
            Some(v) => v
                .as_u64()
                .and_then(|v| u32::try_from(v).ok())
                .ok_or_else(|| {
                    KeyFileError::Malformed("`version` is not an unsigned 32-bit integer".into())
                })?,
            None => return Err(KeyFileError::Malformed("missing field `version`".into())),
        };
        if version != FORMAT_VERSION {
            return Err(KeyFileError::UnknownVersion(version));
        }

        // Stage 2: version 1's exact shape.
        let file: FileJson<serde_json::Map<String, serde_json::Value>> =
            serde_json::from_slice(bytes).map_err(malformed)?;
        let (kdf, salt_hex) = sealing::kdf_from_json(file.kdf)?;
        if file.cipher.name != CIPHER_NAME {
            return Err(KeyFileError::UnknownCipher(file.cipher.name));
        }
        let salt: [u8; SALT_LEN] = decode_hex_array("kdf.salt", &salt_hex)?;
        let nonce: [u8; NONCE_LEN] = decode_hex_array("cipher.nonce", &file.cipher.nonce)?;
        let ciphertext = decode_hex("ciphertext", &file.ciphertext)?;
        if ciphertext.len() <= TAG_LEN || ciphertext.len() > MAX_CIPHERTEXT_LEN {
            return Err(KeyFileError::InvalidField {
                field: "ciphertext",
                reason: format!(
                    "{} bytes; expected {} to {MAX_CIPHERTEXT_LEN}",
                    ciphertext.len(),
                    TAG_LEN + 1
                ),
            });
        }
        let accounts = file
            .accounts
            .into_iter()
            .map(|a| {
                Ok(Account {
                    index: a.index,
                    public_key: decode_hex_array("accounts.public_key", &a.public_key)?,
                    address: a.address,
                    label: a.label,
                })
            })
            .collect::<Result<Vec<_>, KeyFileError>>()?;
        check_accounts(&accounts)?;

        sealing::check_usable(&kdf)?;
        if policy == KdfPolicy::RequireStrong && kdf.is_weak() {
            return Err(KeyFileError::WeakKdf(kdf));
        }
        Ok(KeyFile {
            network: file.network,
            kdf,
            salt,
            nonce,
            ciphertext,
            accounts,
            created_ms: file.created_ms,
        })
    }

    /// The file as pretty-printed JSON (UTF-8, trailing newline).
    pub fn to_json_bytes(&self) -> Vec<u8> {
        let kdf = sealing::kdf_to_json(&self.kdf, &self.salt);
        let file = FileJson {
            format: FORMAT_NAME.to_owned(),
            version: FORMAT_VERSION,
            network: self.network.clone(),
            kdf,
            cipher: CipherJson {
                name: CIPHER_NAME.to_owned(),
                nonce: hex::encode(self.nonce),
            },
            ciphertext: hex::encode(&self.ciphertext),
            accounts: self
                .accounts
                .iter()
                .map(|a| AccountJson {
                    index: a.index,
                    public_key: hex::encode(a.public_key),
                    address: a.address.clone(),
                    label: a.label.clone(),
                })
                .collect(),
            created_ms: self.created_ms,
        };
        let mut out = serde_json::to_vec_pretty(&file)
            .expect("strings, integers and JSON values always serialise");
        out.push(b'\n');
        out
    }

    /// The network (chain name) the wallet belongs to.
    pub fn network(&self) -> &str {
        &self.network
    }

    /// The KDF settings.
    pub fn kdf(&self) -> KdfParams {
        self.kdf
    }

    /// The accounts (public keys and addresses), readable without the password.
    pub fn accounts(&self) -> &[Account] {
        &self.accounts
    }

    /// Creation time as given to [`KeyFile::encrypt`].
    pub fn created_ms(&self) -> u64 {
        self.created_ms
    }

    /// Adds an account. Its public key is not checked here (that needs the phrase); derive it
    /// with [`Mnemonic::account_key`]. [`KeyFile::decrypt`] checks it later.
    ///
    /// # Errors
    /// [`KeyFileError::InvalidField`] if the index is ≥ 2^31,
    /// [`KeyFileError::DuplicateAccount`] if the index is already present.
    pub fn push_account(&mut self, account: Account) -> Result<(), KeyFileError> {
        check_account_index(account.index)?;
        if self.accounts.iter().any(|a| a.index == account.index) {
            return Err(KeyFileError::DuplicateAccount {
                index: account.index,
            });
        }
        self.accounts.push(account);
        Ok(())
    }

    /// Sets or clears the label of account `index`.
    ///
    /// # Errors
    /// [`KeyFileError::NoSuchAccount`].
    pub fn set_label(&mut self, index: u32, label: Option<String>) -> Result<(), KeyFileError> {
        let account = self
            .accounts
            .iter_mut()
            .find(|a| a.index == index)
            .ok_or(KeyFileError::NoSuchAccount { index })?;
        account.label = label;
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// JSON shapes (version 1)

/// The whole document; `K` is a JSON map when reading (decoded by `name` afterwards) and a
/// [`KdfJson`] when writing.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileJson<K> {
    format: String,
    version: u32,
    network: String,
    kdf: K,
    cipher: CipherJson,
    ciphertext: String,
    accounts: Vec<AccountJson>,
    created_ms: u64,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CipherJson {
    name: String,
    nonce: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct AccountJson {
    index: u32,
    public_key: String,
    address: String,
    label: Option<String>,
}

fn malformed(e: serde_json::Error) -> KeyFileError {
    KeyFileError::Malformed(e.to_string())
}

impl From<KdfError> for KeyFileError {
    fn from(e: KdfError) -> KeyFileError {
        match e {
            KdfError::Invalid { params, reason } => {
                KeyFileError::InvalidKdfParams { params, reason }
            }
            KdfError::TooExpensive(params) => KeyFileError::KdfTooExpensive(params),
        }
    }
}

impl From<KdfJsonError> for KeyFileError {
    fn from(e: KdfJsonError) -> KeyFileError {
        match e {
            KdfJsonError::Malformed(message) => KeyFileError::Malformed(message),
            KdfJsonError::UnknownKdf(name) => KeyFileError::UnknownKdf(name),
        }
    }
}

fn decode_hex(field: &'static str, s: &str) -> Result<Vec<u8>, KeyFileError> {
    hex::decode(s).map_err(|e| KeyFileError::InvalidField {
        field,
        reason: format!("not hex: {e}"),
    })
}

fn decode_hex_array<const N: usize>(field: &'static str, s: &str) -> Result<[u8; N], KeyFileError> {
    let bytes = decode_hex(field, s)?;
    <[u8; N]>::try_from(bytes.as_slice()).map_err(|_| KeyFileError::InvalidField {
        field,
        reason: format!("{} bytes; expected {N}", bytes.len()),
    })
}

// ---------------------------------------------------------------------------------------------
// Crypto

/// The AES-GCM associated data binding the header (see `docs/wallet-format.md`):
///
/// `lp(format) || u32be(version) || lp(network) || lp(kdf name) || kdf params ||
/// lp(salt) || lp(cipher name) || u64be(created_ms)`, where `lp(x) = u32be(len(x)) || x` and
/// kdf params are `u32be(iterations)` (PBKDF2) or `u32be(m_cost_kib) || u32be(t_cost) ||
/// u32be(p_cost)` (Argon2id).
fn associated_data(network: &str, kdf: &KdfParams, salt: &[u8], created_ms: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(128 + network.len());
    lp(&mut out, FORMAT_NAME.as_bytes());
    out.extend_from_slice(&FORMAT_VERSION.to_be_bytes());
    lp(&mut out, network.as_bytes());
    sealing::put_kdf(&mut out, kdf);
    lp(&mut out, salt);
    lp(&mut out, CIPHER_NAME.as_bytes());
    out.extend_from_slice(&created_ms.to_be_bytes());
    out
}

// ---------------------------------------------------------------------------------------------
// Accounts

fn check_account_index(index: u32) -> Result<(), KeyFileError> {
    if index >= HARDENED {
        return Err(KeyFileError::InvalidField {
            field: "accounts.index",
            reason: format!("{index} is not below 2^31"),
        });
    }
    Ok(())
}

fn check_accounts(accounts: &[Account]) -> Result<(), KeyFileError> {
    let mut seen = BTreeSet::new();
    for a in accounts {
        check_account_index(a.index)?;
        if !seen.insert(a.index) {
            return Err(KeyFileError::DuplicateAccount { index: a.index });
        }
    }
    Ok(())
}

fn verify_accounts(mnemonic: &Mnemonic, accounts: &[Account]) -> Result<(), KeyFileError> {
    if accounts.is_empty() {
        return Ok(());
    }
    let seed = mnemonic.to_seed(WALLET_BIP39_PASSPHRASE);
    for a in accounts {
        let key = slip10::derive_account(seed.as_slice(), a.index).map_err(|e| {
            KeyFileError::InvalidField {
                field: "accounts.index",
                reason: e.to_string(),
            }
        })?;
        if key.public_key() != a.public_key {
            return Err(KeyFileError::AccountMismatch { index: a.index });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
