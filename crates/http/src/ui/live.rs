//! The live figures of the dashboard, mining and mempool pages: a server-sent-events stream (`/ui/live`) of
//! `status` events — the node's status as JSON, sent at once, on every node event (block, transaction, reorg)
//! and every [`TICK`] for the hash rate. The page script writes each figure into the elements marked
//! `data-live="<name>"` and re-fetches the fragments marked `data-refresh` when the tip or the mempool changed.
//! The stream ends when the node shuts down.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures::Stream;
use serde::Serialize;
use tokio::sync::broadcast::error::RecvError;

use crate::ui::{format_bytes, format_rate, format_time_ms, short};
use ferrochain_node::Node;

/// How often the figures are sent when nothing happens (the hash rate changes all the time).
pub const TICK: Duration = Duration::from_secs(2);

/// What one `status` event carries.
#[derive(Debug, Clone, Serialize)]
pub struct LiveStatus {
    /// Why it was sent: `start`, `tick`, `block`, `transaction`, `reorg` or `lagged`.
    pub reason: &'static str,
    /// Active tip height.
    pub height: u64,
    /// Active tip hash.
    pub tip: String,
    /// The tip hash shortened.
    pub tip_short: String,
    /// The tip's timestamp for people.
    pub tip_time: String,
    /// Compact target of the next block.
    pub bits: String,
    /// Leading zero bits the next block needs.
    pub leading_zero_bits: u32,
    /// Hashes per second.
    pub hash_rate: f64,
    /// The hash rate for people.
    pub rate: String,
    /// Hashes since start.
    pub total_hashes: u64,
    /// Transactions in the mempool.
    pub mempool: usize,
    /// The mempool's size for people.
    pub mempool_size: String,
    /// Known peers.
    pub peers: usize,
    /// Whether continuous mining runs.
    pub mining: bool,
    /// `mining` or `idle`, for people.
    pub mining_text: &'static str,
}

/// The live figures now.
///
/// # Errors
/// [`crate::ui::UiError`] if the status cannot be read.
pub async fn snapshot(node: &Node, reason: &'static str) -> Result<LiveStatus, crate::ui::UiError> {
    let s = crate::ui::status(node).await?;
    Ok(LiveStatus {
        reason,
        height: s.height,
        tip_short: short(&s.tip),
        tip: s.tip,
        tip_time: format_time_ms(s.tip_time_ms),
        bits: s.bits,
        leading_zero_bits: s.leading_zero_bits,
        hash_rate: s.hash_rate,
        rate: format_rate(s.hash_rate),
        total_hashes: s.total_hashes,
        mempool: s.mempool,
        mempool_size: format_bytes(s.mempool_bytes as u64),
        peers: s.peers,
        mining: s.mining,
        mining_text: if s.mining { "mining" } else { "idle" },
    })
}

struct Live {
    node: Node,
    events: tokio::sync::broadcast::Receiver<ferrochain_node::Event>,
    closing: tokio::sync::watch::Receiver<bool>,
    tick: tokio::time::Interval,
    started: bool,
    /// This stream's slot among the event-stream subscribers, freed when it ends.
    _slot: tokio::sync::OwnedSemaphorePermit,
}

/// The `/ui/live` stream.
pub async fn stream(
    State(node): State<Node>,
    axum::Extension(subscribers): axum::Extension<crate::limits::Subscribers>,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, crate::limits::Busy> {
    let slot = subscribers.enter()?;
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let live = Live {
        events: node.subscribe(),
        closing: node.closing(),
        node,
        tick,
        started: false,
        _slot: slot,
    };
    let stream = futures::stream::unfold(live, |mut live| async move {
        let reason = if !live.started {
            live.started = true;
            live.tick.reset();
            "start"
        } else {
            if *live.closing.borrow() {
                return None;
            }
            tokio::select! {
                received = live.events.recv() => match received {
                    Ok(event) => {
                        // Several events in a burst (a block and its transactions) make one update.
                        while live.events.try_recv().is_ok() {}
                        event.name()
                    }
                    Err(RecvError::Lagged(_)) => "lagged",
                    Err(RecvError::Closed) => return None,
                },
                _ = live.tick.tick() => "tick",
                _ = live.closing.wait_for(|c| *c) => return None,
            }
        };
        let event = match snapshot(&live.node, reason).await {
            Ok(status) => SseEvent::default()
                .event("status")
                .data(serde_json::to_string(&status).unwrap_or_else(|_| "{}".into())),
            Err(e) => SseEvent::default().event("error").data(e.message),
        };
        Some((Ok(event), live))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
