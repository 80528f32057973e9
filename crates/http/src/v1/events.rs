//! The server-sent-events stream of node events: new blocks, transactions and reorgs, as they happen.
//!
//! Each SSE event's name is [`Event::name`] (`block`, `transaction`, `reorg`) and its data the event as JSON.
//! A client too slow to keep up gets a `lagged` event with the number of events it missed (it should re-read
//! the state it shows). The stream sends keep-alive comments and ends when the node shuts down, so a
//! graceful shutdown never waits for a browser tab. At most `max_event_subscribers` streams (this one and
//! the web UI's) are open at once; one more answers 503 `busy` with `Retry-After`.

use std::convert::Infallible;
use std::time::Duration;

use axum::Extension;
use axum::extract::State;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures::{Stream, StreamExt};
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;

use ferrochain_node::Event;
use ferrochain_node::Node;

use crate::limits::{Busy, Subscribers};
use crate::views::ErrorBody;

/// Seconds between keep-alive comments.
pub const KEEP_ALIVE_SECS: u64 = 15;

fn to_sse(item: Result<Event, BroadcastStreamRecvError>) -> SseEvent {
    match item {
        Ok(event) => SseEvent::default()
            .event(event.name())
            .data(serde_json::to_string(&event).unwrap_or_else(|_| "{}".into())),
        Err(BroadcastStreamRecvError::Lagged(missed)) => SseEvent::default()
            .event("lagged")
            .data(format!("{{\"missed\":{missed}}}")),
    }
}

/// A stream of node events as server-sent events (`text/event-stream`).
#[utoipa::path(
    get,
    path = "/events",
    tag = "events",
    responses((
        status = 200,
        description = "An endless `text/event-stream`: events named `block`, `transaction`, `reorg` (data: the \
            event JSON) and `lagged` (data: `{\"missed\": n}`), with keep-alive comments",
        content_type = "text/event-stream",
        body = Event
    ), (
        status = 503,
        description = "As many subscribers as the node allows (setting max_event_subscribers); retry later",
        body = ErrorBody
    ))
)]
pub async fn events(
    State(node): State<Node>,
    Extension(subscribers): Extension<Subscribers>,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, Busy> {
    let slot = subscribers.enter()?;
    let receiver = node.subscribe();
    let mut closing = node.closing();
    let closed = async move {
        // Ends when the node closes, or when its sender is gone.
        let _ = closing.wait_for(|c| *c).await;
    };
    let stream = BroadcastStream::new(receiver)
        .map(move |item| {
            // The stream owns its subscriber slot: it is freed when the client goes away.
            let _held = &slot;
            Ok(to_sse(item))
        })
        .take_until(closed);
    Ok(Sse::new(stream).keep_alive(
        KeepAlive::new()
            .interval(Duration::from_secs(KEEP_ALIVE_SECS))
            .text("keep-alive"),
    ))
}
