//! The node's network task ([`start`]), started by `Node::start_background` (the HTTP crate's `serve` calls
//! it) and stopped when the node closes:
//!
//! - **At start** it introduces this node to every known peer (those of the config and of `peers.json`):
//!   `POST /p2p/v1/handshake`, which makes each peer add this node back, and syncs from any that claims more
//!   work (the sync checks the claim).
//! - **Periodic poll.** Every `poll_interval` (10 s) after the last exchange with it, each peer that is not
//!   backing off is introduced to again and synced from if it claims more work: this catches announcements
//!   that were missed. Peers added by URL only (no handshake yet) are polled at once.
//! - **Peer exchange.** While fewer than `target_peers` (8) peers are known, it reads a peer's own list
//!   (`GET /p2p/v1/peers`) once per poll interval and registers up to two new ones.
//! - **Relay** ([`super::relay`]): newly accepted blocks and transactions go to every peer once.
//! - It saves peers and bans to `peers.json` every few seconds when they changed, and at shutdown.
//!
//! Nothing here holds up the API or the miner: everything runs on its own tasks, chain-state reads go through
//! [`Node::blocking`], and each request has its time limit.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use ferrochain_core::BlockHash;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::task::JoinSet;

use super::PeerError;
use super::client::{PeerClient, http_client};
use super::relay::Relay;
use crate::events::Event;
use crate::node::{Node, now_ms};
use crate::peers::normalize_url;

/// How long after the last exchange with a peer it is polled again (default of `poll_interval`).
pub const POLL_INTERVAL: Duration = Duration::from_secs(10);
/// Peer exchange looks for new peers while fewer than this many are known (default of `target_peers`).
pub const TARGET_PEERS: usize = 8;
/// Most new peers registered from one peer list.
pub const MAX_LEARNED_PER_EXCHANGE: usize = 2;
/// Most entries of a peer's list looked at.
pub const MAX_LIST_ENTRIES_READ: usize = 64;
/// How often changed peers and bans are written to `peers.json`.
pub const SAVE_INTERVAL: Duration = Duration::from_secs(5);

/// Settings of the network task. [`NetSettings::from_env`] reads `FERROCHAIN_P2P_POLL_SECS` and
/// `FERROCHAIN_P2P_TARGET_PEERS`, which labs and tests use to change the defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NetSettings {
    /// How long after the last exchange with a peer it is polled again.
    pub poll_interval: Duration,
    /// Peer exchange looks for new peers while fewer than this are known (0: never).
    pub target_peers: usize,
}

impl Default for NetSettings {
    fn default() -> Self {
        NetSettings {
            poll_interval: POLL_INTERVAL,
            target_peers: TARGET_PEERS,
        }
    }
}

impl NetSettings {
    /// The defaults, changed by `FERROCHAIN_P2P_POLL_SECS` (at least 1) and `FERROCHAIN_P2P_TARGET_PEERS`
    /// as read through `get`; values that are not numbers are ignored with a warning.
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> NetSettings {
        let mut settings = NetSettings::default();
        let number = |name: &str| {
            let value = get(name)?;
            match value.trim().parse::<u64>() {
                Ok(n) => Some(n),
                Err(e) => {
                    tracing::warn!(variable = name, value, error = %e, "ignored: not a number");
                    None
                }
            }
        };
        if let Some(secs) = number("FERROCHAIN_P2P_POLL_SECS") {
            settings.poll_interval = Duration::from_secs(secs.max(1));
        }
        if let Some(n) = number("FERROCHAIN_P2P_TARGET_PEERS") {
            settings.target_peers = usize::try_from(n).unwrap_or(usize::MAX);
        }
        settings
    }
}

/// Starts the network task of `node` with the settings of the environment ([`NetSettings::from_env`]); it
/// ends soon after the node starts closing ([`Node::close`]).
pub fn start(node: &Node) -> tokio::task::JoinHandle<()> {
    start_with(node, NetSettings::from_env(|k| std::env::var(k).ok()))
}

/// [`start`] with chosen settings.
pub fn start_with(node: &Node, settings: NetSettings) -> tokio::task::JoinHandle<()> {
    let node = node.clone();
    tokio::spawn(async move {
        let http = match http_client() {
            Ok(http) => http,
            Err(e) => {
                tracing::error!(error = %e, "the peer-to-peer network cannot start");
                return;
            }
        };
        Net {
            relay: Relay::new(&node, http.clone()),
            node,
            settings,
            http,
            tasks: JoinSet::new(),
            running: HashSet::new(),
            last_polled: HashMap::new(),
            last_exchange: None,
        }
        .run()
        .await;
    })
}

