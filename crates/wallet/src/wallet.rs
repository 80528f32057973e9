//! An unlocked wallet: the recovery phrase, the network it is for, and the keys and addresses of
//! its accounts.
//!
//! A [`Wallet`] is what a [`KeyFile`] becomes once the password has been given
//! ([`Wallet::unlock`]), and what is locked back into one ([`Wallet::lock`]). It holds:
//!
//! * the decrypted [`Mnemonic`] (wiped from memory on drop);
//! * the [`Network`] (`ferrochain-core`'s checked chain spec), which gives the address prefix and
//!   the network id that signatures commit to;
//! * its accounts: for each address index `i`, the key derived along `m/44'/9000'/0'/0'/i'`, its
//!   [`PubkeyHash`] and its address `network.address(&pubkey_hash)` (bech32m with the chain's
//!   prefix), plus the user's label.
//!
//! A wallet always has at least one account (index 0); [`Wallet::new_address`] derives the next
//! one. Its first account (the lowest index) receives change by default.
//!
//! ```
//! use ferrochain_core::Network;
//! use ferrochain_wallet::{KdfParams, KdfPolicy, KeyFile, Wallet};
//!
//! let network = Network::dev();
//! let mut rng = rand::rng();
//! let mut wallet = Wallet::create(&network, &mut rng)?;
//! let second = wallet.new_address()?.address().to_owned();
//! // Real wallets use KdfParams::pbkdf2_default() (slow by design).
//! let file = wallet.lock("password", KdfParams::insecure_fast_for_tests(), 0, &mut rng)?;
//! let bytes = file.to_json_bytes();
//!
//! let file = KeyFile::from_json_bytes_with(&bytes, KdfPolicy::AllowWeakForTests)?;
//! let reopened = Wallet::unlock(&file, "password", &network)?;
//! assert_eq!(reopened.address(1)?, second);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Performance
//!
//! [`Wallet::unlock`] and [`Wallet::lock`] run the wallet file's password KDF (slow by design:
//! see [`crate::keyfile`]); on an async runtime call them from a blocking thread. Creating,
//! restoring and deriving addresses run one BIP-39 seed computation (2,048 PBKDF2-SHA512 rounds)
//! per call; everything else is fast.

use std::fmt;

use ferrochain_core::{Network, PubkeyHash, PublicKey, SigningKey};
use rand_core::CryptoRng;

use crate::build::KeySource;
use crate::keyfile::{Account, KdfParams, KeyFile, KeyFileError};
use crate::mnemonic::{Mnemonic, MnemonicError, WALLET_BIP39_PASSPHRASE};
use crate::slip10::{self, DerivationError, HARDENED};

/// Errors of creating, unlocking, locking and using a [`Wallet`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WalletError {
    /// The wallet file belongs to another network than the one asked for.
    #[error(
        "the wallet file is for network {file:?}, not {expected:?}: open it on its own network"
    )]
    NetworkMismatch {
        /// The network named in the file.
        file: String,
        /// The network asked for (`network.spec().name`).
        expected: String,
    },
    /// The wallet file could not be opened or written (wrong password, edited file, weak KDF…).
    #[error(transparent)]
    KeyFile(#[from] KeyFileError),
    /// The recovery phrase given to [`Wallet::restore`] is not valid.
    #[error(transparent)]
    Mnemonic(#[from] MnemonicError),
    /// A key could not be derived (an address index of 2^31 or more).
    #[error(transparent)]
    Derivation(#[from] DerivationError),
    /// The wallet has no account with this index.
    #[error("the wallet has no address with index {index}")]
    NoSuchAccount {
        /// The index asked for.
        index: u32,
    },
    /// An account's address in the file is not the address of its public key on this network
    /// (the file's public part was edited).
    #[error(
        "account {index}: the file says its address is {stored:?}, but its key's address is {expected:?}"
    )]
    AddressMismatch {
        /// The account's index.
        index: u32,
        /// The address in the file.
        stored: String,
        /// The address computed from the key.
        expected: String,
    },
}

/// One account of an unlocked wallet: an address and the key that spends from it.
#[derive(Clone)]
pub struct WalletAccount {
    index: u32,
    key: SigningKey,
    public_key: PublicKey,
    pubkey_hash: PubkeyHash,
    address: String,
    label: Option<String>,
}

impl WalletAccount {
    fn derive(
        seed: &[u8],
        index: u32,
        network: &Network,
        label: Option<String>,
    ) -> Result<WalletAccount, WalletError> {
        let key = slip10::derive_account(seed, index)?.signing_key();
        let public_key = key.public_key();
        let pubkey_hash = public_key.pubkey_hash();
        Ok(WalletAccount {
            index,
            address: network.address(&pubkey_hash),
            key,
            public_key,
            pubkey_hash,
            label,
        })
    }

    /// Address index `i` of the derivation path `m/44'/9000'/0'/0'/i'`.
    pub fn index(&self) -> u32 {
        self.index
    }

    /// The Ed25519 public key.
    pub fn public_key(&self) -> PublicKey {
        self.public_key
    }

