//! The peer manager's book-keeping: known peers by URL and what this node last learnt about each (handshake,
//! tip, failures), back-off for unreachable peers, misbehaviour scores and bans, the record of which peer sent
//! which block or transaction (so relay does not echo it back), and persistence of peers and bans in the data
//! directory (`peers.json`).
//!
//! The seed routes and the peer-to-peer layer ([`crate::p2p`]) read and write this list; the network task
//! (`p2p::net`) acts on it: it connects, polls, relays and saves. Everything here is synchronous and quick (one
//! mutex, no I/O except [`Peers::save`]).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use ferrochain_core::{BlockHash, Txid, Work};

use crate::config::Config;
use ferrochain_state::chain::now_ms;

/// Most requests this node's network task (relay, poll, peer exchange) has open to peers at a time.
pub const OUTGOING_CONCURRENCY: usize = 32;
/// Most background syncs (after an orphan announcement, a poll or a handshake) running at a time.
pub const BACKGROUND_SYNCS: usize = 4;

/// Most peers a node keeps; a handshake from a new peer beyond this is answered but not remembered.
pub const MAX_PEERS: usize = 256;
/// A peer whose misbehaviour score reaches this is banned.
pub const BAN_THRESHOLD: u32 = 100;
/// How long a ban for misbehaviour lasts.
pub const BAN_DURATION_MS: u64 = 60 * 60 * 1000;
/// Misbehaviour points forgiven per hour of good behaviour.
pub const SCORE_DECAY_PER_HOUR: u32 = 10;
/// Most bans (and scores of unknown senders) remembered; the oldest go first.
pub const MAX_BANS: usize = 1024;
/// The first back-off after a failure; it doubles with each further failure.
pub const BACKOFF_BASE_MS: u64 = 1000;
/// The longest back-off.
pub const BACKOFF_MAX_MS: u64 = 10 * 60 * 1000;
/// How many recently received blocks and transactions are remembered with their sender.
pub const INVENTORY_CAPACITY: usize = 20_000;
/// The file under the data directory that keeps peers and bans across restarts.
pub const PEERS_FILE: &str = "peers.json";

/// What this node knows about one peer.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PeerInfo {
    /// The peer's URL, normalised ([`normalize_url`]).
    pub url: String,
    /// The peer's network id (genesis hash), from its last handshake.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub network_id: Option<BlockHash>,
    /// The peer's protocol version, from its last handshake.
    pub protocol_version: Option<u32>,
    /// The peer's software (`ferrochain/0.1.0`), from its last handshake.
    pub agent: Option<String>,
    /// The tip height the peer last claimed (for display only: sync never trusts it).
    pub tip_height: Option<u64>,
    /// The tip hash the peer last claimed.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub tip_hash: Option<BlockHash>,
    /// The cumulative work the peer last claimed (for display only).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub chain_work: Option<Work>,
    /// When the peer last answered (ms since the Unix epoch).
    pub last_seen_ms: Option<u64>,
    /// When this node last exchanged handshakes with the peer (either side asking).
    #[serde(default)]
    pub handshake_ms: Option<u64>,
    /// Why the last exchange with the peer failed, if it did.
    pub last_error: Option<String>,
    /// Failures since the last success.
    pub failures: u32,
    /// While set and in the future, automatic exchanges (relay, poll) leave the peer alone: back-off after
    /// failures, doubling from [`BACKOFF_BASE_MS`] up to [`BACKOFF_MAX_MS`].
    #[serde(default)]
    pub retry_at_ms: Option<u64>,
    /// The peer's misbehaviour score now (it is banned at [`BAN_THRESHOLD`]).
    #[serde(default)]
    pub score: u32,
    /// Headers received from this peer by syncs, and checked.
    #[serde(default)]
    pub headers_synced: u64,
    /// Block bodies received from this peer by syncs.
    #[serde(default)]
    pub blocks_synced: u64,
    /// Blocks this node announced to the peer (relay).
    #[serde(default)]
    pub blocks_announced: u64,
    /// Transactions this node announced to the peer (relay).
    #[serde(default)]
    pub txs_announced: u64,
}

