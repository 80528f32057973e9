//! The service layer: the operations every surface (REST, seed routes, web UI, peer routes, the cli) calls —
//! mine blocks, submit a transaction or block, pay from a held key, sign a record, create a held address,
//! start and stop continuous mining, and the peer operations (add, register, resolve, ban, unban).
//!
//! Each operation owns its hop to a blocking thread, its limits and its cancel rule, so that no surface
//! re-implements them and no surface calls another surface's handlers:
//! - **Mining** ([`Node::mine_blocks`]): 1 to [`MAX_MINE_BLOCKS`] blocks, within the node's time limit
//!   (`request_timeout_secs`); a request that is dropped (client gone) or runs out of time stops its search
//!   within a chunk of nonces.
//! - **Held keys** ([`Node::pay`], [`Node::sign_record`]): building and submitting a payment is one step under
//!   the node's payment lock, so concurrent payments from one sender never pick the same coins.
//! - **Reset** ([`Node::reset_to_genesis`]): the chain back to genesis in one store transaction, under the
//!   payment lock; dev chains only (the caller checks).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use ferrochain_core::{Amount, Block, PubkeyHash, Transaction, Txid};
use ferrochain_state::BlockOutcome;

use crate::node::{Node, NodeError};
use crate::p2p::{self, PeerError, SyncReport};
use crate::peers::{Ban, PeerInfo};

/// Most blocks one mining request may ask for.
pub const MAX_MINE_BLOCKS: u32 = 100;

/// Sets a flag when dropped: an operation that is abandoned (time limit, client gone) stops its mining.
struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

/// The node's background work while it serves: continuous mining (when configured) and the network task.
#[derive(Debug)]
pub struct Background {
    node: Node,
    network: tokio::task::JoinHandle<()>,
}

impl Background {
    /// Stops it: the node closes, the network task saves the peer list (waited for at most half a second) and
    /// continuous mining ends.
    pub async fn stop(self) {
        self.node.close();
        if tokio::time::timeout(Duration::from_millis(500), self.network)
            .await
            .is_err()
        {
            tracing::warn!("the network task did not stop in time");
        }
        let stopping = self.node.clone();
        let _ = tokio::task::spawn_blocking(move || stopping.miner().shutdown()).await;
    }
}

impl Node {
    /// Starts the background work of a serving node: continuous mining if the config asks for it, and the
    /// network task (connect to known peers, poll, relay). Call from within a Tokio runtime.
    pub fn start_background(&self) -> Background {
        if self.config().mine {
            self.start_mining_blocking(self.miner_address(), self.config().mine_interval_secs);
        }
        Background {
            node: self.clone(),
            network: p2p::net::start(self),
        }
    }

    /// The time limit of one operation: the node's `request_timeout_secs`, less a margin so that the
    /// operation's own answer comes before an HTTP server's time limit.
    pub fn time_limit(&self) -> Duration {
        Duration::from_secs(self.config().request_timeout_secs.max(1))
            .saturating_sub(Duration::from_millis(100))
    }

    /// Mines `blocks` blocks (1 to [`MAX_MINE_BLOCKS`]) on the tip, one after the other, with at most
    /// `max_txs` mempool transactions each (`None`: as many as fit), paying `reward_to` (`None`: the node's
    /// miner address). Gives up with [`NodeError::TimedOut`] after [`Node::time_limit`]; dropping the future
    /// stops the search too.
    ///
    /// # Errors
    /// [`NodeError::OutOfRange`] for a bad count, [`NodeError::TimedOut`], [`NodeError::MiningInterrupted`]
    /// on shutdown, [`NodeError::State`] if a mined block is refused.
    pub async fn mine_blocks(
        &self,
        blocks: u32,
        reward_to: Option<PubkeyHash>,
        max_txs: Option<usize>,
    ) -> Result<Vec<Block>, NodeError> {
        if !(1..=MAX_MINE_BLOCKS).contains(&blocks) {
            return Err(NodeError::OutOfRange(format!(
                "blocks: {blocks} is out of range: mine 1 to {MAX_MINE_BLOCKS} blocks at a time"
            )));
        }
        let reward_to = reward_to.unwrap_or_else(|| self.miner_address());
        let max_txs = max_txs.unwrap_or(usize::MAX);
        let cancel = Arc::new(AtomicBool::new(false));
        let _guard = CancelOnDrop(cancel.clone());
        let limit = self.time_limit();
        let work = async {
            // One search at a time: the others wait here, holding no thread (the wait counts against
            // their time limit).
            let _one_search = self
                .block_searches()
                .acquire()
                .await
                .map_err(|_| NodeError::MiningInterrupted)?;
            self.blocking(move |node| {
                let mut out = Vec::new();
                for _ in 0..blocks {
                    out.push(node.mine_one_until(reward_to, max_txs, &cancel)?);
                }
                Ok(out)
            })
            .await?
        };
        match tokio::time::timeout(limit, work).await {
            Ok(result) => result,
            Err(_) => Err(NodeError::TimedOut(
                self.config().request_timeout_secs.max(1),
            )),
        }
    }