    /// The hash outputs paying this account lock to.
    pub fn pubkey_hash(&self) -> PubkeyHash {
        self.pubkey_hash
    }

    /// The address (bech32m with the network's prefix).
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The user's label, if any.
    pub fn label(&self) -> Option<&str> {
        self.label.as_deref()
    }

    /// The signing key. Whoever has it can spend this account's coins.
    pub fn signing_key(&self) -> &SigningKey {
        &self.key
    }
}

impl fmt::Debug for WalletAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WalletAccount")
            .field("index", &self.index)
            .field("address", &self.address)
            .field("label", &self.label)
            .finish_non_exhaustive()
    }
}

/// An unlocked wallet: recovery phrase, network and accounts (see the [module docs](self)).
#[derive(Clone)]
pub struct Wallet {
    mnemonic: Mnemonic,
    network: Network,
    /// Sorted by index, never empty.
    accounts: Vec<WalletAccount>,
}

impl fmt::Debug for Wallet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wallet")
            .field("network", &self.network.spec().name)
            .field("accounts", &self.accounts)
            .finish_non_exhaustive()
    }
}

impl Wallet {
    /// A new wallet for `network` with a fresh 24-word phrase drawn from `rng` and account 0.
    /// Show [`Wallet::mnemonic`]'s phrase to the user once so they can write it down.
    ///
    /// # Errors
    /// None in practice ([`WalletError::Derivation`] cannot happen for index 0).
    pub fn create(network: &Network, rng: &mut impl CryptoRng) -> Result<Wallet, WalletError> {
        Wallet::from_mnemonic(network, Mnemonic::generate(rng), 1)
    }

    /// The wallet of a typed recovery phrase, with account 0. Derive more with
    /// [`Wallet::new_address`] or [`Wallet::ensure_accounts`] (e.g. scanning until 20 unused
    /// addresses in a row).
    ///
    /// # Errors
    /// [`WalletError::Mnemonic`] naming what is wrong with the phrase.
    pub fn restore(network: &Network, phrase: &str) -> Result<Wallet, WalletError> {
        Wallet::from_mnemonic(network, Mnemonic::parse(phrase)?, 1)
    }

    /// The wallet of `mnemonic` with accounts `0..account_count` (at least account 0).
    ///
    /// # Errors
    /// [`WalletError::Derivation`] if `account_count` exceeds 2^31.
    pub fn from_mnemonic(
        network: &Network,
        mnemonic: Mnemonic,
        account_count: u32,
    ) -> Result<Wallet, WalletError> {
        let mut wallet = Wallet {
            mnemonic,
            network: network.clone(),
            accounts: Vec::new(),
        };
        wallet.ensure_accounts(account_count.max(1))?;
        Ok(wallet)
    }

    /// Opens a wallet file: checks it belongs to `network` (by `network.spec().name`), decrypts
    /// the phrase and re-derives every account listed in the file (keeping their labels). A
    /// file without accounts gets account 0.
    ///
    /// # Errors
    /// [`WalletError::NetworkMismatch`] (checked first, before the slow KDF);
    /// [`WalletError::KeyFile`] with [`KeyFileError::WrongPassword`],
    /// [`KeyFileError::AccountMismatch`] etc.; [`WalletError::AddressMismatch`] if an account's
    /// address string is not its key's address on `network`.
    ///
    /// # Performance
    /// Runs the file's KDF: slow by design; call it from a blocking thread on an async runtime.
    pub fn unlock(
        file: &KeyFile,
        password: &str,
        network: &Network,
    ) -> Result<Wallet, WalletError> {
        let expected = &network.spec().name;
        if file.network() != expected {
            return Err(WalletError::NetworkMismatch {
                file: file.network().to_owned(),
                expected: expected.clone(),
            });
        }
        let mnemonic = file.decrypt(password)?;
        let seed = mnemonic.to_seed(WALLET_BIP39_PASSPHRASE);
        let mut accounts = Vec::with_capacity(file.accounts().len().max(1));
        for stored in file.accounts() {
            let account = WalletAccount::derive(
                seed.as_slice(),
                stored.index,
                network,
                stored.label.clone(),
            )?;
            if account.address != stored.address {
                return Err(WalletError::AddressMismatch {
                    index: stored.index,
                    stored: stored.address.clone(),
                    expected: account.address,
                });
            }
            accounts.push(account);
        }
        if accounts.is_empty() {
            accounts.push(WalletAccount::derive(seed.as_slice(), 0, network, None)?);
        }
        accounts.sort_by_key(|a| a.index);
        Ok(Wallet {
            mnemonic,
            network: network.clone(),
            accounts,
        })
    }

    /// Encrypts the wallet into a new wallet file (fresh salt and nonce from `rng`) listing every
    /// account with its public key, address and label. `created_ms` is stored as given.
    ///
    /// # Errors
    /// [`WalletError::KeyFile`] with [`KeyFileError::EmptyPassword`],
    /// [`KeyFileError::InvalidKdfParams`] or [`KeyFileError::KdfTooExpensive`].
    ///
    /// # Performance
    /// Runs the KDF: slow by design; call it from a blocking thread on an async runtime.
    pub fn lock(
        &self,
        password: &str,
        kdf: KdfParams,
        created_ms: u64,
        rng: &mut impl CryptoRng,
    ) -> Result<KeyFile, WalletError> {
        let accounts = self
            .accounts
            .iter()
            .map(|a| Account {
                index: a.index,
                public_key: a.public_key.to_bytes(),
                address: a.address.clone(),
                label: a.label.clone(),
            })
            .collect();
        Ok(KeyFile::encrypt(
            &self.mnemonic,
            password,
            kdf,
            &self.network.spec().name,
            accounts,
            created_ms,
            rng,
        )?)
    }

