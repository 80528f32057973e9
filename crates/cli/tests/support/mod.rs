//! The process fixture of the cli crate's integration tests: real `ferrochain node` processes of this build
//! (`CARGO_BIN_EXE_ferrochain`) on loopback ports with their own data directories — started with flags and a
//! `FERROCHAIN_*` environment of the test's choosing, waited for until they answer, killed on drop, killable
//! with SIGKILL or SIGTERM and restartable on the same directory — with JSON helpers and [`Reply`] (status,
//! content type and body of any answer), free ports, waiting with a deadline, and the chain helpers of the
//! network tests (an easy chain spec whose proof of work costs a few hashes, chains of thousands of blocks
//! built in seconds, a data directory prefilled with them).
//!
//! In-process nodes are `ferrochain_http::testing::TestNode`; chain builders are `ferrochain_core::testing`.
#![allow(dead_code, unused_imports, clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub use ferrochain_core::testing::{easy_spec, write_spec};
use ferrochain_core::{Block, Network, PubkeyHash};
pub use ferrochain_http::testing::{free_port, free_ports};
use serde_json::Value;

/// The `ferrochain` binary of this build.
pub const BIN: &str = env!("CARGO_BIN_EXE_ferrochain");

/// `ferrochain` of this build with the test runner's `FERROCHAIN_*` environment removed.
pub fn ferrochain() -> Command {
    let mut command = Command::new(BIN);
    for (key, _) in std::env::vars() {
        if key.starts_with("FERROCHAIN_") {
            command.env_remove(key);
        }
    }
    command
}

/// A port P such that P and the `n - 1` ports after it are free on loopback.
pub fn free_base_port(n: u16) -> u16 {
    for _ in 0..100 {
        let base = free_port();
        if base > 65000 {
            continue;
        }
        let free = (1..n).all(|i| std::net::TcpListener::bind(("127.0.0.1", base + i)).is_ok());
        if free {
            return base;
        }
    }
    panic!("no {n} consecutive free ports");
}

/// `GET url` as JSON from synchronous code (a runtime of its own, a 2 s limit); `None` on any failure.
pub fn get_blocking(url: &str) -> Option<Value> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let r = reqwest::Client::new()
            .get(url)
            .timeout(Duration::from_secs(2))
            .send()
            .await
            .ok()?;
        r.json().await.ok()
    })
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

/// An answer: status, content type and body.
#[derive(Debug, Clone)]
pub struct Reply {
    /// HTTP status code.
    pub status: u16,
    /// The `Content-Type` header (empty if none).
    pub content_type: String,
    /// The body as text.
    pub body: String,
}

impl Reply {
    /// The body as JSON (panics with the body if it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", self.status, self.body))
    }

    /// Asserts the status, showing the body when it differs.
    pub fn expect(self, status: u16) -> Reply {
        assert_eq!(self.status, status, "unexpected answer: {}", self.body);
        self
    }
}

