//! Registering peers and headers-first chain sync (`docs/p2p.md`, "Sync").
//!
//! # The sync algorithm
//! 1. Ask the peer who it is (`GET /p2p/v1/handshake`) and refuse another network or protocol.
//! 2. Send a *block locator*: hashes of our active chain at the tip, tip−1, tip−2, tip−4, tip−8, … and genesis
//!    ([`locator_heights`]). The peer answers the headers of its active chain after the first of those it
//!    has on its own active chain: the last common block.
//! 3. Check every header before anything else is fetched: it must link to the one before (previous hash,
//!    height + 1), carry its proof of work under a target the network allows at that height (`check_header_for`) and agree with its place in the chain (the target
//!    the difficulty rules require, a time after the median of the last 11, not too far in the future).
//! 4. Sum the work of the received headers ourselves (`bits → target → work`) onto the trusted cumulative work
//!    of the common block. Only when that branch has **more** work than our tip are its bodies fetched — the
//!    peer's claimed height and work are never used.
//! 5. Fetch bodies in batches (`POST /p2p/v1/blocks/get`), check each is the block whose header was checked,
//!    and submit them in order to the chain state, which validates them fully and switches branches when the
//!    work says so. The first invalid block stops the sync with [`PeerError::InvalidData`].
//!    Before the bodies, the checked headers go to the chain state ([`ferrochain_state::State::submit_headers`]),
//!    which keeps the bodies of a side branch only when the branch could win (headers first, ADR 0023).
//! 6. Repeat from the last received header until the peer has no more.
//!
//! A header (or block) whose time is too far ahead of this node's clock is *not yet* valid, not invalid: the
//! sync stops before it without blaming the peer, and takes it in a later sync once the clock allows
//! (`docs/protocol.md` open point 4). The header checks read the chain state's clock
//! ([`ferrochain_state::State::now_ms`]).

use std::collections::VecDeque;

use ferrochain_core::check::{
    BlockError, HeaderContext, check_header_contextual, check_header_for,
};
use ferrochain_core::spec::median_time_past;
use ferrochain_core::{Block, BlockHash, Decode, Header, Height, Work};
use ferrochain_state::{BlockOutcome, Source, StateError};
use futures::StreamExt;

use super::client::PeerClient;
use super::wire::{Handshake, TipInfo};
use super::{
    MAX_BLOCKS_PER_RESPONSE, MAX_HEADERS_PER_RESPONSE, PeerError, RESOLVE_CONCURRENCY,
    SCORE_FALSE_CLAIM, check_not_banned, punish,
};
use crate::node::{Node, NodeError};
use crate::peers::PeerInfo;

/// Most headers of a branch with less work than ours held while waiting to see whether it overtakes ours.
pub const MAX_PENDING_HEADERS: usize = 200_000;
/// How many times in one sync a peer may start its headers again from an older block (it switched branches)
/// instead of continuing after the last header it sent.
pub const MAX_RESTARTS: usize = 4;

/// How a sync asks for data: batch sizes (the defaults are the protocol's maxima; smaller batches exercise the
/// same code with short chains in tests, or spare a slow link).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyncOptions {
    /// Headers asked for per request (1 to [`MAX_HEADERS_PER_RESPONSE`]).
    pub headers_per_request: usize,
    /// Block bodies asked for per request (1 to [`MAX_BLOCKS_PER_RESPONSE`]).
    pub blocks_per_request: usize,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            headers_per_request: MAX_HEADERS_PER_RESPONSE,
            blocks_per_request: MAX_BLOCKS_PER_RESPONSE,
        }
    }
}

impl SyncOptions {
    fn clamped(self) -> SyncOptions {
        SyncOptions {
            headers_per_request: self.headers_per_request.clamp(1, MAX_HEADERS_PER_RESPONSE),
            blocks_per_request: self.blocks_per_request.clamp(1, MAX_BLOCKS_PER_RESPONSE),
        }
    }
}

/// What a sync with one peer did.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SyncReport {
    /// The peer (normalised URL).
    pub peer: String,
    /// Headers received and checked.
    pub headers_received: usize,
    /// Block bodies downloaded.
    pub blocks_received: usize,
    /// Blocks that joined this node's active chain.
    pub connected: usize,
    /// Whether this node's active chain switched branches.
    pub reorged: bool,
    /// This node's tip before.
    pub tip_before: TipInfo,
    /// This node's tip after.
    pub tip_after: TipInfo,
}

