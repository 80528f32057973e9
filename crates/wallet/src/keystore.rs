//! The node keystore: keys the node holds and signs with for its users (DESIGN §6, the seed
//! routes `/client/wallet/new`, `/api/new_wallet`, `/api/send`).
//!
//! Each key is a **single random Ed25519 key** ([`Keystore::generate`]), not derived from a
//! phrase: node-held keys are created one per request by an API, have no phrase to back up or
//! show, and one leaked key must not reveal the others. (Users who want a recovery phrase use a
//! [`crate::Wallet`] file.)
//!
//! The keystore is a small JSON document in the spirit of the wallet file, with two modes:
//!
//! * **`dev-plaintext`** — only on the `dev` preset (its genesis hash, not just [`DEV_NETWORK_NAME`]): secrets are stored in
//!   clear under `dev_secret` and the whole document is marked as holding dev keys. Any other
//!   network refuses this mode ([`KeystoreError::PlaintextNotAllowed`]), when creating and when
//!   loading.
//! * **`encrypted`** — any network: every secret is encrypted with AES-256-GCM under one key
//!   derived from the node's wallet password (PBKDF2-HMAC-SHA256 or Argon2id, the same code and
//!   limits as the wallet file). The KDF runs once when the keystore is created or opened; the
//!   derived key then stays in memory (wiped on drop) so new keys are sealed without running it
//!   again. A password-check tag makes a wrong password fail at once, even with no keys.
//!
//! ```json
//! {
//!   "format": "ferrochain-keystore",
//!   "version": 1,
//!   "network": "lab",
//!   "protection": "encrypted",
//!   "kdf": { "name": "pbkdf2-sha256", "iterations": 600000, "salt": "<16 bytes hex>" },
//!   "cipher": { "name": "aes-256-gcm", "check_nonce": "<12 bytes hex>", "check": "<16 bytes hex>" },
//!   "keys": [
//!     { "address": "lab1…", "public_key": "<32 bytes hex>", "label": null,
//!       "nonce": "<12 bytes hex>", "ciphertext": "<48 bytes hex>" }
//!   ]
//! }
//! ```
//!
//! The full specification is in `docs/wallet-format.md` ("Node keystore"). The API never returns
//! a secret except as the [`SigningKey`] the node signs with ([`Keystore::get_signing_key`]);
//! routes must never serialise it.

use std::collections::HashSet;
use std::fmt;

use ferrochain_core::crypto::AddressError;
use ferrochain_core::{Network, PubkeyHash, PublicKey, SigningKey};
use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::build::KeySource;
use crate::keyfile::{CIPHER_NAME, KdfPolicy};
use crate::sealing::{self, KdfError, KdfJsonError, KdfParams, NONCE_LEN, SALT_LEN, TAG_LEN, lp};

/// Value of the `format` member.
pub const KEYSTORE_FORMAT_NAME: &str = "ferrochain-keystore";

/// The keystore format version this module reads and writes.
pub const KEYSTORE_FORMAT_VERSION: u32 = 1;

/// The only network whose keystore may hold secrets in clear.
pub const DEV_NETWORK_NAME: &str = "dev";

/// `protection` of a keystore with secrets in clear.
pub const DEV_PLAINTEXT: &str = "dev-plaintext";

/// `protection` of a password-encrypted keystore.
pub const ENCRYPTED: &str = "encrypted";

/// How the secrets are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protection {
    /// In clear, marked as dev keys (`dev` network only).
    DevPlaintext,
    /// Encrypted under the node's wallet password.
    Encrypted,
}