    /// Starts (or restarts) continuous mining to `reward_to`, one block every `interval_secs` (0: as fast as
    /// the difficulty allows).
    ///
    /// # Errors
    /// [`NodeError::Task`] if the blocking hop fails.
    pub async fn start_mining(
        &self,
        reward_to: PubkeyHash,
        interval_secs: u64,
    ) -> Result<(), NodeError> {
        self.blocking(move |node| node.start_mining_blocking(reward_to, interval_secs))
            .await
    }

    fn start_mining_blocking(&self, reward_to: PubkeyHash, interval_secs: u64) {
        let node = self.clone();
        self.miner().start_continuous(interval_secs, move |stop| {
            node.mine_one_until(reward_to, usize::MAX, stop)
                .map_err(|e| match e {
                    NodeError::MiningInterrupted => None,
                    other => Some(other),
                })
        });
    }

    /// Stops continuous mining and waits for its thread.
    ///
    /// # Errors
    /// [`NodeError::Task`] if the blocking hop fails.
    pub async fn stop_mining(&self) -> Result<(), NodeError> {
        self.blocking(|node| node.miner().stop_continuous()).await
    }

    /// Validates a signed transaction and adds it to the mempool (relayed to peers by the network task).
    ///
    /// # Errors
    /// [`NodeError::State`] with the reason it was refused.
    pub async fn accept_transaction(&self, tx: Transaction) -> Result<Txid, NodeError> {
        self.blocking(move |node| node.submit_transaction(tx))
            .await?
    }

    /// Validates a block and stores it (connecting it, or keeping it on a side chain or as an orphan).
    ///
    /// # Errors
    /// [`NodeError::State`] with the reason it was refused.
    pub async fn accept_block(&self, block: Block) -> Result<BlockOutcome, NodeError> {
        self.blocking(move |node| node.submit_block(block)).await?
    }

    /// Pays `amount` to `to` from the node-held key of `from`, with `fee` and a `payload`: builds, signs and
    /// admits the transfer as one step under the sender's payment lock, then waits for it to be stored.
    /// Returns the transaction.
    ///
    /// # Errors
    /// [`NodeError::Address`], [`NodeError::KeysDisabled`], [`NodeError::NotHeld`], [`NodeError::Build`]
    /// (insufficient funds, bad amount), [`NodeError::State`] (refused).
    pub async fn pay(
        &self,
        from: String,
        to: PubkeyHash,
        amount: Amount,
        fee: Amount,
        payload: Vec<u8>,
    ) -> Result<Transaction, NodeError> {
        self.blocking(move |node| {
            let sender =
                node.network()
                    .parse_address(&from)
                    .map_err(|source| NodeError::Address {
                        address: from.clone(),
                        source,
                    })?;
            // One payment per sender at a time from coin choice to admission; the store write is waited for
            // after the lock is released, so concurrent payments share a group commit.
            let (tx, admission) = {
                let _one_payment_per_sender = node.payment_lock(sender);
                let tx = node.pay_from_held(&from, to, amount, fee, payload)?;
                let admission = node.state().admit_transaction(tx.clone())?;
                (tx, admission)
            };
            node.finish_admission(admission)?;
            Ok(tx)
        })
        .await?
    }