/// The heights of a block locator for a chain whose tip is at `tip`: the tip, then steps of 1, 2, 4, 8, …
/// back, always ending with genesis (0). At most 66 heights.
pub fn locator_heights(tip: u64) -> Vec<u64> {
    let mut out = Vec::new();
    let mut offset = 0u64;
    loop {
        let height = tip.saturating_sub(offset);
        out.push(height);
        if height == 0 {
            return out;
        }
        offset = if offset == 0 {
            1
        } else {
            offset.saturating_mul(2)
        };
    }
}

fn local(e: NodeError) -> PeerError {
    PeerError::Local(e.to_string())
}

fn invalid(reason: impl Into<String>) -> PeerError {
    PeerError::InvalidData {
        reason: reason.into(),
    }
}

/// Registers the peer at `url`: normalises it, refuses this node itself, checks the peer's network and
/// protocol, adds it to this node's peers and asks it to add this node back (announcing
/// `config.public_url()`). Failing to be added back is logged, not an error: the peer is reachable from here.
///
/// # Errors
/// [`PeerError::BadUrl`], [`PeerError::Itself`], [`PeerError::Unreachable`], [`PeerError::WrongNetwork`],
/// [`PeerError::WrongProtocol`], and the transport's errors.
pub async fn register_peer(node: &Node, url: &str) -> Result<PeerInfo, PeerError> {
    let client = PeerClient::new(node, url)?;
    let url = client.url().to_string();
    check_not_banned(node, &url)?;
    let result = async {
        let mut theirs = client.hello_checked(node).await?;
        let ours = Handshake::of(node, Some(node.config().public_url()));
        match client.handshake(&ours).await {
            Ok(answer) => theirs = answer,
            Err(e) => tracing::warn!(peer = %url, error = %e, "the peer did not take this node's handshake"),
        }
        node.peers()
            .record_seen(&url, &theirs.seen(), true)
            .ok_or_else(|| PeerError::Local("the peer list refused the peer".into()))
    }
    .await;
    if let Err(e) = &result {
        node.peers().record_failure(&url, &e.to_string());
        punish(node, &url, e);
    }
    result
}

/// Syncs this node's chain from the peer at `url` (it need not be a known peer) with the headers-first
/// algorithm of this module; adopts the peer's chain only if its checked work is greater.
///
/// # Errors
/// [`PeerError::InvalidData`] for anything the peer sent that is malformed or invalid (blocks connected before
/// it stay connected), the handshake's errors ([`PeerError::WrongNetwork`], ...), the transport's errors, and
/// [`PeerError::Local`] if this node fails to store a block.
pub async fn sync_with(node: &Node, url: &str) -> Result<SyncReport, PeerError> {
    sync_with_options(node, url, SyncOptions::default()).await
}

/// [`sync_with`] with chosen batch sizes.
///
/// # Errors
/// As [`sync_with`].
pub async fn sync_with_options(
    node: &Node,
    url: &str,
    options: SyncOptions,
) -> Result<SyncReport, PeerError> {
    let client = PeerClient::new(node, url)?;
    let url = client.url().to_string();
    check_not_banned(node, &url)?;
    let mut sync = Sync::new(node, &client, options.clamped());
    let started = std::time::Instant::now();
    let result = sync.run().await;
    node.metrics()
        .observe_sync(started.elapsed(), result.is_ok());
    let report = sync.report;
    match result {
        Ok(claim) => {
            tracing::info!(peer = %url, connected = report.connected, reorged = report.reorged, "synced");
            if let Some(FalseClaim { claimed, shown }) = claim {
                node.peers().misbehaved(
                    &url,
                    SCORE_FALSE_CLAIM,
                    &format!("claimed chain work {claimed}, but its headers show at most {shown}"),
                );
            }
            Ok(report)
        }
        Err(e) => {
            tracing::info!(peer = %url, error = %e, "sync failed");
            node.peers().record_failure(&url, &e.to_string());
            punish(node, &url, &e);
            Err(e)
        }
    }
}

