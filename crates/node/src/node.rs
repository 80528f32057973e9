//! [`Node`]: the running node's shared handle — chain state, node-held keys, miner, events and peers — and the
//! operations the HTTP surfaces share (submit, mine, pay from a held key, sign a record).
//!
//! Everything CPU-heavy or blocking (signature checks, database writes, key derivation, mining) runs on
//! blocking threads (`spawn_blocking` or the miner's own threads), never on the async workers.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, RwLock, RwLockReadGuard};

use ferrochain_core::crypto::AddressError;
use ferrochain_core::{
    Amount, Block, BlockHash, Network, PubkeyHash, PublicKey, Transaction, Txid,
};
use ferrochain_state::{BlockOutcome, State, StateConfig, StateError, Store, Tip};
use ferrochain_wallet::KdfParams;
use ferrochain_wallet::build::{BuildError, TransferRequest, build_record, build_transfer};
use ferrochain_wallet::coin_select::{Candidate, FeePolicy, SelectionOptions};
use ferrochain_wallet::keystore::{Keystore, KeystoreError};
use tokio::sync::broadcast;

use crate::config::{Config, NetworkError, load_network};
use crate::error::ErrorCode;
use crate::events::Event;
use crate::files::write_atomically;
use crate::metrics::Metrics;
use crate::miner::{MineError, Miner};
use crate::peers::Peers;