impl PeerInfo {
    /// A peer known only by its URL.
    pub fn new(url: String) -> PeerInfo {
        PeerInfo {
            url,
            network_id: None,
            protocol_version: None,
            agent: None,
            tip_height: None,
            tip_hash: None,
            chain_work: None,
            last_seen_ms: None,
            handshake_ms: None,
            last_error: None,
            failures: 0,
            retry_at_ms: None,
            score: 0,
            headers_synced: 0,
            blocks_synced: 0,
            blocks_announced: 0,
            txs_announced: 0,
        }
    }
}

/// A banned URL: its requests are refused, it is not synced from, relayed to or listed to others.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Ban {
    /// The banned URL (normalised).
    pub url: String,
    /// When the ban started (ms since the Unix epoch).
    pub since_ms: u64,
    /// When it ends.
    pub until_ms: u64,
    /// Why.
    pub reason: String,
}

/// What a peer said about itself in a handshake, as [`Peers::record_seen`] stores it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seen {
    /// Its network id.
    pub network_id: BlockHash,
    /// Its protocol version.
    pub protocol_version: u32,
    /// Its software.
    pub agent: String,
    /// Its claimed tip hash.
    pub tip_hash: BlockHash,
    /// Its claimed tip height.
    pub tip_height: u64,
    /// Its claimed cumulative work.
    pub chain_work: Work,
}

/// A block or a transaction, as relay remembers them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Item {
    /// A block.
    Block(BlockHash),
    /// A transaction.
    Tx(Txid),
}

/// A misbehaviour score with the time it was last raised.
#[derive(Clone, Copy, Debug)]
struct Score {
    points: u32,
    at_ms: u64,
}

impl Score {
    /// The points left after decay at `now`.
    fn now(&self, now: u64) -> u32 {
        let hours = now.saturating_sub(self.at_ms) / (60 * 60 * 1000);
        let forgiven = u32::try_from(hours)
            .unwrap_or(u32::MAX)
            .saturating_mul(SCORE_DECAY_PER_HOUR);
        self.points.saturating_sub(forgiven)
    }
}

/// The contents of [`PEERS_FILE`].
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct PeersFile {
    /// Known peer URLs.
    #[serde(default)]
    peers: Vec<String>,
    /// Bans in force.
    #[serde(default)]
    bans: Vec<Ban>,
}

#[derive(Debug, Default)]
struct Book {
    entries: BTreeMap<String, PeerInfo>,
    bans: BTreeMap<String, Ban>,
    scores: HashMap<String, Score>,
    /// Whether peers or bans changed since the last save.
    dirty: bool,
}

impl Book {
    /// Drops bans that ended; returns the ban of `url` if one is in force.
    fn ban_of(&mut self, url: &str, now: u64) -> Option<Ban> {
        match self.bans.get(url) {
            Some(b) if b.until_ms > now => Some(b.clone()),
            Some(_) => {
                self.bans.remove(url);
                self.scores.remove(url);
                self.dirty = true;
                None
            }
            None => None,
        }
    }

    fn insert_ban(&mut self, ban: Ban) {
        self.entries.remove(&ban.url);
        self.bans.insert(ban.url.clone(), ban);
        while self.bans.len() > MAX_BANS {
            let oldest = self
                .bans
                .values()
                .min_by_key(|b| b.since_ms)
                .map(|b| b.url.clone());
            match oldest {
                Some(url) => self.bans.remove(&url),
                None => break,
            };
        }
        self.dirty = true;
    }
}

/// Recently received blocks and transactions with the peer each came from (if any), bounded.
#[derive(Debug, Default)]
struct Inventory {
    order: VecDeque<Item>,
    from: HashMap<Item, Option<String>>,
}

/// The known peers, by URL, with bans, scores and back-off (see the module documentation).
#[derive(Debug)]
pub struct Peers {
    book: Mutex<Book>,
    inventory: Mutex<Inventory>,
    /// Peers a background sync runs from, each with whether another round was asked for meanwhile.
    syncing: Mutex<HashMap<String, bool>>,
    file: Option<PathBuf>,
    changed: tokio::sync::Notify,
    outgoing: tokio::sync::Semaphore,
    sync_permits: tokio::sync::Semaphore,
}