/// A peer claimed (in its handshake) more work than the headers it then served add up to.
#[derive(Clone, Copy, Debug)]
struct FalseClaim {
    claimed: Work,
    shown: Work,
}

/// Syncs with every known peer, at most [`RESOLVE_CONCURRENCY`] at a time; returns each peer's result, sorted
/// by URL. A peer that is down gives an error entry; nothing here panics or stops at the first failure.
pub async fn resolve(node: &Node) -> Vec<(String, Result<SyncReport, PeerError>)> {
    let mut results: Vec<(String, Result<SyncReport, PeerError>)> =
        futures::stream::iter(node.peers().list())
            .map(|url| async move {
                let result = sync_with(node, &url).await;
                (url, result)
            })
            .buffer_unordered(RESOLVE_CONCURRENCY)
            .collect()
            .await;
    results.sort_by(|a, b| a.0.cmp(&b.0));
    results
}

/// The end of the branch received so far: a block this node has, or the last checked header.
#[derive(Clone, Copy, Debug)]
struct BranchEnd {
    hash: BlockHash,
    /// Cumulative work up to and including it.
    work: Work,
}

/// One sync with one peer.
struct Sync<'a> {
    node: &'a Node,
    client: &'a PeerClient,
    options: SyncOptions,
    /// Checked headers (with their hashes) of the branch whose bodies are not fetched yet.
    pending: Vec<(BlockHash, Header)>,
    /// The last headers of the branch, enough for the median time and the retarget window.
    recent: VecDeque<(BlockHash, Header)>,
    end: Option<BranchEnd>,
    /// Batches that did not continue the previous one.
    restarts: usize,
    /// This node's clock (the chain state's) for the header checks, read at each batch.
    now_ms: u64,
    /// Why the sync stopped before a header or block that is not valid yet (too far in the future).
    not_yet: Option<String>,
    report: SyncReport,
}

