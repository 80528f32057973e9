//! Test fixture (feature `test-utils`): [`TestNode`], a node opened in a temporary data directory and served
//! with [`serve`](crate::serve) on `127.0.0.1:0` — its base URL, a `reqwest` client and JSON helpers, a
//! graceful stop on drop or by [`TestNode::stop`] — or only opened ([`TestNode::open`]) and called in process
//! through the router [`app`](crate::app) with a mocked peer address ([`in_process`], [`TestNode::oneshot`]).
//!
//! For tests and benchmarks of this workspace, not for production use.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::connect_info::MockConnectInfo;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use ferrochain_core::Block;
use ferrochain_node::{Config, Node};
use serde_json::Value;
use tower::ServiceExt;

use crate::ServeError;

/// The loopback peer address, the node's owner.
pub const LOOPBACK: [u8; 4] = [127, 0, 0, 1];

/// A boxed [`Config`] tweak.
type Tweak = Box<dyn FnOnce(&mut Config) + Send>;

/// How a [`TestNode`] is opened and served: the config tweak, where its data lives, the address it listens on
/// and whether the node's background tasks (miner, network task) run.
pub struct Builder {
    tweak: Tweak,
    data_dir: Option<PathBuf>,
    listen: Option<SocketAddr>,
    background: bool,
    base_path: String,
    clock: Option<ferrochain_state::chain::Clock>,
}

impl Builder {
    /// Gives the node's chain state this clock (ms since the Unix epoch) instead of the system's: e.g. a node
    /// whose clock is behind its peers' ([`Node::open_with_clock`]).
    #[must_use]
    pub fn clock(self, clock: ferrochain_state::chain::Clock) -> Builder {
        Builder {
            clock: Some(clock),
            ..self
        }
    }

    /// Adds a change to the config (after the fixture's defaults; tweaks apply in order).
    #[must_use]
    pub fn config(self, tweak: impl FnOnce(&mut Config) + Send + 'static) -> Builder {
        let first = self.tweak;
        Builder {
            tweak: Box::new(move |c| {
                first(c);
                tweak(c);
            }),
            ..self
        }
    }

    /// Keeps the node's data in `dir` (which the test owns, e.g. to restart on it) instead of a temporary
    /// directory of the fixture.
    #[must_use]
    pub fn data_dir(self, dir: impl Into<PathBuf>) -> Builder {
        Builder {
            data_dir: Some(dir.into()),
            ..self
        }
    }

    /// Listens on `addr` (e.g. the address of a node being restarted) instead of `127.0.0.1:0`.
    #[must_use]
    pub fn listen(self, addr: SocketAddr) -> Builder {
        Builder {
            listen: Some(addr),
            ..self
        }
    }

    /// Serves the HTTP application only, without the node's background tasks (no relay, no poll): the test
    /// drives registration and sync itself.
    #[must_use]
    pub fn app_only(self) -> Builder {
        Builder {
            background: false,
            ..self
        }
    }

    /// Makes the request helpers' paths (and [`TestNode::url`]) relative to `path`, e.g. `/api/v1`.
    #[must_use]
    pub fn base_path(self, path: &str) -> Builder {
        Builder {
            base_path: path.trim_end_matches('/').to_string(),
            ..self
        }
    }

    /// Opens the node (on a blocking thread) without serving it.
    pub async fn open(self) -> TestNode {
        self.open_on(None).await
    }

    async fn open_on(self, listen: Option<SocketAddr>) -> TestNode {
        let (dir, data) = match self.data_dir {
            Some(path) => (None, path),
            None => {
                let dir = tempfile::tempdir().expect("a temporary directory");
                let data = dir.path().to_path_buf();
                (Some(dir), data)
            }
        };
        let tweak = self.tweak;
        let clock = self.clock;
        let path = data.clone();
        let node = tokio::task::spawn_blocking(move || {
            let mut config = Config {
                data_dir: path,
                mine_threads: 1,
                ..Config::default()
            };
            if let Some(addr) = listen {
                config.listen = addr;
            }
            tweak(&mut config);
            match clock {
                Some(clock) => Node::open_with_clock(config, clock),
                None => Node::open(config),
            }
            .expect("the test node opens")
        })
        .await
        .expect("opening the node does not panic");
        TestNode {
            node,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .expect("an HTTP client"),
            data,
            root: None,
            base_path: self.base_path,
            background: self.background,
            stop: None,
            server: None,
            _dir: dir,
        }
    }