/// Errors of creating, reading and using a keystore.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeystoreError {
    /// Not JSON of the expected shape (the parser's message, or which member is missing or not
    /// allowed in this mode).
    #[error("malformed keystore: {0}")]
    Malformed(String),
    /// The `format` member is another string.
    #[error("not a ferrochain keystore (format is {format:?})")]
    NotAKeystore {
        /// The `format` found.
        format: String,
    },
    /// A `version` this software does not read.
    #[error("unsupported keystore version {0}; this software reads version 1")]
    UnknownVersion(u32),
    /// `protection` is neither `dev-plaintext` nor `encrypted`.
    #[error("unknown keystore protection {0:?} (expected \"dev-plaintext\" or \"encrypted\")")]
    UnknownProtection(String),
    /// Unknown `kdf.name`.
    #[error("unknown key-derivation function {0:?}")]
    UnknownKdf(String),
    /// Unknown `cipher.name`.
    #[error("unknown cipher {0:?}")]
    UnknownCipher(String),
    /// A member has an invalid value (bad hex, wrong length).
    #[error("invalid {field}: {reason}")]
    InvalidField {
        /// The member (JSON path).
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// Invalid KDF settings.
    #[error("invalid key-derivation parameters ({params}): {reason}")]
    InvalidKdfParams {
        /// The settings.
        params: KdfParams,
        /// Why.
        reason: String,
    },
    /// KDF settings below the minimum (refused unless [`KdfPolicy::AllowWeakForTests`]).
    #[error("the keystore's key derivation ({0}) is weaker than the accepted minimum")]
    WeakKdf(KdfParams),
    /// KDF settings above the maximum this software spends.
    #[error("the key derivation ({0}) is more expensive than the accepted maximum")]
    KdfTooExpensive(KdfParams),
    /// The keystore belongs to another network.
    #[error("the keystore is for network {file:?}, not {expected:?}")]
    NetworkMismatch {
        /// The network named in the keystore.
        file: String,
        /// The node's network.
        expected: String,
    },
    /// Secrets in clear on a network other than `dev`.
    #[error(
        "keys may be stored unencrypted only on the dev network, not on {network:?}: set a wallet password"
    )]
    PlaintextNotAllowed {
        /// The network.
        network: String,
    },
    /// An encrypted keystore was opened without a password.
    #[error("the keystore is encrypted: the node's wallet password is required")]
    PasswordRequired,
    /// An encrypted keystore cannot be created with an empty password.
    #[error("the password is empty")]
    EmptyPassword,
    /// The password does not open the keystore (or its header was edited).
    #[error("wrong password, or the keystore was modified")]
    WrongPassword,
    /// The password is right but a key's ciphertext does not decrypt (it was edited or moved
    /// from another entry).
    #[error("the stored key of {address} is corrupt (edited, or moved from another entry)")]
    CorruptKey {
        /// The entry's address.
        address: String,
    },
    /// A key's secret does not belong to its stored public key or address.
    #[error("the stored key of {address} does not match its public key or address")]
    KeyMismatch {
        /// The entry's address.
        address: String,
    },
    /// The keystore already holds as many keys as it may.
    #[error("the keystore is full: it holds {max} keys, the most it may (setting max_keys)")]
    Full {
        /// The cap.
        max: usize,
    },
    /// The same key appears twice.
    #[error("the key of {address} is already in the keystore")]
    DuplicateKey {
        /// Its address.
        address: String,
    },
    /// Text that is not an address of this network.
    #[error(transparent)]
    InvalidAddress(#[from] AddressError),
    /// The keystore holds no key for this address.
    #[error("this node holds no key for {address}")]
    UnknownAddress {
        /// The address asked for.
        address: String,
    },
    /// AES-GCM refused to encrypt (cannot happen for 32-byte secrets).
    #[error("encryption failed")]
    EncryptionFailed,
}

impl From<KdfError> for KeystoreError {
    fn from(e: KdfError) -> KeystoreError {
        match e {
            KdfError::Invalid { params, reason } => {
                KeystoreError::InvalidKdfParams { params, reason }
            }
            KdfError::TooExpensive(params) => KeystoreError::KdfTooExpensive(params),
        }
    }
}

impl From<KdfJsonError> for KeystoreError {
    fn from(e: KdfJsonError) -> KeystoreError {
        match e {
            KdfJsonError::Malformed(message) => KeystoreError::Malformed(message),
            KdfJsonError::UnknownKdf(name) => KeystoreError::UnknownKdf(name),
        }
    }
}

/// The encryption state of an encrypted keystore.
struct Sealer {
    kdf: KdfParams,
    salt: [u8; SALT_LEN],
    key: Zeroizing<[u8; 32]>,
    check_nonce: [u8; NONCE_LEN],
    check: Vec<u8>,
}

