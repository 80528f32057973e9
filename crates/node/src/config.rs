//! The node's configuration: every setting with its default and meaning, read from a TOML file, then
//! overridden by `FERROCHAIN_*` environment variables, then by command-line flags (the CLI applies those).
//!
//! `ferrochain node init-config` prints [`Config::commented_toml`]: a file that, read back, gives the defaults.

use std::net::SocketAddr;
use std::path::PathBuf;

use ferrochain_core::{ChainSpec, Network};

/// The network setting names neither a preset nor a usable chain spec file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("network {name:?}: {reason}")]
pub struct NetworkError {
    /// What was asked for.
    pub name: String,
    /// Why it failed.
    pub reason: String,
}

/// Reads the network named in the config: a preset or a chain spec file.
///
/// # Errors
/// [`NetworkError`] saying what is wrong.
pub fn load_network(name: &str) -> Result<Network, NetworkError> {
    let err = |reason: String| NetworkError {
        name: name.to_string(),
        reason,
    };
    let spec = match ChainSpec::preset(name) {
        Some(spec) => spec,
        None => {
            let text = std::fs::read_to_string(name).map_err(|e| {
                err(format!(
                    "not a preset (dev, lab) and not a readable chain spec file: {e}"
                ))
            })?;
            ChainSpec::from_toml(&text).map_err(|e| err(e.to_string()))?
        }
    };
    Network::new(spec).map_err(|e| err(e.to_string()))
}

/// The node's settings.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address and port the HTTP server (API, seed routes, peers, web UI) listens on.
    pub listen: SocketAddr,
    /// Directory for the chain database, the node keystore and exports.
    pub data_dir: PathBuf,
    /// A PostgreSQL URL (`postgres://user@host/db`) to store the chain there instead of SQLite in `data_dir`.
    pub database: Option<String>,
    /// The network: `dev`, `lab`, or the path of a chain spec TOML file.
    pub network: String,
    /// Peers to connect to at start (URLs like `http://127.0.0.1:5001`).
    pub peers: Vec<String>,
    /// The URL other nodes reach this one at (default: `http://` + `listen`).
    pub public_url: Option<String>,
    /// Mine continuously from the start.
    pub mine: bool,
    /// With `mine`: one block every this many seconds (0: as fast as the difficulty allows).
    pub mine_interval_secs: u64,
    /// Mining threads (0: one per CPU core).
    pub mine_threads: usize,
    /// Where block rewards go (default: the node's own address, created on first start).
    pub miner_address: Option<String>,
    /// A bearer token that allows owner operations (mining control, node wallets, peers, reset) from
    /// anywhere; without it they are allowed from loopback only.
    pub api_token: Option<String>,
    /// Loopback proves nothing: every owner operation needs the API token, even from the node's own machine
    /// (as bitcoind's cookie does for every local client). Needs `api_token`.
    pub require_token_on_loopback: bool,
    /// Web origins (`scheme://host:port`) whose pages may act as the owner from a browser (a seed client's own
    /// dev server, say); requests a browser sends from any other site are refused (ADR 0019).
    pub allowed_origins: Vec<String>,
    /// Host names (or `host:port`) requests may name in `Host` besides the listen address, loopback names, IP
    /// addresses and the public URL's host (DNS-rebinding defence, ADR 0019).
    pub allowed_hosts: Vec<String>,
    /// Password of the node keystore on networks other than `dev` (node-held keys are disabled without it).
    pub wallet_password: Option<String>,
    /// Largest request body of any route, in bytes; each route has a smaller limit of its own (ADR 0022).
    pub max_body_bytes: usize,
    /// Largest mempool, in bytes.
    pub mempool_max_bytes: usize,
    /// Time limit of a request, in seconds.
    pub request_timeout_secs: u64,
    /// Most open HTTP connections; further clients wait in the listen backlog (ADR 0022).
    pub max_connections: usize,
    /// Seconds a connection may go without its client taking any of the answer before it is dropped.
    pub write_timeout_secs: u64,
    /// Seconds a connection may send and receive nothing (between requests, or before its first) before it
    /// is closed; longer than `request_timeout_secs`.
    pub idle_timeout_secs: u64,
    /// Most whole-chain answers (`/chain`, `/api/get_blocks`, ...) streamed at once; beyond, 503.
    pub max_heavy_requests: usize,
    /// Most event-stream subscribers (`/api/v1/events`, the web UI's live updates) at once; beyond, 503.
    pub max_event_subscribers: usize,
    /// Most keys the node keystore holds; creating one more is refused (409).
    pub max_keys: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 5000)),
            data_dir: PathBuf::from("ferrochain-data"),
            database: None,
            network: "dev".into(),
            peers: Vec::new(),
            public_url: None,
            mine: false,
            mine_interval_secs: 0,
            mine_threads: 0,
            miner_address: None,
            api_token: None,
            require_token_on_loopback: false,
            allowed_origins: Vec::new(),
            allowed_hosts: Vec::new(),
            wallet_password: None,
            max_body_bytes: 8 * 1024 * 1024,
            mempool_max_bytes: 32 * 1024 * 1024,
            request_timeout_secs: 30,
            max_connections: 512,
            write_timeout_secs: 30,
            idle_timeout_secs: 120,
            max_heavy_requests: 4,
            max_event_subscribers: 64,
            max_keys: 1000,
        }
    }
}