/// Why the node could not open (bad settings, files, database). Kept apart from [`NodeError`], the errors of
/// single operations of a running node.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The network setting is not a preset or a usable chain spec file.
    #[error(transparent)]
    Network(#[from] NetworkError),
    /// The data directory or a file in it could not be created or read.
    #[error("data directory {path}: {source}")]
    DataDir {
        /// The directory or file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The chain state could not open (store, migrations, stored chain).
    #[error(transparent)]
    State(#[from] StateError),
    /// The node keystore could not be read or created (wrong password, damaged file).
    #[error("node keystore: {0}")]
    Keystore(#[from] KeystoreError),
    /// The miner address is not usable.
    #[error("miner address: {0}")]
    MinerAddress(String),
    /// The settings contradict each other.
    #[error("settings: {0}")]
    Settings(String),
}

/// Why an operation of a running node failed. Each error has an [`ErrorCode`] ([`NodeError::code`]) that every
/// surface maps the same way.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The chain state refused (an invalid block or transaction, a conflict) or failed (the store).
    #[error(transparent)]
    State(#[from] StateError),
    /// The node keystore failed.
    #[error("node keystore: {0}")]
    Keystore(#[from] KeystoreError),
    /// Node-held keys are unavailable (not a `dev` chain and no wallet password).
    #[error(
        "node-held keys are disabled on this network: start the node with a wallet password (--config wallet_password or FERROCHAIN_WALLET_PASSWORD)"
    )]
    KeysDisabled,
    /// The node holds no key for this address.
    #[error(
        "this node holds no key for {0}: sign the transaction yourself (a wallet file, /client/generate/transaction, or `ferrochain wallet send`)"
    )]
    NotHeld(String),
    /// Building a transaction failed (funds, amounts, payload).
    #[error(transparent)]
    Build(#[from] BuildError),
    /// An address is not an address of this network.
    #[error("address {address:?}: {source}")]
    Address {
        /// The text given.
        address: String,
        /// Why it is not valid here.
        source: AddressError,
    },
    /// A claimed author's name is not usable.
    #[error("author: {0}")]
    Claim(#[from] ferrochain_wallet::ClaimError),
    /// A legacy RSA record is refused (bad key, small key, bad signature).
    #[error("{0}")]
    Legacy(#[from] ferrochain_wallet::LegacyError),
    /// A request asked for something out of range (say, too many blocks at once).
    #[error("{0}")]
    OutOfRange(String),
    /// Mining was stopped before a block was found (shutdown, or the request was abandoned).
    #[error("mining was interrupted")]
    MiningInterrupted,
    /// The operation did not finish within the node's time limit (`request_timeout_secs`); its work was
    /// abandoned.
    #[error(
        "the request took longer than the node's limit of {0} s (request_timeout_secs); ask for less (fewer blocks, a smaller page)"
    )]
    TimedOut(u64),
    /// Writing a file of the node (the keystore) failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A blocking task of the operation panicked or was cancelled.
    #[error("internal task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

impl From<MineError> for NodeError {
    fn from(e: MineError) -> NodeError {
        match e {
            MineError::Interrupted => NodeError::MiningInterrupted,
            MineError::Template(e) => NodeError::State(e),
            MineError::Bits(reason) => NodeError::OutOfRange(reason),
        }
    }
}

impl NodeError {
    /// The stable code of this error, the same on every surface.
    pub fn code(&self) -> ErrorCode {
        match self {
            NodeError::State(e) => ErrorCode::of_state(e),
            NodeError::Build(BuildError::Selection(_)) => ErrorCode::InsufficientFunds,
            NodeError::Build(_) => ErrorCode::InvalidTransaction,
            NodeError::NotHeld(_) => ErrorCode::KeyNotHeld,
            NodeError::KeysDisabled => ErrorCode::KeysDisabled,
            NodeError::Address { .. } => ErrorCode::InvalidAddress,
            NodeError::OutOfRange(_) => ErrorCode::InvalidRequest,
            NodeError::Claim(_) | NodeError::Legacy(_) => ErrorCode::InvalidTransaction,
            NodeError::MiningInterrupted => ErrorCode::ShuttingDown,
            NodeError::TimedOut(_) => ErrorCode::Timeout,
            NodeError::Keystore(KeystoreError::Full { .. }) => ErrorCode::KeystoreFull,
            NodeError::Keystore(_) | NodeError::Io { .. } | NodeError::Task(_) => {
                ErrorCode::Internal
            }
        }
    }
}

/// The shared node. Cheap to clone.
#[derive(Clone)]
pub struct Node {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
    network: Network,
    state: State,
    keystore: Option<Mutex<Keystore>>,
    keystore_path: PathBuf,
    miner_address: PubkeyHash,
    events: broadcast::Sender<Event>,
    /// Bumped on every change of the active tip, so miners notice at once.
    tip_generation: AtomicU64,
    miner: Miner,
    peers: Peers,
    /// Whether the network is the `dev` preset (by genesis hash).
    dev: bool,
    /// Held (shared) while any payment from a node-held key is built and admitted, and exclusively by a
    /// chain reset ([`Node::payment_lock`]).
    payments: RwLock<()>,
    /// The senders whose payment is being built and admitted now: one at a time per sender
    /// ([`Node::payment_lock`]).
    paying: Mutex<HashSet<PubkeyHash>>,
    /// Signalled when a sender leaves `paying`.
    paid: Condvar,
    started_ms: u64,
    /// Drawn at random on every start and sent in every handshake, so the node recognises itself behind
    /// any name or address ([`Node::nonce`]).
    nonce: u64,
    /// One on-demand block search at a time ([`Node::block_searches`]).
    searches: tokio::sync::Semaphore,
    closing: tokio::sync::watch::Sender<bool>,
    /// Prometheus metrics (`/metrics`).
    metrics: Metrics,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node")
            .field("network", &self.inner.network.spec().name)
            .finish_non_exhaustive()
    }
}

pub use ferrochain_state::chain::now_ms;

fn open_store(config: &Config) -> Result<Box<dyn Store>, OpenError> {
    let storage = crate::embed::Storage::for_node(&config.data_dir, config.database.as_deref());
    Ok(storage.open().map_err(StateError::from)?)
}

impl Node {
    /// Opens the node: network, data directory, chain state, keystore (creating the node's own miner address on
    /// first start) and miner. Blocking: call it from `spawn_blocking` or before the runtime serves.
    ///
    /// # Errors
    /// [`OpenError`] with a message saying what to fix.
    pub fn open(config: Config) -> Result<Node, OpenError> {
        Node::open_with_clock(config, ferrochain_state::chain::system_clock())
    }

    /// [`Node::open`] with the chain state's clock given: the clock the "not too far in the future" rule and
    /// the sync's header checks read (tests skew it to play a node whose clock is behind).
    ///
    /// # Errors
    /// As [`Node::open`].
    pub fn open_with_clock(
        config: Config,
        clock: ferrochain_state::chain::Clock,
    ) -> Result<Node, OpenError> {
        if config.require_token_on_loopback && config.api_token.is_none() {
            return Err(OpenError::Settings(
                "require_token_on_loopback needs an api_token (--api-token): without one, nobody could act \
                 as the owner"
                    .into(),
            ));
        }
        let network = load_network(&config.network)?;
        std::fs::create_dir_all(&config.data_dir).map_err(|source| OpenError::DataDir {
            path: config.data_dir.clone(),
            source,
        })?;
        let state_config = StateConfig {
            mempool_max_bytes: config.mempool_max_bytes,
            clock,
            ..StateConfig::default()
        };
        let state = State::open(network.clone(), open_store(&config)?, state_config)?;
        let keystore_path = config
            .data_dir
            .join(format!("keystore-{}.json", network.spec().name));
        // `dev` behaviour (plaintext keys, open mining, reset) follows the `dev` preset's genesis hash, the
        // network's identity — not the spec's name, which any private chain may also carry.
        let is_dev = network.is_dev_preset();
        let mut rng = rand::rng();
        let keystore = if keystore_path.exists() {
            let bytes = std::fs::read(&keystore_path).map_err(|source| OpenError::DataDir {
                path: keystore_path.clone(),
                source,
            })?;
            match (is_dev, config.wallet_password.as_deref()) {
                (true, p) => Some(Keystore::from_json_bytes(&bytes, &network, p)?),
                (false, Some(p)) => Some(Keystore::from_json_bytes(&bytes, &network, Some(p))?),
                (false, None) => None,
            }
        } else if is_dev {
            Some(Keystore::new_dev(&network)?)
        } else if let Some(p) = config.wallet_password.as_deref() {
            Some(Keystore::new_encrypted(
                &network,
                p,
                KdfParams::pbkdf2_default(),
                &mut rng,
            )?)
        } else {
            None
        };
        let keystore = keystore.map(Mutex::new);
        let miner_address = match (&config.miner_address, &keystore) {
            (Some(a), _) => network
                .parse_address(a)
                .map_err(|e| OpenError::MinerAddress(e.to_string()))?,
            (None, Some(ks)) => {
                let mut ks = ks.lock().unwrap_or_else(|p| p.into_inner());
                let address = match ks.addresses().first() {
                    Some(a) => a.to_string(),
                    None => ks.generate(&mut rng)?,
                };
                write_atomically(&keystore_path, &ks.to_json_bytes()).map_err(|source| {
                    OpenError::DataDir {
                        path: keystore_path.clone(),
                        source,
                    }
                })?;
                network
                    .parse_address(&address)
                    .map_err(|e| OpenError::MinerAddress(e.to_string()))?
            }
            (None, None) => {
                return Err(OpenError::MinerAddress(
                    "no --miner-address given and node-held keys are disabled (no wallet password)"
                        .into(),
                ));
            }
        };
        // The cap applies to keys made from now on (the miner's own key above is always there).
        if let Some(ks) = &keystore {
            ks.lock()
                .unwrap_or_else(|p| p.into_inner())
                .set_max_keys(config.max_keys);
        }
        let (events, _) = broadcast::channel(1024);
        let threads = if config.mine_threads == 0 {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        } else {
            config.mine_threads
        };
        let peers = Peers::new(&config);
        let network_name = network.spec().name.clone();
        Ok(Node {
            inner: Arc::new(Inner {
                miner: Miner::new(threads),
                peers,
                dev: is_dev,
                payments: RwLock::new(()),
                paying: Mutex::new(HashSet::new()),
                paid: Condvar::new(),
                config,
                network,
                state,
                keystore,
                keystore_path,
                miner_address,
                events,
                tip_generation: AtomicU64::new(0),
                started_ms: now_ms(),
                nonce: rand::RngExt::random(&mut rng),
                searches: tokio::sync::Semaphore::new(1),
                closing: tokio::sync::watch::channel(false).0,
                metrics: Metrics::new(&network_name),
            }),
        })
    }

    /// The permit an on-demand block search (`GET /mine`, `POST /api/v1/mine`, the UI's "mine now") holds
    /// while it runs: one search at a time, each with all the miner's threads, so that concurrent requests
    /// queue (within their time limit) instead of each starting a full set of threads.
    pub(crate) fn block_searches(&self) -> &tokio::sync::Semaphore {
        &self.inner.searches
    }

    /// This run's handshake nonce: random per start. A handshake that carries it came from this node itself
    /// (reached through another name, address or port), however the URL was spelled.
    pub fn nonce(&self) -> u64 {
        self.inner.nonce
    }

    /// Whether this node runs the `dev` preset itself — decided by the genesis hash, not by the spec's name.
    pub fn is_dev_chain(&self) -> bool {
        self.inner.dev
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The network.
    pub fn network(&self) -> &Network {
        &self.inner.network
    }

    /// The chain state.
    pub fn state(&self) -> &State {
        &self.inner.state
    }

    /// The miner.
    pub fn miner(&self) -> &Miner {
        &self.inner.miner
    }

    /// The peers.
    pub fn peers(&self) -> &Peers {
        &self.inner.peers
    }

    /// The node's Prometheus metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// Every metric in the Prometheus text format, with the gauges read now.
    pub fn metrics_text(&self) -> String {
        let (mempool_txs, mempool_bytes) = self.inner.state.mempool_size();
        let miner = &self.inner.miner;
        self.inner.metrics.render(&crate::metrics::Gauges {
            height: self.inner.state.tip().height.0,
            mempool_txs,
            mempool_bytes,
            peers: self.inner.peers.len(),
            hash_rate: miner.hash_rate(),
            total_hashes: miner.total_hashes(),
            mining: miner.continuous().is_some(),
        })
    }

    /// Where this node's block rewards go by default.
    pub fn miner_address(&self) -> PubkeyHash {
        self.inner.miner_address
    }

    /// When the node started (ms since the Unix epoch).
    pub fn started_ms(&self) -> u64 {
        self.inner.started_ms
    }

    /// A receiver of node events (new blocks, transactions, reorgs).
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.inner.events.subscribe()
    }

    /// Publishes an event (no receivers is fine).
    pub fn publish(&self, event: Event) {
        let _ = self.inner.events.send(event);
    }

    /// Starts shutting down: mining stops within a chunk and event streams end.
    pub fn close(&self) {
        self.inner.miner.signal_shutdown();
        self.inner.closing.send_replace(true);
    }

    /// A receiver that turns `true` when the node starts shutting down.
    pub fn closing(&self) -> tokio::sync::watch::Receiver<bool> {
        self.inner.closing.subscribe()
    }

    /// A counter that changes whenever the active tip changes.
    pub fn tip_generation(&self) -> u64 {
        self.inner.tip_generation.load(Ordering::Acquire)
    }

    /// Runs blocking work off the async workers.
    ///
    /// # Errors
    /// [`NodeError::Task`] if the task panicked.
    pub async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(Node) -> T + Send + 'static,
    ) -> Result<T, NodeError> {
        let node = self.clone();
        Ok(tokio::task::spawn_blocking(move || f(node)).await?)
    }

    /// Validates and stores a block (blocking), publishing events and bumping the tip generation.
    ///
    /// # Errors
    /// [`NodeError::State`] with the reason the block was refused.
    pub fn submit_block(&self, block: Block) -> Result<BlockOutcome, NodeError> {
        self.submit_block_source(block, None)
    }

    /// [`Node::submit_block`] for a block sent by `source` (a peer's URL, or a client's address): the chain
    /// state counts the invalid blocks of each source and drops their held orphans first
    /// ([`State::submit_block_from`]).
    ///
    /// # Errors
    /// As [`Node::submit_block`].
    pub fn submit_block_from(
        &self,
        block: Block,
        source: &ferrochain_state::Source,
    ) -> Result<BlockOutcome, NodeError> {
        self.submit_block_source(block, Some(source))
    }

    fn submit_block_source(
        &self,
        block: Block,
        source: Option<&ferrochain_state::Source>,
    ) -> Result<BlockOutcome, NodeError> {
        // Metrics hook: validation timing (`ferrochain_block_validation_seconds`).
        let started = std::time::Instant::now();
        let outcome = match source {
            Some(source) => self.inner.state.submit_block_from(block, source),
            None => self.inner.state.submit_block(block),
        };
        self.inner
            .metrics
            .observe_block_validation(started.elapsed(), crate::metrics::outcome_label(&outcome));
        let outcome = outcome?;
        self.announce(&outcome);
        Ok(outcome)
    }

    /// Validates and stores a batch of blocks in one store transaction ([`State::submit_blocks`]; blocking),
    /// publishing events and bumping the tip generation as [`Node::submit_block`] does. `source` is the
    /// sender ([`Node::submit_block_from`]).
    pub fn submit_blocks(
        &self,
        blocks: Vec<Block>,
        source: Option<&ferrochain_state::Source>,
    ) -> ferrochain_state::BatchOutcome {
        let started = std::time::Instant::now();
        let n = blocks.len().max(1) as u32;
        let batch = self.inner.state.submit_blocks(blocks, source);
        let per_block = started.elapsed() / n;
        for (_, outcome) in &batch.outcomes {
            let label = crate::metrics::outcome_label::<()>(&Ok(outcome.clone()));
            self.inner
                .metrics
                .observe_block_validation(per_block, label);
        }
        if batch.error.is_some() {
            let label = crate::metrics::outcome_label::<()>(&Err(()));
            self.inner
                .metrics
                .observe_block_validation(per_block, label);
        }
        for (_, outcome) in &batch.outcomes {
            self.announce(outcome);
        }
        batch
    }

    /// Publishes the events of a block outcome and bumps the tip generation if the tip moved.
    fn announce(&self, outcome: &BlockOutcome) {
        if let BlockOutcome::Connected(r) = outcome {
            self.inner.tip_generation.fetch_add(1, Ordering::AcqRel);
            if !r.disconnected.is_empty() {
                self.publish(Event::Reorg {
                    disconnected: r.disconnected.clone(),
                    connected: r.connected.clone(),
                });
            }
            for hash in &r.connected {
                if let Some(rec) = self.inner.state.header(hash) {
                    self.publish(Event::Block {
                        hash: *hash,
                        height: rec.header.height.0,
                    });
                }
            }
        }
    }

    /// Validates a transaction and adds it to the mempool (blocking), publishing an event once it is
    /// stored.
    ///
    /// # Errors
    /// [`NodeError::State`] with the reason it was refused.
    pub fn submit_transaction(&self, tx: Transaction) -> Result<Txid, NodeError> {
        let admission = self.inner.state.admit_transaction(tx)?;
        self.finish_admission(admission)
    }

    /// Waits until an admission ([`State::admit_transaction`]) is stored (in a group commit with concurrent
    /// ones), then publishes its event.
    ///
    /// # Errors
    /// [`NodeError::State`] if the store failed.
    pub fn finish_admission(
        &self,
        admission: ferrochain_state::Admission,
    ) -> Result<Txid, NodeError> {
        let txid = admission.wait()?;
        self.publish(Event::Transaction { txid });
        Ok(txid)
    }

    /// The payment lock of `sender`: held while a payment from that node-held key is built and admitted to
    /// the mempool, so concurrent payments from one sender choose their coins one after the other (each sees
    /// the coins the previous one spent, and its change). Payments from different senders run side by side.
    /// The lock is released before the admission's database write is waited for, so concurrent payments
    /// still share one group commit.
    pub(crate) fn payment_lock(&self, sender: PubkeyHash) -> PaymentLock<'_> {
        let all = self
            .inner
            .payments
            .read()
            .unwrap_or_else(|p| p.into_inner());
        let mut paying = self.inner.paying.lock().unwrap_or_else(|p| p.into_inner());
        while paying.contains(&sender) {
            paying = self
                .inner
                .paid
                .wait(paying)
                .unwrap_or_else(|p| p.into_inner());
        }
        paying.insert(sender);
        PaymentLock {
            node: self,
            sender,
            _all: all,
        }
    }

    fn keystore(&self) -> Result<MutexGuard<'_, Keystore>, NodeError> {
        let ks = self
            .inner
            .keystore
            .as_ref()
            .ok_or(NodeError::KeysDisabled)?;
        Ok(ks.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Creates a node-held key and returns its address (blocking: writes the keystore).
    ///
    /// # Errors
    /// [`NodeError::KeysDisabled`], [`NodeError::Keystore`], [`NodeError::Io`].
    pub fn new_held_address(&self) -> Result<String, NodeError> {
        let mut ks = self.keystore()?;
        let address = ks.generate(&mut rand::rng())?;
        write_atomically(&self.inner.keystore_path, &ks.to_json_bytes()).map_err(|source| {
            NodeError::Io {
                path: self.inner.keystore_path.clone(),
                source,
            }
        })?;
        Ok(address)
    }

    /// The addresses of node-held keys (empty when keys are disabled).
    pub fn held_addresses(&self) -> Vec<String> {
        self.keystore()
            .map(|ks| ks.addresses().iter().map(|a| a.to_string()).collect())
            .unwrap_or_default()
    }

    /// Whether the node holds the key of `address`.
    pub fn holds(&self, address: &str) -> bool {
        self.keystore()
            .is_ok_and(|ks| ks.get_signing_key(address).is_ok())
    }

    /// The public key of a node-held address (`None` if the node holds no key for it). Only ever the public
    /// half: the node's secret keys leave the keystore for nothing but signing.
    pub fn held_public_key(&self, address: &str) -> Option<PublicKey> {
        self.keystore().ok()?.public_key(address).ok()
    }

    /// Throws the whole chain away and starts again from genesis (blocking; [`State::reset_to_genesis`]:
    /// one store transaction, nothing changed if it fails). Node-held keys stay. Held under the payment lock,
    /// so no payment is built on the old chain meanwhile; bumps the tip generation (a running block search
    /// stops) and publishes the genesis block as the new tip.
    ///
    /// # Errors
    /// [`NodeError::State`] if the store failed; the chain is then unchanged.
    pub fn reset_chain(&self) -> Result<Tip, NodeError> {
        let _payments = self
            .inner
            .payments
            .write()
            .unwrap_or_else(|p| p.into_inner());
        let tip = self.inner.state.reset_to_genesis()?;
        self.inner.tip_generation.fetch_add(1, Ordering::AcqRel);
        self.publish(Event::Block {
            hash: tip.hash,
            height: tip.height.0,
        });
        Ok(tip)
    }

    /// Builds and signs a transfer from a node-held key (blocking). Zero fee by default (the `dev` chain's
    /// seed-compatible arithmetic), spending unconfirmed change if needed.
    ///
    /// # Errors
    /// [`NodeError::NotHeld`], [`NodeError::Build`] (insufficient funds, bad amount), [`NodeError::State`].
    pub fn pay_from_held(
        &self,
        from: &str,
        to: PubkeyHash,
        amount: Amount,
        fee: Amount,
        payload: Vec<u8>,
    ) -> Result<Transaction, NodeError> {
        let from_hash =
            self.inner
                .network
                .parse_address(from)
                .map_err(|source| NodeError::Address {
                    address: from.to_string(),
                    source,
                })?;
        let ks = self.keystore()?;
        if ks.get_signing_key(from).is_err() {
            return Err(NodeError::NotHeld(from.to_string()));
        }
        let (candidates, options) = self.transfer_candidates(&from_hash)?;
        let request = TransferRequest::new(vec![(to, amount)], FeePolicy::Fixed(fee))
            .with_payload(payload)
            .with_change_address(from_hash)
            .with_options(options);
        let tx = build_transfer(&*ks, &candidates, &request, &self.inner.network)?;
        Ok(tx)
    }

    /// The outputs of `owner` a new transfer may spend now (confirmed ones not spent by the mempool, and
    /// unconfirmed change), with the selection options that go with them (unconfirmed change allowed, coinbase
    /// maturity for the next block).
    ///
    /// # Errors
    /// [`NodeError::State`].
    pub fn transfer_candidates(
        &self,
        owner: &PubkeyHash,
    ) -> Result<(Vec<Candidate>, SelectionOptions), NodeError> {
        Ok(crate::embed::transfer_candidates(&self.inner.state, owner)?)
    }

    /// Signs a record of `payload` with a node-held key (blocking).
    ///
    /// # Errors
    /// [`NodeError::NotHeld`], [`NodeError::Build`].
    pub fn record_from_held(
        &self,
        author: &str,
        payload: Vec<u8>,
    ) -> Result<Transaction, NodeError> {
        let ks = self.keystore()?;
        let key = ks
            .get_signing_key(author)
            .map_err(|_| NodeError::NotHeld(author.to_string()))?;
        Ok(build_record(key, payload, now_ms(), &self.inner.network)?)
    }

    /// The address of the node's own key, which signs records for authors without a key (claimed names):
    /// the miner address when the node holds its key, else the first node-held address.
    ///
    /// # Errors
    /// [`NodeError::KeysDisabled`], [`NodeError::NotHeld`] when the node holds no key at all.
    pub fn own_key_address(&self) -> Result<String, NodeError> {
        let ks = self.keystore()?;
        let miner = self.inner.network.address(&self.inner.miner_address);
        if ks.get_signing_key(&miner).is_ok() {
            return Ok(miner);
        }
        ks.addresses()
            .first()
            .map(|a| a.to_string())
            .ok_or(NodeError::NotHeld(miner))
    }

    /// Mines one block on the current tip with at most `max_txs` mempool transactions, paying `reward_to`,
    /// and submits it (blocking; uses the miner's threads). Returns the block.
    ///
    /// # Errors
    /// [`NodeError::MiningInterrupted`] on shutdown, [`NodeError::State`] if the block is refused.
    pub fn mine_one(&self, reward_to: PubkeyHash, max_txs: usize) -> Result<Block, NodeError> {
        self.mine_one_until(reward_to, max_txs, &AtomicBool::new(false))
    }

    /// Searches a block on the current tip with the miner's threads, without submitting it (blocking).
    /// `Ok(None)` if the tip changed first.
    ///
    /// # Errors
    /// [`NodeError::MiningInterrupted`] on shutdown or when `cancel` is set, [`NodeError::State`].
    pub fn find_block(
        &self,
        reward_to: PubkeyHash,
        max_txs: usize,
        cancel: &AtomicBool,
    ) -> Result<Option<Block>, NodeError> {
        Ok(self.inner.miner.mine(
            &self.inner.state,
            &self.inner.tip_generation,
            reward_to,
            max_txs,
            cancel,
        )?)
    }

    /// [`Node::mine_one`], abandoned when `cancel` is set.
    ///
    /// # Errors
    /// As [`Node::mine_one`].
    pub fn mine_one_until(
        &self,
        reward_to: PubkeyHash,
        max_txs: usize,
        cancel: &AtomicBool,
    ) -> Result<Block, NodeError> {
        loop {
            let block = self.find_block(reward_to, max_txs, cancel)?;
            let Some(block) = block else { continue }; // the tip moved: start again on the new one
            match self.submit_block(block.clone()) {
                Ok(BlockOutcome::Connected(_)) => return Ok(block),
                // Someone else's block won the race at this height: mine on top of the new tip.
                Ok(_) => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// The hash of the active block at `height`.
    pub fn hash_at(&self, height: u64) -> Option<BlockHash> {
        self.inner.state.hash_at(ferrochain_core::Height(height))
    }
}

/// A sender's payment lock ([`Node::payment_lock`]); released when dropped.
pub(crate) struct PaymentLock<'a> {
    node: &'a Node,
    sender: PubkeyHash,
    _all: RwLockReadGuard<'a, ()>,
}

impl Drop for PaymentLock<'_> {
    fn drop(&mut self) {
        let mut paying = self
            .node
            .inner
            .paying
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        paying.remove(&self.sender);
        drop(paying);
        self.node.inner.paid.notify_all();
    }
}