impl Sealer {
    fn header_aad(&self, network: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(128);
        lp(&mut out, KEYSTORE_FORMAT_NAME.as_bytes());
        out.extend_from_slice(&KEYSTORE_FORMAT_VERSION.to_be_bytes());
        lp(&mut out, network.as_bytes());
        sealing::put_kdf(&mut out, &self.kdf);
        lp(&mut out, &self.salt);
        lp(&mut out, CIPHER_NAME.as_bytes());
        out
    }

    fn check_aad(&self, network: &str) -> Vec<u8> {
        let mut out = self.header_aad(network);
        lp(&mut out, b"password-check");
        out
    }

    fn key_aad(&self, network: &str, public_key: &PublicKey) -> Vec<u8> {
        let mut out = self.header_aad(network);
        lp(&mut out, b"key");
        lp(&mut out, public_key.as_bytes());
        out
    }
}

/// One stored key.
#[derive(Clone)]
struct Entry {
    key: SigningKey,
    public_key: PublicKey,
    pubkey_hash: PubkeyHash,
    address: String,
    label: Option<String>,
    /// Encrypted mode: the nonce and ciphertext of the secret.
    sealed: Option<([u8; NONCE_LEN], Vec<u8>)>,
}

/// The node's keystore (see the [module docs](self)).
pub struct Keystore {
    network: Network,
    sealer: Option<Sealer>,
    entries: Vec<Entry>,
    /// Most keys [`Keystore::generate`] and [`Keystore::import`] fill it to ([`Keystore::set_max_keys`]).
    max_keys: usize,
}

impl fmt::Debug for Keystore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keystore")
            .field("network", &self.network.spec().name)
            .field("protection", &self.protection())
            .field("addresses", &self.addresses())
            .finish_non_exhaustive()
    }
}

impl Keystore {
    /// An empty keystore storing secrets in clear, marked as dev keys.
    ///
    /// # Errors
    /// [`KeystoreError::PlaintextNotAllowed`] unless `network` is the `dev` network.
    pub fn new_dev(network: &Network) -> Result<Keystore, KeystoreError> {
        check_dev(network)?;
        Ok(Keystore {
            network: network.clone(),
            sealer: None,
            entries: Vec::new(),
            max_keys: usize::MAX,
        })
    }

    /// An empty keystore encrypting its secrets under a key derived from `password` with `kdf`
    /// (fresh salt and password-check nonce from `rng`).
    ///
    /// # Errors
    /// [`KeystoreError::EmptyPassword`], [`KeystoreError::InvalidKdfParams`],
    /// [`KeystoreError::KdfTooExpensive`].
    ///
    /// # Performance
    /// Runs the KDF once (slow by design); call it from a blocking thread on an async runtime.
    pub fn new_encrypted(
        network: &Network,
        password: &str,
        kdf: KdfParams,
        rng: &mut impl CryptoRng,
    ) -> Result<Keystore, KeystoreError> {
        if password.is_empty() {
            return Err(KeystoreError::EmptyPassword);
        }
        let mut salt = [0u8; SALT_LEN];
        rng.fill_bytes(&mut salt);
        let mut check_nonce = [0u8; NONCE_LEN];
        rng.fill_bytes(&mut check_nonce);
        let key = sealing::derive_key(password, &kdf, &salt)?;
        let mut sealer = Sealer {
            kdf,
            salt,
            key,
            check_nonce,
            check: Vec::new(),
        };
        let aad = sealer.check_aad(&network.spec().name);
        sealer.check = sealing::seal(&sealer.key, &check_nonce, &[], &aad)
            .ok_or(KeystoreError::EncryptionFailed)?;
        Ok(Keystore {
            network: network.clone(),
            sealer: Some(sealer),
            entries: Vec::new(),
            max_keys: usize::MAX,
        })
    }

    /// How the secrets are stored.
    pub fn protection(&self) -> Protection {
        if self.sealer.is_some() {
            Protection::Encrypted
        } else {
            Protection::DevPlaintext
        }
    }

    /// Caps the keys this keystore takes: [`Keystore::generate`] and [`Keystore::import`] refuse one more
    /// once it holds `max` ([`KeystoreError::Full`]). Keys already held beyond the cap are kept.
    pub fn set_max_keys(&mut self, max: usize) {
        self.max_keys = max;
    }