/// Reads a peer's origin as people type it (`host:port`, `http://host:port/`): a peer is `scheme://host:port`
/// and nothing more. The scheme is `http` (added when missing) or `https`; the host is lower-cased; the port
/// is always written (80 or 443 when none is given), so one node is one peer however its URL is spelled. A path
/// other than `/`, a query, a fragment or user info is refused with the reason: a peer URL must not make this
/// node call anything but the peer protocol's own `/p2p/v1/…` routes at that origin (issue 13, SSRF).
///
/// # Errors
/// What is wrong with the text.
pub fn parse_peer_origin(text: &str) -> Result<String, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("it is empty".into());
    }
    if t.contains(char::is_whitespace) {
        return Err("it holds spaces".into());
    }
    let with_scheme = if t.contains("://") {
        t.to_string()
    } else {
        format!("http://{t}")
    };
    let url = reqwest::Url::parse(&with_scheme).map_err(|e| format!("it is not a URL ({e})"))?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(format!(
            "the scheme {:?} is not http or https",
            url.scheme()
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("it holds user info (user:password@)".into());
    }
    if url.path() != "/" && !url.path().is_empty() {
        return Err(format!("it has a path ({})", url.path()));
    }
    if url.query().is_some() || url.fragment().is_some() || with_scheme.ends_with(['?', '#']) {
        return Err("it has a query or a fragment".into());
    }
    // The URL parser lower-cases host names and writes IP addresses canonically (IPv6 in brackets).
    let host = url
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| "it has no host".to_string())?
        .to_ascii_lowercase();
    let ipv6 = host.starts_with('[') && host.ends_with(']');
    if !ipv6
        && !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
    {
        return Err(format!("{host:?} is not a host name or an IP address"));
    }
    let port = url
        .port_or_known_default()
        .ok_or_else(|| "it has no port".to_string())?;
    Ok(format!("{}://{host}:{port}", url.scheme()))
}

/// The address a client is known by: its IPv4 address, or the /64 prefix of its IPv6 address (one host
/// usually owns a whole /64, so keying by full IPv6 address would let it evade every per-client limit).
pub fn client_address(ip: std::net::IpAddr) -> std::net::IpAddr {
    use std::net::IpAddr;
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(std::net::Ipv6Addr::from(
                u128::from(v6) & !((1u128 << 64) - 1),
            )),
        },
    }
}

/// How a client address stands in the ban list and the scores when a request cannot be blamed on a peer
/// URL (it names none, or names one it does not come from): `client 203.0.113.7`, `client 2001:db8::/64`.
/// Never a peer origin, so such a ban stops that address's peer-protocol requests, not any peer.
pub fn client_ban_key(ip: std::net::IpAddr) -> String {
    match client_address(ip) {
        std::net::IpAddr::V4(v4) => format!("client {v4}"),
        std::net::IpAddr::V6(v6) => format!("client {v6}/64"),
    }
}

/// [`parse_peer_origin`], without the reason: `None` for text that is not a peer origin.
pub fn normalize_url(text: &str) -> Option<String> {
    parse_peer_origin(text).ok()
}