    /// The recovery phrase. Show it only when the user asks to back it up.
    pub fn mnemonic(&self) -> &Mnemonic {
        &self.mnemonic
    }

    /// The network the wallet is for.
    pub fn network(&self) -> &Network {
        &self.network
    }

    /// Every account, by increasing index (never empty).
    pub fn accounts(&self) -> &[WalletAccount] {
        &self.accounts
    }

    /// The account with address index `index`.
    ///
    /// # Errors
    /// [`WalletError::NoSuchAccount`].
    pub fn account(&self, index: u32) -> Result<&WalletAccount, WalletError> {
        self.accounts
            .binary_search_by_key(&index, |a| a.index)
            .map(|pos| &self.accounts[pos])
            .map_err(|_| WalletError::NoSuchAccount { index })
    }

    /// The address of account `index`.
    ///
    /// # Errors
    /// [`WalletError::NoSuchAccount`].
    pub fn address(&self, index: u32) -> Result<&str, WalletError> {
        self.account(index).map(WalletAccount::address)
    }

    /// The key hash of account `index` (what outputs to it lock to).
    ///
    /// # Errors
    /// [`WalletError::NoSuchAccount`].
    pub fn pubkey_hash(&self, index: u32) -> Result<PubkeyHash, WalletError> {
        self.account(index).map(WalletAccount::pubkey_hash)
    }

    /// The signing key of account `index`.
    ///
    /// # Errors
    /// [`WalletError::NoSuchAccount`].
    pub fn signing_key(&self, index: u32) -> Result<&SigningKey, WalletError> {
        self.account(index).map(WalletAccount::signing_key)
    }

    /// The account whose key hashes to `owner`, if the wallet holds it.
    pub fn account_for(&self, owner: &PubkeyHash) -> Option<&WalletAccount> {
        self.accounts.iter().find(|a| a.pubkey_hash == *owner)
    }

    /// The first account (lowest index): where change goes by default. Always `Some`: a wallet
    /// holds at least one account.
    pub fn first_account(&self) -> Option<&WalletAccount> {
        self.accounts.first()
    }

    /// Derives the account after the highest index so far and returns it.
    ///
    /// # Errors
    /// [`WalletError::Derivation`] if the next index would be 2^31.
    pub fn new_address(&mut self) -> Result<&WalletAccount, WalletError> {
        let next = self
            .accounts
            .last()
            .map_or(Some(0), |a| a.index.checked_add(1));
        let index = match next {
            Some(i) if i < HARDENED => i,
            _ => {
                return Err(WalletError::Derivation(DerivationError::IndexTooLarge {
                    position: 5,
                    segment: HARDENED.to_string(),
                }));
            }
        };
        let seed = self.mnemonic.to_seed(WALLET_BIP39_PASSPHRASE);
        let account = WalletAccount::derive(seed.as_slice(), index, &self.network, None)?;
        self.accounts.push(account);
        self.accounts
            .last()
            .ok_or(WalletError::NoSuchAccount { index })
    }

    /// Makes sure accounts `0..count` all exist, deriving the missing ones.
    ///
    /// # Errors
    /// [`WalletError::Derivation`] if `count` exceeds 2^31.
    pub fn ensure_accounts(&mut self, count: u32) -> Result<(), WalletError> {
        let missing: Vec<u32> = (0..count).filter(|i| self.account(*i).is_err()).collect();
        if missing.is_empty() {
            return Ok(());
        }
        let seed = self.mnemonic.to_seed(WALLET_BIP39_PASSPHRASE);
        for index in missing {
            let account = WalletAccount::derive(seed.as_slice(), index, &self.network, None)?;
            self.accounts.push(account);
        }
        self.accounts.sort_by_key(|a| a.index);
        Ok(())
    }

    /// Sets or clears the label of account `index`.
    ///
    /// # Errors
    /// [`WalletError::NoSuchAccount`].
    pub fn set_label(&mut self, index: u32, label: Option<String>) -> Result<(), WalletError> {
        let pos = self
            .accounts
            .binary_search_by_key(&index, |a| a.index)
            .map_err(|_| WalletError::NoSuchAccount { index })?;
        self.accounts[pos].label = label;
        Ok(())
    }
}

impl KeySource for Wallet {
    fn key_for(&self, owner: &PubkeyHash) -> Option<&SigningKey> {
        self.account_for(owner).map(WalletAccount::signing_key)
    }

    fn default_change_address(&self) -> Option<PubkeyHash> {
        self.first_account().map(WalletAccount::pubkey_hash)
    }
}

#[cfg(test)]
mod tests;