/// Why a configuration could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file is not valid TOML for a config.
    #[error("config file: {0}")]
    Toml(String),
    /// An environment variable has a value that cannot be used.
    #[error("environment variable {name}: {reason}")]
    Env {
        /// The variable.
        name: String,
        /// Why.
        reason: String,
    },
}

/// The settings, their environment variable and their meaning, in file order (for `init-config`).
const FIELDS: &[(&str, &str)] = &[
    (
        "listen",
        "address and port of the HTTP server (API, seed routes, peers, web UI)",
    ),
    (
        "data_dir",
        "directory for the chain database, the node keystore and exports",
    ),
    (
        "database",
        "PostgreSQL URL to store the chain in instead of SQLite under data_dir",
    ),
    (
        "network",
        "dev, lab, or the path of a chain spec TOML file (`ferrochain chain spec`)",
    ),
    (
        "peers",
        "peers to connect to at start, e.g. [\"http://127.0.0.1:5001\"]",
    ),
    (
        "public_url",
        "URL other nodes reach this one at (default: http:// + listen)",
    ),
    ("mine", "mine continuously from the start"),
    (
        "mine_interval_secs",
        "with mine: one block every this many seconds (0: as fast as possible)",
    ),
    ("mine_threads", "mining threads (0: one per CPU core)"),
    (
        "miner_address",
        "where block rewards go (default: the node's own address, created on first start)",
    ),
    (
        "api_token",
        "bearer token allowing owner operations from anywhere (default: loopback only)",
    ),
    (
        "require_token_on_loopback",
        "owner operations need the api_token even from loopback (needs api_token)",
    ),
    (
        "allowed_origins",
        "web origins (scheme://host:port) whose pages may act as the owner from a browser",
    ),
    (
        "allowed_hosts",
        "extra host names accepted in the Host header (besides loopback, IP addresses and public_url)",
    ),
    (
        "wallet_password",
        "password of the node keystore on networks other than dev",
    ),
    (
        "max_body_bytes",
        "largest request body of any route, in bytes (routes have smaller limits of their own)",
    ),
    ("mempool_max_bytes", "largest mempool, in bytes"),
    (
        "request_timeout_secs",
        "time limit of a request, in seconds",
    ),
    (
        "max_connections",
        "most open HTTP connections (further clients wait)",
    ),
    (
        "write_timeout_secs",
        "seconds a client may take none of an answer before its connection is dropped",
    ),
    (
        "idle_timeout_secs",
        "seconds a connection may send and receive nothing before it is closed",
    ),
    (
        "max_heavy_requests",
        "most whole-chain answers streamed at once (503 beyond)",
    ),
    (
        "max_event_subscribers",
        "most event-stream subscribers at once (503 beyond)",
    ),
    ("max_keys", "most keys the node keystore holds"),
];