    /// Opens the node and serves it.
    pub async fn start(self) -> TestNode {
        let addr = self.listen.unwrap_or(SocketAddr::from((LOOPBACK, 0)));
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .expect("a loopback port");
        let addr = listener.local_addr().expect("a bound address");
        let mut node = self.open_on(Some(addr)).await;
        node.serve_on(listener);
        node
    }
}

/// A node of a test, opened in its own data directory; served on loopback after [`TestNode::start`] or
/// [`TestNode::serve`]. Dropping it asks the server to stop.
pub struct TestNode {
    /// The node.
    pub node: Node,
    /// A client for its HTTP server (60 s timeout).
    pub client: reqwest::Client,
    data: PathBuf,
    root: Option<String>,
    base_path: String,
    background: bool,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<Result<(), ServeError>>>,
    _dir: Option<tempfile::TempDir>,
}

impl Drop for TestNode {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl TestNode {
    /// A builder with the fixture's defaults: a temporary data directory, one mining thread, `dev`, served on
    /// `127.0.0.1:0` with the background tasks.
    pub fn builder() -> Builder {
        Builder {
            tweak: Box::new(|_| {}),
            data_dir: None,
            listen: None,
            background: true,
            base_path: String::new(),
            clock: None,
        }
    }

    /// Opens a node with `tweak` applied to the config (`listen` is the bound address) and serves it.
    pub async fn start(tweak: impl FnOnce(&mut Config) + Send + 'static) -> TestNode {
        TestNode::builder().config(tweak).start().await
    }

    /// Opens a node with `tweak` applied to the config, unserved: for in-process calls ([`TestNode::oneshot`]).
    pub async fn open(tweak: impl FnOnce(&mut Config) + Send + 'static) -> TestNode {
        TestNode::builder().config(tweak).open().await
    }

    /// Serves an opened node on `127.0.0.1:0` (the config's `listen` is not changed).
    pub async fn serve(mut self) -> TestNode {
        let listener = tokio::net::TcpListener::bind(SocketAddr::from((LOOPBACK, 0)))
            .await
            .expect("a loopback port");
        self.serve_on(listener);
        self
    }

    fn serve_on(&mut self, listener: tokio::net::TcpListener) {
        assert!(self.server.is_none(), "the node is served already");
        let addr = listener.local_addr().expect("a bound address");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let shutdown = async move {
            let _ = stopped.await;
        };
        let server = if self.background {
            tokio::spawn(crate::serve(self.node.clone(), listener, shutdown))
        } else {
            let node = self.node.clone();
            tokio::spawn(async move {
                crate::app::serve_app(node, listener, shutdown)
                    .await
                    .map_err(ServeError::from)
            })
        };
        self.root = Some(format!("http://{addr}"));
        self.stop = Some(stop);
        self.server = Some(server);
    }

    /// The server's address, `http://127.0.0.1:<port>` (panics if the node is not served).
    pub fn root(&self) -> &str {
        self.root
            .as_deref()
            .expect("the node is served (TestNode::start or serve)")
    }

    /// The server's socket address (panics if the node is not served).
    pub fn addr(&self) -> SocketAddr {
        self.root()
            .trim_start_matches("http://")
            .parse()
            .expect("a socket address")
    }

    /// The base URL of the request helpers: [`root`](TestNode::root) and the builder's base path.
    pub fn url(&self) -> String {
        format!("{}{}", self.root(), self.base_path)
    }

    /// The node's data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data
    }