    /// The network the keys are for.
    pub fn network(&self) -> &Network {
        &self.network
    }

    /// Generates a new random key, stores it and returns its address.
    ///
    /// # Errors
    /// [`KeystoreError::Full`] at the cap, [`KeystoreError::EncryptionFailed`] (cannot happen in practice).
    pub fn generate(&mut self, rng: &mut impl CryptoRng) -> Result<String, KeystoreError> {
        let key = SigningKey::generate(rng);
        let mut nonce = [0u8; NONCE_LEN];
        rng.fill_bytes(&mut nonce);
        self.insert(key, nonce, None)
    }

    /// Stores an existing key (e.g. one of a dev chain's pre-funded keys) and returns its
    /// address. `rng` supplies the encryption nonce.
    ///
    /// # Errors
    /// [`KeystoreError::DuplicateKey`], [`KeystoreError::Full`], [`KeystoreError::EncryptionFailed`].
    pub fn import(
        &mut self,
        key: SigningKey,
        label: Option<String>,
        rng: &mut impl CryptoRng,
    ) -> Result<String, KeystoreError> {
        let mut nonce = [0u8; NONCE_LEN];
        rng.fill_bytes(&mut nonce);
        self.insert(key, nonce, label)
    }

    fn insert(
        &mut self,
        key: SigningKey,
        nonce: [u8; NONCE_LEN],
        label: Option<String>,
    ) -> Result<String, KeystoreError> {
        let public_key = key.public_key();
        let pubkey_hash = public_key.pubkey_hash();
        let address = self.network.address(&pubkey_hash);
        if self.entries.iter().any(|e| e.pubkey_hash == pubkey_hash) {
            return Err(KeystoreError::DuplicateKey { address });
        }
        if self.entries.len() >= self.max_keys {
            return Err(KeystoreError::Full { max: self.max_keys });
        }
        let sealed = match &self.sealer {
            None => None,
            Some(sealer) => {
                let secret = Zeroizing::new(key.secret_bytes());
                let aad = sealer.key_aad(&self.network.spec().name, &public_key);
                let ciphertext = sealing::seal(&sealer.key, &nonce, secret.as_slice(), &aad)
                    .ok_or(KeystoreError::EncryptionFailed)?;
                Some((nonce, ciphertext))
            }
        };
        self.entries.push(Entry {
            key,
            public_key,
            pubkey_hash,
            address: address.clone(),
            label,
            sealed,
        });
        Ok(address)
    }

    /// The addresses held, oldest first.
    pub fn addresses(&self) -> Vec<&str> {
        self.entries.iter().map(|e| e.address.as_str()).collect()
    }