/// Syncs from `peer` on a background task, unless a sync from it is already running (that one then runs once
/// more when it ends, so nothing announced meanwhile is missed). At most [`super::BACKGROUND_SYNCS`] run at
/// a time. Returns `true`: a sync from the peer is running or will run.
pub fn sync_in_background(node: &Node, peer: String) -> bool {
    if !node.peers().begin_sync(&peer) {
        return true;
    }
    let node = node.clone();
    tokio::spawn(async move {
        loop {
            let result = match node.peers().sync_permits().acquire().await {
                Ok(_permit) => super::sync_with(&node, &peer).await,
                Err(_) => break,
            };
            match result {
                Ok(report) => tracing::info!(
                    peer = %peer,
                    connected = report.connected,
                    reorged = report.reorged,
                    "background sync done"
                ),
                Err(e) => tracing::info!(peer = %peer, error = %e, "background sync failed"),
            }
            if !node.peers().end_sync(&peer) {
                break;
            }
        }
    });
    true
}

/// What a finished task of the network task was.
enum Done {
    Poll(String),
    Exchange,
}

struct Net {
    node: Node,
    settings: NetSettings,
    http: reqwest::Client,
    relay: Relay,
    tasks: JoinSet<Done>,
    /// Peers being polled now.
    running: HashSet<String>,
    /// When each peer was last polled (or found registered by a handshake).
    last_polled: HashMap<String, Instant>,
    last_exchange: Option<Instant>,
}

impl Net {
    async fn run(mut self) {
        let mut closing = self.node.closing();
        let mut events = self.node.subscribe();
        self.relay.reconcile();
        // At start every known peer is introduced to at once.
        for url in self.node.peers().list() {
            self.spawn_poll(url);
        }
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut last_save = Instant::now();
        loop {
            if *closing.borrow_and_update() {
                break;
            }
            tokio::select! {
                _ = closing.changed() => {}
                event = events.recv() => self.on_events(event, &mut events).await,
                () = self.node.peers().changed() => self.on_peers_changed(),
                Some(done) = self.tasks.join_next() => {
                    if let Ok(Done::Poll(url)) = done {
                        self.running.remove(&url);
                    }
                }
                _ = tick.tick() => {
                    self.on_tick();
                    if last_save.elapsed() >= SAVE_INTERVAL {
                        last_save = Instant::now();
                        self.save().await;
                    }
                }
            }
        }
        self.tasks.abort_all();
        self.relay.stop();
        self.save().await;
    }

    async fn save(&self) {
        match self.node.blocking(|node| node.peers().save()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "could not save the peer list"),
            Err(e) => tracing::warn!(error = %e, "could not save the peer list"),
        }
    }

    /// Handles an event and everything queued behind it: the newest block is announced, every new
    /// transaction is, and transactions that a reorganisation put back into the mempool are announced again.
    async fn on_events(
        &mut self,
        first: Result<Event, RecvError>,
        events: &mut tokio::sync::broadcast::Receiver<Event>,
    ) {
        let mut block: Option<BlockHash> = None;
        let mut txs = Vec::new();
        let mut disconnected = Vec::new();
        let mut lagged = false;
        let mut take = |event: Event| match event {
            Event::Block { hash, .. } => block = Some(hash),
            Event::Transaction { txid } => txs.push(txid),
            Event::Reorg {
                disconnected: d, ..
            } => disconnected.extend(d),
        };
        match first {
            Ok(event) => take(event),
            Err(RecvError::Lagged(_)) => lagged = true,
            Err(RecvError::Closed) => return,
        }
        loop {
            match events.try_recv() {
                Ok(event) => take(event),
                Err(TryRecvError::Lagged(_)) => lagged = true,
                Err(_) => break,
            }
        }
        if lagged {
            // Events were lost: announce the tip as it is now.
            block = self
                .node
                .blocking(|node| node.state().tip().hash)
                .await
                .ok()
                .or(block);
        }
        self.relay.reconcile();
        if let Some(hash) = block {
            self.relay.announce_block(hash).await;
        }
        if !txs.is_empty() {
            self.relay.announce_txs(txs).await;
        }
        if !disconnected.is_empty() {
            self.relay.announce_returned(disconnected).await;
        }
    }

    fn on_peers_changed(&mut self) {
        self.relay.reconcile();
        self.on_tick();
    }

    /// Polls the peers that are due, looks for new peers when there are too few, and forgets the poll times
    /// of peers that are gone.
    fn on_tick(&mut self) {
        self.relay.reconcile();
        let now = now_ms();
        let interval = self.settings.poll_interval;
        let peers = self.node.peers().all();
        let known: HashSet<&str> = peers.iter().map(|p| p.url.as_str()).collect();
        self.last_polled
            .retain(|url, _| known.contains(url.as_str()));
        for peer in &peers {
            if self.running.contains(&peer.url) || !self.node.peers().ready(&peer.url) {
                continue;
            }
            // A handshake (registration, or the peer introducing itself) counts as a poll.
            let since_handshake = peer
                .handshake_ms
                .map(|t| Duration::from_millis(now.saturating_sub(t)));
            let since_poll = self.last_polled.get(&peer.url).map(Instant::elapsed);
            let since = match (since_handshake, since_poll) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            if since.is_none_or(|s| s >= interval) {
                self.spawn_poll(peer.url.clone());
            }
        }
        let exchange_due = self.last_exchange.is_none_or(|t| t.elapsed() >= interval);
        if peers.len() < self.settings.target_peers && exchange_due {
            let ready: Vec<&str> = peers
                .iter()
                .filter(|p| p.handshake_ms.is_some() && self.node.peers().ready(&p.url))
                .map(|p| p.url.as_str())
                .collect();
            if !ready.is_empty() {
                self.last_exchange = Some(Instant::now());
                let from = ready[(now as usize) % ready.len()].to_string();
                let want = (self.settings.target_peers - peers.len()).min(MAX_LEARNED_PER_EXCHANGE);
                let (node, http) = (self.node.clone(), self.http.clone());
                self.tasks.spawn(async move {
                    exchange(node, http, from, want).await;
                    Done::Exchange
                });
            }
        }
    }

    fn spawn_poll(&mut self, url: String) {
        if !self.running.insert(url.clone()) {
            return;
        }
        self.last_polled.insert(url.clone(), Instant::now());
        let (node, http) = (self.node.clone(), self.http.clone());
        self.tasks.spawn(async move {
            poll(&node, http, &url).await;
            Done::Poll(url)
        });
    }
}