impl Config {
    /// Reads a TOML config file's text; missing settings keep their defaults.
    ///
    /// # Errors
    /// [`ConfigError::Toml`] for malformed text or unknown settings.
    pub fn from_toml(text: &str) -> Result<Config, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::Toml(e.to_string()))
    }

    /// Applies `FERROCHAIN_<SETTING>` environment variables (e.g. `FERROCHAIN_LISTEN`, `FERROCHAIN_PEERS` as a
    /// comma-separated list) read through `get`.
    ///
    /// # Errors
    /// [`ConfigError::Env`] for a value that cannot be used.
    pub fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        for (field, _) in FIELDS {
            let name = format!("FERROCHAIN_{}", field.to_uppercase());
            let Some(value) = get(&name) else { continue };
            let err = |reason: String| ConfigError::Env {
                name: name.clone(),
                reason,
            };
            let num = |v: &str| v.trim().parse::<u64>().map_err(|e| err(e.to_string()));
            let flag = |v: &str| match v.trim() {
                "1" | "true" | "yes" => Ok(true),
                "0" | "false" | "no" => Ok(false),
                other => Err(err(format!("{other:?} is not true or false"))),
            };
            let list = |v: &str| -> Vec<String> {
                v.split(',')
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                    .map(String::from)
                    .collect()
            };
            match *field {
                "listen" => {
                    self.listen = value
                        .trim()
                        .parse()
                        .map_err(|e: std::net::AddrParseError| err(e.to_string()))?
                }
                "data_dir" => self.data_dir = PathBuf::from(value),
                "database" => self.database = Some(value),
                "network" => self.network = value,
                "peers" => {
                    self.peers = value
                        .split(',')
                        .map(str::trim)
                        .filter(|p| !p.is_empty())
                        .map(String::from)
                        .collect()
                }
                "public_url" => self.public_url = Some(value),
                "allowed_origins" => self.allowed_origins = list(&value),
                "allowed_hosts" => self.allowed_hosts = list(&value),
                "mine" => self.mine = flag(&value)?,
                "require_token_on_loopback" => self.require_token_on_loopback = flag(&value)?,
                "mine_interval_secs" => self.mine_interval_secs = num(&value)?,
                "mine_threads" => self.mine_threads = num(&value)? as usize,
                "miner_address" => self.miner_address = Some(value),
                "api_token" => self.api_token = Some(value),
                "wallet_password" => self.wallet_password = Some(value),
                "max_body_bytes" => self.max_body_bytes = num(&value)? as usize,
                "mempool_max_bytes" => self.mempool_max_bytes = num(&value)? as usize,
                "request_timeout_secs" => self.request_timeout_secs = num(&value)?,
                "max_connections" => self.max_connections = num(&value)? as usize,
                "write_timeout_secs" => self.write_timeout_secs = num(&value)?,
                "idle_timeout_secs" => self.idle_timeout_secs = num(&value)?,
                "max_heavy_requests" => self.max_heavy_requests = num(&value)? as usize,
                "max_event_subscribers" => self.max_event_subscribers = num(&value)? as usize,
                "max_keys" => self.max_keys = num(&value)? as usize,
                _ => {}
            }
        }
        Ok(())
    }

    /// Every setting with its default value and meaning, as TOML that reads back to the defaults.
    pub fn commented_toml() -> String {
        let defaults = Config::default();
        let table = toml::Table::try_from(&defaults).unwrap_or_default();
        let mut out = String::from(
            "# ferrochain node configuration. Every setting is shown with its default.\n\
             # Precedence: this file < environment FERROCHAIN_<SETTING> < command-line flags.\n\n",
        );
        for (field, meaning) in FIELDS {
            out.push_str(&format!(
                "# {meaning} (env FERROCHAIN_{})\n",
                field.to_uppercase()
            ));
            match table.get(*field) {
                Some(v) => out.push_str(&format!("{field} = {v}\n\n")),
                None => out.push_str(&format!("# {field} = (not set)\n\n")),
            }
        }
        out
    }

    /// The URL peers reach this node at.
    pub fn public_url(&self) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.listen))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_commented_defaults_read_back_to_the_defaults() {
        let text = Config::commented_toml();
        assert_eq!(Config::from_toml(&text).unwrap(), Config::default());
        for (field, _) in FIELDS {
            assert!(text.contains(field), "{field} is not documented");
        }
    }

    #[test]
    fn files_then_environment_override_defaults() {
        let mut c = Config::from_toml("listen = \"127.0.0.1:6000\"\nmine = true\n").unwrap();
        assert_eq!(c.listen.port(), 6000);
        assert!(c.mine);
        let env = |k: &str| match k {
            "FERROCHAIN_LISTEN" => Some("127.0.0.1:7000".to_string()),
            "FERROCHAIN_PEERS" => Some("http://a:1, http://b:2".to_string()),
            _ => None,
        };
        c.apply_env(env).unwrap();
        assert_eq!(c.listen.port(), 7000);
        assert_eq!(
            c.peers,
            vec!["http://a:1".to_string(), "http://b:2".to_string()]
        );
        assert!(Config::from_toml("colour = 3").is_err());
        let bad = |k: &str| (k == "FERROCHAIN_MINE").then(|| "maybe".to_string());
        assert!(matches!(c.apply_env(bad), Err(ConfigError::Env { .. })));
    }
}