    /// Whether the keystore holds no key.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Number of keys held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    fn entry(&self, address: &str) -> Result<&Entry, KeystoreError> {
        let hash = self.network.parse_address(address)?;
        self.entries
            .iter()
            .find(|e| e.pubkey_hash == hash)
            .ok_or_else(|| KeystoreError::UnknownAddress {
                address: address.to_owned(),
            })
    }

    /// The key of `address`, to sign with. Never serialise it.
    ///
    /// # Errors
    /// [`KeystoreError::InvalidAddress`], [`KeystoreError::UnknownAddress`].
    pub fn get_signing_key(&self, address: &str) -> Result<&SigningKey, KeystoreError> {
        self.entry(address).map(|e| &e.key)
    }

    /// The public key of `address`.
    ///
    /// # Errors
    /// [`KeystoreError::InvalidAddress`], [`KeystoreError::UnknownAddress`].
    pub fn public_key(&self, address: &str) -> Result<PublicKey, KeystoreError> {
        self.entry(address).map(|e| e.public_key)
    }

    /// The label of `address`.
    ///
    /// # Errors
    /// [`KeystoreError::InvalidAddress`], [`KeystoreError::UnknownAddress`].
    pub fn label(&self, address: &str) -> Result<Option<&str>, KeystoreError> {
        self.entry(address).map(|e| e.label.as_deref())
    }

    /// Sets or clears the label of `address`.
    ///
    /// # Errors
    /// [`KeystoreError::InvalidAddress`], [`KeystoreError::UnknownAddress`].
    pub fn set_label(&mut self, address: &str, label: Option<String>) -> Result<(), KeystoreError> {
        let hash = self.network.parse_address(address)?;
        let entry = self
            .entries
            .iter_mut()
            .find(|e| e.pubkey_hash == hash)
            .ok_or_else(|| KeystoreError::UnknownAddress {
                address: address.to_owned(),
            })?;
        entry.label = label;
        Ok(())
    }

    /// The keystore as pretty-printed JSON (UTF-8, trailing newline). In encrypted mode it holds
    /// no secret in clear.
    pub fn to_json_bytes(&self) -> Vec<u8> {
        let (protection, kdf, cipher) = match &self.sealer {
            None => (DEV_PLAINTEXT, None, None),
            Some(s) => (
                ENCRYPTED,
                Some(sealing::kdf_to_json(&s.kdf, &s.salt)),
                Some(CipherJson {
                    name: CIPHER_NAME.to_owned(),
                    check_nonce: hex::encode(s.check_nonce),
                    check: hex::encode(&s.check),
                }),
            ),
        };
        let keys = self
            .entries
            .iter()
            .map(|e| {
                let (dev_secret, nonce, ciphertext) = match &e.sealed {
                    None => (Some(hex::encode(e.key.secret_bytes())), None, None),
                    Some((nonce, ct)) => (None, Some(hex::encode(nonce)), Some(hex::encode(ct))),
                };
                KeyJson {
                    address: e.address.clone(),
                    public_key: hex::encode(e.public_key.as_bytes()),
                    label: e.label.clone(),
                    dev_secret,
                    nonce,
                    ciphertext,
                }
            })
            .collect();
        let doc = KeystoreJson {
            format: KEYSTORE_FORMAT_NAME.to_owned(),
            version: KEYSTORE_FORMAT_VERSION,
            network: self.network.spec().name.clone(),
            protection: protection.to_owned(),
            kdf,
            cipher,
            keys,
        };
        // Strings and integers always serialise; the fallback is never reached.
        let mut out = serde_json::to_vec_pretty(&doc).unwrap_or_default();
        out.push(b'\n');
        out
    }

    /// Reads a keystore for `network`, refusing weak KDF settings. An encrypted keystore needs
    /// `password`; a dev keystore ignores it.
    ///
    /// # Errors
    /// [`KeystoreError::Malformed`], [`KeystoreError::NotAKeystore`],
    /// [`KeystoreError::UnknownVersion`], [`KeystoreError::NetworkMismatch`],
    /// [`KeystoreError::UnknownProtection`], [`KeystoreError::PlaintextNotAllowed`],
    /// [`KeystoreError::UnknownKdf`], [`KeystoreError::UnknownCipher`],
    /// [`KeystoreError::InvalidField`], [`KeystoreError::InvalidKdfParams`],
    /// [`KeystoreError::WeakKdf`], [`KeystoreError::KdfTooExpensive`],
    /// [`KeystoreError::PasswordRequired`], [`KeystoreError::WrongPassword`],
    /// [`KeystoreError::CorruptKey`], [`KeystoreError::KeyMismatch`],
    /// [`KeystoreError::DuplicateKey`].
    ///
    /// # Performance
    /// An encrypted keystore runs the KDF once (slow by design).
    pub fn from_json_bytes(
        bytes: &[u8],
        network: &Network,
        password: Option<&str>,
    ) -> Result<Keystore, KeystoreError> {
        Keystore::from_json_bytes_with(bytes, network, password, KdfPolicy::RequireStrong)
    }

    /// [`Keystore::from_json_bytes`] under an explicit [`KdfPolicy`] (only tests pass
    /// [`KdfPolicy::AllowWeakForTests`]).
    ///
    /// # Errors
    /// As [`Keystore::from_json_bytes`].
    pub fn from_json_bytes_with(
        bytes: &[u8],
        network: &Network,
        password: Option<&str>,
        policy: KdfPolicy,
    ) -> Result<Keystore, KeystoreError> {
        let malformed = |e: serde_json::Error| KeystoreError::Malformed(e.to_string());
        // Stage 1: format and version.
        let probe: serde_json::Value = serde_json::from_slice(bytes).map_err(malformed)?;
        let object = probe
            .as_object()
            .ok_or_else(|| KeystoreError::Malformed("the document is not a JSON object".into()))?;
        match object.get("format") {
            Some(serde_json::Value::String(f)) if f == KEYSTORE_FORMAT_NAME => {}
            Some(serde_json::Value::String(f)) => {
                return Err(KeystoreError::NotAKeystore { format: f.clone() });
            }
            Some(_) => return Err(KeystoreError::Malformed("`format` is not a string".into())),
            None => return Err(KeystoreError::Malformed("missing field `format`".into())),
        }
        match object.get("version").map(serde_json::Value::as_u64) {
            Some(Some(v)) if v == u64::from(KEYSTORE_FORMAT_VERSION) => {}
            Some(Some(v)) => {
                return Err(KeystoreError::UnknownVersion(
                    u32::try_from(v).unwrap_or(u32::MAX),
                ));
            }
            Some(None) => {
                return Err(KeystoreError::Malformed(
                    "`version` is not an unsigned integer".into(),
                ));
            }
            None => return Err(KeystoreError::Malformed("missing field `version`".into())),
        }

        // Stage 2: version 1's shape.
        let doc: KeystoreJson<serde_json::Map<String, serde_json::Value>> =
            serde_json::from_value(probe).map_err(malformed)?;
        let expected = &network.spec().name;
        if doc.network != *expected {
            return Err(KeystoreError::NetworkMismatch {
                file: doc.network,
                expected: expected.clone(),
            });
        }
        let mut parsed = Vec::with_capacity(doc.keys.len());
        for k in &doc.keys {
            let public_key = PublicKey::from_bytes(decode_array("keys.public_key", &k.public_key)?);
            parsed.push((k, public_key));
        }
        let sealer = match doc.protection.as_str() {
            DEV_PLAINTEXT => {
                check_dev(network)?;
                if doc.kdf.is_some() || doc.cipher.is_some() {
                    return Err(KeystoreError::Malformed(
                        "a dev-plaintext keystore has no `kdf` or `cipher`".into(),
                    ));
                }
                if doc
                    .keys
                    .iter()
                    .any(|k| k.dev_secret.is_none() || k.nonce.is_some() || k.ciphertext.is_some())
                {
                    return Err(KeystoreError::Malformed(
                        "every key of a dev-plaintext keystore has `dev_secret` and no `nonce` or `ciphertext`".into(),
                    ));
                }
                None
            }
            ENCRYPTED => {
                let (Some(kdf_json), Some(cipher)) = (doc.kdf, doc.cipher) else {
                    return Err(KeystoreError::Malformed(
                        "an encrypted keystore needs `kdf` and `cipher`".into(),
                    ));
                };
                if doc
                    .keys
                    .iter()
                    .any(|k| k.dev_secret.is_some() || k.nonce.is_none() || k.ciphertext.is_none())
                {
                    return Err(KeystoreError::Malformed(
                        "every key of an encrypted keystore has `nonce` and `ciphertext` and no `dev_secret`".into(),
                    ));
                }
                let (kdf, salt_hex) = sealing::kdf_from_json(kdf_json)?;
                if cipher.name != CIPHER_NAME {
                    return Err(KeystoreError::UnknownCipher(cipher.name));
                }
                let salt: [u8; SALT_LEN] = decode_array("kdf.salt", &salt_hex)?;
                let check_nonce: [u8; NONCE_LEN] =
                    decode_array("cipher.check_nonce", &cipher.check_nonce)?;
                let check: [u8; TAG_LEN] = decode_array("cipher.check", &cipher.check)?;
                sealing::check_usable(&kdf)?;
                if policy == KdfPolicy::RequireStrong && kdf.is_weak() {
                    return Err(KeystoreError::WeakKdf(kdf));
                }
                let password = password.ok_or(KeystoreError::PasswordRequired)?;
                let key = sealing::derive_key(password, &kdf, &salt)?;
                let sealer = Sealer {
                    kdf,
                    salt,
                    key,
                    check_nonce,
                    check: check.to_vec(),
                };
                let aad = sealer.check_aad(&doc.network);
                if sealing::open(&sealer.key, &check_nonce, &sealer.check, &aad).is_none() {
                    return Err(KeystoreError::WrongPassword);
                }
                Some(sealer)
            }
            other => return Err(KeystoreError::UnknownProtection(other.to_owned())),
        };

        let mut entries = Vec::with_capacity(parsed.len());
        let mut seen = HashSet::with_capacity(parsed.len());
        for (k, public_key) in parsed {
            let (key, sealed) = match &sealer {
                None => {
                    let hex_secret = k.dev_secret.as_deref().unwrap_or_default();
                    let secret = Zeroizing::new(decode_array::<32>("keys.dev_secret", hex_secret)?);
                    (SigningKey::from_secret_bytes(*secret), None)
                }
                Some(sealer) => {
                    let corrupt = || KeystoreError::CorruptKey {
                        address: k.address.clone(),
                    };
                    let nonce: [u8; NONCE_LEN] =
                        decode_array("keys.nonce", k.nonce.as_deref().unwrap_or_default())?;
                    let ciphertext = decode_hex(
                        "keys.ciphertext",
                        k.ciphertext.as_deref().unwrap_or_default(),
                    )?;
                    let aad = sealer.key_aad(&doc.network, &public_key);
                    let plaintext = sealing::open(&sealer.key, &nonce, &ciphertext, &aad)
                        .ok_or_else(corrupt)?;
                    let secret: [u8; 32] =
                        plaintext.as_slice().try_into().map_err(|_| corrupt())?;
                    let secret = Zeroizing::new(secret);
                    (
                        SigningKey::from_secret_bytes(*secret),
                        Some((nonce, ciphertext)),
                    )
                }
            };
            let pubkey_hash = public_key.pubkey_hash();
            if key.public_key() != public_key || network.address(&pubkey_hash) != k.address {
                return Err(KeystoreError::KeyMismatch {
                    address: k.address.clone(),
                });
            }
            if !seen.insert(pubkey_hash) {
                return Err(KeystoreError::DuplicateKey {
                    address: k.address.clone(),
                });
            }
            entries.push(Entry {
                key,
                public_key,
                pubkey_hash,
                address: k.address.clone(),
                label: k.label.clone(),
                sealed,
            });
        }
        Ok(Keystore {
            network: network.clone(),
            sealer,
            entries,
            max_keys: usize::MAX,
        })
    }
}