/// A `ferrochain node` process on a loopback port, with its own data directory; killed on drop.
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
    _dir: Option<tempfile::TempDir>,
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
    fn new(
        data: &Path,
        port: u16,
        args: &[&str],
        env: &[(&str, &str)],
        timeout: Duration,
    ) -> NodeProc {
        std::fs::create_dir_all(data).unwrap();
        NodeProc {
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
            client: reqwest::Client::builder().timeout(timeout).build().unwrap(),
            _dir: None,
        }
    }

    /// Starts `ferrochain node --listen 127.0.0.1:<port> --data-dir <data> --mine-threads 1 <args>` with the
    /// `FERROCHAIN_*` environment replaced by `env`, and waits until it answers `/api/v1/status`.
    pub async fn start(data: &Path, port: u16, args: &[&str], env: &[(&str, &str)]) -> NodeProc {
        let mut node = NodeProc::new(data, port, args, env, Duration::from_secs(60));
        node.spawn();
        if !node.wait_ready().await {
            panic!("the node exited:\n{}", node.log());
        }
        node
    }

    /// Starts a `dev` node with the flags `extra` in a temporary data directory on a free port (another one
    /// if a process took the port first) and waits until it answers.
    pub async fn start_temp(extra: &[&str]) -> NodeProc {
        for _attempt in 0..5 {
            let dir = tempfile::tempdir().expect("a temporary directory");
            let mut node = NodeProc::new(
                &dir.path().join("data"),
                free_port(),
                extra,
                &[],
                Duration::from_secs(120),
            );
            node._dir = Some(dir);
            node.spawn();
            if node.wait_ready().await {
                return node;
            }
            let log = node.log();
            assert!(
                log.contains("cannot listen"),
                "the node did not start:\n{log}"
            );
            // Another process took the port between our probe and the node's bind: try another one.
        }
        panic!("no free port after 5 attempts");
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("a log file");
        let mut command = ferrochain();
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

    /// Waits until the node answers `/api/v1/status` (true) or its process exits (false); panics after 60 s.
    async fn wait_ready(&mut self) -> bool {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(60) {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(_)) = child.try_wait()
            {
                return false;
            }
            if let Ok(r) = self
                .client
                .get(format!("{}/api/v1/status", self.url))
                .timeout(Duration::from_secs(2))
                .send()
                .await
                && r.status().is_success()
            {
                return true;
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
        if !self.wait_ready().await {
            panic!("the node exited:\n{}", self.log());
        }
    }

    /// The node's data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.data.clone()
    }

    /// What the node printed.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `GET path` as JSON (panics on failure).
    pub async fn get_json(&self, path: &str) -> Value {
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
        self.get_json("/api/v1/status").await
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
        self.get_json("/api/v1/wallets").await[0]["address"]
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
        self.get_json("/p2p/v1/peers").await["peers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["url"].as_str().unwrap().to_string())
            .collect()
    }

    async fn reply(&self, request: reqwest::RequestBuilder) -> Reply {
        let r = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("request failed: {e}\nnode log:\n{}", self.log()));
        let status = r.status().as_u16();
        let content_type = r
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let body = r.text().await.expect("an answer body");
        Reply {
            status,
            content_type,
            body,
        }
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> Reply {
        self.reply(self.client.get(format!("{}{path}", self.url)))
            .await
    }

    /// `GET path` with one extra header.
    pub async fn get_with(&self, path: &str, header: &str, value: &str) -> Reply {
        self.reply(
            self.client
                .get(format!("{}{path}", self.url))
                .header(header, value),
        )
        .await
    }

    /// `POST path` with a JSON body.
    pub async fn post_json(&self, path: &str, body: &Value) -> Reply {
        self.reply(self.client.post(format!("{}{path}", self.url)).json(body))
            .await
    }

    /// `POST path` with a form body.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Reply {
        let body = serde_urlencoded::to_string(fields).expect("form fields encode");
        self.post_raw(
            path,
            Some("application/x-www-form-urlencoded"),
            body.into_bytes(),
        )
        .await
    }

    /// `POST path` with these bytes and content type (none: no header).
    pub async fn post_raw(&self, path: &str, content_type: Option<&str>, body: Vec<u8>) -> Reply {
        let mut request = self.client.post(format!("{}{path}", self.url)).body(body);
        if let Some(ct) = content_type {
            request = request.header(reqwest::header::CONTENT_TYPE, ct);
        }
        self.reply(request).await
    }

    /// `POST path` with a body too large for the node, over a plain TCP connection: the node answers 413 and
    /// closes the connection before reading the whole body, which an HTTP client library reports as a failed
    /// send; this one stops writing when the node stops reading, then reads the answer.
    pub async fn post_oversized(&self, path: &str, content_type: &str, len: usize) -> Reply {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let host = self.url.trim_start_matches("http://");
        let mut stream = tokio::net::TcpStream::connect(host)
            .await
            .expect("the node accepts connections");
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: {content_type}\r\nContent-Length: {len}\r\n\
             Connection: close\r\n\r\n"
        );
        stream
            .write_all(head.as_bytes())
            .await
            .expect("the request head is sent");
        let chunk = vec![b' '; 64 * 1024];
        let mut sent = 0;
        while sent < len {
            let n = chunk.len().min(len - sent);
            if stream.write_all(&chunk[..n]).await.is_err() {
                break;
            }
            sent += n;
        }
        let mut raw = Vec::new();
        let _ = stream.read_to_end(&mut raw).await;
        let text = String::from_utf8_lossy(&raw).into_owned();
        let (head, body) = text
            .split_once("\r\n\r\n")
            .unwrap_or_else(|| panic!("no HTTP answer to an oversized body: {text:?}"));
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no status in {head:?}"));
        let content_type = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("content-type")
                    .then(|| v.trim().to_string())
            })
            .unwrap_or_default();
        Reply {
            status,
            content_type,
            body: body.to_string(),
        }
    }

    /// `POST path` with no body.
    pub async fn post_empty(&self, path: &str) -> Reply {
        self.post_raw(path, None, Vec::new()).await
    }

    /// The address of the node's own (miner) key: the first of `/api/get_wallets`.
    pub async fn miner_address(&self) -> String {
        let wallets = self.get("/api/get_wallets").await.expect(200).json();
        wallets["data"][0]["address"]
            .as_str()
            .expect("the node holds its miner key")
            .to_string()
    }

    /// The confirmed balance of a node-held address, from `/api/get_wallets`.
    pub async fn balance(&self, address: &str) -> Value {
        let wallets = self.get("/api/get_wallets").await.expect(200).json();
        wallets["data"]
            .as_array()
            .expect("a list of wallets")
            .iter()
            .find(|w| w["address"] == address)
            .map(|w| w["balance"].clone())
            .unwrap_or_else(|| panic!("{address} is not held: {wallets}"))
    }

    /// The whole chain as `/chain` shows it.
    pub async fn chain(&self) -> Value {
        self.get("/chain").await.expect(200).json()
    }
}

/// Builds `blocks` blocks on `network`'s genesis, one second apart and ending now, each with up to
/// `txs_per_block` payments from a key that the first block rewards (after it: change to itself): see
/// [`ferrochain_core::testing::build_chain`].
pub fn build_chain(network: &Network, blocks: usize, txs_per_block: usize) -> Vec<Block> {
    ferrochain_core::testing::build_chain(
        network,
        blocks,
        txs_per_block,
        ferrochain_node::now_ms(),
        &mut rand::rng(),
    )
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
