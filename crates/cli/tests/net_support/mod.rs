//! Shared helpers of the network tests: real `ferrochain node` processes on chosen loopback ports with their
//! own data directories (killed on drop, killable with SIGKILL and restartable on the same directory), a JSON
//! client, waiting with a deadline, and an "easy" chain spec whose proof of work costs a few hashes, so that
//! tests can build chains of thousands of blocks in seconds (`build_chain`, `prefill`).
//!
//! The tests run the workspace's `ferrochain` binary, found next to the test executable's directory
//! (`target/<profile>/ferrochain`), as `seed_support` does. `cargo test` at the workspace root builds it
//! before running tests; with `cargo test -p ferrochain-node`, run `cargo build -p ferrochain` first.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ferrochain_core::builder::ChainBuilder;
use ferrochain_core::crypto::SigningKey;
use ferrochain_core::{Amount, Block, ChainSpec, Network, PubkeyHash, Target};
use serde_json::Value;

/// The `ferrochain` binary of this build.
pub fn binary() -> PathBuf {
    let exe = std::env::current_exe().expect("the test knows its own path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test runs from target/<profile>/deps");
    let bin = profile_dir.join(format!("ferrochain{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.exists(),
        "{} does not exist: run `cargo build -p ferrochain` first (a workspace-wide `cargo test` builds it)",
        bin.display()
    );
    bin
}

/// `n` distinct free loopback ports (all held open while choosing, so they differ).
pub fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<std::net::TcpListener> = (0..n)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").expect("a free port"))
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect()
}

/// `http://127.0.0.1:<port>`.
pub fn url_of(port: u16) -> String {
    format!("http://127.0.0.1:{port}")
}