impl<'a> Sync<'a> {
    fn new(node: &'a Node, client: &'a PeerClient, options: SyncOptions) -> Sync<'a> {
        let tip = TipInfo::of(node);
        Sync {
            node,
            client,
            options,
            pending: Vec::new(),
            recent: VecDeque::new(),
            end: None,
            restarts: 0,
            now_ms: node.state().now_ms(),
            not_yet: None,
            report: SyncReport {
                peer: client.url().to_string(),
                headers_received: 0,
                blocks_received: 0,
                connected: 0,
                reorged: false,
                tip_before: tip,
                tip_after: tip,
            },
        }
    }

    /// How many recent headers the contextual checks need.
    fn recent_len(&self) -> usize {
        let interval = self.node.network().spec().retarget_interval as usize;
        11usize.max(interval.saturating_add(2))
    }

    /// Runs the sync; `Ok(Some(..))` when it went through but the peer's headers showed less work than its
    /// handshake claimed.
    async fn run(&mut self) -> Result<Option<FalseClaim>, PeerError> {
        let theirs = self.client.hello_checked(self.node).await?;
        let claimed = theirs.tip.chain_work;
        self.node
            .peers()
            .record_seen(self.client.url(), &theirs.seen(), false);
        let locator = self
            .node
            .blocking(|node| {
                locator_heights(node.state().tip().height.0)
                    .into_iter()
                    .filter_map(|h| node.hash_at(h))
                    .collect::<Vec<_>>()
            })
            .await
            .map_err(local)?;
        let mut ask = locator.clone();
        loop {
            let limit = self.options.headers_per_request;
            let answer = self.client.headers(&ask, limit).await?;
            if answer.headers.len() > limit {
                return Err(invalid(format!(
                    "{} headers in one answer, {limit} were asked for",
                    answer.headers.len()
                )));
            }
            let headers = answer
                .headers
                .iter()
                .map(|hex| decode_header(hex))
                .collect::<Result<Vec<_>, _>>()?;
            let Some(first) = headers.first() else { break };
            self.attach(first).await?;
            self.now_ms = self.node.state().now_ms();
            let mut taken = 0;
            for header in &headers {
                if !self.accept_header(header)? {
                    break;
                }
                taken += 1;
            }
            self.report.headers_received += taken;
            // Counted as they arrive, so that the peer list shows a sync's progress.
            self.node.peers().record_synced(self.client.url(), taken, 0);
            let batch: Vec<BlockHash> = self.pending[self.pending.len() - taken..]
                .iter()
                .map(|(h, _)| *h)
                .collect();
            let (known_invalid, ours) = self
                .node
                .blocking(move |node| {
                    let state = node.state();
                    let bad = batch
                        .into_iter()
                        .find(|h| state.header(h).is_some_and(|r| r.invalid));
                    (bad, state.tip().chain_work)
                })
                .await
                .map_err(local)?;
            if let Some(hash) = known_invalid {
                return Err(invalid(format!(
                    "block {hash} is known to be invalid (it or an ancestor failed validation)"
                )));
            }
            let end = self.end.ok_or_else(|| invalid("no headers"))?;
            if end.work > ours {
                self.fetch_and_submit().await?;
            } else if self.pending.len() > MAX_PENDING_HEADERS {
                return Err(invalid(format!(
                    "more than {MAX_PENDING_HEADERS} headers of a branch with less work than ours"
                )));
            }
            if headers.len() < limit || self.not_yet.is_some() {
                break;
            }
            // Continue after the last header; the original locator lets a peer that switched branches
            // meanwhile still find a common block.
            ask = std::iter::once(end.hash)
                .chain(locator.iter().copied())
                .take(super::MAX_LOCATOR_HASHES)
                .collect();
        }
        let tip = TipInfo::of(self.node);
        self.report.tip_after = tip;
        if let Some(reason) = &self.not_yet {
            // The peer's tip is ahead of this node's clock: its claim cannot be measured yet, and is not false.
            tracing::info!(peer = %self.client.url(), %reason, "sync stopped before a block that is not valid yet");
            return Ok(None);
        }
        // A peer's active chain never loses work, so the headers it serves after its handshake show at least
        // the work it claimed there. With no headers at all, its tip is one of our locator's blocks.
        let shown = self
            .end
            .map_or(self.report.tip_before.chain_work.max(tip.chain_work), |e| {
                e.work
            });
        Ok((claimed > shown).then_some(FalseClaim { claimed, shown }))
    }

    /// Finds where a batch of headers starting with `first` attaches: after the branch received so far, or
    /// after a block this node has (then the branch starts again from there).
    async fn attach(&mut self, first: &Header) -> Result<(), PeerError> {
        let parent = first.prev_hash;
        match self.end {
            Some(end) if end.hash == parent => return Ok(()),
            Some(_) => {
                self.restarts += 1;
                if self.restarts > MAX_RESTARTS {
                    return Err(invalid(format!(
                        "the peer started its headers again from an older block more than {MAX_RESTARTS} times"
                    )));
                }
            }
            None => {}
        }
        let depth = self.recent_len();
        let ancestry = self
            .node
            .blocking(move |node| {
                let state = node.state();
                let rec = state.header(&parent).filter(|r| r.has_body && !r.invalid)?;
                let mut recent = VecDeque::new();
                let mut cur = Some(rec);
                while let Some(r) = cur {
                    recent.push_front((r.hash, r.header));
                    if recent.len() >= depth || r.header.height.0 == 0 {
                        break;
                    }
                    cur = state.header(&r.header.prev_hash);
                }
                Some((rec.chain_work, recent))
            })
            .await
            .map_err(local)?;
        let Some((work, recent)) = ancestry else {
            return Err(invalid(format!(
                "headers start after block {parent}, which is neither in this node's chain nor among the \
                 headers received"
            )));
        };
        self.pending.clear();
        self.recent = recent;
        self.end = Some(BranchEnd { hash: parent, work });
        Ok(())
    }

    /// Checks one header against the branch so far and appends it. `Ok(false)`: the header is not valid *yet*
    /// (too far ahead of this node's clock); the sync stops before it, and nobody is to blame.
    fn accept_header(&mut self, header: &Header) -> Result<bool, PeerError> {
        let network = self.node.network();
        let spec = network.spec();
        let end = self.end.ok_or_else(|| invalid("no branch to extend"))?;
        let Some(&(parent_hash, parent)) = self.recent.back() else {
            return Err(invalid("no branch to extend"));
        };
        let height = Height(parent.height.0 + 1);
        if header.prev_hash != parent_hash || header.height != height {
            return Err(invalid(format!(
                "header at height {} does not link to the one before (expected height {height} after {parent_hash})",
                header.height
            )));
        }
        let hash = check_header_for(header, network)
            .map_err(|e| invalid(format!("header {} at height {height}: {e}", header.hash())))?;
        let time_at = |h: Height| {
            self.recent
                .iter()
                .find(|(_, x)| x.height == h)
                .map(|(_, x)| x.time_ms)
        };
        let window = spec
            .retarget_window_start(height)
            .and_then(|start| Some((time_at(start)?, parent.time_ms)));
        let expected_bits = spec
            .expected_bits(height, parent.bits, window)
            .map_err(|e| invalid(format!("header {hash}: parent target: {e}")))?;
        let times: Vec<u64> = self
            .recent
            .iter()
            .rev()
            .take(11)
            .rev()
            .map(|(_, h)| h.time_ms)
            .collect();
        let ctx = HeaderContext {
            parent_hash,
            height,
            expected_bits,
            median_time_past: median_time_past(&times),
            now_ms: self.now_ms,
        };
        match check_header_contextual(header, &ctx, network) {
            Ok(()) => {}
            Err(e @ BlockError::TimeTooFarInFuture { .. }) => {
                self.not_yet = Some(format!("header {hash} at height {height}: {e}"));
                return Ok(false);
            }
            Err(e) => return Err(invalid(format!("header {hash} at height {height}: {e}"))),
        }
        let work = header
            .bits
            .to_target()
            .map_err(|e| invalid(format!("header {hash}: {e}")))?
            .work();
        self.end = Some(BranchEnd {
            hash,
            work: end.work.saturating_add(work),
        });
        self.pending.push((hash, *header));
        self.recent.push_back((hash, *header));
        while self.recent.len() > self.recent_len() {
            self.recent.pop_front();
        }
        Ok(true)
    }

    /// Hands the pending headers (a branch with more work than this node's) to the chain state, then downloads
    /// the bodies it lacks and submits them in order. The first bodies are asked for while the state takes
    /// the headers (their write overlaps the download); they are used only if it took them.
    async fn fetch_and_submit(&mut self) -> Result<(), PeerError> {
        let pending = std::mem::take(&mut self.pending);
        let wanted: Vec<BlockHash> = {
            let state = self.node.state();
            pending
                .iter()
                .map(|(h, _)| *h)
                .filter(|h| !state.header(h).is_some_and(|r| r.has_body))
                .collect()
        };
        let headers: Vec<Header> = pending.iter().map(|(_, h)| *h).collect();
        let first = &wanted[..wanted.len().min(self.options.blocks_per_request)];
        let submit = self
            .node
            .blocking(move |node| node.state().submit_headers(&headers));
        let (taken, first_answer) = if first.is_empty() {
            (submit.await, None)
        } else {
            let (taken, answer) = tokio::join!(submit, self.client.blocks(first));
            (taken, Some(answer))
        };
        match taken.map_err(local)? {
            Ok(_) => {}
            Err(e @ StateError::NotYet { .. }) => {
                self.not_yet = Some(e.to_string());
                return Ok(());
            }
            Err(e @ (StateError::InvalidBlock { .. } | StateError::KnownInvalid(_))) => {
                return Err(invalid(e.to_string()));
            }
            Err(e) => return Err(local(NodeError::State(e))),
        }
        let mut prefetched = first_answer;
        let mut rest: &[BlockHash] = &wanted;
        while !rest.is_empty() {
            let ask = &rest[..rest.len().min(self.options.blocks_per_request)];
            let answer = match prefetched.take() {
                Some(answer) => answer?,
                None => self.client.blocks(ask).await?,
            };
            if answer.blocks.is_empty() {
                return Err(invalid(format!(
                    "the peer sent the header of block {} but not its body",
                    ask[0]
                )));
            }
            if answer.blocks.len() > ask.len() {
                return Err(invalid(format!(
                    "{} blocks sent for {} asked",
                    answer.blocks.len(),
                    ask.len()
                )));
            }
            let mut blocks = Vec::with_capacity(answer.blocks.len());
            for (hex, expected) in answer.blocks.iter().zip(ask) {
                let block = decode_block(hex)?;
                let hash = block.hash();
                if hash != *expected {
                    return Err(invalid(format!(
                        "block {hash} sent where block {expected} was asked for"
                    )));
                }
                blocks.push(block);
            }
            let n = blocks.len();
            self.report.blocks_received += n;
            self.node.peers().record_synced(self.client.url(), 0, n);
            let source = Source::new(self.client.url());
            let (connected, reorged, error) = self
                .node
                .blocking(move |node| submit_in_order(&node, blocks, &source))
                .await
                .map_err(local)?;
            self.report.connected += connected;
            self.report.reorged |= reorged;
            match error {
                None => {}
                Some(Stop::NotYet(reason)) => {
                    self.not_yet = Some(reason);
                    return Ok(());
                }
                Some(Stop::Failed(e)) => return Err(e),
            }
            rest = &rest[n..];
        }
        Ok(())
    }
}