    /// Signs a record of `payload` with the node-held key of `author` and submits it. Returns the record.
    ///
    /// # Errors
    /// [`NodeError::KeysDisabled`], [`NodeError::NotHeld`], [`NodeError::Build`] (empty or too large),
    /// [`NodeError::State`].
    pub async fn sign_record(
        &self,
        author: String,
        payload: Vec<u8>,
    ) -> Result<Transaction, NodeError> {
        self.blocking(move |node| {
            let tx = node.record_from_held(&author, payload)?;
            node.submit_transaction(tx.clone())?;
            Ok(tx)
        })
        .await?
    }

    /// Signs a record for an author without a key: the node's own key ([`Node::own_key_address`]) signs a
    /// payload that carries `author` as a claimed name beside `content` ([`ferrochain_wallet::Claim`]). The
    /// node vouches only that it received the record. Returns the record.
    ///
    /// # Errors
    /// [`NodeError::Claim`] for an unusable name, and as [`Node::sign_record`].
    pub async fn sign_claimed_record(
        &self,
        author: &str,
        content: &str,
    ) -> Result<Transaction, NodeError> {
        let payload = ferrochain_wallet::Claim::new(author, content)?.to_payload();
        let signer = self.own_key_address()?;
        self.sign_record(signer, payload).await
    }

    /// Accepts a legacy RSA record (the seed fork's `{senderPK: PEM, signature, data}`): checks the author's
    /// RSA signature and key size, then the node's own key signs a record whose payload is the whole RSA
    /// envelope, so that anyone can check the author's signature from the chain alone (ADR 0018).
    ///
    /// # Errors
    /// [`NodeError::Legacy`] for a bad key or signature, and as [`Node::sign_record`].
    pub async fn sign_legacy_record(
        &self,
        record: ferrochain_wallet::LegacyRsaRecord,
    ) -> Result<Transaction, NodeError> {
        let record = self
            .blocking(move |_| record.verify().map(|_| record))
            .await??;
        let signer = self.own_key_address()?;
        self.sign_record(signer, record.to_payload()).await
    }

    /// Throws the whole chain away and starts again from genesis ([`Node::reset_chain`]): for development
    /// chains only — the caller (the seed route `/api/reset_system`) checks that the chain is `dev`.
    ///
    /// # Errors
    /// [`NodeError::State`] (the chain is then unchanged), [`NodeError::Task`].
    pub async fn reset_to_genesis(&self) -> Result<ferrochain_state::Tip, NodeError> {
        self.blocking(|node| node.reset_chain()).await?
    }

    /// Creates a node-held key and returns its address.
    ///
    /// # Errors
    /// [`NodeError::KeysDisabled`], [`NodeError::Keystore`], [`NodeError::Io`].
    pub async fn new_address(&self) -> Result<String, NodeError> {
        self.blocking(|node| node.new_held_address()).await?
    }

    /// Adds a peer to the book without contacting it (the network task handshakes within about a second).
    /// Returns its normalised URL and whether it was new.
    ///
    /// # Errors
    /// [`PeerError::BadUrl`].
    pub fn add_peer(&self, url: &str) -> Result<(String, bool), PeerError> {
        let url = PeerError::origin(url)?;
        let added = self.peers().add(url.clone());
        Ok((url, added))
    }

    /// Registers a peer: handshakes with it (so that it knows this node too) and adds it. Returns what the
    /// book knows of it.
    ///
    /// # Errors
    /// [`PeerError`] saying why the peer was refused.
    pub async fn register_peer(&self, url: &str) -> Result<PeerInfo, PeerError> {
        p2p::register_peer(self, url).await
    }

    /// Syncs with one peer now (headers first, bodies of a branch with more work).
    ///
    /// # Errors
    /// [`PeerError`] saying why the sync failed.
    pub async fn sync_with_peer(&self, url: &str) -> Result<SyncReport, PeerError> {
        p2p::sync_with(self, url).await
    }

    /// Syncs with every known peer (the seeds' "resolve"): each report says what came of one peer.
    pub async fn resolve(&self) -> Vec<(String, Result<SyncReport, PeerError>)> {
        p2p::resolve(self).await
    }

    /// Bans `url` for `duration_ms` with a reason.
    pub fn ban_peer(&self, url: &str, duration_ms: u64, reason: &str) -> Ban {
        self.peers().ban(url, duration_ms, reason)
    }

    /// Lifts a ban; whether there was one.
    pub fn unban_peer(&self, url: &str) -> bool {
        self.peers().unban(url)
    }
}
