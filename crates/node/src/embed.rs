//! A ferrochain chain inside another Rust program: no HTTP server, no async runtime, no files except the
//! store you choose. [`Chain`] opens a chain on a [`Storage`] (in memory, an SQLite file or PostgreSQL) and
//! offers the few operations a program needs — make wallets, send, mine a block with at most N transactions,
//! read balances, list blocks — with the same validation, fork choice and storage as a node
//! ([`ferrochain_state::State`], reachable through [`Chain::state`] for everything else).
//!
//! Wallets here are plain keys ([`Wallet`]) that your program holds: the chain never stores them. Keep
//! [`Wallet::secret_bytes`] somewhere safe to use a wallet again after a restart
//! ([`Chain::wallet_from_secret`]).
//!
//! ```
//! use ferrochain_node::embed::{Chain, Storage};
//!
//! # fn main() -> Result<(), ferrochain_node::embed::EmbedError> {
//! let chain = Chain::open("dev", &Storage::Memory)?;
//! let alice = chain.new_wallet();
//! let bob = chain.new_wallet();
//!
//! chain.mine_block(alice.address(), 5)?; // the reward (10 on `dev`) goes to alice
//! chain.send(&alice, bob.address(), "2.5")?; // signed by alice's key, waits in the mempool
//! chain.mine_block(bob.address(), 5)?; // confirms it; bob also gets the reward
//!
//! assert_eq!(chain.balance_text(alice.address())?, "7.5");
//! assert_eq!(chain.balance_text(bob.address())?, "12.5");
//! assert_eq!(chain.height(), 2);
//! assert_eq!(chain.blocks()?.len(), 3); // genesis and the two mined blocks
//! # Ok(())
//! # }
//! ```
//!
//! `crates/node/examples/embed.rs` (`cargo run --example embed`) walks through the UTXO seed system's usage
//! example: three wallets, sends, blocks mined with a transaction limit, balances.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64};

use ferrochain_core::crypto::AddressError;
use ferrochain_core::units::AmountError;
use ferrochain_core::{
    Amount, Block, BlockHash, Height, Network, PubkeyHash, SigningKey, Transaction, Txid,
};
use ferrochain_state::postgres::PostgresStore;
use ferrochain_state::sqlite::SqliteStore;
use ferrochain_state::{Balance, BlockOutcome, State, StateConfig, StateError, Store, StoreError};
use ferrochain_wallet::build::{BuildError, TransferRequest, build_transfer};
use ferrochain_wallet::coin_select::{Candidate, FeePolicy, Maturity, SelectionOptions};

use crate::config::{NetworkError, load_network};
use crate::miner::{MineError, Miner};

/// The SQLite file a node keeps in its data directory.
pub const SQLITE_FILE: &str = "chain.sqlite";

/// Where a chain is stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Storage {
    /// In memory (SQLite in memory): gone when the [`Chain`] is dropped. For tests and throw-away chains.
    Memory,
    /// An SQLite database file (created if missing).
    Sqlite(PathBuf),
    /// A PostgreSQL database at this URL (`postgres://user@host/db`).
    Postgres(String),
}

impl Storage {
    /// Where a node with this data directory and optional `--database` URL stores its chain:
    /// PostgreSQL when a URL is given, else `DATA_DIR/chain.sqlite`.
    pub fn for_node(data_dir: &Path, database: Option<&str>) -> Storage {
        match database {
            Some(url) => Storage::Postgres(url.to_string()),
            None => Storage::Sqlite(data_dir.join(SQLITE_FILE)),
        }
    }

    /// Opens the store.
    ///
    /// # Errors
    /// [`StoreError`] if the file or database cannot be opened.
    pub fn open(&self) -> Result<Box<dyn Store>, StoreError> {
        Ok(match self {
            Storage::Memory => Box::new(SqliteStore::open_in_memory()?),
            Storage::Sqlite(path) => Box::new(SqliteStore::open_path(path)?),
            Storage::Postgres(url) => Box::new(PostgresStore::connect(url)?),
        })
    }
}