    /// Sends a request to `url() + path`; `body` is sent as `application/json` text. Answers the status and
    /// the JSON of the answer (`Null` if it is not JSON).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&str>,
    ) -> (StatusCode, Value) {
        let mut req = self.client.request(method, format!("{}{path}", self.url()));
        if let Some(b) = body {
            req = req
                .header("content-type", "application/json")
                .body(b.to_string());
        }
        let resp = req.send().await.unwrap_or_else(|e| panic!("{path}: {e}"));
        let status = StatusCode::from_u16(resp.status().as_u16()).expect("a status code");
        let text = resp.text().await.expect("an answer body");
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// `GET path` as JSON; asserts 200.
    pub async fn get(&self, path: &str) -> Value {
        let (status, v) = self.call(Method::GET, path, None).await;
        assert_eq!(status, StatusCode::OK, "GET {path}: {v}");
        v
    }

    /// `GET path` of the server's root (outside the base path) as JSON; asserts a success.
    pub async fn get_root(&self, path: &str) -> Value {
        let resp = self
            .client
            .get(format!("{}{path}", self.root()))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        assert!(resp.status().is_success(), "GET {path}: {}", resp.status());
        resp.json().await.expect("a JSON answer")
    }

    /// `POST path` with a JSON body; asserts the status `expect` and answers the JSON.
    pub async fn post(&self, path: &str, body: Value, expect: StatusCode) -> Value {
        let (status, v) = self.call(Method::POST, path, Some(&body.to_string())).await;
        assert_eq!(status, expect, "POST {path} {body}: {v}");
        v
    }

    /// Asks the server to stop and waits for it (10 s at most: open event streams end with the node).
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            tokio::time::timeout(Duration::from_secs(10), server)
                .await
                .expect("the server stops promptly (open event streams end)")
                .expect("the server task does not panic")
                .expect("the server ends without an error");
        }
    }

    /// The router with requests coming from `from` (see [`in_process`]).
    pub fn app_from(&self, from: [u8; 4]) -> Router {
        in_process(&self.node, from)
    }

    /// Sends `req` to the router in process, as if from `from`; the whole answer.
    pub async fn oneshot(&self, from: [u8; 4], req: Request<Body>) -> Answer {
        let resp = self
            .app_from(from)
            .oneshot(req)
            .await
            .expect("the router answers");
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = axum::body::to_bytes(resp.into_body(), 8 << 20)
            .await
            .expect("the answer body is read");
        Answer {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    /// `GET path` in process, from `from`.
    pub async fn oneshot_get(&self, from: [u8; 4], path: &str) -> Answer {
        let req = Request::get(path).body(Body::empty()).expect("a request");
        self.oneshot(from, req).await
    }

    /// `POST path` in process, from `from`, with a URL-encoded form of `fields` and extra `headers`.
    pub async fn oneshot_form(
        &self,
        from: [u8; 4],
        path: &str,
        fields: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Answer {
        let body = serde_urlencoded::to_string(fields).expect("form fields encode");
        let mut req =
            Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.oneshot(from, req.body(Body::from(body)).expect("a request"))
            .await
    }

    /// Mines `blocks` blocks to the node's miner address (on a blocking thread).
    pub async fn mine(&self, blocks: usize) -> Vec<Block> {
        self.run(move |node| {
            (0..blocks)
                .map(|_| {
                    node.mine_one(node.miner_address(), usize::MAX)
                        .expect("a block is mined")
                })
                .collect()
        })
        .await
    }

    /// Runs `f` with the node on a blocking thread.
    pub async fn run<T: Send + 'static>(&self, f: impl FnOnce(Node) -> T + Send + 'static) -> T {
        self.node.blocking(f).await.expect("the blocking task runs")
    }

    /// The node's miner address, as text.
    pub fn miner(&self) -> String {
        self.node.network().address(&self.node.miner_address())
    }
}

/// The router [`app`](crate::app) of `node` with every request coming from `from` (port 40000), for
/// `tower::ServiceExt::oneshot` without a server.
pub fn in_process(node: &Node, from: [u8; 4]) -> Router {
    crate::app(node.clone()).layer(MockConnectInfo(SocketAddr::from((from, 40000))))
}

/// A request built for [`TestNode::oneshot`]: `method uri`, a JSON `body` and a bearer `token` if given.
pub fn request(method: &str, uri: &str, body: Option<&str>, token: Option<&str>) -> Request<Body> {
    let mut b = Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        b = b.header("authorization", format!("Bearer {t}"));
    }
    match body {
        Some(text) => b
            .header("content-type", "application/json")
            .body(Body::from(text.to_string())),
        None => b.body(Body::empty()),
    }
    .expect("a request")
}

/// An in-process answer: status, headers and body text.
#[derive(Debug)]
pub struct Answer {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body, as (lossy) UTF-8 text.
    pub body: String,
}

impl Answer {
    /// The `Location` header (empty if none).
    pub fn location(&self) -> String {
        self.headers
            .get(header::LOCATION)
            .map(|v| v.to_str().expect("a text header").to_string())
            .unwrap_or_default()
    }

    /// The body as JSON (`Null` if it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

/// A loopback port that was free a moment ago (for processes that bind it themselves).
pub fn free_port() -> u16 {
    free_ports(1)[0]
}

/// `n` distinct loopback ports that were free a moment ago (all held open while choosing, so they differ).
pub fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<std::net::TcpListener> = (0..n)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").expect("a free loopback port"))
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().expect("a bound address").port())
        .collect()
}