/// Why [`submit_in_order`] stopped early.
enum Stop {
    /// A block is not valid yet (too far in the future): nobody's fault.
    NotYet(String),
    /// The peer's block failed, or this node did.
    Failed(PeerError),
}

/// Submits blocks (sent by `source`) in order as one batch (one store transaction, [`Node::submit_blocks`]),
/// stopping at the first that fails; returns how many blocks joined the active chain, whether it switched
/// branches, and why it stopped early.
fn submit_in_order(
    node: &Node,
    blocks: Vec<Block>,
    source: &Source,
) -> (usize, bool, Option<Stop>) {
    let (mut connected, mut reorged) = (0, false);
    let batch = node.submit_blocks(blocks, Some(source));
    for (hash, outcome) in batch.outcomes {
        match outcome {
            BlockOutcome::Connected(r) => {
                connected += r.connected.len();
                reorged |= !r.disconnected.is_empty();
            }
            // A body the state did not keep (its branch has less work than ours after all) is no fault.
            BlockOutcome::SideChain | BlockOutcome::AlreadyKnown | BlockOutcome::HeaderOnly => {}
            BlockOutcome::Orphan { missing_parent } => {
                let e = invalid(format!(
                    "block {hash} does not connect: its parent {missing_parent} is unknown"
                ));
                return (connected, reorged, Some(Stop::Failed(e)));
            }
        }
    }
    let stop = match batch.error {
        None => None,
        Some((_, e @ StateError::NotYet { .. })) => Some(Stop::NotYet(e.to_string())),
        Some((_, e @ (StateError::InvalidBlock { .. } | StateError::KnownInvalid(_)))) => {
            Some(Stop::Failed(invalid(e.to_string())))
        }
        Some((_, e)) => Some(Stop::Failed(local(NodeError::State(e)))),
    };
    (connected, reorged, stop)
}

