//! Shared helpers of the seed-route tests: real `ferrochain node` processes on free ports (killed on drop), and
//! a small HTTP client that returns status, content type and body of every answer.
//!
//! The tests run the workspace's `ferrochain` binary, found next to the test executable's directory
//! (`target/<profile>/ferrochain`). `cargo test` at the workspace root builds it before running tests; with
//! `cargo test -p ferrochain-node`, run `cargo build -p ferrochain` first.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The `ferrochain` binary of this build.
pub fn binary() -> PathBuf {
    let exe = std::env::current_exe().expect("the test knows its own path");
    // target/<profile>/deps/test_x-hash → target/<profile>/ferrochain
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

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on loopback")
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

/// A `ferrochain node` process on a free loopback port, with its own data directory; killed on drop.
pub struct NodeProcess {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    dir: tempfile::TempDir,
    client: reqwest::Client,
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl NodeProcess {
    /// Starts a `dev` node and waits until it answers `/api/v1/status`.
    pub async fn start() -> NodeProcess {
        NodeProcess::start_with(&[]).await
    }

    /// Starts a node with extra flags and waits until it answers.
    pub async fn start_with(extra: &[&str]) -> NodeProcess {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .build()
            .expect("an HTTP client");
        for _attempt in 0..5 {
            let dir = tempfile::tempdir().expect("a temporary directory");
            let port = free_port();
            let log = std::fs::File::create(dir.path().join("node.log")).expect("a log file");
            let mut command = Command::new(binary());
            for (key, _) in std::env::vars() {
                if key.starts_with("FERROCHAIN_") {
                    command.env_remove(key);
                }
            }
            let data = dir.path().join("data");
            let child = command
                .args([
                    "node",
                    "--listen",
                    &format!("127.0.0.1:{port}"),
                    "--data-dir",
                ])
                .arg(&data)
                .args(["--mine-threads", "1"])
                .args(extra)
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("the log file"))
                .stderr(log)
                .spawn()
                .expect("the ferrochain binary starts");
            let mut node = NodeProcess {
                child,
                url: format!("http://127.0.0.1:{port}"),
                dir,
                client: client.clone(),
            };
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

    async fn wait_ready(&mut self) -> bool {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(60) {
            if let Ok(Some(_)) = self.child.try_wait() {
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
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the node did not answer within 60 s:\n{}", self.log());
    }

    /// The node's data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// What the node printed.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("node.log")).unwrap_or_default()
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