/// Why an embedded chain operation failed.
#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    /// The network name or chain spec file is not usable.
    #[error(transparent)]
    Network(#[from] NetworkError),
    /// The store could not be opened.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The chain state refused or failed (an invalid block or transaction, a store error).
    #[error(transparent)]
    State(#[from] StateError),
    /// An address is not an address of this chain's network.
    #[error("address {address:?}: {source}")]
    Address {
        /// The text given.
        address: String,
        /// Why it is not valid here.
        source: AddressError,
    },
    /// An amount is not a valid amount of this network's unit.
    #[error("amount {amount:?}: {source}")]
    Amount {
        /// The text given.
        amount: String,
        /// Why.
        source: AmountError,
    },
    /// The transfer cannot be built (insufficient funds, zero amount, ...).
    #[error(transparent)]
    Build(#[from] BuildError),
    /// A mined block was not connected (another block took its place) several times in a row.
    #[error("the mined block was not connected: {0:?}")]
    NotConnected(BlockOutcome),
}

/// A wallet: one signing key and its address. Your program holds it; the chain never stores keys.
#[derive(Clone)]
pub struct Wallet {
    key: SigningKey,
    pubkey_hash: PubkeyHash,
    address: String,
}

impl std::fmt::Debug for Wallet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        f.debug_struct("Wallet")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

impl Wallet {
    fn new(key: SigningKey, network: &Network) -> Wallet {
        let pubkey_hash = key.public_key().pubkey_hash();
        Wallet {
            address: network.address(&pubkey_hash),
            pubkey_hash,
            key,
        }
    }

    /// The address (bech32m with the network's prefix), to give to people who pay you.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The public-key hash the address encodes.
    pub fn pubkey_hash(&self) -> PubkeyHash {
        self.pubkey_hash
    }

    /// The signing key.
    pub fn signing_key(&self) -> &SigningKey {
        &self.key
    }

    /// The 32-byte secret, to store (securely) and restore with [`Chain::wallet_from_secret`].
    pub fn secret_bytes(&self) -> [u8; 32] {
        self.key.secret_bytes()
    }
}

/// The outputs of `owner` a new transfer may spend now — confirmed ones not spent by the mempool and
/// unconfirmed change — with the matching selection options (unconfirmed change allowed, coinbase maturity
/// for the next block). Node-held payments and [`Chain::send`] both use it.
///
/// # Errors
/// [`StateError::Store`].
pub fn transfer_candidates(
    state: &State,
    owner: &PubkeyHash,
) -> Result<(Vec<Candidate>, SelectionOptions), StateError> {
    let tip = state.tip().height;
    let candidates = state
        .spendable(owner)?
        .into_iter()
        .map(|(op, e)| {
            if e.height.0 > tip.0 {
                Candidate::unconfirmed(op, e)
            } else {
                Candidate::confirmed(op, e)
            }
        })
        .collect();
    let options = SelectionOptions {
        allow_unconfirmed: true,
        maturity: Some(Maturity::for_next_block(state.network(), tip)),
        ..SelectionOptions::default()
    };
    Ok((candidates, options))
}

/// A chain embedded in a program (see the [module docs](self)). Cheap to clone: clones share one chain.
#[derive(Clone, Debug)]
pub struct Chain {
    state: State,
}

impl Chain {
    /// Opens the chain of `network` — `"dev"`, `"lab"` or the path of a chain spec TOML file — on `storage`,
    /// writing genesis on first use.
    ///
    /// # Errors
    /// [`EmbedError::Network`], [`EmbedError::Store`] (including a store that holds another network's
    /// chain), [`EmbedError::State`].
    pub fn open(network: &str, storage: &Storage) -> Result<Chain, EmbedError> {
        Chain::open_network(load_network(network)?, storage)
    }

    /// Opens a chain of an already built [`Network`] on `storage`.
    ///
    /// # Errors
    /// As [`Chain::open`].
    pub fn open_network(network: Network, storage: &Storage) -> Result<Chain, EmbedError> {
        let state = State::open(network, storage.open()?, StateConfig::default())?;
        Ok(Chain { state })
    }

    /// The network.
    pub fn network(&self) -> &Network {
        self.state.network()
    }

    /// The full chain state: blocks by hash, transactions with confirmations, UTXOs, history, mempool,
    /// submission of blocks and transactions from elsewhere.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// The height of the tip (genesis is 0).
    pub fn height(&self) -> u64 {
        self.state.tip().height.0
    }

    /// The hash of the tip.
    pub fn tip_hash(&self) -> BlockHash {
        self.state.tip().hash
    }

    /// A new wallet with a fresh random key.
    pub fn new_wallet(&self) -> Wallet {
        Wallet::new(SigningKey::generate(&mut rand::rng()), self.network())
    }

    /// The wallet of a stored secret ([`Wallet::secret_bytes`]).
    pub fn wallet_from_secret(&self, secret: [u8; 32]) -> Wallet {
        Wallet::new(SigningKey::from_secret_bytes(secret), self.network())
    }

    /// Reads an address of this network.
    ///
    /// # Errors
    /// [`EmbedError::Address`] for a typo or another network's address.
    pub fn parse_address(&self, address: &str) -> Result<PubkeyHash, EmbedError> {
        self.network()
            .parse_address(address)
            .map_err(|source| EmbedError::Address {
                address: address.to_string(),
                source,
            })
    }

    /// Reads an amount in whole units (`"2.5"`) of this network.
    ///
    /// # Errors
    /// [`EmbedError::Amount`] for text that is not a valid amount (negative, too precise, too large).
    pub fn parse_amount(&self, amount: &str) -> Result<Amount, EmbedError> {
        Amount::parse_units(amount, self.network().spec().decimals).map_err(|source| {
            EmbedError::Amount {
                amount: amount.to_string(),
                source,
            }
        })
    }

    /// Shows an amount in whole units (`"2.5"`).
    pub fn format_amount(&self, amount: Amount) -> String {
        amount.format_units(self.network().spec().decimals)
    }

    /// Sends `amount` (whole units, `"2.5"`) from `from` to `to` with no fee: builds and signs the transfer
    /// (spending unconfirmed change if needed) and adds it to the mempool. It is confirmed by the next
    /// [`Chain::mine_block`] that takes it.
    ///
    /// # Errors
    /// [`EmbedError::Address`], [`EmbedError::Amount`], [`EmbedError::Build`] (insufficient funds),
    /// [`EmbedError::State`] (refused by the mempool).
    pub fn send(&self, from: &Wallet, to: &str, amount: &str) -> Result<Txid, EmbedError> {
        self.send_with_fee(from, to, amount, "0")
    }

    /// [`Chain::send`] paying `fee` (whole units) to the miner.
    ///
    /// # Errors
    /// As [`Chain::send`].
    pub fn send_with_fee(
        &self,
        from: &Wallet,
        to: &str,
        amount: &str,
        fee: &str,
    ) -> Result<Txid, EmbedError> {
        let to = self.parse_address(to)?;
        let amount = self.parse_amount(amount)?;
        let fee = self.parse_amount(fee)?;
        let (candidates, options) = transfer_candidates(&self.state, &from.pubkey_hash)?;
        let request = TransferRequest::new(vec![(to, amount)], FeePolicy::Fixed(fee))
            .with_change_address(from.pubkey_hash)
            .with_options(options);
        let tx = build_transfer(&from.key, &candidates, &request, self.network())?;
        Ok(self.state.submit_transaction(tx)?)
    }

    /// Mines one block on the tip with at most `max_txs` mempool transactions (in mempool order: fee rate,
    /// then arrival) and the block reward to `reward_to`, and connects it. Mines on the calling thread (a
    /// `dev` block takes about 65,000 hashes: milliseconds).
    ///
    /// # Errors
    /// [`EmbedError::Address`], [`EmbedError::State`], [`EmbedError::NotConnected`].
    pub fn mine_block(&self, reward_to: &str, max_txs: usize) -> Result<Block, EmbedError> {
        let reward_to = self.parse_address(reward_to)?;
        let mut outcome = BlockOutcome::AlreadyKnown;
        // The node's miner on this thread alone; nothing else moves this chain's tip while it searches.
        let miner = Miner::new(1);
        let (tip_generation, never) = (AtomicU64::new(0), AtomicBool::new(false));
        for _ in 0..3 {
            let block = match miner.mine(&self.state, &tip_generation, reward_to, max_txs, &never) {
                Ok(Some(block)) => block,
                Ok(None) | Err(MineError::Interrupted) => continue,
                Err(MineError::Template(e)) => return Err(EmbedError::State(e)),
                Err(MineError::Bits(e)) => return Err(StateError::Inconsistent(e).into()),
            };
            outcome = self.state.submit_block(block.clone())?;
            if matches!(outcome, BlockOutcome::Connected(_)) {
                return Ok(block);
            }
        }
        Err(EmbedError::NotConnected(outcome))
    }

    /// The confirmed and pending balance of `address`.
    ///
    /// # Errors
    /// [`EmbedError::Address`], [`EmbedError::State`].
    pub fn balance(&self, address: &str) -> Result<Balance, EmbedError> {
        Ok(self.state.balance(&self.parse_address(address)?)?)
    }

    /// The confirmed balance of `address` in whole units (`"7.5"`).
    ///
    /// # Errors
    /// As [`Chain::balance`].
    pub fn balance_text(&self, address: &str) -> Result<String, EmbedError> {
        Ok(self.format_amount(self.balance(address)?.confirmed))
    }

    /// The active block at `height`.
    ///
    /// # Errors
    /// [`EmbedError::State`].
    pub fn block(&self, height: u64) -> Result<Option<Block>, EmbedError> {
        Ok(self.state.block_at(Height(height))?)
    }

    /// Every block of the active chain, genesis first.
    ///
    /// # Errors
    /// [`EmbedError::State`].
    pub fn blocks(&self) -> Result<Vec<Block>, EmbedError> {
        let tip = self.height();
        let mut blocks = Vec::with_capacity(tip as usize + 1);
        for h in 0..=tip {
            if let Some(b) = self.block(h)? {
                blocks.push(b);
            }
        }
        Ok(blocks)
    }

    /// The transactions waiting in the mempool, in the order a block takes them.
    pub fn pending(&self) -> Vec<Transaction> {
        self.state
            .mempool()
            .into_iter()
            .map(|entry| entry.tx)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_chain_survives_reopening_its_sqlite_file_and_keys_restore_from_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::for_node(dir.path(), None);
        assert_eq!(storage, Storage::Sqlite(dir.path().join("chain.sqlite")));
        let secret = {
            let chain = Chain::open("dev", &storage).unwrap();
            let w = chain.new_wallet();
            chain.mine_block(w.address(), 1).unwrap();
            w.secret_bytes()
        };
        let chain = Chain::open("dev", &storage).unwrap();
        let w = chain.wallet_from_secret(secret);
        assert_eq!(chain.height(), 1);
        assert_eq!(chain.balance_text(w.address()).unwrap(), "10");
        assert!(!format!("{w:?}").contains(&hex::encode(secret)));
    }

    #[test]
    fn errors_say_what_is_wrong() {
        let chain = Chain::open("dev", &Storage::Memory).unwrap();
        let (a, b) = (chain.new_wallet(), chain.new_wallet());
        assert!(matches!(
            chain.send(&a, b.address(), "1"),
            Err(EmbedError::Build(_))
        ));
        assert!(matches!(
            chain.send(&a, "dev1typo", "1"),
            Err(EmbedError::Address { .. })
        ));
        assert!(matches!(
            chain.send(&a, b.address(), "-7abc"),
            Err(EmbedError::Amount { .. })
        ));
        assert!(matches!(
            Chain::open("nowhere.toml", &Storage::Memory),
            Err(EmbedError::Network(_))
        ));
    }
}
