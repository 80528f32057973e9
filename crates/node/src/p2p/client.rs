//! The client side of the peer protocol: [`PeerClient`] talks to one peer with a connect time limit, a total
//! time limit per request and a cap on how much of an answer it reads, and turns every failure into a precise
//! [`PeerError`].
//!
//! A client is built per operation (register, sync) rather than shared process-wide: its connection pool then
//! lives and dies with the operation's runtime, which keeps tests that start many runtimes honest.

use ferrochain_core::BlockHash;
use serde::de::DeserializeOwned;

use super::wire::{
    BlocksGetRequest, BlocksResponse, Handshake, HeadersResponse, PeersResponse,
    SubmitBlockRequest, SubmitBlockResponse, SubmitTxsRequest, SubmitTxsResponse,
};
use super::{
    AGENT, ANNOUNCE_TIMEOUT, CONNECT_TIMEOUT, MAX_BLOCKS_RESPONSE_BYTES, MAX_SMALL_RESPONSE_BYTES,
    PeerError, REQUEST_TIMEOUT, own_url,
};
use crate::node::Node;

/// The HTTP client peers are reached with: connect and request time limits, no redirects, no proxy.
///
/// # Errors
/// [`PeerError::Local`] if it cannot be built.
pub fn http_client() -> Result<reqwest::Client, PeerError> {
    reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
        .user_agent(AGENT)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .map_err(|e| PeerError::Local(chain(&e)))
}

/// An HTTP client for one peer.
#[derive(Clone, Debug)]
pub struct PeerClient {
    http: reqwest::Client,
    url: String,
    block_response_limit: usize,
}

/// The whole error chain of `e` on one line (reqwest's own message hides the cause: "connection refused").
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

impl PeerClient {
    /// A client of `node` for the peer at `url` (normalised with [`crate::peers::normalize_url`]); the network's largest
    /// block sets how much of a blocks answer is read.
    ///
    /// # Errors
    /// [`PeerError::BadUrl`], [`PeerError::Itself`] for `node`'s own URL, or [`PeerError::Local`] if the HTTP
    /// client cannot be built.
    pub fn new(node: &Node, url: &str) -> Result<PeerClient, PeerError> {
        PeerClient::with_http(node, url, http_client()?)
    }

    /// [`PeerClient::new`] on a shared HTTP client (from [`http_client`]), so that a long-lived task reuses
    /// connections.
    ///
    /// # Errors
    /// [`PeerError::BadUrl`], [`PeerError::Itself`].
    pub fn with_http(
        node: &Node,
        url: &str,
        http: reqwest::Client,
    ) -> Result<PeerClient, PeerError> {
        let max_block_bytes = node.network().spec().max_block_bytes as usize;
        let url = PeerError::origin(url)?;
        if Some(&url) == own_url(node).as_ref() {
            return Err(PeerError::Itself(url));
        }
        // A blocks answer holds up to MAX_BLOCKS_RESPONSE_BYTES of hex, or one block of any size (2 hex
        // digits per byte), plus JSON around it.
        let block_response_limit =
            MAX_BLOCKS_RESPONSE_BYTES.max(max_block_bytes.saturating_mul(2)) + 1024 * 1024;
        Ok(PeerClient {
            http,
            url,
            block_response_limit,
        })
    }

