//! The resource bounds of the HTTP server (ADR 0022): a body limit per route class, the number of heavy
//! (whole-chain) answers streamed at once, the number of open connections, and a write timeout that drops a
//! connection whose client takes none of its answer.
//!
//! - **Body limits** ([`limit_body`]): every route belongs to one [`BodyClass`] ([`body_class`]); a body
//!   over its class's limit (or over the `max_body_bytes` setting, whichever is smaller) answers 413 before
//!   it is parsed — on the REST and peer routes from `Content-Length` at once, otherwise as soon as that
//!   many bytes have arrived.
//! - **Heavy answers** ([`Heavy`]): at most `max_heavy_requests` whole-chain answers stream at once; one
//!   more answers 503 with `Retry-After` at once (no queue: a client that waits would hold a connection
//!   and a blocking thread for nothing).
//! - **Connections** ([`BoundedListener`]): at most `max_connections` are open; the listener accepts the
//!   next one only when one closes (further clients wait in the kernel's backlog). Each connection is a
//!   [`TimedIo`]: a write that makes no progress for `write_timeout_secs` fails, which closes the
//!   connection and ends the answer streaming into it; a connection that sends and receives nothing for
//!   `idle_timeout_secs` (an idle keep-alive, or a client that opens a connection and says nothing) is
//!   closed too, so idle clients cannot hold every slot.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use ferrochain_core::ChainSpec;
use ferrochain_node::{ErrorCode, Node};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Sleep;

use crate::error::ApiError;

/// Body limit of the small routes (forms, owner actions, peer registration): a few KiB.
pub const SMALL_BODY_BYTES: usize = 16 * 1024;
/// Body limit of the routes that take a list (peer routes asking for blocks or headers by hash).
pub const LIST_BODY_BYTES: usize = 64 * 1024;
/// Body limit of the transaction routes: the largest transaction a node relays is one peer announcement
/// (`MAX_TX_ANNOUNCEMENT_BYTES` of the node's relay, 1 MiB encoded); as JSON (hex, field names)
/// it takes at most four times that.
pub const TX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// Body limit of the block routes: the chain's largest block in hex, plus 64 KiB for the JSON around it.
pub fn block_body_bytes(spec: &ChainSpec) -> usize {
    (spec.max_block_bytes as usize).saturating_mul(2) + 64 * 1024
}

/// What size of body a route takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyClass {
    /// [`SMALL_BODY_BYTES`]: every route not named below.
    Small,
    /// [`LIST_BODY_BYTES`].
    List,
    /// [`TX_BODY_BYTES`].
    Transaction,
    /// [`block_body_bytes`].
    Block,
}

/// Routes (patterns as the router matches them) that take a block.
pub const BLOCK_ROUTES: &[&str] = &["/api/v1/blocks", "/add_block", "/p2p/v1/blocks"];

/// Routes that take a signed transaction or record (or a batch of them, or a wallet file that signs one).
pub const TRANSACTION_ROUTES: &[&str] = &[
    "/api/v1/txs",
    "/api/v1/wallets/{address}/records",
    "/transactions/new",
    "/blockchain/transactions/new",
    "/new_transaction",
    "/supply-chain/new_transaction",
    "/p2p/v1/txs",
    "/ui/wallet/node/record",
    "/ui/wallet/open",
    "/ui/wallet/restore",
    "/ui/wallet/file/send",
    "/ui/wallet/file/record",
];

/// Routes that take a list of hashes, peers or nodes.
pub const LIST_ROUTES: &[&str] = &[
    "/p2p/v1/blocks/get",
    "/p2p/v1/handshake",
    "/p2p/v1/peers/ban",
    "/p2p/v1/peers/unban",
    "/nodes/register",
    "/blockchain/nodes/register",
];

/// The body class of the route matched as `pattern`.
pub fn body_class(pattern: &str) -> BodyClass {
    if BLOCK_ROUTES.contains(&pattern) {
        BodyClass::Block
    } else if TRANSACTION_ROUTES.contains(&pattern) {
        BodyClass::Transaction
    } else if LIST_ROUTES.contains(&pattern) {
        BodyClass::List
    } else {
        BodyClass::Small
    }
}