fn decode_header(hex: &str) -> Result<Header, PeerError> {
    let bytes = hex::decode(hex.trim()).map_err(|e| invalid(format!("header hex: {e}")))?;
    if bytes.len() != ferrochain_core::block::HEADER_BYTES {
        return Err(invalid(format!(
            "a header is {} bytes, got {}",
            ferrochain_core::block::HEADER_BYTES,
            bytes.len()
        )));
    }
    Header::from_bytes(&bytes).map_err(|e| invalid(format!("header: {e}")))
}

fn decode_block(hex: &str) -> Result<Block, PeerError> {
    let bytes = hex::decode(hex.trim()).map_err(|e| invalid(format!("block hex: {e}")))?;
    Block::from_bytes(&bytes).map_err(|e| invalid(format!("block: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locators_step_back_by_powers_of_two_to_genesis() {
        assert_eq!(locator_heights(0), vec![0]);
        assert_eq!(locator_heights(1), vec![1, 0]);
        assert_eq!(locator_heights(5), vec![5, 4, 3, 1, 0]);
        assert_eq!(locator_heights(20), vec![20, 19, 18, 16, 12, 4, 0]);
        let long = locator_heights(u64::MAX);
        assert!(long.len() <= 66, "{}", long.len());
        assert_eq!(long.last(), Some(&0));
    }
}
