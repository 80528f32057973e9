//! Known peers of this node. The full peer-to-peer protocol (handshake, relay, headers-first sync, scoring)
//! arrives with the network issue; this module keeps the peer list the seed routes read and write.

use std::collections::BTreeSet;
use std::sync::Mutex;

use crate::config::Config;

/// The set of peer URLs.
#[derive(Debug)]
pub struct Peers {
    urls: Mutex<BTreeSet<String>>,
}

/// Normalises a peer URL as people type it: adds `http://` when no scheme is given, removes a trailing `/`.
/// `None` for text that is not a plausible `host:port` URL.
pub fn normalize_url(text: &str) -> Option<String> {
    let t = text.trim().trim_end_matches('/');
    if t.is_empty() || t.contains(char::is_whitespace) {
        return None;
    }
    let url = if t.contains("://") {
        t.to_string()
    } else {
        format!("http://{t}")
    };
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))?;
    let host = rest.split('/').next()?;
    (!host.is_empty()).then_some(url)
}

impl Peers {
    /// The peers named in the config.
    pub fn new(config: &Config) -> Peers {
        Peers {
            urls: Mutex::new(
                config
                    .peers
                    .iter()
                    .filter_map(|p| normalize_url(p))
                    .collect(),
            ),
        }
    }

    /// Every known peer URL, sorted.
    pub fn list(&self) -> Vec<String> {
        self.urls
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .cloned()
            .collect()
    }

    /// Adds a peer; returns whether it was new.
    pub fn add(&self, url: String) -> bool {
        self.urls
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(url)
    }

    /// Removes a peer; returns whether it was known.
    pub fn remove(&self, url: &str) -> bool {
        self.urls
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(url)
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
    }
}