/// The body limit of a class on `node`'s chain, never above the `max_body_bytes` setting.
pub fn class_limit(node: &Node, class: BodyClass) -> usize {
    let limit = match class {
        BodyClass::Small => SMALL_BODY_BYTES,
        BodyClass::List => LIST_BODY_BYTES,
        BodyClass::Transaction => TX_BODY_BYTES,
        BodyClass::Block => block_body_bytes(node.network().spec()),
    };
    limit.min(node.config().max_body_bytes)
}

fn too_large(limit: usize) -> Response {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::BodyTooLarge,
        format!("this route takes a body of at most {limit} bytes"),
    )
    .into_response()
}

/// Middleware applying the body limit of the matched route ([`body_class`]): on the REST and peer routes,
/// 413 at once when `Content-Length` says more; everywhere, the body is cut at the limit (the extractors
/// answer 413 in the route's own error shape).
pub async fn limit_body(State(node): State<Node>, request: Request, next: Next) -> Response {
    let pattern = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string());
    let class = pattern.as_deref().map_or(BodyClass::Small, body_class);
    let limit = class_limit(&node, class);
    // The REST and peer routes answer 413 from the headers, in their JSON error; the seed routes and the UI
    // answer it in their own shape once the body reaches the limit (their extractors see the cut body).
    let json_errors = pattern
        .as_deref()
        .is_some_and(|p| p.starts_with("/api/v1/") || p.starts_with("/p2p/v1/"));
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if json_errors && declared.is_some_and(|n| n > limit as u64) {
        return too_large(limit);
    }
    let request =
        request.map(|body| axum::body::Body::new(http_body_util::Limited::new(body, limit)));
    next.run(request).await
}

/// The concurrency limit of the heavy routes: a permit per answer being streamed.
#[derive(Clone, Debug)]
pub struct Heavy(Arc<Semaphore>);

impl Heavy {
    /// At most `max` heavy answers at once (at least one).
    pub fn new(max: usize) -> Heavy {
        Heavy(Arc::new(Semaphore::new(max.max(1))))
    }

    /// A permit for one answer, held until its body is fully sent or dropped; 503 `busy` with
    /// `Retry-After` when all are taken.
    pub fn enter(&self) -> Result<OwnedSemaphorePermit, Busy> {
        self.0.clone().try_acquire_owned().map_err(|_| Busy {
            what: "whole-chain answers",
        })
    }
}

/// The limit of event-stream subscribers (`/api/v1/events`, `/ui/live`): a permit per open stream, held by
/// the stream until it ends.
#[derive(Clone, Debug)]
pub struct Subscribers(Arc<Semaphore>);

impl Subscribers {
    /// At most `max` subscribers at once (at least one).
    pub fn new(max: usize) -> Subscribers {
        Subscribers(Arc::new(Semaphore::new(max.max(1))))
    }

    /// A permit for one stream; 503 `busy` with `Retry-After` when all are taken.
    pub fn enter(&self) -> Result<OwnedSemaphorePermit, Busy> {
        self.0.clone().try_acquire_owned().map_err(|_| Busy {
            what: "event-stream subscribers",
        })
    }
}

/// A route at its limit of concurrent answers: 503 `busy` with `Retry-After: 1`.
#[derive(Debug, Clone, Copy)]
pub struct Busy {
    /// What is at its limit.
    pub what: &'static str,
}

/// Seconds a busy answer asks the client to wait.
pub const RETRY_AFTER_SECS: u64 = 1;

impl Busy {
    /// The JSON error of the REST API.
    pub fn api_error(self) -> ApiError {
        ApiError::of(
            ErrorCode::Busy,
            format!(
                "the node is serving as many {} as it allows; retry in {RETRY_AFTER_SECS} s",
                self.what
            ),
        )
    }
}

/// Adds `Retry-After` to a busy answer.
pub fn with_retry_after(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
    response
}

impl IntoResponse for Busy {
    fn into_response(self) -> Response {
        with_retry_after(self.api_error().into_response())
    }
}

/// A TCP listener that keeps at most `max` connections open and wraps each in a [`TimedIo`].
#[derive(Debug)]
pub struct BoundedListener {
    inner: TcpListener,
    slots: Arc<Semaphore>,
    timeouts: Timeouts,
}

/// When a connection is dropped.
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    /// A write that makes no progress for this long fails.
    pub write: Duration,
    /// A connection with no progress either way for this long while it waits to read is closed.
    pub idle: Duration,
}

