//! Relay: every newly accepted block and transaction is announced to every peer once, except the peer it came
//! from (`docs/p2p.md`, "Relay").
//!
//! The network task ([`super::net`]) feeds [`Relay`] from the node's events: a block joined the active chain,
//! a transaction entered the mempool, a reorganisation put transactions back into the mempool. Duplicates are
//! recognised where they arrive: a block or transaction this node already has is answered `already_known`
//! and raises no event, so it is not relayed again.
//!
//! Each peer has its own worker task with a one-slot "newest block" mailbox and a bounded transaction queue.
//! A worker sends one request at a time; when blocks arrive faster than a peer takes them, only the newest is
//! announced (a peer missing its parents syncs them from this node, headers first). A slow, dead or
//! backing-off peer only delays its own worker.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use ferrochain_core::{BlockHash, Encode, Txid};
use ferrochain_state::TxStatus;
use tokio::sync::{mpsc, watch};

use super::PeerError;
use super::client::PeerClient;
use crate::node::Node;
use crate::peers::Item;

/// Most transactions waiting for one peer; beyond this, new ones are not sent to it (the peer can still get
/// them in a block).
pub const TX_QUEUE_PER_PEER: usize = 10_000;
/// A transaction announcement stops adding transactions at this much hex.
pub const MAX_TX_ANNOUNCEMENT_BYTES: usize = 1024 * 1024;
/// Most disconnected blocks whose transactions are announced again after a reorganisation.
pub const MAX_REORG_BLOCKS_REANNOUNCED: usize = 100;

/// A block ready to announce.
#[derive(Debug)]
struct BlockAnnouncement {
    hash: BlockHash,
    hex: String,
}

/// A transaction ready to announce.
#[derive(Debug)]
struct TxAnnouncement {
    txid: Txid,
    hex: String,
}

/// One peer's worker.
struct Worker {
    block: watch::Sender<Option<Arc<BlockAnnouncement>>>,
    txs: mpsc::Sender<Arc<TxAnnouncement>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The relay of one node: a worker per known, unbanned peer.
pub struct Relay {
    node: Node,
    http: reqwest::Client,
    workers: HashMap<String, Worker>,
}

impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relay")
            .field("peers", &self.workers.len())
            .finish_non_exhaustive()
    }
}

impl Relay {
    /// A relay for `node` sending through `http`.
    pub fn new(node: &Node, http: reqwest::Client) -> Relay {
        Relay {
            node: node.clone(),
            http,
            workers: HashMap::new(),
        }
    }

    /// Starts workers for new peers and stops those of peers that are gone or banned.
    pub fn reconcile(&mut self) {
        let peers: HashSet<String> = self.node.peers().list().into_iter().collect();
        self.workers.retain(|url, _| peers.contains(url));
        for url in peers {
            if self.workers.contains_key(&url) {
                continue;
            }
            let Ok(client) = PeerClient::with_http(&self.node, &url, self.http.clone()) else {
                continue;
            };
            let (block, block_rx) = watch::channel(None);
            let (txs, txs_rx) = mpsc::channel(TX_QUEUE_PER_PEER);
            let task = tokio::spawn(work(self.node.clone(), client, block_rx, txs_rx));
            self.workers.insert(url, Worker { block, txs, task });
        }
    }

    /// Stops every worker.
    pub fn stop(&mut self) {
        self.workers.clear();
    }

    /// Announces the block `hash` to every peer but its sender.
    pub async fn announce_block(&mut self, hash: BlockHash) {
        if self.workers.is_empty() {
            return;
        }
        let block = self
            .node
            .blocking(move |node| node.state().block(&hash))
            .await;
        let Ok(Ok(Some(block))) = block else {
            tracing::warn!(block = %hash, "cannot relay a block this node cannot read");
            return;
        };
        let announcement = Arc::new(BlockAnnouncement {
            hash,
            hex: hex::encode(block.to_bytes()),
        });
        for worker in self.workers.values() {
            worker.block.send_replace(Some(announcement.clone()));
        }
    }

