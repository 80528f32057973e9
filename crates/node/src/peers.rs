//! Known peers of this node: their URLs and what this node last learnt about each (handshake, tip, failures).
//!
//! The seed routes and the peer-to-peer layer ([`crate::p2p`]) read and write this list. Each entry is a
//! [`PeerInfo`]; the record of consecutive failures is where back-off and scoring will hang (not done yet, see
//! `docs/p2p.md`).

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use ferrochain_core::{BlockHash, Work};

use crate::config::Config;
use crate::node::now_ms;

/// Most peers a node keeps; a handshake from a new peer beyond this is answered but not remembered.
pub const MAX_PEERS: usize = 256;

/// What this node knows about one peer.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct PeerInfo {
    /// The peer's URL, normalised ([`normalize_url`]).
    pub url: String,
    /// The peer's network id (genesis hash), from its last handshake.
    #[schema(value_type = Option<String>)]
    pub network_id: Option<BlockHash>,
    /// The peer's protocol version, from its last handshake.
    pub protocol_version: Option<u32>,
    /// The peer's software (`ferrochain/0.1.0`), from its last handshake.
    pub agent: Option<String>,
    /// The tip height the peer last claimed (for display only: sync never trusts it).
    pub tip_height: Option<u64>,
    /// The tip hash the peer last claimed.
    #[schema(value_type = Option<String>)]
    pub tip_hash: Option<BlockHash>,
    /// The cumulative work the peer last claimed (for display only).
    #[schema(value_type = Option<String>)]
    pub chain_work: Option<Work>,
    /// When the peer last answered (ms since the Unix epoch).
    pub last_seen_ms: Option<u64>,
    /// Why the last exchange with the peer failed, if it did.
    pub last_error: Option<String>,
    /// Failures since the last success (the basis of back-off, to come).
    pub failures: u32,
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
            last_error: None,
            failures: 0,
        }
    }
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

/// The known peers, by URL.
#[derive(Debug)]
pub struct Peers {
    entries: Mutex<BTreeMap<String, PeerInfo>>,
}

/// Normalises a peer URL as people type it: adds `http://` when no scheme is given, removes a trailing `/`.
/// `None` for text that is not a plausible `host:port` URL.
pub fn normalize_url(text: &str) -> Option<String> {
    let t = text.trim();
    if t.is_empty() || t.contains(char::is_whitespace) {
        return None;
    }
    let (scheme, rest) = t.split_once("://").unwrap_or(("http", t));
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let rest = rest.trim_end_matches('/');
    let host = rest.split('/').next()?;
    (!host.is_empty()).then(|| format!("{scheme}://{rest}"))
}

impl Peers {
    /// The peers named in the config.
    pub fn new(config: &Config) -> Peers {
        Peers {
            entries: Mutex::new(
                config
                    .peers
                    .iter()
                    .filter_map(|p| normalize_url(p))
                    .map(|url| (url.clone(), PeerInfo::new(url)))
                    .collect(),
            ),
        }
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, PeerInfo>> {
        // Every update is a single map operation, so a poisoned lock still holds a consistent map.
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every known peer URL, sorted.
    pub fn list(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }

    /// Every known peer with what is known about it, sorted by URL.
    pub fn all(&self) -> Vec<PeerInfo> {
        self.lock().values().cloned().collect()
    }

    /// What is known about the peer at `url` (as given: normalise it first).
    pub fn get(&self, url: &str) -> Option<PeerInfo> {
        self.lock().get(url).cloned()
    }

    /// Whether `url` is a known peer.
    pub fn contains(&self, url: &str) -> bool {
        self.lock().contains_key(url)
    }

    /// How many peers are known.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no peer is known.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// Adds a peer; returns whether it was new.
    pub fn add(&self, url: String) -> bool {
        let mut entries = self.lock();
        if entries.contains_key(&url) {
            return false;
        }
        entries.insert(url.clone(), PeerInfo::new(url));
        true
    }

    /// Removes a peer; returns whether it was known.
    pub fn remove(&self, url: &str) -> bool {
        self.lock().remove(url).is_some()
    }

    /// Records a successful handshake with the peer at `url` (adding it when `add` is set and it is unknown);
    /// returns the updated entry, or `None` if the peer is unknown and was not added.
    pub fn record_seen(&self, url: &str, seen: &Seen, add: bool) -> Option<PeerInfo> {
        let mut entries = self.lock();
        if !entries.contains_key(url) {
            if !add {
                return None;
            }
            entries.insert(url.to_string(), PeerInfo::new(url.to_string()));
        }
        let entry = entries.get_mut(url)?;
        entry.network_id = Some(seen.network_id);
        entry.protocol_version = Some(seen.protocol_version);
        entry.agent = Some(seen.agent.clone());
        entry.tip_hash = Some(seen.tip_hash);
        entry.tip_height = Some(seen.tip_height);
        entry.chain_work = Some(seen.chain_work);
        entry.last_seen_ms = Some(now_ms());
        entry.last_error = None;
        entry.failures = 0;
        Some(entry.clone())
    }

    /// Records that an exchange with a known peer failed (nothing happens for an unknown peer).
    pub fn record_failure(&self, url: &str, reason: &str) {
        if let Some(entry) = self.lock().get_mut(url) {
            entry.last_error = Some(reason.to_string());
            entry.failures = entry.failures.saturating_add(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(
            normalize_url(" https://node-b:5000/x/ ").as_deref(),
            Some("https://node-b:5000/x")
        );
    }

    #[test]
    fn seen_and_failures_are_recorded_per_peer() {
        let peers = Peers::new(&Config {
            peers: vec!["127.0.0.1:1".into()],
            ..Config::default()
        });
        assert_eq!(peers.list(), vec!["http://127.0.0.1:1".to_string()]);
        peers.record_failure("http://127.0.0.1:1", "refused");
        peers.record_failure("http://127.0.0.1:1", "refused");
        let info = peers.get("http://127.0.0.1:1");
        assert_eq!(info.as_ref().map(|i| i.failures), Some(2));
        let seen = Seen {
            network_id: BlockHash::ZERO,
            protocol_version: 1,
            agent: "x".into(),
            tip_hash: BlockHash::ZERO,
            tip_height: 3,
            chain_work: Work::ZERO,
        };
        let info = peers.record_seen("http://127.0.0.1:1", &seen, false);
        assert_eq!(
            info.as_ref().map(|i| (i.failures, i.tip_height)),
            Some((0, Some(3)))
        );
        assert!(
            peers
                .record_seen("http://127.0.0.1:2", &seen, false)
                .is_none()
        );
        assert!(
            peers
                .record_seen("http://127.0.0.1:2", &seen, true)
                .is_some()
        );
        assert_eq!(peers.len(), 2);
        assert!(peers.remove("http://127.0.0.1:2"));
        assert!(!peers.is_empty());
    }
}