impl BoundedListener {
    /// Bounds `inner` to `max` open connections (at least one), each dropped after `timeouts`.
    pub fn new(inner: TcpListener, max: usize, timeouts: Timeouts) -> BoundedListener {
        BoundedListener {
            inner,
            slots: Arc::new(Semaphore::new(max.max(1))),
            timeouts,
        }
    }
}

impl axum::serve::Listener for BoundedListener {
    type Io = TimedIo;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (TimedIo, SocketAddr) {
        // The semaphore is never closed, so acquiring only waits for a connection to close.
        let slot = match self.slots.clone().acquire_owned().await {
            Ok(slot) => slot,
            Err(_) => std::future::pending().await,
        };
        let (stream, addr) = axum::serve::Listener::accept(&mut self.inner).await;
        (TimedIo::new(stream, slot, self.timeouts), addr)
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

/// A connection holding its slot of the [`BoundedListener`], whose writes fail after `timeout` without
/// progress (the client takes none of the answer): the server then closes it.
#[derive(Debug)]
pub struct TimedIo {
    stream: TcpStream,
    _slot: OwnedSemaphorePermit,
    timeout: Duration,
    idle_timeout: Duration,
    /// Running while a write waits; reset by every write that makes progress.
    stalled: Option<Pin<Box<Sleep>>>,
    /// Running while a read waits; reset by every read or write that makes progress.
    idle: Option<Pin<Box<Sleep>>>,
}

impl TimedIo {
    fn new(stream: TcpStream, slot: OwnedSemaphorePermit, timeouts: Timeouts) -> TimedIo {
        TimedIo {
            stream,
            _slot: slot,
            timeout: timeouts.write,
            idle_timeout: timeouts.idle,
            stalled: None,
            idle: None,
        }
    }

    /// Called when a read is pending: starts the idle timer, or fails once it has run out (a client that
    /// keeps a connection open sending nothing, while nothing is written to it either).
    fn poll_idle(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let timeout = self.idle_timeout;
        let sleep = self
            .idle
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        match sleep.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("the connection was idle for {} s", timeout.as_secs_f64()),
            ))),
            Poll::Pending => Poll::Pending,
        }
    }

    /// Called when a write is pending: starts the stall timer, or fails once it has run out.
    fn poll_stalled<T>(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        let timeout = self.timeout;
        let sleep = self
            .stalled
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        match sleep.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "the client took none of the answer for {} s",
                    timeout.as_secs_f64()
                ),
            ))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn progressed<T>(
        &mut self,
        result: Poll<io::Result<T>>,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<T>> {
        match result {
            Poll::Ready(r) => {
                self.stalled = None;
                self.idle = None;
                Poll::Ready(r)
            }
            Poll::Pending => self.poll_stalled(cx),
        }
    }
}

impl AsyncRead for TimedIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.stream).poll_read(cx, buf) {
            Poll::Ready(r) => {
                this.idle = None;
                Poll::Ready(r)
            }
            Poll::Pending => this.poll_idle(cx),
        }
    }
}

impl AsyncWrite for TimedIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.stream).poll_write(cx, buf);
        this.progressed(result, cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.stream).poll_write_vectored(cx, bufs);
        this.progressed(result, cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.stream).poll_flush(cx);
        this.progressed(result, cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_and_transaction_routes_take_more_than_the_small_ones() {
        assert_eq!(body_class("/add_block"), BodyClass::Block);
        assert_eq!(body_class("/p2p/v1/blocks"), BodyClass::Block);
        assert_eq!(body_class("/api/v1/txs"), BodyClass::Transaction);
        assert_eq!(body_class("/transactions/new"), BodyClass::Transaction);
        assert_eq!(body_class("/api/send"), BodyClass::Small);
        assert_eq!(body_class("/api/v1/miner/start"), BodyClass::Small);
        let spec = ferrochain_core::Network::dev().spec().clone();
        // A block of the largest size, in hex inside `{"hex": …}`, fits; a 5 MB body to a small route
        // or a transaction route does not.
        assert!(block_body_bytes(&spec) >= 2 * spec.max_block_bytes as usize + 16);
        const { assert!(TX_BODY_BYTES < 5_000_000 && SMALL_BODY_BYTES < 5_000_000) };
    }
}