    /// Announces the transactions `txids` that are in the mempool to every peer but their sender.
    pub async fn announce_txs(&mut self, txids: Vec<Txid>) {
        if self.workers.is_empty() {
            return;
        }
        let txs = self
            .node
            .blocking(move |node| {
                txids
                    .into_iter()
                    .filter_map(|txid| match node.state().transaction(&txid) {
                        Ok(Some(info)) if matches!(info.status, TxStatus::Pending { .. }) => {
                            Some(Arc::new(TxAnnouncement {
                                txid,
                                hex: hex::encode(info.tx.to_bytes()),
                            }))
                        }
                        _ => None,
                    })
                    .collect::<Vec<_>>()
            })
            .await
            .unwrap_or_default();
        for worker in self.workers.values() {
            for tx in &txs {
                // A full queue drops the transaction for that peer only.
                let _ = worker.txs.try_send(tx.clone());
            }
        }
    }

    /// Announces again the transactions of `disconnected` blocks that a reorganisation put back into the
    /// mempool, so that the chain that won can confirm them.
    pub async fn announce_returned(&mut self, disconnected: Vec<BlockHash>) {
        if self.workers.is_empty() {
            return;
        }
        let txids = self
            .node
            .blocking(move |node| {
                let mut txids = Vec::new();
                for hash in disconnected.iter().take(MAX_REORG_BLOCKS_REANNOUNCED) {
                    if let Ok(Some(block)) = node.state().block(hash) {
                        txids.extend(
                            block
                                .transactions
                                .iter()
                                .filter(|t| !t.is_coinbase())
                                .map(|t| t.txid()),
                        );
                    }
                }
                txids
            })
            .await
            .unwrap_or_default();
        if !txids.is_empty() {
            // They were relayed before, from wherever they came: now they go to every peer.
            self.announce_txs(txids).await;
        }
    }
}

/// One peer's worker: sends the newest block and batches of transactions, one request at a time.
async fn work(
    node: Node,
    client: PeerClient,
    mut block: watch::Receiver<Option<Arc<BlockAnnouncement>>>,
    mut txs: mpsc::Receiver<Arc<TxAnnouncement>>,
) {
    let from = super::own_url(&node);
    loop {
        tokio::select! {
            changed = block.changed() => {
                if changed.is_err() {
                    return;
                }
                let announcement = block.borrow_and_update().clone();
                if let Some(a) = announcement {
                    send_block(&node, &client, &a, from.as_deref()).await;
                }
            }
            first = txs.recv() => {
                let Some(first) = first else { return };
                let mut size = first.hex.len();
                let mut batch = vec![first];
                while batch.len() < super::MAX_TXS_PER_ANNOUNCEMENT && size < MAX_TX_ANNOUNCEMENT_BYTES {
                    match txs.try_recv() {
                        Ok(tx) => {
                            size += tx.hex.len();
                            batch.push(tx);
                        }
                        Err(_) => break,
                    }
                }
                send_txs(&node, &client, batch, from.as_deref()).await;
            }
        }
    }
}

/// What to do after an announcement failed.
fn failed(node: &Node, url: &str, error: &PeerError) {
    match error {
        // The peer took the request and refused the item (it may be behind, or on another branch): not a
        // failure of the link.
        PeerError::Http { status, .. } if *status != 403 && *status < 500 => {
            tracing::debug!(peer = %url, error = %error, "peer refused an announcement");
        }
        _ => {
            tracing::debug!(peer = %url, error = %error, "announcement failed");
            node.peers().record_failure(url, &error.to_string());
        }
    }
}

async fn send_block(node: &Node, client: &PeerClient, a: &BlockAnnouncement, from: Option<&str>) {
    let url = client.url();
    if !node.peers().ready(url)
        || node.peers().received_from(&Item::Block(a.hash)).as_deref() == Some(url)
    {
        return;
    }
    let Ok(_permit) = node.peers().outgoing().acquire().await else {
        return;
    };
    match client.announce_block(&a.hex, from).await {
        Ok(_) => node.peers().record_announced(url, 1, 0),
        Err(e) => failed(node, url, &e),
    }
}

async fn send_txs(
    node: &Node,
    client: &PeerClient,
    batch: Vec<Arc<TxAnnouncement>>,
    from: Option<&str>,
) {
    let url = client.url();
    if !node.peers().ready(url) {
        return;
    }
    let hexes: Vec<String> = batch
        .iter()
        .filter(|t| node.peers().received_from(&Item::Tx(t.txid)).as_deref() != Some(url))
        .map(|t| t.hex.clone())
        .collect();
    if hexes.is_empty() {
        return;
    }
    let Ok(_permit) = node.peers().outgoing().acquire().await else {
        return;
    };
    match client.announce_txs(&hexes, from).await {
        Ok(_) => node.peers().record_announced(url, 0, hexes.len()),
        Err(e) => failed(node, url, &e),
    }
}