/// Introduces this node to the peer at `url` and syncs from it if it claims more work.
async fn poll(node: &Node, http: reqwest::Client, url: &str) {
    let client = match PeerClient::with_http(node, url, http) {
        Ok(client) => client,
        Err(e) => {
            tracing::warn!(peer = %url, error = %e, "forgetting an unusable peer");
            node.peers().remove(url);
            return;
        }
    };
    let answer = match node.peers().outgoing().acquire().await {
        Ok(_permit) => client.introduce_checked(node).await,
        Err(_) => return,
    };
    match answer {
        Ok(theirs) => {
            node.peers().record_seen(url, &theirs.seen(), false);
            let ours = node.blocking(|node| node.state().tip().chain_work).await;
            if ours.is_ok_and(|ours| theirs.tip.chain_work > ours) {
                sync_in_background(node, url.to_string());
            }
        }
        Err(
            e @ (PeerError::WrongNetwork { .. }
            | PeerError::WrongProtocol { .. }
            | PeerError::Itself(_)),
        ) => {
            tracing::warn!(peer = %url, error = %e, "forgetting a peer that cannot be used");
            node.peers().remove(url);
        }
        Err(e) => {
            tracing::debug!(peer = %url, error = %e, "poll failed");
            node.peers().record_failure(url, &e.to_string());
            super::punish(node, url, &e);
        }
    }
}

/// Reads the peer list of `from` and registers up to `want` peers from it that this node does not know.
async fn exchange(node: Node, http: reqwest::Client, from: String, want: usize) {
    let Ok(client) = PeerClient::with_http(&node, &from, http) else {
        return;
    };
    let list = match node.peers().outgoing().acquire().await {
        Ok(_permit) => client.peers().await,
        Err(_) => return,
    };
    let list = match list {
        Ok(list) => list,
        Err(e) => {
            node.peers().record_failure(&from, &e.to_string());
            super::punish(&node, &from, &e);
            return;
        }
    };
    let own = super::own_url(&node);
    let candidates: Vec<String> = list
        .peers
        .iter()
        .take(MAX_LIST_ENTRIES_READ)
        .filter_map(|p| normalize_url(&p.url))
        .filter(|u| Some(u) != own.as_ref())
        .filter(|u| !node.peers().contains(u) && node.peers().banned(u).is_none())
        .collect();
    let mut added = 0;
    for url in candidates {
        if added >= want {
            break;
        }
        match super::register_peer(&node, &url).await {
            Ok(_) => {
                tracing::info!(peer = %url, via = %from, "learnt a peer");
                added += 1;
            }
            Err(e) => tracing::debug!(peer = %url, error = %e, "a listed peer cannot be used"),
        }
    }
}