/// Polls `check` every 20 ms until it gives `Some`, or panics with `what` after `limit`.
pub async fn wait_for<T, F, Fut>(limit: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A `ferrochain node` process.
pub struct NodeProc {
    child: Option<Child>,
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    /// Its data directory.
    pub data: PathBuf,
    log: PathBuf,
    args: Vec<String>,
    env: Vec<(String, String)>,
    client: reqwest::Client,
}

impl Drop for NodeProc {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl NodeProc {
    /// Starts `ferrochain node --listen 127.0.0.1:<port> --data-dir <data> --mine-threads 1 <args>` with the
    /// `FERROCHAIN_*` environment replaced by `env`, and waits until it answers `/api/v1/status`.
    pub async fn start(data: &Path, port: u16, args: &[&str], env: &[(&str, &str)]) -> NodeProc {
        std::fs::create_dir_all(data).unwrap();
        let mut node = NodeProc {
            child: None,
            port,
            url: url_of(port),
            data: data.to_path_buf(),
            log: data.with_extension("log"),
            args: args.iter().map(|s| s.to_string()).collect(),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .unwrap(),
        };
        node.spawn();
        node.wait_ready().await;
        node
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("a log file");
        let mut command = Command::new(binary());
        for (key, _) in std::env::vars() {
            if key.starts_with("FERROCHAIN_") {
                command.env_remove(key);
            }
        }
        for (k, v) in &self.env {
            command.env(k, v);
        }
        let child = command
            .args(["node", "--listen", &format!("127.0.0.1:{}", self.port)])
            .arg("--data-dir")
            .arg(&self.data)
            .args(["--mine-threads", "1"])
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("the log file"))
            .stderr(log)
            .spawn()
            .expect("the ferrochain binary starts");
        self.child = Some(child);
    }

    async fn wait_ready(&mut self) {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(60) {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                panic!("the node exited with {status}:\n{}", self.log());
            }
            if let Ok(r) = self
                .client
                .get(format!("{}/api/v1/status", self.url))
                .timeout(Duration::from_secs(2))
                .send()
                .await
                && r.status().is_success()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("the node did not answer within 60 s:\n{}", self.log());
    }

    /// Kills the process with SIGKILL (no shutdown at all).
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("SIGKILL");
            let _ = child.wait();
        }
    }

    /// Stops the process with SIGTERM and waits for it.
    pub fn terminate(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let _ = child.wait();
        }
    }

    /// Starts the process again on the same port and data directory.
    pub async fn restart(&mut self) {
        self.kill9();
        self.spawn();
        self.wait_ready().await;
    }

    /// What the node printed.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `GET path` as JSON (panics on failure).
    pub async fn get(&self, path: &str) -> Value {
        let r = self
            .client
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}\n{}", self.log()));
        r.json().await.unwrap()
    }

    /// `POST path` with a JSON body; status and JSON answer.
    pub async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let r = self
            .client
            .post(format!("{}{path}", self.url))
            .json(body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {path}: {e}\n{}", self.log()));
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// `/api/v1/status`, or `None` when the node does not answer in 2 s.
    pub async fn try_status(&self) -> Option<Value> {
        let r = self
            .client
            .get(format!("{}/api/v1/status", self.url))
            .timeout(Duration::from_secs(2))
            .send()
            .await
            .ok()?;
        r.json().await.ok()
    }

    /// `/api/v1/status`.
    pub async fn status(&self) -> Value {
        self.get("/api/v1/status").await
    }

    /// The active tip: (height, hash).
    pub async fn tip(&self) -> (u64, String) {
        let s = self.status().await;
        (
            s["height"].as_u64().unwrap(),
            s["tip"].as_str().unwrap().to_string(),
        )
    }

    /// Mines `n` blocks now (`POST /api/v1/mine`); returns the last block's hash.
    pub async fn mine(&self, n: u32) -> String {
        let (status, answer) = self
            .post("/api/v1/mine", &serde_json::json!({ "blocks": n }))
            .await;
        assert_eq!(status, 200, "{answer}");
        answer["blocks"][n as usize - 1]["hash"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// The node's own (miner) address.
    pub async fn address(&self) -> String {
        self.get("/api/v1/wallets").await[0]["address"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Pays `amount` whole units from the node's own key to `to`; returns the txid.
    pub async fn pay(&self, to: &str, amount: u64) -> String {
        let from = self.address().await;
        let (status, answer) = self
            .post(
                &format!("/api/v1/wallets/{from}/send"),
                &serde_json::json!({ "to": to, "amount": amount }),
            )
            .await;
        assert_eq!(status, 201, "{answer}");
        answer["txid"].as_str().unwrap().to_string()
    }

    /// The transaction's state (`"pending"`, `"confirmed"`) and, when confirmed, its block; `None` when the
    /// node does not know it.
    pub async fn tx_status(&self, txid: &str) -> Option<(String, Option<String>)> {
        let r = self
            .client
            .get(format!("{}/api/v1/txs/{txid}", self.url))
            .send()
            .await
            .ok()?;
        if !r.status().is_success() {
            return None;
        }
        let v: Value = r.json().await.ok()?;
        let state = v["status"]["state"].as_str()?.to_string();
        Some((state, v["status"]["block"].as_str().map(str::to_string)))
    }

    /// The peer URLs the node lists.
    pub async fn peer_urls(&self) -> Vec<String> {
        self.get("/p2p/v1/peers").await["peers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["url"].as_str().unwrap().to_string())
            .collect()
    }
}

/// A chain spec like `dev` (same address prefix, zero maturity) whose proof of work needs 4 leading zero bits:
/// about 16 hashes a block.
pub fn easy_spec() -> ChainSpec {
    ChainSpec {
        name: "easy".into(),
        genesis_message: "ferrochain test chain: proof of work for free".into(),
        initial_bits: Target::from_leading_zero_bits(4).to_compact(),
        pow_limit: Target::from_leading_zero_bits(4),
        ..ChainSpec::dev()
    }
}

/// Writes `spec` into `dir` and returns the file's path (for `--network`).
pub fn write_spec(dir: &Path, spec: &ChainSpec) -> PathBuf {
    let path = dir.join(format!("{}.toml", spec.name));
    std::fs::write(&path, spec.to_toml().unwrap()).unwrap();
    path
}

/// Builds `blocks` blocks on `network`'s genesis, one second apart and ending now, each with up to
/// `txs_per_block` payments from a key that the first block rewards (after it: change to itself).
pub fn build_chain(network: &Network, blocks: usize, txs_per_block: usize) -> Vec<Block> {
    let mut rng = rand::rng();
    let key = SigningKey::from_secret_bytes([42; 32]);
    let owner = key.public_key().pubkey_hash();
    let someone = PubkeyHash::from_bytes([9; 20]);
    let mut chain = ChainBuilder::new(network.clone());
    let now = ferrochain_node::now_ms();
    let start = now - (blocks as u64 + 1) * 1000;
    for i in 0..blocks {
        let mut exclude = Vec::new();
        let txs = if i == 0 {
            Vec::new()
        } else {
            (0..txs_per_block)
                .filter_map(|_| {
                    chain.transfer(
                        &key,
                        someone,
                        Amount::from_units(1000).unwrap(),
                        Amount::ZERO,
                        Vec::new(),
                        &mut exclude,
                    )
                })
                .collect()
        };
        let time = start + (i as u64 + 1) * 1000;
        chain
            .mine_block(txs, owner, time, &mut rng)
            .expect("a valid block");
    }
    chain.blocks()[1..].to_vec()
}

/// Opens a node on `data` (network file `network`, rewards to a fixed address) in this process and submits
/// `blocks`, so that a node process started on `data` has them.
pub fn prefill(data: &Path, network: &Path, blocks: &[Block]) {
    let config = ferrochain_node::Config {
        data_dir: data.to_path_buf(),
        network: network.display().to_string(),
        miner_address: Some(Network::dev().address(&PubkeyHash::from_bytes([7; 20]))),
        ..ferrochain_node::Config::default()
    };
    let node = ferrochain_node::Node::open(config).unwrap();
    for block in blocks {
        node.submit_block(block.clone()).unwrap();
    }
}