    /// The peer's normalised URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    fn transport(&self, e: &reqwest::Error) -> PeerError {
        if e.is_decode() || e.is_body() {
            PeerError::InvalidData { reason: chain(e) }
        } else {
            PeerError::Unreachable {
                url: self.url.clone(),
                reason: chain(e),
            }
        }
    }

    /// Sends `request`, reads at most `limit` bytes of the answer and decodes it as JSON.
    async fn call<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
        limit: usize,
    ) -> Result<T, PeerError> {
        let mut response = request.send().await.map_err(|e| self.transport(&e))?;
        let status = response.status();
        if response.content_length().is_some_and(|n| n > limit as u64) {
            return Err(PeerError::TooLarge { limit });
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.transport(&e))? {
            if body.len() + chunk.len() > limit {
                return Err(PeerError::TooLarge { limit });
            }
            body.extend_from_slice(&chunk);
        }
        if !status.is_success() {
            // Summarised, never echoed: only the status and a code of this protocol's closed set.
            let code = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| {
                    v.pointer("/error/code")
                        .and_then(|c| c.as_str())
                        .and_then(crate::ErrorCode::parse)
                });
            return Err(PeerError::Http {
                status: status.as_u16(),
                code,
            });
        }
        // Where, not what: serde's message may quote the answer's text, which is never passed on.
        serde_json::from_slice(&body).map_err(|e| PeerError::InvalidData {
            reason: format!(
                "answer is not the expected JSON ({:?} error at line {}, column {})",
                e.classify(),
                e.line(),
                e.column()
            ),
        })
    }

    /// `GET /p2p/v1/handshake`: who the peer is, without asking it to add this node.
    ///
    /// # Errors
    /// Any [`PeerError`] of the transport.
    pub async fn hello(&self) -> Result<Handshake, PeerError> {
        let req = self.http.get(format!("{}/p2p/v1/handshake", self.url));
        self.call(req, MAX_SMALL_RESPONSE_BYTES).await
    }

    /// [`PeerClient::hello`], checked: the peer must be on `node`'s network and protocol, and must not announce
    /// `node`'s own URL (`node` reached under another name).
    ///
    /// # Errors
    /// [`PeerError::WrongNetwork`], [`PeerError::WrongProtocol`], [`PeerError::Itself`], and the transport's
    /// errors.
    pub async fn hello_checked(&self, node: &Node) -> Result<Handshake, PeerError> {
        let theirs = self.hello().await?;
        theirs.check_compatible(node)?;
        if theirs.is_from(node) {
            return Err(PeerError::Itself(self.url.clone()));
        }
        Ok(theirs)
    }

    /// `POST /p2p/v1/handshake`: introduces this node (asking the peer to add `ours.url`) and returns the
    /// peer's handshake.
    ///
    /// # Errors
    /// Any [`PeerError`] of the transport; [`PeerError::Http`] with status 400 if the peer refuses.
    pub async fn handshake(&self, ours: &Handshake) -> Result<Handshake, PeerError> {
        let req = self
            .http
            .post(format!("{}/p2p/v1/handshake", self.url))
            .json(ours);
        self.call(req, MAX_SMALL_RESPONSE_BYTES).await
    }

    /// [`PeerClient::handshake`] with `node`'s own handshake, checked like [`PeerClient::hello_checked`]: the
    /// peer learns (or is reminded of) this node's URL.
    ///
    /// # Errors
    /// As [`PeerClient::hello_checked`].
    pub async fn introduce_checked(&self, node: &Node) -> Result<Handshake, PeerError> {
        let ours = Handshake::of(node, Some(node.config().public_url()));
        let theirs = self.handshake(&ours).await?;
        theirs.check_compatible(node)?;
        if theirs.is_from(node) {
            return Err(PeerError::Itself(self.url.clone()));
        }
        Ok(theirs)
    }

    /// `POST /p2p/v1/blocks`: announces a block (hex of its encoding) from `from` (this node's URL).
    ///
    /// # Errors
    /// Any [`PeerError`] of the transport; [`PeerError::Http`] if the peer refuses the block.
    pub async fn announce_block(
        &self,
        hex: &str,
        from: Option<&str>,
    ) -> Result<SubmitBlockResponse, PeerError> {
        let req = self
            .http
            .post(format!("{}/p2p/v1/blocks", self.url))
            .timeout(ANNOUNCE_TIMEOUT)
            .json(&SubmitBlockRequest {
                hex: hex.to_string(),
                from: from.map(str::to_string),
            });
        self.call(req, MAX_SMALL_RESPONSE_BYTES).await
    }

    /// `POST /p2p/v1/txs`: announces transactions (hex of their encodings) from `from` (this node's URL).
    ///
    /// # Errors
    /// Any [`PeerError`] of the transport.
    pub async fn announce_txs(
        &self,
        txs: &[String],
        from: Option<&str>,
    ) -> Result<SubmitTxsResponse, PeerError> {
        let req = self
            .http
            .post(format!("{}/p2p/v1/txs", self.url))
            .timeout(ANNOUNCE_TIMEOUT)
            .json(&SubmitTxsRequest {
                hex: None,
                txs: txs.to_vec(),
                from: from.map(str::to_string),
            });
        self.call(req, MAX_SMALL_RESPONSE_BYTES).await
    }

    /// `GET /p2p/v1/headers`: the peer's active-chain headers after the first of `locator` it has.
    ///
    /// # Errors
    /// Any [`PeerError`] of the transport.
    pub async fn headers(
        &self,
        locator: &[BlockHash],
        limit: usize,
    ) -> Result<HeadersResponse, PeerError> {
        let locator: Vec<String> = locator.iter().map(ToString::to_string).collect();
        let req = self
            .http
            .get(format!("{}/p2p/v1/headers", self.url))
            .query(&[("locator", locator.join(",")), ("limit", limit.to_string())]);
        self.call(req, MAX_SMALL_RESPONSE_BYTES).await
    }

    /// `POST /p2p/v1/blocks/get`: the bodies of `hashes`, in order (possibly fewer: ask again for the rest).
    ///
    /// # Errors
    /// Any [`PeerError`] of the transport.
    pub async fn blocks(&self, hashes: &[BlockHash]) -> Result<BlocksResponse, PeerError> {
        let req = self
            .http
            .post(format!("{}/p2p/v1/blocks/get", self.url))
            .json(&BlocksGetRequest {
                hashes: hashes.to_vec(),
            });
        self.call(req, self.block_response_limit).await
    }

    /// `GET /p2p/v1/peers`: the peer's own peer list.
    ///
    /// # Errors
    /// Any [`PeerError`] of the transport.
    pub async fn peers(&self) -> Result<PeersResponse, PeerError> {
        let req = self.http.get(format!("{}/p2p/v1/peers", self.url));
        self.call(req, MAX_SMALL_RESPONSE_BYTES).await
    }
}