/// The back-off after `failures` consecutive failures.
pub fn backoff_ms(failures: u32) -> u64 {
    let doublings = failures.saturating_sub(1).min(20);
    BACKOFF_BASE_MS
        .saturating_mul(1u64 << doublings)
        .min(BACKOFF_MAX_MS)
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every update leaves the data consistent before it can panic, so a poisoned lock is still usable.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Peers {
    /// The peers named in the config, plus the peers and bans saved in the data directory's [`PEERS_FILE`]
    /// (when the config has a data directory that holds one; an unreadable file is logged and ignored).
    pub fn new(config: &Config) -> Peers {
        let file = config.data_dir.join(PEERS_FILE);
        let saved = Self::load(&file);
        let mut peers = Peers::in_memory(&config.peers);
        peers.file = Some(file);
        let now = now_ms();
        {
            let mut book = lock(&peers.book);
            for ban in saved.bans {
                if ban.until_ms > now {
                    book.bans.insert(ban.url.clone(), ban);
                }
            }
            for url in saved.peers.iter().filter_map(|p| normalize_url(p)) {
                if book.entries.len() < MAX_PEERS && !book.bans.contains_key(&url) {
                    book.entries
                        .entry(url.clone())
                        .or_insert_with(|| PeerInfo::new(url));
                }
            }
            let banned: Vec<String> = book.bans.keys().cloned().collect();
            for url in banned {
                book.entries.remove(&url);
            }
            book.dirty = false;
        }
        peers
    }

    /// Peers from a list of URLs, not saved anywhere.
    pub fn in_memory(urls: &[String]) -> Peers {
        Peers {
            book: Mutex::new(Book {
                entries: urls
                    .iter()
                    .filter_map(|p| normalize_url(p))
                    .map(|url| (url.clone(), PeerInfo::new(url)))
                    .collect(),
                ..Book::default()
            }),
            inventory: Mutex::new(Inventory::default()),
            syncing: Mutex::new(HashMap::new()),
            file: None,
            changed: tokio::sync::Notify::new(),
            outgoing: tokio::sync::Semaphore::new(OUTGOING_CONCURRENCY),
            sync_permits: tokio::sync::Semaphore::new(BACKGROUND_SYNCS),
        }
    }

    fn load(path: &Path) -> PeersFile {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                tracing::warn!(file = %path.display(), error = %e, "ignoring an unreadable peers file");
                PeersFile::default()
            }),
            Err(_) => PeersFile::default(),
        }
    }

    fn book(&self) -> MutexGuard<'_, Book> {
        lock(&self.book)
    }

    fn touch(&self, book: &mut Book) {
        book.dirty = true;
        self.changed.notify_one();
    }

    /// Completes when peers were added, removed or banned since the last call (one waiter: the network task).
    pub async fn changed(&self) {
        self.changed.notified().await;
    }

    /// Every known peer URL, sorted.
    pub fn list(&self) -> Vec<String> {
        self.book().entries.keys().cloned().collect()
    }

    /// Every known peer with what is known about it, sorted by URL.
    pub fn all(&self) -> Vec<PeerInfo> {
        let now = now_ms();
        let book = self.book();
        book.entries
            .values()
            .map(|p| {
                let mut p = p.clone();
                p.score = book.scores.get(&p.url).map_or(0, |s| s.now(now));
                p
            })
            .collect()
    }

    /// What is known about the peer at `url` (as given: normalise it first).
    pub fn get(&self, url: &str) -> Option<PeerInfo> {
        let now = now_ms();
        let book = self.book();
        let mut p = book.entries.get(url).cloned()?;
        p.score = book.scores.get(url).map_or(0, |s| s.now(now));
        Some(p)
    }

    /// Whether `url` is a known peer.
    pub fn contains(&self, url: &str) -> bool {
        self.book().entries.contains_key(url)
    }

    /// How many peers are known.
    pub fn len(&self) -> usize {
        self.book().entries.len()
    }

    /// Whether no peer is known.
    pub fn is_empty(&self) -> bool {
        self.book().entries.is_empty()
    }

    /// Adds a peer; returns whether it was new. A banned URL, or one past [`MAX_PEERS`], is not added.
    pub fn add(&self, url: String) -> bool {
        let mut book = self.book();
        if book.entries.contains_key(&url)
            || book.entries.len() >= MAX_PEERS
            || book.ban_of(&url, now_ms()).is_some()
        {
            return false;
        }
        book.entries.insert(url.clone(), PeerInfo::new(url));
        self.touch(&mut book);
        true
    }

    /// Removes a peer; returns whether it was known.
    pub fn remove(&self, url: &str) -> bool {
        let mut book = self.book();
        let known = book.entries.remove(url).is_some();
        if known {
            self.touch(&mut book);
        }
        known
    }

    /// Records a successful handshake with the peer at `url` (adding it when `add` is set and it is unknown,
    /// not banned and there is room); returns the updated entry, or `None` if the peer is unknown and was not
    /// added.
    pub fn record_seen(&self, url: &str, seen: &Seen, add: bool) -> Option<PeerInfo> {
        let mut book = self.book();
        if !book.entries.contains_key(url) {
            if !add || book.entries.len() >= MAX_PEERS || book.ban_of(url, now_ms()).is_some() {
                return None;
            }
            book.entries
                .insert(url.to_string(), PeerInfo::new(url.to_string()));
            self.touch(&mut book);
        }
        let entry = book.entries.get_mut(url)?;
        entry.network_id = Some(seen.network_id);
        entry.protocol_version = Some(seen.protocol_version);
        entry.agent = Some(seen.agent.clone());
        entry.tip_hash = Some(seen.tip_hash);
        entry.tip_height = Some(seen.tip_height);
        entry.chain_work = Some(seen.chain_work);
        entry.last_seen_ms = Some(now_ms());
        entry.handshake_ms = entry.last_seen_ms;
        entry.last_error = None;
        entry.failures = 0;
        entry.retry_at_ms = None;
        Some(entry.clone())
    }

    /// Records that a known peer took an announcement of `blocks` blocks and `txs` transactions: counts them
    /// and clears failures and back-off.
    pub fn record_announced(&self, url: &str, blocks: usize, txs: usize) {
        if let Some(entry) = self.book().entries.get_mut(url) {
            entry.blocks_announced = entry.blocks_announced.saturating_add(blocks as u64);
            entry.txs_announced = entry.txs_announced.saturating_add(txs as u64);
            entry.last_seen_ms = Some(now_ms());
            entry.last_error = None;
            entry.failures = 0;
            entry.retry_at_ms = None;
        }
    }

    /// Records that a known peer answered (any answer that was not a failure): clears failures and back-off.
    pub fn record_ok(&self, url: &str) {
        if let Some(entry) = self.book().entries.get_mut(url) {
            entry.last_seen_ms = Some(now_ms());
            entry.last_error = None;
            entry.failures = 0;
            entry.retry_at_ms = None;
        }
    }

    /// Records that an exchange with a known peer failed and backs off from it (nothing happens for an
    /// unknown peer).
    pub fn record_failure(&self, url: &str, reason: &str) {
        if let Some(entry) = self.book().entries.get_mut(url) {
            entry.last_error = Some(reason.to_string());
            entry.failures = entry.failures.saturating_add(1);
            entry.retry_at_ms = Some(now_ms().saturating_add(backoff_ms(entry.failures)));
        }
    }

    /// Adds what a sync received from a known peer to its counters.
    pub fn record_synced(&self, url: &str, headers: usize, blocks: usize) {
        if let Some(entry) = self.book().entries.get_mut(url) {
            entry.headers_synced = entry.headers_synced.saturating_add(headers as u64);
            entry.blocks_synced = entry.blocks_synced.saturating_add(blocks as u64);
        }
    }

    /// Whether automatic exchanges may contact `url` now: a known peer, not banned, not backing off.
    pub fn ready(&self, url: &str) -> bool {
        let now = now_ms();
        let mut book = self.book();
        if book.ban_of(url, now).is_some() {
            return false;
        }
        book.entries
            .get(url)
            .is_some_and(|p| p.retry_at_ms.is_none_or(|t| t <= now))
    }

    /// The ban of `url`, if one is in force.
    pub fn banned(&self, url: &str) -> Option<Ban> {
        self.book().ban_of(url, now_ms())
    }

    /// Every ban in force, sorted by URL.
    pub fn bans(&self) -> Vec<Ban> {
        let now = now_ms();
        let mut book = self.book();
        let urls: Vec<String> = book.bans.keys().cloned().collect();
        urls.iter().filter_map(|u| book.ban_of(u, now)).collect()
    }

    /// Bans `url` for `duration_ms` (removing it from the peers); returns the ban.
    pub fn ban(&self, url: &str, duration_ms: u64, reason: &str) -> Ban {
        let now = now_ms();
        let ban = Ban {
            url: url.to_string(),
            since_ms: now,
            until_ms: now.saturating_add(duration_ms),
            reason: reason.to_string(),
        };
        let mut book = self.book();
        book.insert_ban(ban.clone());
        self.touch(&mut book);
        ban
    }

    /// Lifts the ban of `url` and forgets its score; returns whether it was banned.
    pub fn unban(&self, url: &str) -> bool {
        let mut book = self.book();
        book.scores.remove(url);
        let was = book.bans.remove(url).is_some();
        if was {
            self.touch(&mut book);
        }
        was
    }

    /// Adds `points` to the misbehaviour score of `url` (known peer or not) for `reason`; bans it for
    /// [`BAN_DURATION_MS`] when the score reaches [`BAN_THRESHOLD`]. Returns the ban if it is banned now.
    pub fn misbehaved(&self, url: &str, points: u32, reason: &str) -> Option<Ban> {
        let now = now_ms();
        let mut book = self.book();
        if let Some(ban) = book.ban_of(url, now) {
            return Some(ban);
        }
        let current = book.scores.get(url).map_or(0, |s| s.now(now));
        let points = current.saturating_add(points);
        book.scores
            .insert(url.to_string(), Score { points, at_ms: now });
        if book.scores.len() > MAX_BANS {
            // Forget the scores that decayed the most; keep the one just raised.
            let mut by_age: Vec<(String, u64)> = book
                .scores
                .iter()
                .map(|(u, s)| (u.clone(), s.at_ms))
                .collect();
            by_age.sort_by_key(|(_, at)| *at);
            let excess = book.scores.len() - MAX_BANS;
            for (u, _) in by_age.into_iter().filter(|(u, _)| u != url).take(excess) {
                book.scores.remove(&u);
            }
        }
        tracing::warn!(peer = %url, points, reason, "peer misbehaved");
        if points < BAN_THRESHOLD {
            return None;
        }
        let ban = Ban {
            url: url.to_string(),
            since_ms: now,
            until_ms: now.saturating_add(BAN_DURATION_MS),
            reason: reason.to_string(),
        };
        book.insert_ban(ban.clone());
        self.touch(&mut book);
        tracing::warn!(peer = %url, reason, "peer banned for an hour");
        Some(ban)
    }

    /// Remembers that `item` was received from `from` (`None`: from a client or this node itself). The
    /// first sender is kept. Returns whether the item was new to this record.
    pub fn note_received(&self, item: Item, from: Option<&str>) -> bool {
        let mut inv = lock(&self.inventory);
        if inv.from.contains_key(&item) {
            return false;
        }
        inv.from.insert(item, from.map(str::to_string));
        inv.order.push_back(item);
        while inv.order.len() > INVENTORY_CAPACITY {
            if let Some(old) = inv.order.pop_front() {
                inv.from.remove(&old);
            }
        }
        true
    }

    /// The peer `item` was first received from, if it is remembered and came from a peer.
    pub fn received_from(&self, item: &Item) -> Option<String> {
        lock(&self.inventory).from.get(item).cloned().flatten()
    }

    /// Marks a background sync from `url` as running: `true` if the caller should start it, `false` if one
    /// already runs (it is then asked to run once more when it finishes, so nothing announced meanwhile is
    /// missed).
    pub fn begin_sync(&self, url: &str) -> bool {
        let mut syncing = lock(&self.syncing);
        match syncing.get_mut(url) {
            Some(again) => {
                *again = true;
                false
            }
            None => {
                syncing.insert(url.to_string(), false);
                true
            }
        }
    }

    /// Marks a round of the background sync from `url` as finished: `true` if another round was asked for
    /// (the sync stays marked as running), `false` if it is over.
    pub fn end_sync(&self, url: &str) -> bool {
        let mut syncing = lock(&self.syncing);
        match syncing.get_mut(url) {
            Some(again) if *again => {
                *again = false;
                true
            }
            _ => {
                syncing.remove(url);
                false
            }
        }
    }

    /// Permits for requests of the network task to peers ([`OUTGOING_CONCURRENCY`]).
    pub fn outgoing(&self) -> &tokio::sync::Semaphore {
        &self.outgoing
    }

    /// Permits for background syncs ([`BACKGROUND_SYNCS`]).
    pub fn sync_permits(&self) -> &tokio::sync::Semaphore {
        &self.sync_permits
    }

    /// Writes peers and bans to the data directory's [`PEERS_FILE`] if they changed since the last save
    /// (blocking: call it from a blocking thread). Peers made with [`Peers::in_memory`] are never written.
    ///
    /// # Errors
    /// The I/O error; the peers stay marked as changed.
    pub fn save(&self) -> std::io::Result<()> {
        let Some(path) = &self.file else {
            return Ok(());
        };
        let bytes = {
            let mut book = self.book();
            if !book.dirty {
                return Ok(());
            }
            book.dirty = false;
            let now = now_ms();
            let file = PeersFile {
                peers: book.entries.keys().cloned().collect(),
                bans: book
                    .bans
                    .values()
                    .filter(|b| b.until_ms > now)
                    .cloned()
                    .collect(),
            };
            serde_json::to_vec_pretty(&file).unwrap_or_default()
        };
        let result = crate::files::write_atomically(path, &bytes);
        if result.is_err() {
            self.book().dirty = true;
        }
        result
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn seen() -> Seen {
        Seen {
            network_id: BlockHash::ZERO,
            protocol_version: 1,
            agent: "x".into(),
            tip_hash: BlockHash::ZERO,
            tip_height: 3,
            chain_work: Work::ZERO,
        }
    }

    #[test]
    fn urls_are_normalised_like_the_seed_systems_accepted_them() {
        assert_eq!(
            normalize_url("127.0.0.1:5001").as_deref(),
            Some("http://127.0.0.1:5001")
        );
        assert_eq!(
            normalize_url("http://node-b:5000/").as_deref(),
            Some("http://node-b:5000")
        );
        assert_eq!(normalize_url(""), None);
        assert_eq!(normalize_url("not a url"), None);
        assert_eq!(normalize_url("http://"), None);
        assert_eq!(normalize_url("http:///"), None);
        assert_eq!(normalize_url("ftp://node-b:5000"), None);
        // A peer is an origin: one spelling per node, and nothing that makes the node call another path.
        assert_eq!(
            normalize_url("HTTP://Node-B:5000").as_deref(),
            Some("http://node-b:5000")
        );
        assert_eq!(normalize_url("node-b").as_deref(), Some("http://node-b:80"));
        assert_eq!(
            normalize_url("https://node-b").as_deref(),
            Some("https://node-b:443")
        );
        assert_eq!(
            normalize_url("http://[::1]:5000/").as_deref(),
            Some("http://[::1]:5000")
        );
        for bad in [
            " https://node-b:5000/x/ ",
            "http://127.0.0.1:5000/mine?",
            "http://127.0.0.1:5000?a=1",
            "http://127.0.0.1:5000#x",
            "http://user:pw@127.0.0.1:5000",
            "http://)",
        ] {
            assert_eq!(normalize_url(bad), None, "{bad}");
        }
        assert!(
            parse_peer_origin("http://h:1/p")
                .unwrap_err()
                .contains("path")
        );
        // Dot segments spell the same origin: one peer.
        assert_eq!(
            normalize_url("http://127.0.0.1:5000/./.").as_deref(),
            Some("http://127.0.0.1:5000")
        );
    }

    #[test]
    fn seen_and_failures_are_recorded_per_peer() {
        let peers = Peers::in_memory(&["127.0.0.1:1".into()]);
        assert_eq!(peers.list(), vec!["http://127.0.0.1:1".to_string()]);
        assert!(peers.ready("http://127.0.0.1:1"));
        peers.record_failure("http://127.0.0.1:1", "refused");
        peers.record_failure("http://127.0.0.1:1", "refused");
        let info = peers.get("http://127.0.0.1:1").unwrap();
        assert_eq!(info.failures, 2);
        assert!(!peers.ready("http://127.0.0.1:1"), "backing off");
        let info = peers.record_seen("http://127.0.0.1:1", &seen(), false);
        assert_eq!(
            info.as_ref()
                .map(|i| (i.failures, i.tip_height, i.retry_at_ms)),
            Some((0, Some(3), None))
        );
        assert!(peers.ready("http://127.0.0.1:1"));
        assert!(
            peers
                .record_seen("http://127.0.0.1:2", &seen(), false)
                .is_none()
        );
        assert!(
            peers
                .record_seen("http://127.0.0.1:2", &seen(), true)
                .is_some()
        );
        assert_eq!(peers.len(), 2);
        assert!(peers.remove("http://127.0.0.1:2"));
        assert!(!peers.is_empty());
    }

    #[test]
    fn back_off_doubles_up_to_its_limit() {
        assert_eq!(backoff_ms(1), BACKOFF_BASE_MS);
        assert_eq!(backoff_ms(2), 2 * BACKOFF_BASE_MS);
        assert_eq!(backoff_ms(4), 8 * BACKOFF_BASE_MS);
        assert_eq!(backoff_ms(1000), BACKOFF_MAX_MS);
    }

    #[test]
    fn misbehaviour_adds_up_to_a_ban_that_removes_the_peer_and_refuses_it() {
        let url = "http://127.0.0.1:9";
        let peers = Peers::in_memory(&[url.into()]);
        assert!(peers.misbehaved(url, 50, "false claim").is_none());
        assert_eq!(peers.get(url).unwrap().score, 50);
        let ban = peers.misbehaved(url, 50, "false claim").unwrap();
        assert_eq!(ban.reason, "false claim");
        assert!(ban.until_ms >= ban.since_ms + BAN_DURATION_MS);
        assert!(!peers.contains(url));
        assert!(peers.banned(url).is_some());
        assert!(!peers.add(url.into()));
        assert!(peers.record_seen(url, &seen(), true).is_none());
        assert!(!peers.ready(url));
        assert_eq!(peers.bans().len(), 1);
        assert!(peers.unban(url));
        assert!(peers.add(url.into()));
        assert_eq!(peers.get(url).unwrap().score, 0);
        // An expired ban is gone.
        peers.ban(url, 0, "test");
        assert!(peers.banned(url).is_none());
        assert!(peers.bans().is_empty());
    }

    #[test]
    fn scores_decay_by_the_hour() {
        let s = Score {
            points: 55,
            at_ms: 0,
        };
        assert_eq!(s.now(0), 55);
        assert_eq!(s.now(2 * 60 * 60 * 1000 + 1), 35);
        assert_eq!(s.now(u64::MAX), 0);
    }

    #[test]
    fn the_first_sender_of_an_item_is_remembered() {
        let peers = Peers::in_memory(&[]);
        let item = Item::Block(BlockHash::hash(b"b"));
        assert!(peers.note_received(item, Some("http://a:1")));
        assert!(!peers.note_received(item, Some("http://b:1")));
        assert_eq!(peers.received_from(&item).as_deref(), Some("http://a:1"));
        let mine = Item::Tx(Txid::hash(b"t"));
        assert!(peers.note_received(mine, None));
        assert_eq!(peers.received_from(&mine), None);
        for i in 0..INVENTORY_CAPACITY {
            peers.note_received(Item::Block(BlockHash::hash(&i.to_le_bytes())), None);
        }
        assert_eq!(
            peers.received_from(&item),
            None,
            "the oldest were forgotten"
        );
    }

    #[test]
    fn peers_and_bans_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config {
            data_dir: dir.path().to_path_buf(),
            peers: vec!["127.0.0.1:1".into()],
            ..Config::default()
        };
        let peers = Peers::new(&config);
        assert!(peers.add("http://127.0.0.1:2".into()));
        peers.ban("http://127.0.0.1:3", BAN_DURATION_MS, "bad blocks");
        peers.save().unwrap();
        let again = Peers::new(&Config {
            peers: Vec::new(),
            ..config
        });
        assert_eq!(
            again.list(),
            vec![
                "http://127.0.0.1:1".to_string(),
                "http://127.0.0.1:2".to_string()
            ]
        );
        assert_eq!(again.bans()[0].reason, "bad blocks");
        // Nothing changed: nothing written.
        again.save().unwrap();
    }
}