impl KeySource for Keystore {
    fn key_for(&self, owner: &PubkeyHash) -> Option<&SigningKey> {
        self.entries
            .iter()
            .find(|e| e.pubkey_hash == *owner)
            .map(|e| &e.key)
    }

    /// The first key's address. The node usually names the sender's own address as the change
    /// address instead.
    fn default_change_address(&self) -> Option<PubkeyHash> {
        self.entries.first().map(|e| e.pubkey_hash)
    }
}

/// Plaintext keys only on the `dev` preset itself: decided by the genesis hash (the network's identity), so a
/// private chain spec that is merely *named* `dev` does not get them.
fn check_dev(network: &Network) -> Result<(), KeystoreError> {
    if !network.is_dev_preset() {
        return Err(KeystoreError::PlaintextNotAllowed {
            network: network.spec().name.clone(),
        });
    }
    Ok(())
}

fn decode_hex(field: &'static str, s: &str) -> Result<Vec<u8>, KeystoreError> {
    hex::decode(s).map_err(|e| KeystoreError::InvalidField {
        field,
        reason: format!("not hex: {e}"),
    })
}

fn decode_array<const N: usize>(field: &'static str, s: &str) -> Result<[u8; N], KeystoreError> {
    let bytes = Zeroizing::new(decode_hex(field, s)?);
    <[u8; N]>::try_from(bytes.as_slice()).map_err(|_| KeystoreError::InvalidField {
        field,
        reason: format!("{} bytes; expected {N}", bytes.len()),
    })
}

// ---------------------------------------------------------------------------------------------
// JSON shapes (version 1)

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeystoreJson<K> {
    format: String,
    version: u32,
    network: String,
    protection: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kdf: Option<K>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cipher: Option<CipherJson>,
    keys: Vec<KeyJson>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CipherJson {
    name: String,
    check_nonce: String,
    check: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyJson {
    address: String,
    public_key: String,
    #[serde(default)]
    label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dev_secret: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    nonce: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ciphertext: Option<String>,
}

#[cfg(test)]
mod tests;
